"""Time expressions in questions become periods (plus a reporting lag): a preference by default, a filter on request."""

from __future__ import annotations

from datetime import date

import pytest

from index.indexer import NewsIndex
from qa.answering import AnswerConfig
from qa.models import Filters
from qa.pipeline import QAPipeline
from qa.temporal import date_filter_for

NEWEST = date(2017, 3, 31)


@pytest.mark.parametrize(("question", "date_from", "date_to"), [
    ("What happened in February 2017?", "2017-02-01", "2017-03-10"),  # the month, then REPORTING_LAG_DAYS
    ("What did Merkel say during March 2017?", "2017-03-01", "2017-04-10"),
    ("Who won the vote in Feb. 2016?", "2016-02-01", "2016-03-10"),  # a leap year's February
    ("What happened in early January 2017?", "2017-01-01", "2017-02-10"),
    ("Which storms hit Ireland in February?", "2017-02-01", "2017-03-10"),  # no year: the corpus's year
    ("What was decided in December?", "2016-12-01", "2017-01-10"),  # a later month: the year before
])
def test_months(question: str, date_from: str, date_to: str) -> None:
    assert date_filter_for(question, NEWEST) == Filters(date_from, date_to)


def test_a_day_covers_that_day() -> None:
    period = date_filter_for("What happened on March 3, 2017?", NEWEST)
    assert period is not None and period.date_from == "2017-03-03"
    assert period.date_to == "2017-03-13"
    assert date_filter_for("What happened on February 30, 2017?", NEWEST) is None


@pytest.mark.parametrize(("question", "date_from"), [
    ("What happened last week?", "2017-03-24"),
    ("What did the Senate do this week?", "2017-03-24"),
    ("Any news from the past month?", "2017-02-28"),
    ("What happened yesterday?", "2017-03-30"),
    ("What happened today?", "2017-03-31"),
])
def test_relative_periods_end_at_the_newest_article(question: str, date_from: str) -> None:
    assert date_filter_for(question, NEWEST) == Filters(date_from, "2017-03-31")


@pytest.mark.parametrize("question", [
    "Who cast the tie-breaking vote that confirmed Betsy DeVos?",
    "May I ask who won?",
    "How many people died in 2017 floods?",  # a bare year is a fact of the question, not a period filter
])
def test_no_period(question: str) -> None:
    assert date_filter_for(question, NEWEST) is None


def test_relative_periods_need_a_reference() -> None:
    assert date_filter_for("What happened last week?", None) is None
    assert date_filter_for("What happened in February 2017?", None) == Filters("2017-02-01", "2017-03-10")


def test_filter_mode_retrieves_only_that_months_articles(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index, time_mode="filter")
    answer = pipeline.ask("What did the government announce in February 2017?", k=10)
    assert answer.filters == Filters("2017-02-01", "2017-03-10")
    assert answer.hits and {h.doc_id for h in answer.hits} <= {"a1", "a2", "a3", "a4"}
    assert all("2017-02-01" <= h.date <= "2017-03-10" for h in answer.hits)

    january = pipeline.ask("Who signed an executive order in January 2017?", k=10)
    assert {h.doc_id for h in january.hits} <= {"a1", "a4", "a5", "a6"} and january.hits  # to 2017-02-10
    if not january.abstained:
        assert january.citations[0].doc_id == "a6"


def test_prefer_mode_ranks_the_named_period_first_without_dropping_the_rest(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index)  # the default: questions name when events happened, not when news of them ran
    plain = pipeline.ask("What did officials say?", k=10)
    dated = pipeline.ask("What did officials say in January 2017?", k=10)
    assert not dated.filters.active and {h.doc_id for h in dated.hits} == {h.doc_id for h in plain.hits}
    in_january = [h for h in dated.hits if "2017-01-01" <= h.date <= "2017-02-10"]
    assert in_january and dated.hits[0] in in_january


def test_a_question_about_events_after_the_corpus_is_read_then_declined_naming_the_coverage(tiny_index: NewsIndex) -> None:
    answer = QAPipeline(tiny_index).ask("Who won the election in May 2018?")
    assert answer.signals["later_period"] == 1.0 and answer.hits  # read, weighed, not refused unread
    assert answer.abstained and not answer.citations
    assert "2017-01-16" in answer.text and "2017-03-10" in answer.text
    june = QAPipeline(tiny_index).ask("What did Merkel say about refugees in June 2017?")
    assert june.signals["later_period"] == 1.0  # a month after the newest article, in the corpus's own year
    assert QAPipeline(tiny_index).ask("What did Merkel say about refugees?").signals["later_period"] == 0.0


def test_an_earlier_period_named_as_background_still_finds_the_news_that_mentions_it(tiny_index: NewsIndex) -> None:
    # January 2016 lies before every article, but the article comparing with it answers the question.
    answer = QAPipeline(tiny_index).ask("By how much did China's exports rise compared with January 2016?")
    assert answer.signals["later_period"] == 0.0 and not answer.filters.active
    assert answer.hits[0].doc_id == "a4"
    assert not answer.abstained and answer.citations[0].doc_id == "a4" and "7.9 percent" in answer.text


def test_filter_mode_declines_a_period_outside_the_corpus_at_once(tiny_index: NewsIndex) -> None:
    answer = QAPipeline(tiny_index, time_mode="filter").ask("Who won the election in May 2018?")
    assert answer.abstained and not answer.hits
    # the corpus's dates, not the searched window (which runs on for the reporting lag)
    assert answer.text == ("The indexed articles run from 2017-01-16 to 2017-03-10; "
                           "they cannot say what happened after 2017-03-10.")


@pytest.mark.parametrize("question", ["What happened in March 0000?", "What happened in December 9999?",
                                      "What happened on December 31, 9999?", "What happened in Dec. 9999?"])
def test_years_a_date_cannot_hold_name_no_period(tiny_index: NewsIndex, question: str) -> None:
    assert date_filter_for(question, NEWEST) is None
    assert QAPipeline(tiny_index).ask(question).question == question  # answered or declined, never a crash


def test_a_year_after_the_corpus_is_declined_with_its_dates(tiny_index: NewsIndex) -> None:
    answer = QAPipeline(tiny_index).ask("Who won the 2018 World Cup?")
    assert answer.abstained and answer.signals["later_period"] == 1.0
    assert "run from 2017-01-16 to 2017-03-10" in answer.text and not answer.note


def test_an_answer_about_a_later_time_carries_a_caveat(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index, answering=AnswerConfig(threshold=0.0))
    later = pipeline.ask("How close were Syrian forces to al-Mayadin in June 2017?")
    assert not later.abstained and "after 2017-03-10" in later.note and later.to_dict()["note"] == later.note
    assert not pipeline.ask("How close were Syrian forces to al-Mayadin?").note


def test_pipeline_last_week_is_relative_to_the_newest_article(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index, time_mode="filter")
    assert pipeline.newest == date(2017, 3, 10)  # a2, the newest of the tiny corpus
    answer = pipeline.ask("What did the army do last week?", k=10)
    assert answer.filters == Filters("2017-03-03", "2017-03-10")
    assert [h.doc_id for h in answer.hits] and {h.doc_id for h in answer.hits} == {"a2"}


def test_question_period_narrows_the_users_filter(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index, time_mode="filter")
    answer = pipeline.ask("What happened in February 2017?", filters=Filters("2017-02-15", "2017-06-30"), k=10)
    assert answer.filters == Filters("2017-02-15", "2017-03-10")
    assert {h.doc_id for h in answer.hits} == {"a2", "a3"}
    ignored = pipeline.ask("What happened in February 2017?", use_time=False, k=10)
    assert not ignored.filters.active and len({h.doc_id for h in ignored.hits}) > 3


def test_filters_that_leave_no_article_say_so(tiny_index: NewsIndex) -> None:
    answer = QAPipeline(tiny_index).ask("Who cast the tie-breaking vote?", filters=Filters("2018-01-01", None))
    assert answer.abstained and not answer.hits
    assert answer.text == ("No indexed article matches the filters searched (dates 2018-01-01 to any); "
                           "the indexed articles run from 2017-01-16 to 2017-03-10.")

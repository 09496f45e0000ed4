"""Time expressions in questions become date filters; the pipeline then retrieves only that period."""

from __future__ import annotations

from datetime import date

import pytest

from index.indexer import NewsIndex
from qa.models import Filters
from qa.pipeline import QAPipeline
from qa.temporal import date_filter_for

NEWEST = date(2017, 3, 31)


@pytest.mark.parametrize(("question", "date_from", "date_to"), [
    ("What happened in February 2017?", "2017-02-01", "2017-02-28"),
    ("What did Merkel say during March 2017?", "2017-03-01", "2017-03-31"),
    ("Who won the vote in Feb. 2016?", "2016-02-01", "2016-02-29"),
    ("What happened in early January 2017?", "2017-01-01", "2017-01-31"),
    ("Which storms hit Ireland in February?", "2017-02-01", "2017-02-28"),  # no year: the corpus's year
    ("What was decided in December?", "2016-12-01", "2016-12-31"),  # a later month: the year before
])
def test_months(question: str, date_from: str, date_to: str) -> None:
    assert date_filter_for(question, NEWEST) == Filters(date_from, date_to)


def test_a_day_covers_that_day() -> None:
    period = date_filter_for("What happened on March 3, 2017?", NEWEST)
    assert period is not None and period.date_from == "2017-03-03"
    assert "2017-03-03" <= period.date_to <= "2017-03-05"
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
    assert date_filter_for("What happened in February 2017?", None) == Filters("2017-02-01", "2017-02-28")


def test_pipeline_retrieves_only_that_months_articles(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index)
    answer = pipeline.ask("What did the government announce in February 2017?", k=10)
    assert answer.filters == Filters("2017-02-01", "2017-02-28")
    assert answer.hits and {h.doc_id for h in answer.hits} <= {"a1", "a3", "a4"}
    assert all("2017-02-01" <= h.date <= "2017-02-28" for h in answer.hits)
    assert all(c.date.startswith("2017-02") for c in answer.citations)

    january = pipeline.ask("Who signed an executive order in January 2017?", k=10)
    assert {h.doc_id for h in january.hits} <= {"a5", "a6"} and january.hits
    if not january.abstained:
        assert january.citations[0].doc_id == "a6"


def test_pipeline_last_week_is_relative_to_the_newest_article(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index)
    assert pipeline.newest == date(2017, 3, 10)  # a2, the newest of the tiny corpus
    answer = pipeline.ask("What did the army do last week?", k=10)
    assert answer.filters == Filters("2017-03-03", "2017-03-10")
    assert [h.doc_id for h in answer.hits] and {h.doc_id for h in answer.hits} == {"a2"}


def test_question_period_narrows_the_users_filter(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index)
    answer = pipeline.ask("What happened in February 2017?", filters=Filters("2017-02-15", "2017-06-30"), k=10)
    assert answer.filters == Filters("2017-02-15", "2017-02-28")
    assert {h.doc_id for h in answer.hits} == {"a3"}
    ignored = pipeline.ask("What happened in February 2017?", use_time=False, k=10)
    assert not ignored.filters.active and len({h.doc_id for h in ignored.hits}) > 3

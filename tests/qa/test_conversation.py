"""Follow-up questions: rewritten with the earlier turns' names and topic, answered from the right article."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from qa.conversation import Turn, entities, is_follow_up, rewrite
from qa.pipeline import QAPipeline

TRAVEL_BAN = [
    Article("x1", "Trump signs travel ban order",
            "President Donald Trump signed an executive order on Friday barring citizens of seven countries from "
            "entering the United States for 90 days.", date="2017-01-28", source="CNN"),
    Article("x2", "Trump defends travel ban",
            "Donald Trump said on Monday that the travel ban was not about religion. He said the ban would keep the "
            "country safe.", date="2017-01-30", source="CNN"),
    Article("x3", "Germany criticises travel ban",
            "In Germany, Chancellor Angela Merkel said the travel ban was not justified. German officials said "
            "refugees would still be welcome in Germany.", date="2017-01-29", source="DW"),
    Article("x4", "Irish protest travel ban",
            "In Ireland, thousands of people protested against the travel ban in Dublin on Saturday.",
            date="2017-02-04", source="RTÉ"),
]


@pytest.fixture()
def pipeline(tmp_path: Path, tiny_articles: list[Article]) -> QAPipeline:
    embedder = HashEmbedder(dim=64)
    index = NewsIndex.open(tmp_path / "ix", embedder, config=IndexConfig(model=embedder.name, dim=64, max_tokens=40))
    index.add(TRAVEL_BAN + [a for a in tiny_articles if a.doc_id != "a6"], show_progress=False)
    return QAPipeline(index)


def test_entities_are_names_not_question_words_or_days() -> None:
    assert entities("Who cast the vote that confirmed Betsy DeVos on Tuesday?") == ["Betsy DeVos"]
    assert entities("What did Vice President Mike Pence say in Washington?") == ["Mike Pence", "Washington"]
    assert entities("And in Germany?") == ["Germany"]
    assert entities("what happened in march") == []
    assert entities("Up to 20 people died at Kintampo. It was closed.") == ["Kintampo"]
    assert entities("He flew to the UK. Theresa May met him.") == ["UK", "Theresa May"]


@pytest.mark.parametrize(("question", "expected"), [
    ("What did he say next?", True), ("And in Germany?", True), ("What about Merkel?", True),
    ("Why did they do it?", True), ("Who cast the tie-breaking vote that confirmed Betsy DeVos?", False),
    ("How many homes lost power during Storm Doris in Ireland?", False),
    # short, but naming its own subject: a new topic, not a follow-up
    ("Who is the president of Gambia?", False), ("Who won the Super Bowl?", False),
    ("What did he say about Mexico?", True),  # a name of its own, and a pronoun pointing back
    ("How many people were evacuated?", True),  # names nothing and says too little to find a story
    ("Which country was named the world's happiest in 2017?", False),
    ("Tell me more.", True), ("Continue.", True),  # a capitalised first word is no name of its own
    ("Where did Betsy DeVos give her speech?", False),  # "her" is DeVos: a possessive does not point back
])
def test_is_follow_up(question: str, expected: bool) -> None:
    assert is_follow_up(question) is expected


def test_standalone_questions_and_empty_history_are_not_rewritten() -> None:
    history = [Turn("Who cast the tie-breaking vote?", "Vice President Mike Pence cast it. [1]")]
    standalone = "How many homes lost power during Storm Doris in Ireland?"
    assert rewrite(standalone, history) == standalone
    assert rewrite("What did he say next?", []) == "What did he say next?"


def test_pronoun_follow_up_gets_the_name_from_the_previous_answer() -> None:
    history = [Turn("Who cast the tie-breaking vote that confirmed Betsy DeVos?",
                    "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos. [1]")]
    query = rewrite("What did he say next?", history)
    assert query.startswith("What did he say next?")
    assert "Mike Pence" in query and "Betsy DeVos" in query and "Tuesday" not in query


def test_ellipsis_carries_the_topic_and_swaps_the_place() -> None:
    history = [Turn("What did Donald Trump say about the travel ban?", "Donald Trump said the ban was not about religion. [1]")]
    query = rewrite("And in Germany?", history)
    assert query.startswith("And in Germany?")
    assert "travel" in query and "ban" in query
    assert "Trump" not in query  # the new place takes the old name's place
    assert "Trump" in rewrite("And after that?", history)  # no name of its own: the old ones are carried


def test_a_follow_up_leans_on_the_turn_it_points_back_to_not_on_every_earlier_turn() -> None:
    history = [Turn("What did Angela Merkel say?", "Angela Merkel said no. [1]"),
               Turn("Where is Dublin?", "Dublin is in Ireland. [1]"),
               Turn("Who is Emmanuel Macron?", "Emmanuel Macron is a French politician. [1]")]
    query = rewrite("What did he say next?", history)
    assert "Emmanuel Macron" in query and "Dublin" not in query and "Merkel" not in query


def test_three_turns_on_two_topics_keep_the_first_topic_out_of_the_third() -> None:
    """The demo chat's case: a question on DeVos, then one on the Oroville Dam, then "And what did officials say?"."""
    history = [Turn("Who cast the tie-breaking vote to confirm Betsy DeVos?",
                    "Vice President Mike Pence cast a tie-breaking vote in Washington to confirm Betsy DeVos. [1]"),
               Turn("How many people were evacuated near the Oroville Dam?",
                    "Nearly 200,000 people were ordered to evacuate below the Oroville Dam. [1]")]
    query = rewrite("And what did officials say?", history)
    assert "Oroville" in query
    assert not any(name in query for name in ("DeVos", "Betsy", "Pence", "Washington"))


def test_a_follow_up_after_a_follow_up_reaches_the_turn_that_named_the_topic() -> None:
    history = [Turn("Who cast the tie-breaking vote to confirm Betsy DeVos?", "Mike Pence cast it. [1]"),
               Turn("What did he say next?", "")]  # declined: the second turn names nothing of its own
    query = rewrite("And why?", history)
    assert "DeVos" in query or "Pence" in query


def test_a_question_that_brings_its_own_topic_is_searched_as_asked() -> None:
    """The browser test's case: "What about …" opened a new topic and was searched with the last turn's names."""
    history = [Turn("Who killed Kim Jong Nam?", "Kim Jong Nam was about to travel to Macau when two women attacked "
                    "him, said Khalid Abu Bakar. [1]", "Kim Jong Nam killed at Kuala Lumpur airport")]
    question = "What about the travel ban, which countries did it cover?"
    assert rewrite(question, history) == question  # "travel" in the answer is no shared topic
    assert is_follow_up(question) and not is_follow_up(question, history[-1])
    # pointing back at a person keeps it a follow-up, however many new words it brings
    assert "Kim Jong Nam" in rewrite("What did he say about the budget deficit plans?", history)
    assert "Kim Jong Nam" in rewrite("And the airport?", history)  # too few words to be a topic of its own
    # a question with words of its own but no opening of its own still leans on the last turn
    assert "Kim Jong Nam" in rewrite("Where was the nerve agent made?", history)
    assert rewrite("What about North Korea's reaction?", history).endswith("killed")  # an ellipsis: the topic carried
    dam = [Turn("Who built the Oroville Dam spillway?", "The state built the spillway in 1968. [1]")]
    assert "Oroville Dam" in rewrite("How much did it cost the taxpayers overall?", dam)


def test_a_bare_question_word_carries_the_last_topic_and_no_ranks() -> None:
    history = [Turn("Why did Michael Flynn resign?",
                    "Retired Lt. Gen. Michael Flynn resigned after misleading the vice president. [1]")]
    for bare in ("When?", "And why?", "How many exactly?"):
        assert is_follow_up(bare)
        query = rewrite(bare, history)
        assert "resign" in query and "Michael Flynn" in query, query
        assert "Retired" not in query and "Lt" not in query, query
    # ranks alone name nobody, but they are not cut from institutions' names
    assert entities("The Justice Department and Major League Baseball said so.") == ["Justice Department",
                                                                                   "Major League Baseball"]


def test_a_follow_up_after_a_follow_up_leans_on_what_that_one_searched() -> None:
    history = [Turn("Who cast the tie-breaking vote to confirm Betsy DeVos?", "Mike Pence cast it. [1]"),
               Turn("How many people were evacuated near the Oroville Dam?", "Nearly 200,000 were. [1]"),
               Turn("How many people?", "Nearly 200,000 people were told to leave. [1]", "",
                    "How many people? Oroville Dam")]
    query = rewrite("And what did officials say?", history)
    assert "Oroville" in query and "DeVos" not in query


def test_three_turn_conversation_is_rewritten_and_answered_from_the_right_articles(pipeline: QAPipeline) -> None:
    history: list[Turn] = []

    def ask(question: str):  # noqa: ANN202
        answer = pipeline.ask(question, history=history)
        assert not answer.abstained, answer
        history.append(Turn(question, answer.text, answer.citations[0].title))
        return answer

    first = ask("Who signed the travel ban order?")
    assert first.query == first.question
    assert first.citations[0].doc_id == "x1" and "Donald Trump" in first.citations[0].sentence

    second = ask("What did he say about the ban?")
    assert second.question == "What did he say about the ban?"
    assert second.query != second.question and "Donald Trump" in second.query
    assert second.citations[0].doc_id == "x2"
    said = ("not about religion", "keep the country safe")  # both are what he said about the ban
    assert any(phrase in second.citations[0].sentence for phrase in said)

    # "And in Germany?" is searched with the topic it carries; the reader reads that rewrite, which is no natural
    # question, so whether it answers is its confidence's call: the search must find the German story either way.
    third = pipeline.ask("And in Germany?", history=history)
    assert third.query.startswith("And in Germany?") and "ban" in third.query
    assert third.hits[0].doc_id == "x3"
    assert all(c.doc_id == "x3" for c in third.citations)
    assert third.to_dict()["query"] == third.query


def test_the_same_follow_up_without_history_is_searched_as_asked(pipeline: QAPipeline) -> None:
    answer = pipeline.ask("What did he say about the ban?")
    assert answer.query == "What did he say about the ban?"

"""The QA pipeline: question in, answer with exact citations (or an abstention) out."""

from __future__ import annotations

import pytest

from index.indexer import NewsIndex
from qa.answering import NO_ANSWER, AnswerConfig
from qa.models import Answer, Filters
from qa.pipeline import QAPipeline
from qa.retrieval import RetrievalConfig


def assert_citations_exact(index: NewsIndex, answer: Answer) -> None:
    for n, c in enumerate(answer.citations, start=1):
        article = index.store.article(c.doc_id)
        assert c.n == n
        assert article.text[c.start : c.end] == c.sentence
        assert c.passage_start <= c.start < c.end <= c.passage_end
        assert (c.title, c.source, c.date, c.url) == (article.title, article.source, article.date, article.url)
        assert f"[{n}]" in answer.text and c.sentence in answer.text
        if c.answer_span:
            assert c.start <= c.answer_span[0] < c.answer_span[1] <= c.end


def test_answer_cites_the_right_sentence_with_exact_offsets(tiny_index: NewsIndex) -> None:
    answer = QAPipeline(tiny_index).ask("Who cast the tie-breaking vote to confirm Betsy DeVos?")
    assert not answer.abstained and answer.text != NO_ANSWER
    first = answer.citations[0]
    assert (first.doc_id, first.source, first.url) == ("a1", "ABC News", "http://abcnews.go.com/a1")
    assert "Pence" in first.sentence
    assert 0 < answer.confidence <= 1
    assert_citations_exact(tiny_index, answer)
    assert answer.hits[0].doc_id == "a1"
    assert {"retrieval", "answer", "total"} <= set(answer.timings)


@pytest.mark.parametrize(("question", "doc_id", "needle"), [
    ("How many kilometers are Syrian forces from al-Mayadin?", "a2", "10 kilometers"),
    ("How fast were the winds of Storm Doris in Ireland?", "a3", "150 kilometres"),
    ("By how much did China's exports rise?", "a4", "7.9 percent"),
    ("What did Angela Merkel say about closing the borders?", "a5", "borders"),
])
def test_answers_come_from_the_article_that_holds_them(tiny_index: NewsIndex, question: str, doc_id: str,
                                                       needle: str) -> None:
    # The fake embedder's cosines (about 0.3 here) say nothing of meaning, yet `dense` is one of the confidence's
    # features (weighed for the real model's cosines): this judges where the answer comes from, at a low threshold.
    answer = QAPipeline(tiny_index, answering=AnswerConfig(threshold=0.05)).ask(question)
    assert not answer.abstained
    assert any(c.doc_id == doc_id and needle in c.sentence for c in answer.citations), answer.text
    assert_citations_exact(tiny_index, answer)


def test_unrelated_question_abstains(tiny_index: NewsIndex) -> None:
    answer = QAPipeline(tiny_index).ask("Xyzzy plugh frobnicate quux?")
    assert answer.abstained and answer.text == NO_ANSWER and answer.citations == ()
    assert answer.confidence < AnswerConfig().threshold


def test_threshold_decides_abstention(tiny_index: NewsIndex) -> None:
    question = "Who cast the tie-breaking vote to confirm Betsy DeVos?"
    strict = QAPipeline(tiny_index, answering=AnswerConfig(threshold=1.0)).ask(question)
    lenient = QAPipeline(tiny_index, answering=AnswerConfig(threshold=0.0)).ask(question)
    assert strict.abstained and strict.citations == () and strict.confidence == pytest.approx(lenient.confidence)
    assert not lenient.abstained and lenient.citations


def test_empty_and_messy_questions(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index, max_question_chars=60)
    empty = pipeline.ask(" \t\n\x00 ")
    assert empty.abstained and empty.text == "Please type a question." and empty.citations == ()
    messy = pipeline.ask("  Who\x07 cast   the\ttie-breaking\nvote for DeVos? " + " " * 200)
    assert messy.question == "Who cast the tie-breaking vote for DeVos?" and not messy.abstained
    long = pipeline.ask("Who cast the tie-breaking vote " + "x" * 200)
    assert long.abstained and long.signals == {"too_long": 1.0} and len(long.question) == 60
    with pytest.raises(ValueError, match="max_question_chars must be >= 10, got 3"):
        QAPipeline(tiny_index, max_question_chars=3)


def test_filters_and_k_are_applied(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index)
    answer = pipeline.ask("Who cast the tie-breaking vote to confirm Betsy DeVos?", filters=Filters(sources=("RTÉ",)), k=3)
    assert answer.filters.sources == ("RTÉ",)
    assert len(answer.hits) <= 3 and {h.source for h in answer.hits} == {"RTÉ"}
    assert all(c.source == "RTÉ" for c in answer.citations)


def test_to_dict_shape(tiny_index: NewsIndex) -> None:
    data = QAPipeline(tiny_index).ask("How many kilometers are Syrian forces from al-Mayadin?").to_dict()
    assert {"question", "query", "answer", "short_answer", "abstained", "confidence", "citations", "filters",
            "timings_ms"} <= set(data)
    citation = data["citations"][0]
    assert {"n", "article_id", "title", "source", "date", "url", "sentence", "start", "end"} <= set(citation)
    assert citation["article_id"] == "a2"


def test_bm25_mode_needs_no_embedder(tiny_index: NewsIndex) -> None:
    readonly = NewsIndex.open(tiny_index.folder, readonly=True)
    pipeline = QAPipeline(readonly, RetrievalConfig(mode="bm25"))
    answer = pipeline.ask("How many kilometers are Syrian forces from al-Mayadin?")
    assert answer.hits and answer.hits[0].doc_id == "a2"
    assert all(h.dense_score == 0 for h in answer.hits)
    assert_citations_exact(readonly, answer)
    with pytest.raises(ValueError, match="opened without an embedder"):
        QAPipeline(readonly).ask("How far are the forces from al-Mayadin?")

"""The question-answering pipeline: rewrite follow-ups, read time expressions, retrieve, answer."""

from __future__ import annotations

import time
from datetime import date

from index.indexer import NewsIndex
from qa.answering import AnswerConfig, ExtractiveAnswerer
from qa.conversation import Turn, rewrite
from qa.models import Answer, Filters
from qa.retrieval import HybridRetriever, RetrievalConfig
from qa.temporal import date_filter_for


class QAPipeline:
    """Ask questions of one index. Holds no per-user state: history is passed in with each question."""

    def __init__(self, index: NewsIndex, retrieval: RetrievalConfig | None = None,
                 answering: AnswerConfig | None = None, max_question_chars: int = 2000) -> None:
        if max_question_chars < 10:
            raise ValueError(f"max_question_chars must be >= 10, got {max_question_chars}")
        self.index = index
        self.retriever = HybridRetriever(index, retrieval)
        self.answerer = ExtractiveAnswerer(index, answering)
        self.max_question_chars = max_question_chars
        dates = [a.date for a in index.articles.values() if a.date]
        self.newest = date.fromisoformat(max(dates)) if dates else None

    def ask(self, question: str, *, history: list[Turn] | None = None, filters: Filters | None = None,
            k: int = 10, use_time: bool = True) -> Answer:
        """Answer one question; `history` holds the earlier turns of the same conversation."""
        started = time.perf_counter()
        question = _clean_question(question, self.max_question_chars)
        filters = filters or Filters()
        if not question:
            return Answer(question, "", "Please type a question.", (), True, 0.0, filters=filters)
        # History comes from the client too: the rewritten query is bounded like the question.
        query = rewrite(question, history or [])[: 2 * self.max_question_chars]
        if use_time and (period := date_filter_for(question, self.newest)) is not None:
            filters = filters.merged(period)
        query_vector = self.retriever.encode_query(query) if self.retriever.config.mode != "bm25" else None
        retrieval = self.retriever.retrieve(query, k=k, filters=filters, query_vector=query_vector)
        answer = self.answerer.answer(question, retrieval, query_vector)
        answer.timings["total"] = time.perf_counter() - started
        return answer


def _clean_question(question: str, limit: int) -> str:
    """Printable characters only, whitespace collapsed, cut to `limit` characters."""
    printable = "".join(ch if ch.isprintable() else " " for ch in question[: limit * 2])
    return " ".join(printable.split())[:limit]

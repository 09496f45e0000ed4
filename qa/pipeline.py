"""The question-answering pipeline: rewrite follow-ups, read time expressions, retrieve, answer."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

from index.indexer import NewsIndex
from qa.answering import AnswerConfig, ExtractiveAnswerer
from qa.conversation import Turn
from qa.models import Answer, Filters
from qa.question import clean_question, in_latin_script, parse_question
from qa.reader import PassageReader
from qa.retrieval import HybridRetriever, RetrievalConfig
from qa.written import Draft, GroundedWriter

NOT_ENGLISH = ("The indexed articles are in English, and this question is not written in the Latin alphabet: "
               "please ask it in English.")


def question_too_long(question: str, limit: int) -> str | None:
    """Why `question` is refused for its length (over `limit` characters once cleaned), or None. A question is not
    cut: what it would lose is its end, where the question of a pasted text usually stands."""
    return read_question(question, limit)[1]


def read_question(question: str, limit: int) -> tuple[str, str | None]:
    """`question` cleaned (read up to twice `limit`, so that a longer one is known), and why it is refused for its
    length, or None."""
    cleaned = clean_question(question, 2 * limit)
    if len(cleaned) <= limit:
        return cleaned, None
    length = len(cleaned) if len(cleaned) < 2 * limit else max(len(cleaned), len(question.strip()))  # cut past 2×
    return cleaned, f"Questions are limited to {limit:,} characters; this one has {length:,}. Please shorten it."


class QAPipeline:
    """Ask questions of one index. Holds no per-user state: history is passed in with each question."""

    def __init__(self, index: NewsIndex, retrieval: RetrievalConfig | None = None,
                 answering: AnswerConfig | None = None, max_question_chars: int = 2000,
                 time_mode: str = "prefer", reader: PassageReader | None = None,
                 writer: GroundedWriter | None = None) -> None:
        if max_question_chars < 10:
            raise ValueError(f"max_question_chars must be >= 10, got {max_question_chars}")
        if time_mode not in ("prefer", "filter"):
            raise ValueError(f"time_mode must be 'prefer' or 'filter', got {time_mode!r}")
        self.time_mode = time_mode
        self.index = index
        self.retriever = HybridRetriever(index, retrieval)
        self.answerer = ExtractiveAnswerer(index, answering, reader)
        self.max_question_chars = max_question_chars
        self.writer = writer  # a language model for written answers (`--llm`); None: extractive only
        self.oldest, self.newest = self.answerer.dates or (None, None)

    def ask(self, question: str, *, history: list[Turn] | None = None, filters: Filters | None = None,
            k: int = 10, use_time: bool = True, write: bool = False) -> Answer:
        """Answer one question; `history` holds the earlier turns of the same conversation.

        A period the question names ("in February 2017") is a preference, not a filter, unless
        `time_mode` is "filter": questions name when an event happened, and news of it is often
        published later. A period wholly outside the corpus's dates is no preference at all, yet the
        question is still read: news tells of earlier events and of plans for later ones ("the
        October 2015 crash", "a rise planned for April 2018"). The answerer weighs a period after
        the newest article against its evidence; a no-answer then says what dates the corpus covers.
        `write`: also ask the language model for a written answer from the same sources (`answer.written`).
        """
        started = time.perf_counter()
        filters = filters or Filters()
        question, refusal = read_question(question, self.max_question_chars)
        if refusal is not None:
            return Answer(question[: self.max_question_chars], "", refusal, (), True, 0.0, filters=filters,
                          signals={"too_long": 1.0}, timings={"total": time.perf_counter() - started})
        if not question:
            return Answer(question, "", "Please type a question.", (), True, 0.0, filters=filters)
        if not in_latin_script(question):
            return Answer(question, question, NOT_ENGLISH, (), True, 0.0, filters=filters,
                          signals={"not_english": 1.0}, timings={"total": time.perf_counter() - started})
        # History comes from the client too: the rewritten query is bounded like the question.
        parsed = parse_question(question, history, self.newest, use_time, 2 * self.max_question_chars)
        period = parsed.period
        outside = self._outside_coverage(period) if period is not None else None
        if outside is not None and self.time_mode == "filter":
            return Answer(question, parsed.query, outside, (), True, 0.0, filters=period,
                          timings={"total": time.perf_counter() - started}, signals={"outside_coverage": 1.0})
        if outside is not None:
            period = None
        elif period is not None and self.time_mode == "filter":
            filters, period = filters.merged(period), None
        later = parsed.later
        query = parsed.query
        query_vector = self.retriever.encode_query(query) if self.retriever.config.mode != "bm25" else None
        retrieval = self.retriever.retrieve(query, k=k, filters=filters, query_vector=query_vector, prefer=period,
                                            terms=list(parsed.terms))
        answer = self.answerer.answer(parsed, retrieval, query_vector)
        text, note = answer.text, ""
        signals = answer.signals
        if answer.abstained and (outside or later):
            text = outside or self._coverage("after")
            signals = {**signals, "outside_coverage": 1.0}  # no other words or filters can find it
        elif answer.abstained and not retrieval.hits and filters.active:
            text = self._nothing_matches(filters)
        elif later and self.newest is not None:
            note = (f"The question names a time after {self.newest.isoformat()}, the date of the newest article: "
                    "these sources were written before it and may tell only of plans or expectations.")
        answer = dataclasses.replace(answer, text=text, note=note, signals=signals,
                                     timings={**answer.timings, "total": time.perf_counter() - started})
        return self._writer().write(answer, history or []) if write else answer

    def too_long(self, question: str) -> str | None:
        """Why `question` is refused for its length (over `max_question_chars` once cleaned), or None."""
        return question_too_long(question, self.max_question_chars)

    def stream_written(self, answer: Answer, history: list[Turn] | None = None) -> Iterator[Draft | Answer]:
        """The written answer to `answer` as it comes: drafts, then `answer` with `written` attached."""
        return self._writer().stream(answer, history or [])

    def _writer(self) -> GroundedWriter:
        if self.writer is None:
            raise ValueError("no language model is set up for written answers (give llm_url)")
        return self.writer

    def _outside_coverage(self, period: Filters) -> str | None:
        """A no-answer message when the named period lies wholly outside the articles' dates."""
        if self.oldest is None or self.newest is None:
            return None
        if period.date_from and period.date_from > self.newest.isoformat():
            return self._coverage("after")
        if period.date_to and period.date_to < self.oldest.isoformat():
            return self._coverage("before")
        return None

    def _nothing_matches(self, filters: Filters) -> str:
        """Why nothing was read: the user's filters leave no article."""
        limits = []
        if filters.date_from or filters.date_to:
            limits.append(f"dates {filters.date_from or 'any'} to {filters.date_to or 'any'}")
        if filters.sources is not None:
            limits.append(f"outlets {', '.join(filters.sources)}")
        if filters.categories is not None:
            limits.append(f"categories {', '.join(filters.categories)}")
        span = (f"; the indexed articles run from {self.oldest.isoformat()} to {self.newest.isoformat()}"
                if self.oldest and self.newest else "")
        return f"No indexed article matches the filters searched ({'; '.join(limits)}){span}."

    def _coverage(self, side: str) -> str:
        """What the corpus cannot tell: events after its newest article, or before its oldest."""
        assert self.oldest is not None and self.newest is not None
        edge = self.newest if side == "after" else self.oldest
        return (f"The indexed articles run from {self.oldest.isoformat()} to {self.newest.isoformat()}; "
                f"they cannot say what happened {side} {edge.isoformat()}.")


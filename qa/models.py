"""What retrieval and answering return: hits, citations and answers (all immutable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from qa.written import WrittenAnswer


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to a date range (inclusive, ISO dates), a set of outlets and/or a set of categories."""

    date_from: str | None = None
    date_to: str | None = None
    sources: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not is_iso_date(value):
                raise ValueError(f"{name} must be an ISO date YYYY-MM-DD, got {value!r}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")

    @property
    def active(self) -> bool:
        return bool(self.date_from or self.date_to or self.sources is not None or self.categories is not None)

    def merged(self, other: Filters) -> Filters:
        """The stricter of two filters (used when a question names a period and the user set one too).

        Date ranges that do not overlap have no stricter one: then `other`'s range (the question's period) is used.
        """
        date_from = max(filter(None, (self.date_from, other.date_from)), default=None)
        date_to = min(filter(None, (self.date_to, other.date_to)), default=None)
        if date_from and date_to and date_from > date_to:
            date_from, date_to = other.date_from, other.date_to
        sources = self.sources if other.sources is None else other.sources
        categories = self.categories if other.categories is None else other.categories
        return Filters(date_from, date_to, sources, categories)


def is_iso_date(value: str) -> bool:
    """Whether `value` is a real calendar date written YYYY-MM-DD (2017-02-30 is not)."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with the scores that ranked it."""

    passage_id: int
    doc_id: str
    title: str
    source: str
    date: str
    start: int
    end: int
    score: float
    dense_score: float
    bm25_score: float


class RetrievalResult(NamedTuple):
    hits: list[Hit]
    query: str  # the text actually searched (after follow-up rewriting)
    filters: Filters
    seconds: float


class AlternativeSource(NamedTuple):
    """Where else a cited story ran: a near-copy of its article, kept as a source and not indexed."""

    doc_id: str
    title: str
    source: str
    date: str
    url: str

    def to_dict(self) -> dict:
        return {"article_id": self.doc_id, "title": self.title, "source": self.source, "date": self.date,
                "url": self.url}


@dataclass(frozen=True)
class Citation:
    """One cited sentence: `article.text[start:end] == sentence`."""

    n: int
    doc_id: str
    title: str
    source: str
    date: str
    url: str
    sentence: str
    start: int
    end: int
    passage_id: int
    passage_start: int
    passage_end: int
    score: float
    answer_span: tuple[int, int] | None = None  # short answer, as offsets into the article text
    also_published: tuple[AlternativeSource, ...] = ()  # near-copies of the article: the same story elsewhere

    def to_dict(self) -> dict:
        return {
            "n": self.n, "article_id": self.doc_id, "title": self.title, "source": self.source, "date": self.date,
            "url": self.url, "sentence": self.sentence, "start": self.start, "end": self.end,
            "passage_id": self.passage_id, "passage_start": self.passage_start, "passage_end": self.passage_end,
            "score": round(self.score, 4),
            "answer_span": list(self.answer_span) if self.answer_span else None,
            "also_published": [s.to_dict() for s in self.also_published],
        }


@dataclass(frozen=True)
class Answer:
    question: str
    query: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    confidence: float
    short_answer: str = ""
    hits: tuple[Hit, ...] = ()
    filters: Filters = field(default_factory=Filters)
    timings: dict[str, float] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)  # the evidence behind `confidence`
    note: str = ""  # a caveat to show beside the answer (the question names a time after the corpus)
    written: WrittenAnswer | None = None  # a language model's answer from these sources, checked (`--llm`)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "note": self.note,
            "confidence": round(self.confidence, 4),
            "citations": [c.to_dict() for c in self.citations],
            "filters": {"date_from": self.filters.date_from, "date_to": self.filters.date_to,
                        "sources": list(self.filters.sources) if self.filters.sources is not None else None},
            "timings_ms": {k: round(v * 1000, 2) for k, v in self.timings.items()},
            "signals": {k: round(v, 4) for k, v in self.signals.items()},
            **({"written": self.written.to_dict()} if self.written is not None else {}),
        }

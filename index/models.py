"""The records that flow through the pipeline: articles, their sentences and passages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One cleaned news article. `text` is what sentences, passages and citations point into."""

    doc_id: str
    title: str
    text: str
    date: str = ""  # ISO YYYY-MM-DD, or "" when unknown
    source: str = ""  # outlet, e.g. "abcnews.go.com"
    url: str = ""
    subtitle: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.doc_id or not self.doc_id.strip():
            raise ValueError(f"Article.doc_id must be a non-empty string, got {self.doc_id!r}")
        if not self.text.strip():
            raise ValueError(f"Article {self.doc_id!r} has no text")


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: `article.text[start:end] == text`."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences sized for the embedding model: `article.text[start:end] == text`.

    `first_sentence`/`last_sentence` are inclusive sentence indexes within the article.
    `passage_id` is assigned by the store (it keys the vector index); -1 before storing.
    """

    doc_id: str
    index: int
    start: int
    end: int
    text: str
    first_sentence: int
    last_sentence: int
    n_tokens: int
    passage_id: int = -1

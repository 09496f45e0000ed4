"""What one ingest run does with each record, decided before anything is written.

`IngestPlan` keeps the state of one run (which ids and texts it has seen, what the store held before
it, the near-copy index) and sorts each article into the pending batch: new, a new version of a
stored article, unchanged, an exact duplicate, a near-copy kept as an alternative source, or a later
version of a stored story that takes its place. `NewsIndex.add` feeds it records and commits what it
returns with `flush`, one batch per transaction; the plan itself writes nothing but the signatures
of articles stored before near-copies were detected.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from index.chunking import Chunker
from index.models import Article, Passage, Sentence
from index.near_duplicates import NearDuplicateIndex, signature
from index.readers import RecordError
from index.sentences import split_sentences
from index.store import Copy, DocumentStore


@dataclass
class IngestReport:
    """What an ingest did, with every skipped record (and every warning about a kept one) and why."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    duplicates: int = 0
    near_duplicates: int = 0  # kept as alternative sources of a stored article, not indexed
    superseded: int = 0  # stored articles that a later version of the same story replaced (kept as its sources)
    passages: int = 0
    tokens: int = 0
    seconds: float = 0.0
    errors: list[RecordError] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)  # ids given again with another text in this input: later won

    @property
    def skipped(self) -> Counter[str]:
        reasons = Counter(_reason_kind(e.reason) for e in self.errors if not e.kept)
        if self.unchanged:
            reasons["already indexed, unchanged"] = self.unchanged
        if self.duplicates:
            reasons["exact duplicate of another article"] = self.duplicates
        if self.near_duplicates:
            reasons["near-copy of another article (kept as its alternative source)"] = self.near_duplicates
        return reasons

    def summary(self) -> str:
        lines = [
            f"added {self.added} articles ({self.replaced} replaced), {self.passages} passages, "
            f"{self.tokens:,} tokens in {self.seconds:.1f}s"
        ]
        for reason, count in self.skipped.most_common():
            lines.append(f"skipped {count}: {reason}")
        if self.superseded:
            lines.append(f"later versions of a stored story {self.superseded}: indexed in its place, the earlier kept "
                         "as an alternative source")
        for reason, count in Counter(_reason_kind(e.reason) for e in self.errors if e.kept).most_common():
            lines.append(f"read with a warning {count}: {reason}")
        if self.repeated:
            shown = ", ".join(self.repeated[:10]) + (", …" if len(self.repeated) > 10 else "")
            lines.append(f"given more than once with different texts, the later kept: {len(self.repeated)} id(s): {shown}")
        return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0].split(";")[0]


def content_hash(article: Article) -> str:
    return hashlib.sha1(article.text.encode("utf-8")).hexdigest()


def index_text(title: str, passage_text: str, title_in_index: bool) -> str:
    """The text embedded and BM25-indexed for a passage: its headline (if configured) then the passage."""
    return f"{title}\n{passage_text}" if title_in_index and title else passage_text


class Split(NamedTuple):
    """An article cut for indexing: its sentences, its passages and the text embedded for each passage."""

    sentences: list[Sentence]
    passages: list[Passage]
    texts: list[str]


def split_article(article: Article, chunker: Chunker, title_in_index: bool) -> Split:
    """Sentences, passages and passage texts of one article: the same for every ingest engine."""
    sentences = split_sentences(article.doc_id, article.text)
    passages = chunker.chunk(article.text, sentences)
    return Split(sentences, passages, [index_text(article.title, p.text, title_in_index) for p in passages])


class Prepared(NamedTuple):
    """An article already split and embedded elsewhere (e.g. by Ray workers), for `NewsIndex.add` to commit.

    `vectors` has one row per passage. The writer still decides whether the article is new, changed, a
    duplicate or a near-copy; what it does not index is dropped, and whatever it indexes without a
    `Prepared` of the same text is split and embedded by the writer itself.
    """

    article: Article
    split: Split
    vectors: np.ndarray


@dataclass
class PendingBatch:
    """What the next transaction writes."""

    articles: list[tuple[Article, str]] = field(default_factory=list)  # (article, content hash)
    replaced: list[str] = field(default_factory=list)  # stored ids (articles or copies) whose old version goes
    signatures: dict[str, np.ndarray] = field(default_factory=dict)  # of the batch's articles
    copies: list[Copy] = field(default_factory=list)  # new near-copies of stored (or batched) articles
    superseded: list[Copy] = field(default_factory=list)  # stored articles that become copies of a later version

    def __bool__(self) -> bool:
        return bool(self.articles or self.replaced or self.copies)


# Stored for an article too short to sign, so that later runs do not read its text again to find that out.
TOO_SHORT = np.zeros(0, dtype=np.uint32)


def near_duplicate_index(store: DocumentStore, threshold: float) -> NearDuplicateIndex | None:
    """The stored articles' MinHash signatures in an LSH index (signing those stored without one first)."""
    if not threshold:
        return None
    unsigned = {doc_id: TOO_SHORT if (v := signature(text)) is None else v
                for doc_id, text in store.unsigned_articles()}
    if unsigned:
        store.add_signatures(unsigned)
    near = NearDuplicateIndex(threshold)
    near.add_all(store.signatures())
    return near


class IngestPlan:
    """The decisions of one ingest run, record by record (see the module's docstring).

    Same id and same text: unchanged. Same id, new text: the new version replaces the old. Same text under
    another id: an exact duplicate, skipped. A new id whose text nearly repeats a stored article is kept as its
    alternative source; dated later than it (an updated version), it is indexed instead and the stored one becomes
    its source. `date_of` gives a stored article's date (None when it is not stored).
    """

    def __init__(self, store: DocumentStore, report: IngestReport, near: NearDuplicateIndex | None,
                 date_of: Callable[[str], str | None]) -> None:
        self.store, self.report, self.near, self.date_of = store, report, near, date_of
        self.pending = PendingBatch()
        self.before: dict[str, str | None] = {}  # doc id -> content hash it had before this run (None: new)
        self.text_of: dict[str, str] = {}  # doc id -> content hash of its latest text in this run
        self.holder_of: dict[str, str] = {}  # content hash -> the doc id holding that text in this run
        self.changed: set[str] = set()  # ids indexed before this run that it gives a new text

    def flush(self) -> PendingBatch:
        """The pending batch, handed over for writing; a new one starts."""
        batch, self.pending = self.pending, PendingBatch()
        return batch

    def take(self, record: Article) -> None:
        pending, report = self.pending, self.report
        digest, doc_id = content_hash(record), record.doc_id
        if doc_id not in self.before:
            self.before[doc_id] = self.store.content_hash(doc_id)
            held = self.store.copy(doc_id) if self.before[doc_id] is None else None
            if held is not None and held.content_hash == digest:
                report.unchanged += 1  # a near-copy kept before, given again
                return
            if held is not None:
                pending.replaced.append(doc_id)  # the stored copy goes; its new text is judged afresh
                report.replaced += 1
        before = self.before[doc_id]
        current = self.text_of.get(doc_id, before)
        if current == digest:
            report.unchanged += 1
            self.text_of[doc_id], self.holder_of[digest] = digest, doc_id
            return
        if self._duplicate_of(digest) if before is None else digest in self.holder_of:
            report.duplicates += 1
            return
        pending.copies = [c for c in pending.copies if c.doc_id != doc_id]
        if self._near_copy(record, digest, first_time=before is None and doc_id not in self.text_of):
            return
        if doc_id in self.text_of and doc_id not in report.repeated:
            report.repeated.append(doc_id)  # e.g. two files named story.txt in different folders
        if before is not None and doc_id not in self.changed:
            self.changed.add(doc_id)
            report.replaced += 1  # counted once per article that was indexed before this run
        if doc_id not in pending.replaced and self.store.content_hash(doc_id) is not None:
            pending.replaced.append(doc_id)  # stored before this run, or by one of its earlier batches
        pending.articles = [(a, h) for a, h in pending.articles if a.doc_id != doc_id]
        if current is not None and self.holder_of.get(current) == doc_id:
            del self.holder_of[current]  # its earlier text is free again: the later version wins
        self.holder_of[digest], self.text_of[doc_id] = doc_id, digest
        pending.articles.append((record, digest))

    def _near_copy(self, record: Article, digest: str, first_time: bool) -> bool:
        """Whether `record` is kept as a near-copy (not indexed); signs it otherwise, and marks a stored story it
        updates as superseded."""
        values = signature(record.text) if self.near is not None else None
        if self.near is None or values is None:
            return False
        found = self.near.find(values, exclude=record.doc_id) if first_time else None
        if found is not None:
            older = self._older_version(found.doc_id, record)
            if older is not None:
                self.pending.superseded.append(Copy(found.doc_id, record.doc_id, older.title, older.date, older.source,
                                                    older.url, content_hash(older), round(found.similarity, 4)))
                self.near.remove(found.doc_id)
                self.report.superseded += 1
            else:
                self.pending.copies.append(Copy(record.doc_id, found.doc_id, record.title, record.date, record.source,
                                                record.url, digest, round(found.similarity, 4)))
                self.report.near_duplicates += 1
                return True
        self.near.add(record.doc_id, values)
        self.pending.signatures[record.doc_id] = values
        return False

    def _older_version(self, doc_id: str, newer: Article) -> Article | None:
        """The stored article `doc_id` when `newer` (its near-copy) is dated after it: an update replaces it."""
        date = self.date_of(doc_id)
        if not date or not newer.date or newer.date <= date:
            return None
        return self.store.article(doc_id)

    def _duplicate_of(self, digest: str) -> bool:
        """Whether another article holds this text: one ingested in this run, or a stored one not changed since."""
        if digest in self.holder_of:
            return True
        holder = self.store.doc_with_hash(digest)
        return holder is not None and self.text_of.get(holder, digest) == digest

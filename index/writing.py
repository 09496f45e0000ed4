"""Writing an index: ingest (records in, committed batches out) and delete, as a mixin of `NewsIndex`.

Every write holds the folder's write lock, first catches up with what another writer committed, commits to
SQLite batch by batch and then rewrites the derived files (`index/derived.py`), the manifest last. What one
ingest run decides for each record (new, changed, duplicate, near-copy) is `index/ingest.py IngestPlan`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
from tqdm.auto import tqdm

from index.ingest import (
    TOO_SHORT,
    IngestPlan,
    IngestReport,
    PendingBatch,
    Prepared,
    content_hash,
    near_duplicate_index,
    split_article,
)
from index.layout import ArticleInfo, article_category, write_lock
from index.models import Passage, Sentence
from index.readers import Record, RecordError


class IndexWriting:
    """`add` and `delete` for `NewsIndex` (which holds the store, tables, vectors and config they use)."""

    def add(self, records: Iterable[Record | Prepared], *, batch_articles: int = 32, batch_size: int = 64,
            show_progress: bool = True, wait_for_lock: bool = True, total: int | None = None) -> IngestReport:
        """Ingest articles: clean records in, committed batches out. Bad records are reported, not fatal.

        Same id and same text: unchanged. Same id, new text: the new version replaces the old.
        Same text under another id: skipped as a duplicate. A new id whose text nearly repeats a stored article
        (config `near_duplicates`) is kept as that article's alternative source, not indexed; when it is dated later
        (an updated version), it is indexed instead and the stored one becomes its source. A `Prepared` record
        (another engine split and embedded it, `index/ray_ingest.py`) is judged the same way and written as given.
        """
        self._check_writable()
        report = IngestReport()
        started = time.perf_counter()
        with write_lock(self.folder, wait_for_lock):
            self._catch_up()
            progress = tqdm(total=total, desc="Indexing", unit="article", disable=not show_progress, dynamic_ncols=True)
            plan = IngestPlan(self.store, report, near_duplicate_index(self.store, self.config.near_duplicates),
                              lambda doc_id: info.date if (info := self.articles.get(doc_id)) else None)
            ready: dict[tuple[str, str], Prepared] = {}  # (doc id, content hash) -> split and embedded elsewhere
            for record in records:
                progress.update(1)
                if isinstance(record, RecordError):
                    report.errors.append(record)
                    progress.write(f"{'warning' if record.kept else 'skipped'} {record}")
                    continue
                if isinstance(record, Prepared):
                    ready[(record.article.doc_id, content_hash(record.article))] = record
                    record = record.article
                plan.take(record)
                if len(plan.pending.articles) >= batch_articles:
                    self._commit_batch(plan.flush(), report, batch_size, ready)
                    progress.set_postfix(passages=report.passages)
            if plan.pending:
                self._commit_batch(plan.flush(), report, batch_size, ready)
            progress.close()
            if report.added or report.replaced or report.near_duplicates or self._derived_stale():
                if show_progress:
                    print("Writing BM25 and vector files…", flush=True)
                self._rebuild_bm25(show_progress)
                self._persist_derived()
        report.seconds = time.perf_counter() - started
        return report

    def _commit_batch(self, pending: PendingBatch, report: IngestReport, batch_size: int,
                      ready: dict[tuple[str, str], Prepared]) -> None:
        """Write one batch; articles in `ready` come split and embedded, the others are done here. Clears `ready`:
        what the batch did not take was not indexed (unchanged, a duplicate or a near-copy)."""
        batch, replaced = pending.articles, pending.replaced
        sentences: list[Sentence] = []
        passages: list[Passage] = []
        parts: list[np.ndarray | list[str]] = []  # per article: its vectors, or the texts still to embed
        for article, digest in batch:
            done = ready.get((article.doc_id, digest))
            split = done.split if done is not None else split_article(article, self.chunker, self.config.title_in_index)
            sentences += split.sentences
            passages += split.passages
            parts.append(done.vectors if done is not None else split.texts)
        ready.clear()
        texts = [text for part in parts if isinstance(part, list) for text in part]
        encoded = self.embedder.encode(texts, batch_size=batch_size) if texts else None
        vectors = np.zeros((len(passages), self.config.dim), np.float32)
        row = done_texts = 0
        for part in parts:
            if isinstance(part, list):
                part, done_texts = encoded[done_texts : done_texts + len(part)], done_texts + len(part)
            vectors[row : row + len(part)] = part
            row += len(part)
        gone = set(replaced) | {c.doc_id for c in pending.superseded}
        removed = self.passages.ids_of(gone).tolist()
        ids = self.store.write_batch(batch, sentences, passages, vectors, replaced=replaced,
                                     signatures={a.doc_id: pending.signatures.get(a.doc_id, TOO_SHORT)
                                                 for a, _ in batch} if self.config.near_duplicates else None,
                                     copies=pending.copies, superseded=pending.superseded)
        self._version = self.store.version
        # Keep the in-memory view in step with what was committed.
        self.vectors.remove(removed)
        self.vectors.add(np.array(ids, dtype=np.int64), vectors)
        if gone:
            self._load_tables()
        else:
            for article, _ in batch:
                self.articles[article.doc_id] = ArticleInfo(article.doc_id, article.title, article.date, article.source,
                                                          article_category(article.metadata))
            self.passages.extend([(passage_id, p.doc_id, p.start, p.end, p.first_sentence, p.last_sentence)
                                  for passage_id, p in zip(ids, passages, strict=True)])
        report.added += len(batch) - sum(1 for a, _ in batch if a.doc_id in replaced)
        report.passages += len(passages)
        report.tokens += sum(p.n_tokens for p in passages)

    def delete(self, doc_ids: list[str]) -> list[str]:
        """Remove articles; returns the ids that were present."""
        self._check_writable()
        with write_lock(self.folder, wait=True):
            self._catch_up()
            present = [d for d in dict.fromkeys(doc_ids)  # each id once: articles, and near-copies kept as sources
                       if d in self.articles or self.store.copy(d) is not None]
            removed = self.store.delete(present)
            self._version = self.store.version
            self.vectors.remove(removed)
            self._load_tables()
            self._rebuild_bm25(show_progress=False)
            self._persist_derived()
        return present

    def _check_writable(self) -> None:
        if self.readonly:
            raise ValueError(f"index {self.folder} is open read-only")

"""The index folder opened for search and writing: its document store, tables, and derived files.

Opening, checking and repairing live here; writing (`add`, `delete`) in `index/writing.py`, the derived
files in `index/derived.py`, both mixed into `NewsIndex`.

A write commits to SQLite batch by batch; the derived files (`index/derived.py`) are rewritten at the end
and the manifest is replaced atomically last. If a writer dies in between, the next open sees that the
derived files are older than the store and rebuilds them from it (no re-embedding). The manifest records the
size and SHA-256 of every derived file, so a damaged one is refused on open rather than served. One process
writes at a time (`write.lock`); a writer first catches up with whatever another writer committed before it
got the lock, so writes never interleave. The folder's files are listed in `index/layout.py`.

An article id is the identity of an article: ingesting the same id with a different text replaces
the stored version (the later one wins, also within one input); the same text under another id is
skipped as a duplicate.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from index.chunking import Chunker
from index.derived import DerivedFiles
from index.embedding import Embedder
from index.layout import (
    MANIFEST_FILE,
    STORE_FILE,
    ArticleInfo,
    IndexConfig,
    IndexCorruptError,
    IndexLockedError,
    NewsIndexError,
    PassageTable,
    check_format,
    derived_current,
    missing_store,
    open_store,
    read_manifest,
    write_lock,
)
from index.lexical import BM25Index
from index.models import Article, Passage, Sentence
from index.store import DocumentStore
from index.vectors import VectorIndex
from index.writing import IndexWriting

__all__ = ["MANIFEST_FILE", "STORE_FILE", "IndexConfig", "IndexCorruptError", "IndexLockedError", "NewsIndex",
           "NewsIndexError"]


class NewsIndex(DerivedFiles, IndexWriting):
    """An index folder opened for search and (unless `readonly`) for writing.

    Use `NewsIndex.open(folder, embedder)`; a missing folder is created with `config`.
    """

    def __init__(self, folder: Path, store: DocumentStore, config: IndexConfig, embedder: Embedder | None,
                 readonly: bool) -> None:
        self.folder = folder
        self.store = store
        self.config = config
        self.readonly = readonly
        self._embedder = embedder
        self.chunker = Chunker(config.max_tokens, config.overlap, config.encoding)
        self.vectors = VectorIndex(config.dim)
        self.bm25 = BM25Index.build(np.zeros(0, dtype=np.int64), [])
        self.article_bm25 = BM25Index.build(np.zeros(0, dtype=str), [])  # rows in the order of `articles`
        self.passages = PassageTable()
        self.articles: dict[str, ArticleInfo] = {}
        self._version: int | None = None  # store version the tables and derived structures reflect
        # The store version of the derived files found on open when they were behind the store (an ingest stopped
        # between its commit and saving them) and were rebuilt from it; None when they were current.
        self.recovered_from: int | None = None

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: Path | str, embedder: Embedder | None = None, *, config: IndexConfig | None = None,
             readonly: bool = False) -> NewsIndex:
        """Open (or, when writable and absent, create) the index in `folder`.

        Raises IndexCorruptError when a file is missing, truncated or inconsistent.
        """
        folder = Path(folder)
        store_path, manifest_path = folder / STORE_FILE, folder / MANIFEST_FILE
        if not manifest_path.exists():
            store = None
            if store_path.exists():
                store = open_store(store_path, readonly)
                if store.version or any(store.counts().values()):
                    store.close()
                    raise IndexCorruptError(
                        f"{manifest_path} is missing; rebuild it from the document store with "
                        f"`newsqa check --repair --index {folder}`"
                    )
            # No store, or one that a creation interrupted before anything was committed.
            return cls._create(folder, store, embedder, config, readonly)
        if not store_path.exists():  # never create an empty store under a manifest: that would lose the index
            raise IndexCorruptError(missing_store(folder))
        for _ in range(2):
            manifest = read_manifest(manifest_path)
            try:
                return cls._open_existing(folder, manifest, embedder, readonly, config)
            except IndexCorruptError:
                # An ingest that finished after the manifest was read removes the files it named: read the new one.
                if read_manifest(manifest_path) == manifest:
                    raise
        return cls._open_existing(folder, read_manifest(manifest_path), embedder, readonly, config)  # errors stand

    @classmethod
    def _open_existing(cls, folder: Path, manifest: dict, embedder: Embedder | None, readonly: bool,
                       config: IndexConfig | None = None) -> NewsIndex:
        """Open the index `manifest` describes; the store is closed again if anything fails.

        Of a `config` given, only the vector index kind applies to an existing index (its next write rebuilds
        the vectors in that kind); the rest was fixed when the index was built.
        """
        check_format(folder, manifest)
        stored = IndexConfig(**manifest["config"])
        if config is not None and config.vector_index != stored.vector_index:
            stored = replace(stored, vector_index=config.vector_index)
        if embedder is not None and (embedder.name, embedder.dim) != (stored.model, stored.dim):
            raise ValueError(
                f"index {folder} was built with {stored.model} ({stored.dim}-d) but the embedder is "
                f"{embedder.name} ({embedder.dim}-d); use the same model or build a new index"
            )
        store = open_store(folder / STORE_FILE, readonly)
        try:
            index = cls(folder, store, stored, embedder, readonly)
            with index.store.snapshot():
                version = index.store.version
                if manifest["store_version"] == version:
                    index._verify_store(manifest)
                if derived_current(manifest, version):
                    index._load_tables()
                    index._load_derived(manifest)
                    index._version = version
                    if not readonly:
                        index._tidy_unless_locked(manifest)
            if index._version != version:
                # A writer stopped (or is still going) between committing to the store and rewriting the
                # derived files: rebuild them from the store, and save them unless that writer still runs.
                index._refresh()
                index.recovered_from = manifest["store_version"]
                if not readonly:
                    index._persist_unless_locked()
        except BaseException:
            store.close()
            raise
        return index

    @classmethod
    def _create(cls, folder: Path, store: DocumentStore | None, embedder: Embedder | None,
                config: IndexConfig | None, readonly: bool) -> NewsIndex:
        if readonly:
            if store is not None:
                store.close()
            raise IndexCorruptError(f"{folder} holds no newsqa index ({MANIFEST_FILE} missing); build one with `newsqa ingest`")
        folder.mkdir(parents=True, exist_ok=True)
        store = store or open_store(folder / STORE_FILE, readonly=False)
        if config is None and (stored := store.get_meta("config")):  # the interrupted creation's config
            config = IndexConfig(**json.loads(stored))
        if config is None:
            if embedder is None:
                raise ValueError("creating an index needs an embedder or an IndexConfig")
            config = IndexConfig(model=embedder.name, dim=embedder.dim)
        store.set_meta("config", json.dumps(asdict(config)))
        index = cls(folder, store, config, embedder, readonly=False)
        index._refresh()
        index._persist_unless_locked()
        return index

    def _verify_store(self, manifest: dict) -> None:
        """The store's rows must hash to what the manifest recorded for this store version."""
        recorded = manifest.get("store_sha256")  # absent in manifests of older indexes
        if manifest["store_version"] == self.store.version and recorded not in (None, self.store.digest()):
            raise IndexCorruptError(
                f"{self.store.path} is damaged: its content differs from what {MANIFEST_FILE} recorded. "
                f"The document store cannot be rebuilt from the other files: move {self.folder} aside "
                f"and re-run `newsqa ingest` on your sources"
            )

    def _refresh(self, show_progress: bool = False) -> None:
        """Reload the tables and rebuild FAISS and BM25 from one consistent snapshot of the store."""
        with self.store.snapshot():
            version = self.store.version
            self._load_tables()
            self._rebuild_derived(show_progress)
        self._version = version

    def _catch_up(self) -> None:
        """Under the write lock: take in what another writer committed since this view was built."""
        if self.store.version != self._version:
            self._refresh()

    def _persist_unless_locked(self) -> None:
        """Save the derived files now, unless another process holds the write lock (it saves them at its end)."""
        try:
            with write_lock(self.folder, wait=False):
                self._catch_up()
                self._persist_derived()
        except IndexLockedError:
            pass

    def _tidy_unless_locked(self, manifest: dict) -> None:
        try:
            with write_lock(self.folder, wait=False):
                self._remove_unreferenced(manifest)
        except IndexLockedError:
            pass

    def _derived_stale(self) -> bool:
        try:
            return not derived_current(read_manifest(self.folder / MANIFEST_FILE), self._version)
        except IndexCorruptError:
            return True

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            raise ValueError(f"index {self.folder} was opened without an embedder; pass one to embed text")
        return self._embedder

    def _load_tables(self) -> None:
        self.articles = {row[0]: ArticleInfo(*row) for row in self.store.article_rows()}
        self.passages = PassageTable.from_rows(self.store.passage_rows())


    # -- reading --------------------------------------------------------------------------------
    def passage_row(self, passage_id: int) -> int:
        return self.passages.row_of(passage_id)

    def passage(self, passage_id: int) -> Passage:
        ref = self.passages[self.passages.row_of(passage_id)]
        article = self.store.article(ref.doc_id)
        assert article is not None
        return Passage(ref.doc_id, -1, ref.start, ref.end, article.text[ref.start : ref.end],
                       ref.first_sentence, ref.last_sentence, -1, passage_id)

    def sentences(self, article: Article) -> list[Sentence]:
        return [
            Sentence(article.doc_id, i, s, e, article.text[s:e])
            for i, (s, e) in enumerate(self.store.sentence_offsets(article.doc_id))
        ]

    def saved_behind_store(self) -> bool:
        """Whether the derived files on disk are of an older store version than the store (rebuilt in memory
        on open; the next writer saves them)."""
        return read_manifest(self.folder / MANIFEST_FILE)["store_version"] != self.store.version

    def check(self) -> list[str]:
        """Consistency problems (empty list when the index is sound). Derived files saved behind the store are
        not damage (see `saved_behind_store`): the open rebuilt them from the store."""
        problems: list[str] = []
        counts = self.store.counts()
        ids = set(self.vectors.ids().tolist())
        passage_ids = set(self.passages.ids.tolist())
        if ids != passage_ids:
            problems.append(f"{len(passage_ids - ids)} passages without a vector, {len(ids - passage_ids)} vectors without a passage")
        if set(self.bm25.ids.tolist()) != passage_ids:
            problems.append("BM25 rows do not match the stored passages")
        if self.article_bm25.ids.tolist() != list(self.articles):
            problems.append("article BM25 rows do not match the stored articles")
        orphans = set(self.passages.doc_ids) - set(self.articles)
        if orphans:
            problems.append(f"{len(orphans)} articles referenced by passages are missing")
        manifest = read_manifest(self.folder / MANIFEST_FILE)
        if manifest["store_version"] == self.store.version and manifest["counts"] != counts:
            problems.append(f"manifest counts {manifest['counts']} differ from the store {counts}")
        for ref in self.passages:
            if not 0 <= ref.start < ref.end:
                problems.append(f"passage {ref.passage_id} has bad offsets {ref.start}..{ref.end}")
        return problems

    @classmethod
    def repair(cls, folder: Path | str, show_progress: bool = True) -> NewsIndex:
        """Rebuild the vector file, BM25 and manifest from an intact document store.

        A store that SQLite finds damaged, or whose rows no longer hash to what a readable manifest
        recorded, is refused: the derived files would be rebuilt from damaged data.
        """
        folder = Path(folder)
        if not (folder / STORE_FILE).exists():
            raise IndexCorruptError(missing_store(folder))
        store = open_store(folder / STORE_FILE, readonly=False)
        try:
            stored = store.get_meta("config")
            if stored is None:
                raise IndexCorruptError(f"{store.path} has no index settings; move {folder} aside and re-run `newsqa ingest`")
            index = cls(folder, store, IndexConfig(**json.loads(stored)), None, readonly=False)
            with write_lock(folder, wait=True):
                try:
                    manifest = read_manifest(folder / MANIFEST_FILE) if (folder / MANIFEST_FILE).exists() else None
                except IndexCorruptError:
                    manifest = None  # unreadable: nothing to compare the store with
                if manifest is not None:
                    check_format(folder, manifest)  # never rewrite a newer index in this version's format
                    index._verify_store(manifest)
                index._refresh(show_progress=show_progress)
                index._persist_derived()
        except BaseException:
            store.close()
            raise
        return index

    def close(self) -> None:
        self.store.close()



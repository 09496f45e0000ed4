"""The index folder: document store + FAISS + BM25 + manifest, written safely, opened with checks.

Layout of an index folder:
    store.sqlite          articles, sentence offsets, passages and vectors (source of truth)
    vectors-<v>.faiss     FAISS index of passage vectors, as of store version <v>
    bm25-<v>/             BM25 over passages: arrays and vocabulary (bm25s format, JSON + .npy)
    bm25-articles-<v>/    BM25 over whole articles (headline, if indexed, + text), same format
    manifest.json         model, dimension, tokenizer, chunking, counts, and the files above
    write.lock            held by the one process writing

A write commits to SQLite batch by batch; the derived files are rewritten at the end and the
manifest is replaced atomically last. If a writer dies in between, the next open sees that the
derived files are older than the store and rebuilds them from it (no re-embedding). The manifest
records the size and SHA-256 of every derived file, so a damaged one is refused on open rather
than served. One process writes at a time (`write.lock`); a writer first catches up with whatever
another writer committed before it got the lock, so writes never interleave.

An article id is the identity of an article: ingesting the same id with a different text replaces
the stored version (the later one wins, also within one input); the same text under another id is
skipped as a duplicate.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from index.chunking import OFFLINE_ENCODING, Chunker
from index.embedding import Embedder
from index.lexical import BM25Index, tokenize
from index.models import Article, Passage, Sentence
from index.ingest import TOO_SHORT, IngestPlan, IngestReport, PendingBatch, near_duplicate_index
from index.near_duplicates import DEFAULT_THRESHOLD as DEFAULT_NEAR_THRESHOLD
from index.readers import Record, RecordError
from index.sentences import split_sentences
from index.store import DocumentStore, StoreError
from index.vectors import VectorIndex, choose_kind

FORMAT_VERSION = 2  # 2: whole-article BM25 (an index of format 1 gets it on open)
STORE_FILE = "store.sqlite"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "write.lock"


class IndexError_(RuntimeError):
    """Base for index problems a user can act on."""


class IndexCorruptError(IndexError_):
    """A file of the index is missing, truncated or inconsistent; the message says how to rebuild."""


class IndexLockedError(IndexError_):
    """Another process is writing to this index."""


@dataclass(frozen=True)
class IndexConfig:
    """What the index was built with; fixed at creation and recorded in the manifest."""

    model: str
    dim: int
    encoding: str = OFFLINE_ENCODING
    max_tokens: int = 100
    overlap: int = 1
    title_in_index: bool = True  # headline prepended to each passage for embedding and BM25
    # Estimated Jaccard similarity (word 5-shingles, MinHash) at which a new article is taken for a near-copy of a
    # stored one and kept as its alternative source (index/near_duplicates.py); 0 turns detection off.
    near_duplicates: float = DEFAULT_NEAR_THRESHOLD
    # The FAISS index kind (index/vectors.py): "auto" chooses by passage count; "flat", "ivf" or "hnsw" force one.
    vector_index: str = "auto"

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"dim must be positive, got {self.dim}")
        choose_kind(0, self.vector_index)  # refuses an unknown kind, naming it
        if not (self.near_duplicates == 0 or 0 < self.near_duplicates < 1):
            raise ValueError(f"near_duplicates must be 0 (off) or between 0 and 1, got {self.near_duplicates}")


@dataclass(frozen=True)
class PassageRef:
    """Where a passage lies: the in-memory table the retriever works from."""

    passage_id: int
    doc_id: str
    start: int
    end: int
    first_sentence: int
    last_sentence: int


@dataclass(frozen=True)
class ArticleInfo:
    doc_id: str
    title: str
    date: str
    source: str
    category: str = ""  # metadata "category" (or "section"), e.g. a BBC demo article's "sport"


def article_category(metadata: dict) -> str:
    """The category an article's metadata names ("category", else "section"), as text; "" when none."""
    for key in ("category", "section"):  # as the store's SQL reads it (index/store.py _CATEGORY)
        value = metadata.get(key)
        if isinstance(value, str) and value != "":
            return value.strip()
    return ""


@contextmanager
def _write_lock(folder: Path, wait: bool) -> Iterator[None]:
    handle = (folder / LOCK_FILE).open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexLockedError(
                    f"{folder} is being written by another process (lock {folder / LOCK_FILE}); try again when it ends"
                ) from None
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class NewsIndex:
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
        self.passages: list[PassageRef] = []
        self.articles: dict[str, ArticleInfo] = {}
        self._row_of: dict[int, int] = {}
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
                store = _open_store(store_path, readonly)
                if store.version or any(store.counts().values()):
                    store.close()
                    raise IndexCorruptError(
                        f"{manifest_path} is missing; rebuild it from the document store with "
                        f"`newsqa check --repair --index {folder}`"
                    )
            # No store, or one that a creation interrupted before anything was committed.
            return cls._create(folder, store, embedder, config, readonly)
        if not store_path.exists():  # never create an empty store under a manifest: that would lose the index
            raise IndexCorruptError(_missing_store(folder))
        for _ in range(2):
            manifest = _read_manifest(manifest_path)
            try:
                return cls._open_existing(folder, manifest, embedder, readonly, config)
            except IndexCorruptError:
                # An ingest that finished after the manifest was read removes the files it named: read the new one.
                if _read_manifest(manifest_path) == manifest:
                    raise
        return cls._open_existing(folder, _read_manifest(manifest_path), embedder, readonly, config)  # errors stand

    @classmethod
    def _open_existing(cls, folder: Path, manifest: dict, embedder: Embedder | None, readonly: bool,
                       config: IndexConfig | None = None) -> NewsIndex:
        """Open the index `manifest` describes; the store is closed again if anything fails.

        Of a `config` given, only the vector index kind applies to an existing index (its next write rebuilds
        the vectors in that kind); the rest was fixed when the index was built.
        """
        _check_format(folder, manifest)
        stored = IndexConfig(**manifest["config"])
        if config is not None and config.vector_index != stored.vector_index:
            stored = replace(stored, vector_index=config.vector_index)
        if embedder is not None and (embedder.name, embedder.dim) != (stored.model, stored.dim):
            raise ValueError(
                f"index {folder} was built with {stored.model} ({stored.dim}-d) but the embedder is "
                f"{embedder.name} ({embedder.dim}-d); use the same model or build a new index"
            )
        store = _open_store(folder / STORE_FILE, readonly)
        try:
            index = cls(folder, store, stored, embedder, readonly)
            with index.store.snapshot():
                version = index.store.version
                if manifest["store_version"] == version:
                    index._verify_store(manifest)
                if _derived_current(manifest, version):
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
        store = store or _open_store(folder / STORE_FILE, readonly=False)
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
            with _write_lock(self.folder, wait=False):
                self._catch_up()
                self._persist_derived()
        except IndexLockedError:
            pass

    def _tidy_unless_locked(self, manifest: dict) -> None:
        try:
            with _write_lock(self.folder, wait=False):
                self._remove_unreferenced(manifest)
        except IndexLockedError:
            pass

    def _derived_stale(self) -> bool:
        try:
            return not _derived_current(_read_manifest(self.folder / MANIFEST_FILE), self._version)
        except IndexCorruptError:
            return True

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            raise ValueError(f"index {self.folder} was opened without an embedder; pass one to embed text")
        return self._embedder

    def _load_tables(self) -> None:
        self.articles = {row[0]: ArticleInfo(*row) for row in self.store.article_rows()}
        self.passages = [PassageRef(*row) for row in self.store.passage_rows()]
        self._row_of = {p.passage_id: row for row, p in enumerate(self.passages)}

    def _load_derived(self, manifest: dict) -> None:
        files = manifest["files"]
        vectors_path = self.folder / files["vectors"]
        bm25_path = self.folder / files["bm25"]
        article_bm25_path = self.folder / files["bm25_articles"]
        repair = f"rebuild it with `newsqa check --repair --index {self.folder}`"
        if not vectors_path.exists() or vectors_path.stat().st_size != files["vectors_bytes"]:
            size = vectors_path.stat().st_size if vectors_path.exists() else "missing"
            raise IndexCorruptError(
                f"{vectors_path} is damaged (size {size}, manifest says {files['vectors_bytes']} bytes); {repair}"
            )
        for folder in (bm25_path, article_bm25_path):
            if not folder.is_dir():
                raise IndexCorruptError(f"{folder} is missing; {repair}")
        for name, digest in files.get("sha256", {}).items():  # absent in manifests of older indexes
            path = self.folder / name
            if not path.is_file() or _sha256(path) != digest:
                state = "missing" if not path.is_file() else "damaged (its SHA-256 differs from the manifest)"
                raise IndexCorruptError(f"{path} is {state}; {repair}")
        try:
            self.vectors = VectorIndex.load(vectors_path, self.config.dim)
        except (RuntimeError, ValueError) as exc:
            raise IndexCorruptError(f"{vectors_path} cannot be read ({exc}); {repair}") from exc
        self.bm25 = _load_bm25(bm25_path, repair)
        self.article_bm25 = _load_bm25(article_bm25_path, repair)
        expected = len(self.passages)
        if len(self.vectors) != expected or self.bm25.n_docs != expected:
            raise IndexCorruptError(
                f"{self.folder}: store has {expected} passages but {vectors_path.name} has {len(self.vectors)} "
                f"and {bm25_path.name} has {self.bm25.n_docs}; {repair}"
            )
        if self.article_bm25.ids.tolist() != list(self.articles):
            raise IndexCorruptError(
                f"{self.folder}: {article_bm25_path.name} does not hold the store's {len(self.articles)} articles in "
                f"their order ({self.article_bm25.n_docs} rows); {repair}"
            )

    def _rebuild_derived(self, show_progress: bool) -> None:
        """Recompute FAISS and BM25 from the store (vectors are stored, so nothing is re-embedded)."""
        self._rebuild_vectors()
        self._rebuild_bm25(show_progress)

    def _rebuild_vectors(self) -> None:
        """FAISS from the stored vectors, of the kind the passage count (or the config) calls for."""
        ids, vectors = self.store.vectors(self.config.dim)
        self.vectors = VectorIndex.build(self.config.dim, ids, vectors, choose_kind(len(ids), self.config.vector_index))

    def _rebuild_bm25(self, show_progress: bool) -> None:
        """BM25 over the passages, and over whole articles (a headline asks which story, not which paragraph).

        Article rows follow `articles` (the store's insertion order) and carry their ids, checked on open.
        """
        token_lists = []
        article_tokens: dict[str, list[str]] = {}
        cache: dict[str, Article] = {}
        for ref in tqdm(self.passages, desc="BM25 index", unit="passage", disable=not show_progress, leave=False):
            article = cache.get(ref.doc_id) or self.store.article(ref.doc_id)
            if ref.doc_id not in cache:
                article_tokens[ref.doc_id] = tokenize(self._index_text(article.title, article.text))
            cache = {ref.doc_id: article}
            token_lists.append(tokenize(self._index_text(article.title, article.text[ref.start : ref.end])))
        self.bm25 = BM25Index.build(np.array([p.passage_id for p in self.passages], dtype=np.int64), token_lists)
        self.article_bm25 = BM25Index.build(np.array(list(self.articles), dtype=str),
                                            [article_tokens.get(doc_id, []) for doc_id in self.articles])

    def _index_text(self, title: str, passage_text: str) -> str:
        """The text embedded and BM25-indexed for a passage: its headline (if configured) then the passage."""
        return f"{title}\n{passage_text}" if self.config.title_in_index and title else passage_text

    def _persist_derived(self) -> None:
        """Write vectors, BM25 and then the manifest (the commit point); remove older files."""
        version = self._version
        vectors_name = f"vectors-{version}.faiss"
        bm25_name, article_bm25_name = f"bm25-{version}", f"bm25-articles-{version}"
        if self.vectors.needs_rebuild(self.config.vector_index):  # grown past its kind, or too many tombstones
            self._rebuild_vectors()
        derived = []
        for written in self.vectors.save(self.folder / (vectors_name + ".tmp")):
            final = written.name.replace(".faiss.tmp", ".faiss", 1)
            os.replace(written, self.folder / final)
            derived.append(final)
        for name, bm25 in ((bm25_name, self.bm25), (article_bm25_name, self.article_bm25)):
            tmp = self.folder / (name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            bm25.save(tmp)
            shutil.rmtree(self.folder / name, ignore_errors=True)
            os.replace(tmp, self.folder / name)
            derived += sorted(f"{name}/{p.name}" for p in (self.folder / name).iterdir())
        counts = self.store.counts()
        manifest = {
            "format_version": FORMAT_VERSION,
            "config": asdict(self.config),
            "store_version": version,
            "store_sha256": self.store.digest(),
            "counts": counts,
            "files": {
                "store": STORE_FILE,
                "vectors": vectors_name,
                "vectors_bytes": (self.folder / vectors_name).stat().st_size,
                "bm25": bm25_name,
                "bm25_articles": article_bm25_name,
                "sha256": {name: _sha256(self.folder / name) for name in derived},
            },
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        _atomic_write_text(self.folder / MANIFEST_FILE, json.dumps(manifest, indent=2))
        self._remove_unreferenced(manifest)

    def _remove_unreferenced(self, manifest: dict) -> None:
        """Under the write lock: delete derived files the manifest does not name (left by a writer that died)."""
        files = manifest["files"]
        keep = {files["vectors"], files["bm25"], files.get("bm25_articles")}
        keep |= {name.split("/")[0] for name in files.get("sha256", {})}  # a vector file's tombstones, BM25 folders
        for stale in self.folder.iterdir():
            if stale.name.startswith(("vectors-", "bm25-")) and stale.name not in keep:
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()

    # -- writing --------------------------------------------------------------------------------
    def add(self, records: Iterable[Record], *, batch_articles: int = 32, batch_size: int = 64,
            show_progress: bool = True, wait_for_lock: bool = True, total: int | None = None) -> IngestReport:
        """Ingest articles: clean records in, committed batches out. Bad records are reported, not fatal.

        Same id and same text: unchanged. Same id, new text: the new version replaces the old.
        Same text under another id: skipped as a duplicate. A new id whose text nearly repeats a stored article
        (config `near_duplicates`) is kept as that article's alternative source, not indexed; when it is dated later
        (an updated version), it is indexed instead and the stored one becomes its source.
        """
        self._check_writable()
        report = IngestReport()
        started = time.perf_counter()
        with _write_lock(self.folder, wait_for_lock):
            self._catch_up()
            progress = tqdm(total=total, desc="Indexing", unit="article", disable=not show_progress, dynamic_ncols=True)
            plan = IngestPlan(self.store, report, near_duplicate_index(self.store, self.config.near_duplicates),
                              lambda doc_id: info.date if (info := self.articles.get(doc_id)) else None)
            for record in records:
                progress.update(1)
                if isinstance(record, RecordError):
                    report.errors.append(record)
                    progress.write(f"{'warning' if record.kept else 'skipped'} {record}")
                    continue
                plan.take(record)
                if len(plan.pending.articles) >= batch_articles:
                    self._commit_batch(plan.flush(), report, batch_size)
                    progress.set_postfix(passages=report.passages)
            if plan.pending:
                self._commit_batch(plan.flush(), report, batch_size)
            progress.close()
            if report.added or report.replaced or report.near_duplicates or self._derived_stale():
                if show_progress:
                    print("Writing BM25 and vector files…", flush=True)
                self._rebuild_bm25(show_progress)
                self._persist_derived()
        report.seconds = time.perf_counter() - started
        return report

    def _commit_batch(self, pending: PendingBatch, report: IngestReport, batch_size: int) -> None:
        batch, replaced = pending.articles, pending.replaced
        sentences: list[Sentence] = []
        passages: list[Passage] = []
        texts: list[str] = []
        for article, _ in batch:
            article_sentences = split_sentences(article.doc_id, article.text)
            article_passages = self.chunker.chunk(article.text, article_sentences)
            sentences += article_sentences
            passages += article_passages
            texts += [self._index_text(article.title, p.text) for p in article_passages]
        vectors = self.embedder.encode(texts, batch_size=batch_size) if texts else np.zeros((0, self.config.dim), np.float32)
        gone = set(replaced) | {c.doc_id for c in pending.superseded}
        removed = [p.passage_id for p in self.passages if p.doc_id in gone]
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
            for passage_id, p in zip(ids, passages, strict=True):
                self._row_of[passage_id] = len(self.passages)
                self.passages.append(PassageRef(passage_id, p.doc_id, p.start, p.end, p.first_sentence, p.last_sentence))
        report.added += len(batch) - sum(1 for a, _ in batch if a.doc_id in replaced)
        report.passages += len(passages)
        report.tokens += sum(p.n_tokens for p in passages)

    def delete(self, doc_ids: list[str]) -> list[str]:
        """Remove articles; returns the ids that were present."""
        self._check_writable()
        with _write_lock(self.folder, wait=True):
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

    # -- reading --------------------------------------------------------------------------------
    def passage_row(self, passage_id: int) -> int:
        return self._row_of[passage_id]

    def passage(self, passage_id: int) -> Passage:
        ref = self.passages[self._row_of[passage_id]]
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
        return _read_manifest(self.folder / MANIFEST_FILE)["store_version"] != self.store.version

    def check(self) -> list[str]:
        """Consistency problems (empty list when the index is sound). Derived files saved behind the store are
        not damage (see `saved_behind_store`): the open rebuilt them from the store."""
        problems: list[str] = []
        counts = self.store.counts()
        ids = set(self.vectors.ids().tolist())
        passage_ids = {p.passage_id for p in self.passages}
        if ids != passage_ids:
            problems.append(f"{len(passage_ids - ids)} passages without a vector, {len(ids - passage_ids)} vectors without a passage")
        if set(self.bm25.ids.tolist()) != passage_ids:
            problems.append("BM25 rows do not match the stored passages")
        if self.article_bm25.ids.tolist() != list(self.articles):
            problems.append("article BM25 rows do not match the stored articles")
        orphans = {p.doc_id for p in self.passages} - set(self.articles)
        if orphans:
            problems.append(f"{len(orphans)} articles referenced by passages are missing")
        manifest = _read_manifest(self.folder / MANIFEST_FILE)
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
            raise IndexCorruptError(_missing_store(folder))
        store = _open_store(folder / STORE_FILE, readonly=False)
        try:
            stored = store.get_meta("config")
            if stored is None:
                raise IndexCorruptError(f"{store.path} has no index settings; move {folder} aside and re-run `newsqa ingest`")
            index = cls(folder, store, IndexConfig(**json.loads(stored)), None, readonly=False)
            with _write_lock(folder, wait=True):
                try:
                    manifest = _read_manifest(folder / MANIFEST_FILE) if (folder / MANIFEST_FILE).exists() else None
                except IndexCorruptError:
                    manifest = None  # unreadable: nothing to compare the store with
                if manifest is not None:
                    _check_format(folder, manifest)  # never rewrite a newer index in this version's format
                    index._verify_store(manifest)
                index._refresh(show_progress=show_progress)
                index._persist_derived()
        except BaseException:
            store.close()
            raise
        return index

    def close(self) -> None:
        self.store.close()


def _check_format(folder: Path, manifest: dict) -> None:
    if manifest.get("format_version", 1) > FORMAT_VERSION:
        raise ValueError(f"index {folder} was written by a newer newsqa (index format {manifest['format_version']}, "
                         f"this one reads up to {FORMAT_VERSION}); upgrade newsqa to open it")


def _open_store(path: Path, readonly: bool) -> DocumentStore:
    try:
        return DocumentStore(path, readonly=readonly)
    except StoreError as exc:
        raise IndexCorruptError(
            f"{exc}. The document store cannot be rebuilt from the other files: move {path.parent} aside "
            f"and re-run `newsqa ingest` on your sources"
        ) from exc


def _missing_store(folder: Path) -> str:
    return (f"{folder / STORE_FILE} is missing; the document store cannot be rebuilt from the other files: restore it, "
            f"or move {folder} aside and re-run `newsqa ingest` on your sources")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _derived_current(manifest: dict, store_version: int | None) -> bool:
    """Whether the manifest's derived files reflect `store_version` (format 1 had no article BM25: stale)."""
    return manifest["store_version"] == store_version and "bm25_articles" in manifest["files"]


def _load_bm25(path: Path, repair: str) -> BM25Index:
    try:
        return BM25Index.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"{path} cannot be read ({exc}); {repair}") from exc


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        IndexConfig(**manifest["config"])
        files = manifest["files"]
        if not (isinstance(files["vectors"], str) and isinstance(files["bm25"], str)
                and isinstance(files.get("bm25_articles", ""), str)
                and isinstance(manifest.get("format_version", 1), int)
                and isinstance(files["vectors_bytes"], int) and isinstance(manifest["store_version"], int)):
            raise ValueError("unexpected field types")
        return manifest
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(
            f"{path} is missing or unreadable ({exc}); rebuild it with `newsqa check --repair --index {path.parent}`"
        ) from exc


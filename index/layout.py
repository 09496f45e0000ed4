"""The index folder's layout: its files, the manifest that commits them, the write lock, and the records
of its in-memory tables.

An index folder holds:
    store.sqlite          articles, sentence offsets, passages and vectors (source of truth)
    vectors-<v>.faiss     FAISS index of passage vectors, as of store version <v> (`index/vectors.py`), and
                          vectors-<v>.faiss.deleted.npy, the ids an HNSW index has deleted but still holds
    bm25-<v>/             BM25 over passages: arrays and vocabulary (bm25s format, JSON + .npy)
    bm25-articles-<v>/    BM25 over whole articles (headline, if indexed, + text), same format
    manifest.json         model, dimension, tokenizer, chunking, counts, and the files above with their hashes
    write.lock            held by the one process writing
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from index.chunking import OFFLINE_ENCODING
from index.near_duplicates import DEFAULT_THRESHOLD as DEFAULT_NEAR_THRESHOLD
from index.store import DocumentStore, StoreError
from index.vectors import choose_kind

FORMAT_VERSION = 2  # 2: whole-article BM25 (an index of format 1 gets it on open)
STORE_FILE = "store.sqlite"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "write.lock"


class NewsIndexError(RuntimeError):
    """Base for index problems a user can act on."""


class IndexCorruptError(NewsIndexError):
    """A file of the index is missing, truncated or inconsistent; the message says how to rebuild."""


class IndexLockedError(NewsIndexError):
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


class PassageTable(Sequence[PassageRef]):
    """Every passage's place, held as arrays (no Python object per passage): row i is the i-th passage by id.

    Rows read back as `PassageRef`s; `ids`, `doc_rows` and `row_of` serve array lookups. Ids grow with each
    committed batch, so appending keeps them sorted and a row is found by binary search.
    """

    def __init__(self) -> None:
        self._size = 0
        self._ids = np.zeros(0, dtype=np.int64)
        self._ints = np.zeros((0, 5), dtype=np.int32)  # doc row, start, end, first_sentence, last_sentence
        self.doc_ids: list[str] = []  # one entry per article that has passages
        self._doc_row: dict[str, int] = {}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, str, int, int, int, int]]) -> PassageTable:
        table = cls()
        batch: list[tuple[int, str, int, int, int, int]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 65536:
                table.extend(batch)
                batch = []
        table.extend(batch)
        return table

    def extend(self, rows: Sequence[tuple[int, str, int, int, int, int]]) -> None:
        """Append (passage_id, doc_id, start, end, first_sentence, last_sentence) rows of ids above the last."""
        if not rows:
            return
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        if (self._size and ids[0] <= self._ids[self._size - 1]) or np.any(np.diff(ids) <= 0):
            raise ValueError("passage ids must be appended in increasing order")
        ints = np.array([(self._doc_ordinal(row[1]), *row[2:]) for row in rows], dtype=np.int32).reshape(-1, 5)
        needed = self._size + len(rows)
        if needed > len(self._ids):  # grow by doubling: appending batch after batch stays linear
            capacity = max(needed, 2 * len(self._ids), 1024)
            self._ids = np.resize(self._ids, capacity)
            self._ints = np.resize(self._ints, (capacity, 5))
        self._ids[self._size:needed] = ids
        self._ints[self._size:needed] = ints
        self._size = needed

    def _doc_ordinal(self, doc_id: str) -> int:
        if (row := self._doc_row.get(doc_id)) is None:
            row = self._doc_row[doc_id] = len(self.doc_ids)
            self.doc_ids.append(doc_id)
        return row

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, row: int) -> PassageRef: ...

    @overload
    def __getitem__(self, row: slice) -> list[PassageRef]: ...

    def __getitem__(self, row: int | slice) -> PassageRef | list[PassageRef]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(self._size))]
        if not -self._size <= row < self._size:
            raise IndexError(f"passage row {row} out of range (0..{self._size - 1})")
        row %= self._size
        doc, start, end, first, last = self._ints[row].tolist()
        return PassageRef(int(self._ids[row]), self.doc_ids[doc], start, end, first, last)

    @property
    def ids(self) -> np.ndarray:
        """Passage ids by row (a read-only view)."""
        view = self._ids[: self._size]
        view.flags.writeable = False
        return view

    @property
    def doc_rows(self) -> np.ndarray:
        """Each passage's article as a row of `doc_ids`."""
        return self._ints[: self._size, 0]

    @property
    def first_sentences(self) -> np.ndarray:
        """Each passage's first sentence number in its article (0: it opens the story)."""
        return self._ints[: self._size, 3]

    def ids_of(self, doc_ids: Iterable[str]) -> np.ndarray:
        """The passage ids of these articles."""
        rows = [row for doc_id in doc_ids if (row := self._doc_row.get(doc_id)) is not None]
        return self.ids[np.isin(self.doc_rows, rows)] if rows else np.zeros(0, dtype=np.int64)

    def row_of(self, passage_id: int) -> int:
        row = int(np.searchsorted(self._ids[: self._size], passage_id))
        if row >= self._size or self._ids[row] != passage_id:
            raise KeyError(passage_id)
        return row


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
def write_lock(folder: Path, wait: bool) -> Iterator[None]:
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


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def check_format(folder: Path, manifest: dict) -> None:
    if manifest.get("format_version", 1) > FORMAT_VERSION:
        raise ValueError(f"index {folder} was written by a newer newsqa (index format {manifest['format_version']}, "
                         f"this one reads up to {FORMAT_VERSION}); upgrade newsqa to open it")


def open_store(path: Path, readonly: bool) -> DocumentStore:
    try:
        return DocumentStore(path, readonly=readonly)
    except StoreError as exc:
        raise IndexCorruptError(
            f"{exc}. The document store cannot be rebuilt from the other files: move {path.parent} aside "
            f"and re-run `newsqa ingest` on your sources"
        ) from exc


def missing_store(folder: Path) -> str:
    return (f"{folder / STORE_FILE} is missing; the document store cannot be rebuilt from the other files: restore it, "
            f"or move {folder} aside and re-run `newsqa ingest` on your sources")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def derived_current(manifest: dict, store_version: int | None) -> bool:
    """Whether the manifest's derived files reflect `store_version` (format 1 had no article BM25: stale)."""
    return manifest["store_version"] == store_version and "bm25_articles" in manifest["files"]


def read_manifest(path: Path) -> dict:
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

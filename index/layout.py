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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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

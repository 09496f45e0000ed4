"""Document store: articles, sentence offsets, passages and their vectors in one SQLite file.

SQLite is the source of truth. Every ingest batch is one transaction, so a crash loses at most
the batch in flight; the FAISS and BM25 files are derived from this store and can be rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np

from index.models import Article, Passage, Sentence

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, subtitle TEXT NOT NULL, date TEXT NOT NULL,
    source TEXT NOT NULL, url TEXT NOT NULL, text TEXT NOT NULL, content_hash TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_hash ON articles(content_hash);
CREATE TABLE IF NOT EXISTS sentences (
    doc_id TEXT NOT NULL, idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    PRIMARY KEY (doc_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS passages (
    passage_id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, idx INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, first_sentence INTEGER NOT NULL,
    last_sentence INTEGER NOT NULL, n_tokens INTEGER NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_by_doc ON passages(doc_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signatures (doc_id TEXT PRIMARY KEY, minhash BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS copies (
    doc_id TEXT PRIMARY KEY, of_id TEXT NOT NULL, title TEXT NOT NULL, date TEXT NOT NULL, source TEXT NOT NULL,
    url TEXT NOT NULL, content_hash TEXT NOT NULL, similarity REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS copies_by_article ON copies(of_id);
"""


def _text_field(key: str) -> str:
    """SQL for a metadata field when it is non-empty text, else NULL."""
    path = f"'$.{key}'"
    return (f"CASE WHEN json_type(metadata, {path}) = 'text' AND json_extract(metadata, {path}) != '' "
            f"THEN json_extract(metadata, {path}) END")


_CATEGORY = "trim(COALESCE(" + _text_field("category") + ", " + _text_field("section") + ", ''))"


class Copy(NamedTuple):
    """A near-copy of a stored article (the same story republished): kept as an alternative source, not indexed."""

    doc_id: str
    of_id: str  # the article it repeats
    title: str
    date: str
    source: str
    url: str
    content_hash: str
    similarity: float  # estimated Jaccard similarity of their word 5-shingles


class ArticleListing(NamedTuple):
    """One row of `newsqa list`: an article's id, outlet, date, headline, category and how many passages it has."""

    doc_id: str
    source: str
    date: str
    title: str
    passages: int
    url: str
    category: str
    near_copies: int


class StoreError(RuntimeError):
    """The SQLite file is missing, damaged or not a newsqa store."""


class DocumentStore:
    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA foreign_keys=ON")
            if not readonly:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
            status = self._db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is damaged or not a SQLite file ({exc})") from exc
        if status != "ok":
            raise StoreError(f"{path} failed SQLite's integrity check: {status}")
        self._tables: set[str] = set()

    def _has(self, table: str) -> bool:
        """Whether the store has `table`: a store written before near-copies were kept has no `copies` until a
        writer opens it, and a read-only connection cannot add it."""
        if table not in self._tables and self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone():
            self._tables.add(table)
        return table in self._tables

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state of the store, even while another process commits."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.rollback()

    # -- metadata ---------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Number of committed write batches; derived files record the version they reflect."""
        row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row[0]) if row else 0

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def digest(self) -> str:
        """SHA-256 of every article, sentence and passage row in a fixed order.

        The manifest records it, so damage that SQLite's own check cannot see (a changed byte inside
        a text or a vector) is caught on open instead of being served.
        """
        digest = hashlib.sha256()
        queries = ["SELECT * FROM articles ORDER BY doc_id", "SELECT * FROM sentences ORDER BY doc_id, idx",
                   "SELECT * FROM passages ORDER BY passage_id"]
        if self._has("copies"):  # an empty table adds nothing: older manifests' digests still match
            queries.append("SELECT * FROM copies ORDER BY doc_id")
        for query in queries:
            cursor = self._db.execute(query)
            while rows := cursor.fetchmany(1024):  # chunks: bounded memory, little Python work per row
                values = [tuple(v for v in row if not isinstance(v, bytes)) for row in rows]
                digest.update(repr(values).encode("utf-8", "surrogatepass"))
                digest.update(b"".join(v for row in rows for v in row if isinstance(v, bytes)))
        return digest.hexdigest()

    def counts(self) -> dict[str, int]:
        return {
            table: self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("articles", "sentences", "passages")
        }

    # -- writes -----------------------------------------------------------------------------
    def write_batch(
        self,
        articles: list[tuple[Article, str]],
        sentences: list[Sentence],
        passages: list[Passage],
        vectors: np.ndarray,
        replaced: Iterable[str] = (),
        signatures: dict[str, np.ndarray] | None = None,
        copies: Iterable[Copy] = (),
        superseded: Iterable[Copy] = (),
    ) -> list[int]:
        """Insert articles (with content hashes), their sentences and passages+vectors, their MinHash signatures
        and near-copies of stored articles in one transaction.

        Articles and copies in `replaced` are deleted first (same id, new text). A `superseded` article (a later
        version of its story is in this batch) leaves the index and becomes a copy of that version, as do its copies.
        Returns the new passage ids.
        """
        passage_ids: list[int] = []
        with self._db:  # one transaction: all of it or none of it
            self._delete(list(replaced), with_copies=False)  # a new version keeps the copies of its story
            self._db.executemany("INSERT OR REPLACE INTO signatures VALUES (?, ?)",
                                 [(d, np.asarray(v, dtype=np.uint32).tobytes()) for d, v in (signatures or {}).items()])
            self._db.executemany("INSERT OR REPLACE INTO copies VALUES (?,?,?,?,?,?,?,?)", list(copies))
            for old in superseded:
                self._delete([old.doc_id], with_copies=False)
                self._db.execute("INSERT OR REPLACE INTO copies VALUES (?,?,?,?,?,?,?,?)", old)
                self._db.execute("UPDATE copies SET of_id=? WHERE of_id=?", (old.of_id, old.doc_id))
            self._db.executemany(
                "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (a.doc_id, a.title, a.subtitle, a.date, a.source, a.url, a.text, h, json.dumps(a.metadata, default=str))
                    for a, h in articles
                ],
            )
            self._db.executemany(
                "INSERT INTO sentences VALUES (?,?,?,?)", [(s.doc_id, s.index, s.start, s.end) for s in sentences]
            )
            for passage, vector in zip(passages, vectors, strict=True):
                cursor = self._db.execute(
                    "INSERT INTO passages (doc_id, idx, start, end, first_sentence, last_sentence, n_tokens, vector)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (passage.doc_id, passage.index, passage.start, passage.end, passage.first_sentence,
                     passage.last_sentence, passage.n_tokens, np.asarray(vector, dtype=np.float32).tobytes()),
                )
                passage_ids.append(int(cursor.lastrowid))
            self._bump_version()
        return passage_ids

    def backup(self, path: Path) -> None:
        """A consistent copy of the store in a new file at `path` (SQLite's online backup: the WAL's commits included)."""
        target = sqlite3.connect(path)
        try:
            self._db.backup(target)
        finally:
            target.close()

    def clone_articles(self, doc_ids: list[str], suffix: str,
                       vectors_of: Callable[[np.ndarray], np.ndarray]) -> int:
        """Copies of stored articles under the ids `doc_id + suffix`, with their sentences and passages, each
        passage's vector replaced by `vectors_of(its vectors)`: benchmarks grow an index from real text this way.
        Returns the number of passages added."""
        with self._db:
            added = 0
            for start in range(0, len(doc_ids), 500):
                chunk = doc_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self._db.execute(f"INSERT INTO articles SELECT doc_id || ?1, title, subtitle, date, source, url, text, "
                                 f"content_hash || ?1, metadata FROM articles WHERE doc_id IN ({marks})", [suffix, *chunk])
                self._db.execute(f"INSERT INTO sentences SELECT doc_id || ?1, idx, start, end FROM sentences "
                                 f"WHERE doc_id IN ({marks})", [suffix, *chunk])
                rows = self._db.execute("SELECT doc_id, idx, start, end, first_sentence, last_sentence, n_tokens, vector "
                                        f"FROM passages WHERE doc_id IN ({marks}) ORDER BY passage_id", chunk).fetchall()
                if not rows:
                    continue
                old = np.frombuffer(b"".join(r[7] for r in rows), dtype=np.float32).reshape(len(rows), -1)
                new = np.ascontiguousarray(vectors_of(old), dtype=np.float32)
                self._db.executemany(
                    "INSERT INTO passages (doc_id, idx, start, end, first_sentence, last_sentence, n_tokens, vector)"
                    " VALUES (?,?,?,?,?,?,?,?)", [(r[0] + suffix, *r[1:7], v.tobytes()) for r, v in zip(rows, new)])
                added += len(rows)
            self._bump_version()
        return added

    def delete(self, doc_ids: list[str]) -> list[int]:
        """Delete articles with their sentences and passages; returns the removed passage ids."""
        with self._db:
            removed = self._delete(doc_ids)
            self._bump_version()
        return removed

    def _delete(self, doc_ids: list[str], with_copies: bool = True) -> list[int]:
        """Articles (and, `with_copies`, their near-copies) or copies by id; returns the removed passage ids."""
        removed: list[int] = []
        for doc_id in doc_ids:
            removed += [r[0] for r in self._db.execute("SELECT passage_id FROM passages WHERE doc_id=?", (doc_id,))]
            for table in ("passages", "sentences", "articles", "signatures", "copies"):
                self._db.execute(f"DELETE FROM {table} WHERE doc_id=?", (doc_id,))
            if with_copies:
                self._db.execute("DELETE FROM copies WHERE of_id=?", (doc_id,))
        return removed

    def _bump_version(self) -> None:
        self._db.execute(
            "INSERT INTO meta VALUES ('version', '1') ON CONFLICT(key) DO UPDATE SET value=CAST(value AS INTEGER)+1"
        )

    def add_signatures(self, signatures: dict[str, np.ndarray]) -> None:
        """Store MinHash signatures (of articles indexed before near-duplicates were detected)."""
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO signatures VALUES (?, ?)",
                                 [(d, np.asarray(v, dtype=np.uint32).tobytes()) for d, v in signatures.items()])

    # -- reads ------------------------------------------------------------------------------
    def signatures(self) -> Iterator[tuple[str, np.ndarray]]:
        """(doc_id, MinHash signature) of every article that has one (not those too short to sign)."""
        if not self._has("signatures"):
            return
        for doc_id, blob in self._db.execute("SELECT doc_id, minhash FROM signatures WHERE length(minhash) > 0"):
            yield doc_id, np.frombuffer(blob, dtype=np.uint32)

    def unsigned_articles(self) -> Iterator[tuple[str, str]]:
        """(doc_id, text) of the articles without a signature (nor a note that they are too short for one)."""
        yield from self._db.execute(
            "SELECT doc_id, text FROM articles WHERE doc_id NOT IN (SELECT doc_id FROM signatures) ORDER BY rowid")

    def copy(self, doc_id: str) -> Copy | None:
        if not self._has("copies"):
            return None
        row = self._db.execute("SELECT * FROM copies WHERE doc_id=?", (doc_id,)).fetchone()
        return Copy(*row) if row else None

    def copies_of(self, doc_ids: Iterable[str]) -> dict[str, list[Copy]]:
        """The near-copies of each article (those that have any), oldest first."""
        out: dict[str, list[Copy]] = {}
        if not self._has("copies"):
            return out
        for doc_id in dict.fromkeys(doc_ids):
            for row in self._db.execute("SELECT * FROM copies WHERE of_id=? ORDER BY rowid", (doc_id,)):
                out.setdefault(doc_id, []).append(Copy(*row))
        return out

    def copy_count(self) -> int:
        if not self._has("copies"):
            return 0
        return self._db.execute("SELECT COUNT(*) FROM copies").fetchone()[0]

    def content_hash(self, doc_id: str) -> str | None:
        row = self._db.execute("SELECT content_hash FROM articles WHERE doc_id=?", (doc_id,)).fetchone()
        return row[0] if row else None

    def content_hashes(self) -> set[str]:
        """The content hashes of all stored articles."""
        return {row[0] for row in self._db.execute("SELECT content_hash FROM articles")}

    def doc_with_hash(self, content_hash: str) -> str | None:
        row = self._db.execute("SELECT doc_id FROM articles WHERE content_hash=? LIMIT 1", (content_hash,)).fetchone()
        return row[0] if row else None

    def article(self, doc_id: str) -> Article | None:
        row = self._db.execute(
            "SELECT doc_id, title, text, date, source, url, subtitle, metadata FROM articles WHERE doc_id=?", (doc_id,)
        ).fetchone()
        return _article(row) if row else None

    def articles(self, doc_ids: list[str]) -> dict[str, Article]:
        return {doc_id: a for doc_id in dict.fromkeys(doc_ids) if (a := self.article(doc_id)) is not None}

    def article_rows(self) -> Iterator[tuple[str, str, str, str, str]]:
        """(doc_id, title, date, source, category) of every article, in insertion order; the category is the
        metadata's "category" (else "section") when it is text, else ""."""
        yield from self._db.execute(
            "SELECT doc_id, title, date, source, " + _CATEGORY + " FROM articles ORDER BY rowid")

    def listing(self, sources: list[str] | None = None, date_from: str | None = None, date_to: str | None = None,
                contains: str | None = None, limit: int | None = None,
                categories: list[str] | None = None) -> Iterator[ArticleListing]:
        """Articles in insertion order, filtered by outlets, an inclusive ISO date range, a phrase (any case) in
        the headline or text, and categories; undated articles are left out by a date filter."""
        where, params = [], []
        if sources:
            where.append(f"a.source IN ({','.join('?' * len(sources))})")
            params += sources
        if categories:
            where.append(f"{_CATEGORY} IN ({','.join('?' * len(categories))})")
            params += categories
        if date_from:
            where.append("a.date != '' AND a.date >= ?")
            params.append(date_from)
        if date_to:
            where.append("a.date != '' AND a.date <= ?")
            params.append(date_to)
        if contains:
            escaped = contains.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(lower(a.title) LIKE ? ESCAPE '\\' OR lower(a.text) LIKE ? ESCAPE '\\')")
            params += [f"%{escaped}%"] * 2
        sql = ("SELECT a.doc_id, a.source, a.date, a.title, "
               "(SELECT COUNT(*) FROM passages p WHERE p.doc_id = a.doc_id), a.url, " + _CATEGORY + ", "
               + ("(SELECT COUNT(*) FROM copies c WHERE c.of_id = a.doc_id)" if self._has("copies") else "0")
               + " FROM articles a"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY a.rowid")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        for row in self._db.execute(sql, params):
            yield ArticleListing(*row)

    def sentence_offsets(self, doc_id: str) -> list[tuple[int, int]]:
        return list(self._db.execute("SELECT start, end FROM sentences WHERE doc_id=? ORDER BY idx", (doc_id,)))

    def passage_rows(self) -> Iterator[tuple[int, str, int, int, int, int]]:
        """(passage_id, doc_id, start, end, first_sentence, last_sentence) of every passage, by id."""
        yield from self._db.execute(
            "SELECT passage_id, doc_id, start, end, first_sentence, last_sentence FROM passages ORDER BY passage_id"
        )

    def vectors(self, dim: int, passage_ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of all passages, or of `passage_ids`, ordered by id."""
        if passage_ids is None:
            rows = self._db.execute("SELECT passage_id, vector FROM passages ORDER BY passage_id").fetchall()
        else:
            rows = []
            for chunk_start in range(0, len(passage_ids), 900):
                chunk = passage_ids[chunk_start : chunk_start + 900]
                marks = ",".join("?" * len(chunk))
                rows += self._db.execute(
                    f"SELECT passage_id, vector FROM passages WHERE passage_id IN ({marks})", chunk
                ).fetchall()
            rows.sort()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        return ids, vectors


def _article(row: tuple) -> Article:
    doc_id, title, text, date, source, url, subtitle, metadata = row
    return Article(doc_id=doc_id, title=title, text=text, date=date, source=source, url=url,
                   subtitle=subtitle, metadata=json.loads(metadata))

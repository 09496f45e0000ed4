"""The derived files of an index folder: FAISS and BM25 built from the document store, saved under a
manifest written last, loaded with their sizes and hashes checked.

`DerivedFiles` is the part of `NewsIndex` that owns them; nothing here embeds text: the vectors are stored.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from index.ingest import index_text
from index.layout import (
    FORMAT_VERSION,
    MANIFEST_FILE,
    STORE_FILE,
    ArticleInfo,
    IndexConfig,
    IndexCorruptError,
    PassageTable,
    atomic_write_text,
    sha256_of,
)
from index.lexical import BM25Index, tokenize
from index.models import Article
from index.store import DocumentStore
from index.vectors import VectorIndex, choose_kind


class DerivedFiles:
    """FAISS and BM25 of a `NewsIndex`: rebuilt from its store, saved and loaded under the manifest."""

    folder: Path
    store: DocumentStore
    config: IndexConfig
    vectors: VectorIndex
    bm25: BM25Index
    article_bm25: BM25Index
    passages: PassageTable
    articles: dict[str, ArticleInfo]
    _version: int | None

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
            if not path.is_file() or sha256_of(path) != digest:
                state = "missing" if not path.is_file() else "damaged (its SHA-256 differs from the manifest)"
                raise IndexCorruptError(f"{path} is {state}; {repair}")
        try:
            self.vectors = VectorIndex.load(vectors_path, self.config.dim)
        except (RuntimeError, ValueError) as exc:
            raise IndexCorruptError(f"{vectors_path} cannot be read ({exc}); {repair}") from exc
        self.bm25 = load_bm25(bm25_path, repair)
        self.article_bm25 = load_bm25(article_bm25_path, repair)
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
        self.bm25 = BM25Index.build(np.array(self.passages.ids), token_lists)
        self.article_bm25 = BM25Index.build(np.array(list(self.articles), dtype=str),
                                            [article_tokens.get(doc_id, []) for doc_id in self.articles])

    def _index_text(self, title: str, passage_text: str) -> str:
        return index_text(title, passage_text, self.config.title_in_index)

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
                "sha256": {name: sha256_of(self.folder / name) for name in derived},
            },
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        atomic_write_text(self.folder / MANIFEST_FILE, json.dumps(manifest, indent=2))
        self._remove_unreferenced(manifest)

    def _remove_unreferenced(self, manifest: dict) -> None:
        """Under the write lock: delete derived files the manifest does not name (left by a writer that died)."""
        files = manifest["files"]
        keep = {files["vectors"], files["bm25"], files.get("bm25_articles")}
        keep |= {name.split("/")[0] for name in files.get("sha256", {})}  # a vector file's tombstones, BM25 folders
        for stale in self.folder.iterdir():
            if stale.name.startswith(("vectors-", "bm25-")) and stale.name not in keep:
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()


def load_bm25(path: Path, repair: str) -> BM25Index:
    try:
        return BM25Index.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"{path} cannot be read ({exc}); {repair}") from exc

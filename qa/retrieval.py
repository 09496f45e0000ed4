"""Retrieval: dense (FAISS) and BM25 passage candidates, fused, with date and outlet filters."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.indexer import NewsIndex
from index.lexical import tokenize
from qa.models import Filters, Hit, RetrievalResult


class Retriever(Protocol):
    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> RetrievalResult: ...


@dataclass(frozen=True)
class RetrievalConfig:
    """How candidates are gathered and fused.

    `mode`: "hybrid" (both, fused), "dense" or "bm25" (one side alone, the baselines).
    Fusion is reciprocal rank fusion with per-side weights: robust to the very different scales
    of BM25 and cosine scores.
    """

    mode: str = "hybrid"
    candidates: int = 100
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"mode must be 'hybrid', 'dense' or 'bm25', got {self.mode!r}")
        if self.candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {self.candidates}")


class HybridRetriever:
    def __init__(self, index: NewsIndex, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.config = config or RetrievalConfig()
        self._dates = np.array([index.articles[p.doc_id].date for p in index.passages], dtype="U10")
        self._sources = np.array([index.articles[p.doc_id].source for p in index.passages], dtype=object)
        self._ids = np.array([p.passage_id for p in index.passages], dtype=np.int64)

    def allowed_rows(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask over passage rows, or None when nothing is filtered."""
        if not filters.active:
            return None
        mask = np.ones(len(self._ids), dtype=bool)
        if filters.date_from:
            mask &= (self._dates >= filters.date_from) & (self._dates != "")
        if filters.date_to:
            mask &= (self._dates <= filters.date_to) & (self._dates != "")
        if filters.sources is not None:
            mask &= np.isin(self._sources, list(filters.sources))
        return mask

    def encode_query(self, query: str) -> np.ndarray:
        return self.index.embedder.encode([query])[0]

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None,
                 query_vector: np.ndarray | None = None) -> RetrievalResult:
        started = time.perf_counter()
        filters = filters or Filters()
        config = self.config
        mask = self.allowed_rows(filters)
        n_candidates = max(config.candidates, k)
        dense_rank: dict[int, tuple[int, float]] = {}
        bm25_rank: dict[int, tuple[int, float]] = {}
        if config.mode in ("hybrid", "dense") and len(self._ids):
            vector = self.encode_query(query) if query_vector is None else query_vector
            allowed = self._ids[mask] if mask is not None else None
            scores, ids = self.index.vectors.search(vector, n_candidates, allowed)
            dense_rank = {int(pid): (rank, float(s)) for rank, (s, pid) in enumerate(zip(scores, ids))}
        if config.mode in ("hybrid", "bm25") and len(self._ids):
            scores = self.index.bm25.scores(tokenize(query), mask)
            top = np.argsort(-scores)[:n_candidates]
            top = top[scores[top] > 0]
            bm25_rank = {int(self.index.bm25.passage_ids[row]): (rank, float(scores[row])) for rank, row in enumerate(top)}
        fused: dict[int, float] = {}
        for ranks, weight in ((dense_rank, config.dense_weight), (bm25_rank, config.bm25_weight)):
            for pid, (rank, _) in ranks.items():
                fused[pid] = fused.get(pid, 0.0) + weight / (config.rrf_k + rank + 1)
        order = sorted(fused, key=lambda pid: -fused[pid])[: max(k, 1)]
        hits = [self._hit(pid, fused[pid], dense_rank.get(pid), bm25_rank.get(pid)) for pid in order]
        return RetrievalResult(hits=hits, query=query, filters=filters, seconds=time.perf_counter() - started)

    def _hit(self, pid: int, score: float, dense: tuple[int, float] | None, bm25: tuple[int, float] | None) -> Hit:
        ref = self.index.passages[self.index.passage_row(pid)]
        info = self.index.articles[ref.doc_id]
        return Hit(
            passage_id=pid, doc_id=ref.doc_id, title=info.title, source=info.source, date=info.date,
            start=ref.start, end=ref.end, score=score,
            dense_score=dense[1] if dense else 0.0, bm25_score=bm25[1] if bm25 else 0.0,
        )

"""`newsqa bench --scale`, serving: whole indexes grown to each size, asked questions end to end.

The vector search alone (eval/scale_bench.py) says how each FAISS kind scales; a user waits for the whole
`ask`: query encoding, the vector search, BM25 over every passage, the rerank, SQLite reads and the reader.
So each size also gets a real index folder, grown from the source index's articles:

- **articles**: every stored article once, then copies of them in turn under new ids (`<id>~<n>`), their
  sentences and passages included, until the passage count reaches the size (the last round stops at the
  article that reaches it); the texts are real news, repeated;
- **vectors**: each copied passage's vector is its original plus Gaussian noise of norm `noise`, renormalised
  (cosine about 0.8 to the original at 0.75), as in the vector search sets; BM25, the article table and the
  passage arrays are built from the grown store by `NewsIndex.repair`, as `check --repair` would;
- **questions**: headlines of source articles, every other one asked as a question ("...?"), so that both
  of the retriever's weightings (a question, a pasted headline) are timed;
- **figures**, measured in a fresh process per kind (so that its memory is the serving process's alone): the
  time to open the index, `ask` p50 / p95 (retrieval + answer, the reader included) and the process's peak RSS.
  The auto kind is the one the folder was built with; another kind's vectors are built in that process from
  the store before timing.

What the repetition cannot tell: BM25's posting lists grow like a real archive's only in length, not in
vocabulary (a copy brings no new words), and the reader reads the same passages it would in the source index.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np

from index.embedding import Embedder
from index.indexer import STORE_FILE, NewsIndex
from index.store import DocumentStore
from index.vectors import VectorIndex


class ServingRow(NamedTuple):
    passages: int
    kind: str
    open_s: float  # opening the index folder read-only, as `newsqa serve` does
    ask_p50_ms: float  # the whole `ask`: query encoding, retrieval, reading the top passages
    ask_p95_ms: float
    retrieval_p50_ms: float
    rss_mb: float  # the serving process's peak resident set


def grow_index(source: NewsIndex, folder: Path, size: int, noise: float, seed: int, show_progress: bool = False) -> int:
    """A repaired index in `folder` holding `source`'s articles then copies of them, about `size` passages
    (at most one article's passages more); returns its passage count. Below the source's size, a prefix of it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    passages = source.passages
    per_article = dict(zip(passages.doc_ids, np.bincount(passages.doc_rows, minlength=len(passages.doc_ids)).tolist()))
    counts = [(doc_id, per_article.get(doc_id, 0)) for doc_id in source.articles]
    source.store.backup(folder / STORE_FILE)
    store = DocumentStore(folder / STORE_FILE)
    rng = np.random.default_rng(seed)

    def noisy(vectors: np.ndarray) -> np.ndarray:
        moved = vectors + rng.standard_normal(vectors.shape, dtype=np.float32) * (noise / np.sqrt(vectors.shape[1]))
        return moved / np.linalg.norm(moved, axis=1, keepdims=True)

    try:
        total = sum(n for _, n in counts)
        if total > size:  # a prefix: the articles after the one that reaches the size leave
            running = np.cumsum([n for _, n in counts])
            keep = int(np.searchsorted(running, size)) + 1
            store.delete([doc_id for doc_id, _ in counts[keep:]])
        copy = 0
        while total < size:
            copy += 1
            running = total + np.cumsum([n for _, n in counts])
            take = min(len(counts), int(np.searchsorted(running, size)) + 1)
            added = store.clone_articles([doc_id for doc_id, _ in counts[:take]], f"~{copy}", noisy)
            if not added:
                raise ValueError(f"index {source.folder} holds no passages to grow an index from")
            total += added
    finally:
        store.close()
    index = NewsIndex.repair(folder, show_progress=show_progress)
    try:
        return len(index.passages)
    finally:
        index.close()


def serve_figures(folder: Path, kind: str, questions: Sequence[str], embedder: Embedder, threads: int) -> ServingRow:
    """Open `folder` read-only, give it vectors of `kind`, and time `ask` on each question (two warm-up asks first).

    Meant to run in a process of its own (`measure_serving`), whose peak RSS is then the serving figure."""
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    from qa.pipeline import QAPipeline

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    threadpool_limits(threads)
    started = time.perf_counter()
    index = NewsIndex.open(folder, embedder, readonly=True)
    opened = time.perf_counter() - started
    try:
        if index.vectors.kind != kind:  # the folder holds the auto kind; time another one built from the store
            ids, vectors = index.store.vectors(index.config.dim)
            index.vectors = VectorIndex.build(index.config.dim, ids, vectors, kind)
        pipeline = QAPipeline(index)
        for question in questions[:2]:
            pipeline.ask(question)
        totals, retrievals = [], []
        for question in questions:
            answer = pipeline.ask(question)
            totals.append(answer.timings["total"] * 1000)
            retrievals.append(answer.timings.get("retrieval", 0.0) * 1000)
        return ServingRow(len(index.passages), kind, opened, float(np.percentile(totals, 50)),
                          float(np.percentile(totals, 95)), float(np.percentile(retrievals, 50)),
                          peak_rss_mb())
    finally:
        index.close()


def peak_rss_mb() -> float:
    """This process's peak resident set since it started its program (VmHWM): unlike getrusage's figure, not
    carried over from the process that started it."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no /proc: the lifetime figure


def measure_serving(folder: Path, kind: str, questions: Sequence[str], embedder: Embedder,
                    threads: int) -> ServingRow:
    """`serve_figures` in a fresh (spawned) process, so that nothing of the benchmark's own memory counts."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(serve_figures, folder, kind, list(questions), embedder, threads).result()


def questions_from(titles: Sequence[str]) -> list[str]:
    """Headlines as users paste them, every other one asked as a question."""
    return [title.rstrip(" ?.") + "?" if i % 2 else title for i, title in enumerate(titles)]

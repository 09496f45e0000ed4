"""`newsqa bench --scale`: each vector index kind at growing passage counts, on vectors made from real ones.

A million passages cannot be embedded on 2 cores in a session, so the larger sets are made from the index's
own vectors (all-MiniLM-L6-v2 of real news passages; 45,094 in the demo index):

- **vectors**: every real vector once, then noisy copies of randomly drawn real vectors up to each size:
  Gaussian noise of total norm `noise` (0.75: a copy's cosine to its source is about 0.8, like a rewritten
  paragraph of the same story), renormalised, under new ids;
- **queries**: headlines of stored articles drawn at random, embedded with the index's model;
- **recall@10**: the share of exact search's top 10 (a flat index over the same vectors) that the kind returns;
- **latency**: one query at a time on `threads` FAISS threads (the web app's `compute_threads` is 1), the vector
  search alone: p50 / p95 over the queries;
- **build**: seconds to train (IVF) and add every vector; **peak RSS**: the process's largest resident set so far
  (it holds the vectors and the exact index too); **disk**: the saved file, about what the index holds in RAM.

What the synthetic part cannot tell: copies cluster around their sources, so a neighbourhood in the larger sets
is a real passage's near-twins rather than other stories; how an approximate index ranks among near-twins is a
harder test of recall than a real archive, not an easier one. BM25, SQLite and the answer step at each size are
timed on whole grown indexes by eval/scale_serving.py (`ScaleOptions.serving`).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import faiss
import numpy as np
from tqdm import tqdm

from eval.scale_serving import ServingRow, grow_index, measure_serving, questions_from
from index.indexer import NewsIndex
from index.vectors import KINDS, VectorIndex, choose_kind


@dataclass(frozen=True)
class ScaleOptions:
    sizes: tuple[int, ...] = (100_000, 300_000, 1_000_000)
    kinds: tuple[str, ...] = KINDS
    queries: int = 200
    noise: float = 0.75
    threads: int = 1
    seed: int = 5
    show_progress: bool = True
    serving: bool = True  # also grow whole indexes and time `ask` on them (eval/scale_serving.py)
    serving_questions: int = 100

    def __post_init__(self) -> None:
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"sizes must be positive passage counts, got {self.sizes!r}")
        for kind in self.kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown index kind {kind!r}; one of {', '.join(KINDS)}")
        if self.queries < 1 or self.threads < 1 or self.noise < 0 or self.serving_questions < 1:
            raise ValueError(f"queries, threads and serving_questions must be >= 1 and noise >= 0, got {self.queries}, "
                             f"{self.threads}, {self.serving_questions}, {self.noise}")


class ScaleRow(NamedTuple):
    passages: int
    kind: str
    chosen: bool  # the kind the product picks at this size
    recall_at_10: float
    p50_ms: float
    p95_ms: float
    build_s: float
    rss_mb: float
    disk_mb: float


def grow(vectors: np.ndarray, size: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """`size` unit vectors: the real ones, then noisy renormalised copies of randomly drawn real ones."""
    real = vectors[:size]
    extra = size - len(real)
    if extra <= 0:
        return np.ascontiguousarray(real, dtype=np.float32)
    parts = [real]
    for start in range(0, extra, 100_000):  # in blocks: a million noisy copies at once would double the peak
        count = min(100_000, extra - start)
        block = vectors[rng.integers(0, len(vectors), count)]
        block = block + rng.standard_normal(block.shape, dtype=np.float32) * (noise / np.sqrt(vectors.shape[1]))
        parts.append((block / np.linalg.norm(block, axis=1, keepdims=True)).astype(np.float32))
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def run_scale(vectors: np.ndarray, queries: np.ndarray, options: ScaleOptions) -> list[ScaleRow]:
    """Build every kind at every size over `vectors` grown as described above and time `queries` on it."""
    rng = np.random.default_rng(options.seed)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    rows: list[ScaleRow] = []
    previous_threads = faiss.omp_get_max_threads()
    steps = tqdm(total=len(options.sizes) * len(options.kinds), desc="scale bench", unit="index",
                 disable=not options.show_progress)
    try:
        for size in options.sizes:
            data = grow(vectors, size, options.noise, rng)
            ids = np.arange(size, dtype=np.int64) + 1
            faiss.omp_set_num_threads(os.cpu_count() or 1)  # ground truth and builds use every core
            exact = faiss.IndexFlatIP(data.shape[1])
            exact.add(data)
            truth = exact.search(queries, 10)[1] + 1
            del exact
            for kind in options.kinds:
                rows.append(_measure(kind, size, data, ids, queries, truth, options))
                steps.update(1)
            del data
    finally:
        faiss.omp_set_num_threads(previous_threads)
        steps.close()
    return rows


def _measure(kind: str, size: int, data: np.ndarray, ids: np.ndarray, queries: np.ndarray, truth: np.ndarray,
             options: ScaleOptions) -> ScaleRow:
    started = time.perf_counter()
    index = VectorIndex.build(data.shape[1], ids, data, kind)
    build = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    faiss.omp_set_num_threads(options.threads)
    index.search(queries[0], 10)  # warm
    latencies, recalls = [], []
    for query, expected in zip(queries, truth):
        tick = time.perf_counter()
        _, found = index.search(query, 10)
        latencies.append((time.perf_counter() - tick) * 1000)
        recalls.append(len(set(found.tolist()) & set(expected.tolist())) / 10)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as scratch:
        disk = sum(path.stat().st_size for path in index.save(Path(scratch) / "vectors.faiss"))
    return ScaleRow(size, kind, choose_kind(size) == kind, float(np.mean(recalls)), float(np.percentile(latencies, 50)),
                    float(np.percentile(latencies, 95)), build, rss, disk / 2**20)


def table(rows: Sequence[ScaleRow]) -> str:
    lines = ["| passages | index | chosen by auto | recall@10 of exact | p50 ms | p95 ms | build s | "
             "peak RSS MB | disk MB |", "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row.passages:,} | {row.kind} | {'yes' if row.chosen else ''} | {row.recall_at_10:.3f} | "
                     f"{row.p50_ms:.2f} | {row.p95_ms:.2f} | {row.build_s:.1f} | {row.rss_mb:.0f} | {row.disk_mb:.0f} |")
    return "\n".join(lines)


def plot(rows: Sequence[ScaleRow], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for kind in dict.fromkeys(row.kind for row in rows):
        mine = [row for row in rows if row.kind == kind]
        left.plot([r.passages for r in mine], [r.p50_ms for r in mine], marker="o", label=kind)
        right.plot([r.passages for r in mine], [r.recall_at_10 for r in mine], marker="o", label=kind)
    for axis, label in ((left, "p50 search latency (ms, 1 thread)"), (right, "recall@10 of exact search")):
        axis.set_xscale("log")
        axis.set_xlabel("passages")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def serving_table(rows: Sequence[ServingRow]) -> str:
    lines = ["| passages | index | chosen by auto | open s | ask p50 ms | ask p95 ms | retrieval p50 ms | serving RSS MB |",
             "|---:|---|---|---:|---:|---:|---:|---:|"]  # one header string per line
    for row in rows:
        lines.append(f"| {row.passages:,} | {row.kind} | {'yes' if choose_kind(row.passages) == row.kind else ''} | "
                     f"{row.open_s:.1f} | {row.ask_p50_ms:.1f} | {row.ask_p95_ms:.1f} | {row.retrieval_p50_ms:.1f} | "
                     f"{row.rss_mb:.0f} |")
    return "\n".join(lines)


def run_serving(index: NewsIndex, titles: Sequence[str], options: ScaleOptions) -> list[ServingRow]:
    """Each size as a whole index grown from `index` (in a temporary folder), each kind timed on `titles`."""
    questions = questions_from(titles)
    rows = []
    steps = tqdm(total=len(options.sizes) * (len(options.kinds) + 1), desc="scale bench, serving", unit="step",
                 disable=not options.show_progress)
    with tempfile.TemporaryDirectory(prefix="newsqa-scale-") as scratch, steps:
        folder = Path(scratch) / "index"
        for size in options.sizes:
            grow_index(index, folder, size, options.noise, options.seed)
            steps.update(1)
            for kind in options.kinds:
                rows.append(measure_serving(folder, kind, questions, index.embedder, options.threads))
                steps.update(1)
    return rows


def run_scale_bench(index: NewsIndex, options: ScaleOptions, out: Path) -> str:
    """The scale tables for `index` (vector search; with `options.serving`, whole `ask`), written to `out`
    (scale.md, scale.png) and returned."""
    ids, vectors = index.store.vectors(index.config.dim)
    if not len(ids):
        raise ValueError(f"index {index.folder} holds no passages to grow the scale sets from")
    rng = np.random.default_rng(options.seed)
    titles = [info.title for info in index.articles.values() if info.title]
    picked = [titles[i] for i in rng.choice(len(titles), min(options.queries, len(titles)), replace=False)]
    queries = index.embedder.encode(picked)
    rows = run_scale(vectors, queries, options)
    text = (f"{len(ids):,} real passage vectors of {index.folder}, grown with noise {options.noise}; "
            f"{len(picked)} headline queries; {options.threads} search thread(s)\n\n{table(rows)}")
    if options.serving:
        serving = run_serving(index, picked[: options.serving_questions], options)
        text += (f"\n\nWhole indexes grown from {index.folder}'s {len(index.articles):,} articles (copies under new "
                 f"ids, vectors with noise {options.noise}); `ask` on {min(options.serving_questions, len(picked))} "
                 f"headlines, every other one as a question; {options.threads} thread(s), a fresh process per kind"
                 f"\n\n{serving_table(serving)}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.md").write_text(text + "\n", encoding="utf-8")
    plot(rows, out / "scale.png")
    return text

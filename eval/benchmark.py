"""Benchmark: ingest throughput beside the raw encoder, index size on disk, warm `ask` latency.

Prints figures; asserts nothing. Run as `newsqa bench` (whole demo corpus) or
`newsqa bench --articles 500` for a quicker look.
"""

from __future__ import annotations

import itertools
import random
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.questions import read_questions
from index.demo import ensure_demo_wheel, read_demo_corpus
from index.embedding import SentenceTransformerEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.readers import RecordError
from qa.answering import AnswerConfig
from qa.pipeline import QAPipeline
from qa.retrieval import RetrievalConfig


@dataclass(frozen=True)
class BenchOptions:
    model: str
    cache_dir: Path
    retrieval: RetrievalConfig
    answering: AnswerConfig
    time_mode: str = "prefer"  # a period the question names: see QAPipeline
    max_question_chars: int = 2000
    precision: str = "auto"  # encoder passes: see index.embedding.resolve_precision
    max_tokens: int = 100
    overlap: int = 1
    articles: int | None = None  # first N demo articles (None: all)
    queries: int = 200
    questions: Path | None = None  # JSONL with a "question" field; default: article titles
    encoder_sample: int = 3000  # passages re-encoded by the bare model for the comparison
    work_dir: Path | None = None  # where the benchmark index is built (default: a temp folder)
    query_index: Path | None = None  # time questions on this (full) index instead of the one just built
    show_progress: bool = True


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def folder_size(folder: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in folder.iterdir():
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        sizes[path.name] = sum(p.stat().st_size for p in files)
    return sizes


def _questions(options: BenchOptions, index: NewsIndex) -> list[str]:
    if options.questions:
        questions = read_questions(options.questions)
    else:
        questions = [info.title for info in index.articles.values() if info.title]
    random.Random(0).shuffle(questions)
    return questions[: options.queries]


def _encode_seconds(embedder: SentenceTransformerEmbedder, texts: list[str]) -> float:
    """Seconds the bare encoder takes for `texts` (model loaded and warmed up first)."""
    embedder.encode(texts[:8])
    started = time.perf_counter()
    embedder.encode(texts, batch_size=64)
    return time.perf_counter() - started


def run_benchmark(options: BenchOptions) -> dict[str, float]:
    """Run the benchmark, print a report and return the figures."""
    embedder = SentenceTransformerEmbedder(options.model, precision=options.precision)
    records = list(itertools.islice(read_demo_corpus(ensure_demo_wheel(options.cache_dir)), options.articles))
    workspace = Path(tempfile.mkdtemp(prefix="newsqa-bench-", dir=options.work_dir))
    folder = workspace / "index"
    figures: dict[str, float] = {}
    try:
        embedder.encode(["warm-up"])  # load the model outside the timed region
        config = IndexConfig(model=embedder.name, dim=embedder.dim, max_tokens=options.max_tokens, overlap=options.overlap)
        index = NewsIndex.open(folder, embedder, config=config)
        started = time.perf_counter()
        report = index.add(records, total=len(records), show_progress=options.show_progress)
        ingest_seconds = time.perf_counter() - started
        n_articles = report.added
        figures.update(
            articles=n_articles, passages=report.passages, tokens=report.tokens, ingest_s=ingest_seconds,
            ingest_articles_per_s=n_articles / ingest_seconds, ingest_tokens_per_s=report.tokens / ingest_seconds,
            skipped=sum(1 for r in records if isinstance(r, RecordError)),
        )
        # The bare encoder on (a sample of) the same passage texts the ingest embedded.
        sample = random.Random(0).sample(index.passages, min(options.encoder_sample, len(index.passages)))
        texts, tokens = [], 0
        for ref in sample:
            article = index.store.article(ref.doc_id)
            text = article.text[ref.start : ref.end]
            tokens += index.chunker.count_tokens(text)
            texts.append(f"{article.title}\n{text}" if config.title_in_index and article.title else text)
        encoder_seconds = _encode_seconds(embedder, texts)
        figures.update(encoder_passages=len(texts), encoder_passages_per_s=len(texts) / encoder_seconds,
                       encoder_tokens_per_s=tokens / encoder_seconds)
        figures["ingest_passages_per_s"] = report.passages / ingest_seconds
        index.close()
        # Warm query latency: a fresh read-only open, as `newsqa serve` / `ask` would see it.
        query_folder = options.query_index or folder
        sizes = folder_size(query_folder)
        figures["index_bytes"] = sum(sizes.values())
        started = time.perf_counter()
        pipeline = QAPipeline(NewsIndex.open(query_folder, embedder, readonly=True), options.retrieval, options.answering,
                              options.max_question_chars, options.time_mode)
        figures["query_index_articles"] = len(pipeline.index.articles)
        figures["open_s"] = time.perf_counter() - started
        questions = _questions(options, pipeline.index)
        started = time.perf_counter()
        pipeline.ask(questions[0])  # the reader loads on the first question
        figures["first_ask_s"] = time.perf_counter() - started
        for question in questions[1:5]:
            pipeline.ask(question)
        totals, retrievals, answers = [], [], []
        for question in questions:
            answer = pipeline.ask(question)
            totals.append(answer.timings["total"] * 1000)
            if "retrieval" in answer.timings:  # absent when the question was declined before searching
                retrievals.append(answer.timings["retrieval"] * 1000)
                answers.append(answer.timings["answer"] * 1000)
        figures.update(
            queries=len(questions),
            ask_ms_p50=percentile(totals, 50), ask_ms_p95=percentile(totals, 95),
            retrieval_ms_p50=percentile(retrievals, 50), retrieval_ms_p95=percentile(retrievals, 95),
            answer_ms_p50=percentile(answers, 50), answer_ms_p95=percentile(answers, 95),
            peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        )
        if embedder.precision != "float32":  # what the faster precision buys, on the same passages (a second
            # model, loaded after the peak memory was read)
            float32_seconds = _encode_seconds(SentenceTransformerEmbedder(options.model, precision="float32"), texts)
            figures.update(float32_passages_per_s=len(texts) / float32_seconds)
        _print_report(figures, sizes, embedder.precision)
        return figures
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _print_report(f: dict[str, float], sizes: dict[str, int], precision: str) -> None:
    mb = 1024 * 1024
    print(f"\nnewsqa benchmark (demo corpus, all-MiniLM-L6-v2 on CPU, {precision} encoder passes)")
    print(f"  ingest       {f['articles']:.0f} articles, {f['passages']:.0f} passages, {f['tokens']:,.0f} tokens "
          f"in {f['ingest_s']:.1f}s ({f['skipped']:.0f} records skipped)")
    print(f"               {f['ingest_articles_per_s']:.2f} articles/s  {f['ingest_passages_per_s']:.1f} passages/s  "
          f"{f['ingest_tokens_per_s']:,.0f} tokens/s")
    print(f"  encoder      {f['encoder_passages_per_s']:.1f} passages/s  {f['encoder_tokens_per_s']:,.0f} tokens/s "
          f"(bare model on {f['encoder_passages']:.0f} of the same passages)")
    print(f"               ingest runs at {f['ingest_tokens_per_s'] / f['encoder_tokens_per_s']:.0%} of the encoder's speed")
    if "float32_passages_per_s" in f:
        print(f"               float32 passes: {f['float32_passages_per_s']:.1f} passages/s "
              f"({precision} is {f['encoder_passages_per_s'] / f['float32_passages_per_s']:.2f}x as fast)")
    print(f"  index size   {f['index_bytes'] / mb:.1f} MiB for {f['query_index_articles']:.0f} articles: " + ", ".join(f"{k} {v / mb:.1f} MiB" for k, v in sorted(sizes.items()) if v))
    print(f"  open         {f['open_s']:.2f}s (read-only, warm model); first question {f['first_ask_s']:.2f}s "
          "(loads the reader)")
    print(f"  ask (warm)   {f['queries']:.0f} questions: p50 {f['ask_ms_p50']:.1f} ms  p95 {f['ask_ms_p95']:.1f} ms")
    print(f"               retrieval p50 {f['retrieval_ms_p50']:.1f} / p95 {f['retrieval_ms_p95']:.1f} ms; "
          f"answer p50 {f['answer_ms_p50']:.1f} / p95 {f['answer_ms_p95']:.1f} ms")
    print(f"  memory       peak RSS {f['peak_rss_mb']:.0f} MiB")


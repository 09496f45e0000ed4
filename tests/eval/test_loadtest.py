"""The load test, run with a few clients against the test chat (fake-embedder index) on loopback."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from eval.loadtest import LoadOptions, run_loadtest
from eval.questions import read_questions
from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from ui.cli import main

REPO = Path(__file__).resolve().parents[2]
# The web app fixtures live in tests/ui/conftest.py; load that file under a name of its own and reuse them.
_spec = importlib.util.spec_from_file_location("_web_fixtures", REPO / "tests" / "ui" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_web)
web_index, start_web_app, web_url = _web.web_index, _web.start_web_app, _web.web_url

pytestmark = [pytest.mark.ui, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

QUESTIONS = [
    "Who cast the tie-breaking vote to confirm Betsy DeVos?",
    "How strong were the winds of Storm Doris?",
    "Which country is the happiest in the world?",
    "How much did China's exports rise?",
    "How tall is the Eiffel tower?",  # abstains: an answer too
]
WORKER = REPO / "tests" / "_ingest_worker.py"


@pytest.fixture()
def questions_file(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps({"qid": str(i), "question": q}) + "\n" for i, q in enumerate(QUESTIONS)))
    return path


def options(url: str, questions: Path, index_dir: Path | None, **overrides: object) -> LoadOptions:
    values: dict = {"clients": 4, "total": 20, "index_dir": index_dir, "show_progress": False, "timeout": 60.0}
    return LoadOptions(url=url, questions=questions, **{**values, **overrides})


def test_concurrent_clients_get_every_answer_and_the_figures_are_computed(
        web_url: str, web_index: NewsIndex, questions_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    threads = torch.get_num_threads()
    report = run_loadtest(options(web_url, questions_file, web_index.folder, threads=1), HashEmbedder(dim=64))
    assert torch.get_num_threads() == threads  # the in-process run's setting does not outlive it
    assert (report.answered, report.errors, report.error_messages) == (20, 0, [])
    assert len(report.latencies) == 20 and len(report.sequential_latencies) == 20
    p50, p95, p99 = (report.percentile(q) for q in (50, 95, 99))
    assert 0 < p50 <= p95 <= p99 <= max(report.latencies)
    assert report.throughput == pytest.approx(20 / report.seconds)
    assert report.sequential_throughput == pytest.approx(20 / report.sequential_seconds)
    assert report.ratio == pytest.approx(report.throughput / report.sequential_throughput)
    assert report.differing == 0  # the server answers exactly as the pipeline does in-process
    assert report.ingest is None
    printed = capsys.readouterr().out
    assert "4 clients, 20 answered, 0 errors" in printed and "(torch threads: 1)" in printed
    assert f"ratio concurrent / in-process throughput: {report.ratio:.2f}" in printed


def test_answers_keep_coming_while_another_process_ingests(
        start_web_app: Callable[..., str], tmp_path: Path, questions_file: Path) -> None:
    embedder = HashEmbedder(dim=64)
    folder = tmp_path / "index"
    writer = NewsIndex.open(folder, embedder, config=IndexConfig(model=embedder.name, dim=64, max_tokens=60))
    writer.add(_web.WEB_ARTICLES, show_progress=False)
    writer.close()
    url = start_web_app(index=NewsIndex.open(folder, embedder, readonly=True))
    ingest = (sys.executable, str(WORKER), str(folder), "--first", "0", "--last", "40", "--slow-stage", "committed",
              "--slow", "0.3")  # 5 batches of 8, each held 0.3 s: the load runs while it writes
    report = run_loadtest(options(url, questions_file, folder, total=40, ingest_command=ingest), embedder)
    assert (report.answered, report.errors) == (40, 0)
    assert report.differing == 0
    assert report.ingest is not None
    assert report.ingest.returncode == 0, report.ingest.output
    assert "added 40 articles" in report.ingest.output
    assert report.ingest.answered > 0 and report.ingest.errors == 0
    assert len(NewsIndex.open(folder, embedder, readonly=True).articles) == len(_web.WEB_ARTICLES) + 40


def test_a_failing_ingest_is_reported_with_its_output(web_url: str, questions_file: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    failing = (sys.executable, "-c", "import sys; print('cannot read corpus.jsonl line 3'); sys.exit(3)")
    report = run_loadtest(options(web_url, questions_file, None, clients=2, total=4, ingest_command=failing))
    assert report.ingest is not None
    assert (report.ingest.returncode, report.ingest.output) == (3, "cannot read corpus.jsonl line 3")
    assert "ingest alongside: exit 3" in capsys.readouterr().out


def test_cli_runs_the_load_and_skips_the_comparison_without_an_index(
        web_url: str, questions_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["loadtest", "--url", web_url, "--questions", str(questions_file), "--clients", "2", "--total", "6",
                 "--index", str(tmp_path / "no-index"), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "skipping the in-process comparison" in printed
    assert "2 clients, 6 answered, 0 errors" in printed
    assert "one at a time" not in printed and "ratio" not in printed


def test_bad_questions_and_unreachable_servers_are_named(tmp_path: Path, questions_file: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "fine?"}\n\n{"qid": "2"}\n')
    with pytest.raises(ValueError, match=rf"{bad}:3: no usable \"question\""):
        read_questions(bad)
    assert read_questions(questions_file) == QUESTIONS
    nobody = f"http://127.0.0.1:{_web.free_port()}"
    with pytest.raises(ValueError, match=f"cannot use the chat at {nobody}"):
        run_loadtest(options(nobody, questions_file, None, clients=1, total=1))
    with pytest.raises(ValueError, match="clients must be >= 1"):
        options(nobody, questions_file, None, clients=0)

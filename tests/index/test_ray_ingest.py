"""The Ray engine (`index/ray_ingest.py`): the same index as the local engine, and a killed worker loses nothing.

A local Ray with 2 CPUs is started once for the module (skipped where the `ray` extra is not installed). The
input is a few hundred generated articles in JSONL and CSV files, with the cases the writer decides on: an
exact duplicate under another id, an id given again with a new text (the later wins), a near-copy and a bad
line. The kill tests in `test_faults.py` kill the whole ingest with the Ray engine; here one Ray worker dies.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray.data", reason="the Ray engine needs the `ray` extra")

import ray

from index.embedding import HashEmbedder
from index.indexer import STORE_FILE, IndexConfig, NewsIndex
from index.ingest import IngestReport
from index.ray_ingest import (
    RaySizing,
    decode_row,
    encode_record,
    ingest_with_ray,
    sources_of,
)
from index.readers import RecordError, read_paths

pytestmark = pytest.mark.ray

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("_ingest_worker", REPO / "tests" / "_ingest_worker.py")
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)
sys.modules["_ingest_worker"] = worker
ray.cloudpickle.register_pickle_by_value(worker)  # the Ray workers cannot import it by name

EMBED_ACTOR = "MapWorker(MapBatches(_EmbedStage))"


@pytest.fixture(scope="module")
def local_ray() -> None:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 1024 * 1024,
             _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


def _row(article: worker.Article) -> dict[str, str]:
    return {"id": article.doc_id, "title": article.title, "text": article.text, "date": article.date,
            "source": article.source}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three JSONL files and a CSV: 321 articles, a duplicate, a later version, a near-copy and a bad line."""
    folder = tmp_path_factory.mktemp("inputs")
    articles = worker.make_articles(0, 320)
    for part in range(3):
        lines = [json.dumps(_row(a)) for a in articles[part * 100 : (part + 1) * 100]]
        if part == 1:
            lines.insert(5, "{not json")
            lines.append(json.dumps({**_row(articles[3]), "id": "copy-of-3"}))  # same text, another id
        if part == 2:
            lines.append(json.dumps(_row(worker.make_article(7, revised=True))))  # doc-0007 again, new text: wins
            long = {**_row(worker.make_article(400)), "id": "long-400",  # long enough to sign (50 words)
                    "text": worker.make_article(400, revised=True).text + " " + worker.make_article(401).text}
            lines.insert(20, json.dumps(long))
            lines.append(json.dumps({**long, "id": "near-400", "text": long["text"] + " Photos: Test Wire."}))
        (folder / f"part-{part}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with (folder / "tail.csv").open("w", encoding="utf-8") as handle:
        handle.write("id,title,text,date,source\n")
        for a in articles[300:]:
            handle.write(",".join(json.dumps(v) for v in _row(a).values()) + "\n")
    return folder


def _config(embedder: HashEmbedder) -> IndexConfig:
    return IndexConfig(model=embedder.name, dim=embedder.dim, max_tokens=worker.MAX_TOKENS, near_duplicates=0.8)


def _tables(folder: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(f"file:{folder / STORE_FILE}?mode=ro", uri=True) as db:
        return {
            "articles": db.execute("SELECT doc_id, title, date, source, text, content_hash, metadata FROM articles"
                                   " ORDER BY doc_id").fetchall(),
            "sentences": db.execute("SELECT * FROM sentences ORDER BY doc_id, idx").fetchall(),
            "passages": db.execute("SELECT passage_id, doc_id, idx, start, end, first_sentence, last_sentence,"
                                   " n_tokens FROM passages ORDER BY passage_id").fetchall(),
            "vectors": db.execute("SELECT passage_id, vector FROM passages ORDER BY passage_id").fetchall(),
            "copies": db.execute("SELECT * FROM copies ORDER BY doc_id").fetchall(),
        }


@pytest.fixture(scope="module")
def local_build(tmp_path_factory: pytest.TempPathFactory, inputs: Path, fake_embedder: HashEmbedder,
                ) -> tuple[Path, IngestReport]:
    folder = tmp_path_factory.mktemp("local") / "index"
    index = NewsIndex.open(folder, fake_embedder, config=_config(fake_embedder))
    report = index.add(read_paths([inputs]), show_progress=False)
    index.close()
    return folder, report


def _assert_same_index(built: Path, reference: Path) -> None:
    ours, theirs = _tables(built), _tables(reference)
    for table in ("articles", "sentences", "passages", "copies"):
        assert ours[table] == theirs[table], f"{table} differ"
    for (pid_a, blob_a), (pid_b, blob_b) in zip(ours["vectors"], theirs["vectors"], strict=True):
        assert pid_a == pid_b
        np.testing.assert_allclose(np.frombuffer(blob_a, np.float32), np.frombuffer(blob_b, np.float32), atol=1e-6)


def test_ray_engine_builds_the_local_index(local_ray: None, tmp_path: Path, inputs: Path,
                                           local_build: tuple[Path, IngestReport], fake_embedder: HashEmbedder) -> None:
    reference, local_report = local_build
    index = NewsIndex.open(tmp_path / "index", fake_embedder, config=_config(fake_embedder))
    report = ingest_with_ray(index, sources_of([inputs]), sizing=RaySizing(embed_actors=2, embed_threads=1,
                                                                           embed_batch=16), show_progress=False)
    assert index.check() == []
    index.close()
    assert (report.added, report.duplicates, report.near_duplicates, report.repeated, len(report.errors)) == (
        local_report.added, local_report.duplicates, local_report.near_duplicates, local_report.repeated,
        len(local_report.errors))
    assert report.added == 321 and report.duplicates == 1 and report.near_duplicates == 1 and report.repeated == ["doc-0007"]
    assert [str(e) for e in report.errors] == [str(e) for e in local_report.errors] and "part-1.jsonl:6" in str(report.errors[0])
    _assert_same_index(tmp_path / "index", reference)


def test_ray_engine_rerun_matches_a_local_rerun(local_ray: None, tmp_path: Path, inputs: Path,
                                                local_build: tuple[Path, IngestReport],
                                                fake_embedder: HashEmbedder) -> None:
    """The same input again: committed articles come back unchanged (doc-0007, given twice, is written twice,
    as the local engine does: its first text, then its later one)."""
    import shutil

    reports = {}
    for engine in ("local", "ray"):
        shutil.copytree(local_build[0], tmp_path / engine)
        index = NewsIndex.open(tmp_path / engine, fake_embedder)
        reports[engine] = (index.add(read_paths([inputs]), show_progress=False) if engine == "local" else
                           ingest_with_ray(index, sources_of([inputs]), show_progress=False,
                                           sizing=RaySizing(embed_actors=1, embed_threads=1)))
        index.close()
    local, ours = reports["local"], reports["ray"]
    assert (ours.added, ours.replaced, ours.unchanged, ours.passages) == (local.added, local.replaced, local.unchanged,
                                                                          local.passages) == (0, 1, 321, 4)
    _assert_same_index(tmp_path / "ray", tmp_path / "local")


def _embed_actor_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if EMBED_ACTOR.encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def test_killed_embed_worker_loses_and_repeats_nothing(local_ray: None, tmp_path: Path, inputs: Path,
                                                       local_build: tuple[Path, IngestReport],
                                                       fake_embedder: HashEmbedder) -> None:
    """SIGKILL the embed actor's process mid-run: Ray Data restarts it and retries its batch; the run finishes
    with exactly the local engine's index."""
    stage_file = tmp_path / "stages.txt"
    embedder = worker.StageEmbedder(worker._Stages(stage_file, "embed", 0.15), fake_embedder.dim)
    embedder.name = fake_embedder.name
    index = NewsIndex.open(tmp_path / "index", embedder, config=_config(fake_embedder))
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["report"] = ingest_with_ray(index, sources_of([inputs]), show_progress=False,
                                               sizing=RaySizing(embed_actors=1, embed_threads=1, embed_batch=8))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while len(worker_stages := (stage_file.read_text().split() if stage_file.exists() else [])) < 5:
        assert thread.is_alive() and time.monotonic() < deadline, f"the run ended early: {result}"
        time.sleep(0.01)
    killed = _embed_actor_pids()
    assert len(killed) == 1, f"expected one embed actor, found {killed}"
    os.kill(killed[0], signal.SIGKILL)
    embeds_at_kill = len(worker_stages)
    thread.join(timeout=300)
    assert not thread.is_alive() and "error" not in result, result
    index.close()
    assert len(stage_file.read_text().split()) > embeds_at_kill, "nothing was embedded after the kill"
    assert not Path(f"/proc/{killed[0]}").exists() or b"zombie" in Path(f"/proc/{killed[0]}/status").read_bytes()
    report = result["report"]
    assert isinstance(report, IngestReport) and report.added == 321
    _assert_same_index(tmp_path / "index", local_build[0])


def test_rows_round_trip_as_json_and_bytes(fake_embedder: HashEmbedder) -> None:
    from index.chunking import Chunker
    from index.ingest import split_article
    from index.ray_ingest import encode_split

    article = worker.make_article(12, revised=True)
    split = split_article(article, Chunker(worker.MAX_TOKENS), title_in_index=True)
    vectors = fake_embedder.encode(split.texts)
    prepared = decode_row(encode_record(article), encode_split(split), vectors.tobytes(), fake_embedder.dim)
    assert prepared.article == article and prepared.split.sentences == split.sentences
    assert prepared.split.passages == split.passages and len(split.passages) > 1
    np.testing.assert_array_equal(prepared.vectors, vectors)
    error = RecordError("feed.jsonl:3", "not JSON", kept=False)
    assert decode_row(encode_record(error), "", b"", fake_embedder.dim) == error
    assert decode_row(encode_record(article), "", b"", fake_embedder.dim) == article  # stored already: not split


def test_a_folder_without_articles_adds_nothing(local_ray: None, tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.pdf").write_bytes(b"%PDF")  # unsupported: not a source
    index = NewsIndex.open(tmp_path / "index", fake_embedder, config=_config(fake_embedder))
    report = ingest_with_ray(index, sources_of([tmp_path / "empty"]), show_progress=False)
    index.close()
    assert (report.added, report.errors) == (0, [])

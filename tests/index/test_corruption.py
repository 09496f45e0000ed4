"""Corruption: every damaged file of an index is refused on open, named, and the way out is said.

Each case damages one file of a closed, healthy index. Opening it (read-only or for writing) must
raise IndexCorruptError naming that file and how to recover; `newsqa check` must exit non-zero;
`newsqa check --repair` must restore the derived files (vectors, BM25, manifest) from the document
store, and must refuse when the store itself is damaged (the derived files cannot rebuild it).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from index.embedding import HashEmbedder
from index.indexer import MANIFEST_FILE, STORE_FILE, IndexConfig, IndexCorruptError, NewsIndex
from index.models import Article
from qa.pipeline import QAPipeline
from ui.cli import main as newsqa

QUESTION = "Who cast the tie-breaking vote to confirm Betsy DeVos?"
REPAIR = "newsqa check --repair"
REINGEST = "re-run `newsqa ingest`"


def _articles() -> list[Article]:
    pence = Article("a1", "Pence breaks tie to confirm DeVos",
                    "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos as education "
                    "secretary. The Senate had split 50-50 on the nomination.", date="2017-02-07", source="ABC News")
    return [pence] + [
        Article(f"g{i}", f"Report {i}", f"Officials in district {i} opened {i + 2} new schools on Monday. "
                f"The mayor of town {i} said {i * 3 + 1} teachers were hired. Parents welcomed the news.",
                date=f"2017-03-{i % 28 + 1:02d}", source="Test Wire")
        for i in range(40)
    ]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashEmbedder) -> Path:
    folder = tmp_path_factory.mktemp("healthy") / "index"
    index = NewsIndex.open(folder, fake_embedder, config=IndexConfig(model=fake_embedder.name, dim=64, max_tokens=40))
    index.add(_articles(), batch_articles=10, show_progress=False)
    index.close()
    return folder


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))


def _vectors(folder: Path) -> Path:
    return folder / _manifest(folder)["files"]["vectors"]


def _bm25(folder: Path) -> Path:
    return folder / _manifest(folder)["files"]["bm25"]


def _article_bm25(folder: Path) -> Path:
    return folder / _manifest(folder)["files"]["bm25_articles"]


def _rewrite(path: Path, change: Callable[[bytearray], None]) -> None:
    data = bytearray(path.read_bytes())
    change(data)
    path.write_bytes(bytes(data))


def _garbage(n: int) -> bytes:
    return random.Random(n).randbytes(n)


def _cut_short(path: Path) -> Path:
    os.truncate(path, path.stat().st_size // 2)
    return path


def _same_size_garbage(path: Path) -> Path:
    path.write_bytes(_garbage(path.stat().st_size))
    return path


def _other_size_garbage(path: Path) -> Path:
    path.write_bytes(_garbage(1000))
    return path


def _flip_tail(path: Path) -> Path:
    """Change 16 bytes near the end (inside the stored vectors / arrays): the file still parses."""
    def change(data: bytearray) -> None:
        for i in range(len(data) - 40, len(data) - 24):
            data[i] ^= 0x5A
    _rewrite(path, change)
    return path


def _remove(path: Path) -> Path:
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    return path


def _store_page_garbage(path: Path) -> Path:
    """4 KiB of garbage over a page in the middle of the SQLite file."""
    middle = path.stat().st_size // 2 // 4096 * 4096
    _rewrite(path, lambda data: data.__setitem__(slice(middle, middle + 4096), _garbage(4096)))
    return path


def _store_header_garbage(path: Path) -> Path:
    _rewrite(path, lambda data: data.__setitem__(slice(0, 100), _garbage(100)))
    return path


def _store_text_changed(path: Path) -> Path:
    """Five letters of an article's text changed in place: SQLite's own check cannot see this."""
    def change(data: bytearray) -> None:
        at = data.find(b"tie-breaking vote")
        assert at > 0
        data[at : at + 5] = b"XXXXX"
    _rewrite(path, change)
    return path


def _store_vector_changed(path: Path) -> Path:
    """One float of a stored passage vector changed in place."""
    index = NewsIndex.open(path.parent, readonly=True)
    _, vectors = index.store.vectors(index.config.dim)
    index.close()
    needle = vectors[3].tobytes()
    def change(data: bytearray) -> None:
        at = data.find(needle)
        assert at > 0
        data[at : at + 4] = np.float32(7.0).tobytes()
    _rewrite(path, change)
    return path


def _manifest_invalid_json(path: Path) -> Path:
    path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    return path


def _manifest_wrong_shape(path: Path) -> Path:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["files"]["vectors"]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Case:
    name: str
    target: Callable[[Path], Path]  # folder -> the file to damage
    damage: Callable[[Path], Path]  # damages it, returns the path the message must name
    repairable: bool  # a derived file: `check --repair` rebuilds it from the store

    def __str__(self) -> str:
        return self.name


CASES = [
    Case("vectors-cut-short", _vectors, _cut_short, True),
    Case("vectors-garbage-same-size", _vectors, _same_size_garbage, True),
    Case("vectors-garbage-other-size", _vectors, _other_size_garbage, True),
    Case("vectors-bytes-changed", _vectors, _flip_tail, True),
    Case("vectors-missing", _vectors, _remove, True),
    Case("bm25-folder-missing", _bm25, _remove, True),
    Case("bm25-array-changed", lambda f: _bm25(f) / "data.csc.index.npy", _flip_tail, True),
    Case("bm25-vocabulary-garbage", lambda f: _bm25(f) / "vocab.index.json", _other_size_garbage, True),
    Case("bm25-ids-missing", lambda f: _bm25(f) / "ids.npy", _remove, True),
    Case("article-bm25-folder-missing", _article_bm25, _remove, True),
    Case("article-bm25-array-changed", lambda f: _article_bm25(f) / "data.csc.index.npy", _flip_tail, True),
    Case("manifest-missing", lambda f: f / MANIFEST_FILE, _remove, True),
    Case("manifest-invalid-json", lambda f: f / MANIFEST_FILE, _manifest_invalid_json, True),
    Case("manifest-wrong-shape", lambda f: f / MANIFEST_FILE, _manifest_wrong_shape, True),
    Case("store-page-overwritten", lambda f: f / STORE_FILE, _store_page_garbage, False),
    Case("store-truncated", lambda f: f / STORE_FILE, _cut_short, False),
    Case("store-header-garbage", lambda f: f / STORE_FILE, _store_header_garbage, False),
    Case("store-text-changed", lambda f: f / STORE_FILE, _store_text_changed, False),
    Case("store-vector-changed", lambda f: f / STORE_FILE, _store_vector_changed, False),
    Case("store-missing", lambda f: f / STORE_FILE, _remove, False),
]


@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    """Run `newsqa ...` in this process with no settings file or NEWSQA_* variables: (exit code, stdout, stderr)."""
    for key in [k for k in os.environ if k.startswith("NEWSQA_")]:
        monkeypatch.delenv(key)
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = newsqa([*args, "--config", str(config), "--quiet"])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _first_citation(folder: Path, embedder: HashEmbedder) -> tuple[str, str]:
    index = NewsIndex.open(folder, embedder, readonly=True)
    answer = QAPipeline(index).ask(QUESTION)
    index.close()
    assert answer.citations
    return answer.citations[0].doc_id, answer.citations[0].sentence


def test_healthy_index_checks_ok(healthy: Path, cli) -> None:  # noqa: ANN001
    code, out, _ = cli("check", "--index", str(healthy))
    assert code == 0 and out.strip().endswith("ok")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_corruption_detected_and_repaired(case: Case, healthy: Path, tmp_path: Path, fake_embedder: HashEmbedder,
                                          cli) -> None:  # noqa: ANN001
    folder = tmp_path / "index"
    shutil.copytree(healthy, folder)
    named = case.damage(case.target(folder))
    remedy = REPAIR if case.repairable else REINGEST

    for readonly in (True, False):
        with pytest.raises(IndexCorruptError) as caught:
            NewsIndex.open(folder, fake_embedder, readonly=readonly)
        message = str(caught.value)
        assert str(named) in message and remedy in message, message

    code, out, err = cli("check", "--index", str(folder))
    assert code != 0 and str(named) in err, out + err

    before = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != "write.lock"}
    code, out, err = cli("check", "--repair", "--index", str(folder))
    if not case.repairable:
        assert code != 0 and REINGEST in err, out + err
        after = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != "write.lock"}
        # SQLite's -wal/-shm files come and go with its connections: compare every other file
        derived = {k for k in before if "sqlite" not in k}
        assert ("store.sqlite" in after) == ("store.sqlite" in before) and derived == {k for k in after if "sqlite" not in k} and \
            all(after[k] == before[k] for k in derived), "a refused repair must leave the files as they were"
        with pytest.raises(IndexCorruptError):
            NewsIndex.open(folder, fake_embedder, readonly=True)
        return
    assert code == 0 and out.strip().endswith("ok"), out + err
    repaired = NewsIndex.open(folder, fake_embedder, readonly=True)
    assert repaired.check() == []
    repaired.close()
    assert _first_citation(folder, fake_embedder) == _first_citation(healthy, fake_embedder)

"""The index folder with each FAISS kind: chosen by size, forced by the config, kept in step with adds,
deletes, reopening and repair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import index.vectors as vectors
from index.embedding import HashEmbedder
from index.indexer import MANIFEST_FILE, IndexConfig, NewsIndex
from index.models import Article

TOPICS = ["storm", "election", "budget", "football", "pipeline", "court", "oil", "vaccine"]


def articles(n: int, start: int = 0) -> list[Article]:
    return [Article(f"n{i}", f"Story {i} on the {TOPICS[i % 8]}",
                    f"Report number {i} is about the {TOPICS[i % 8]} in town {i}. Officials said item {i * 7} mattered.",
                    date="2017-03-01") for i in range(start, start + n)]


def open_index(folder: Path, kind: str = "auto") -> NewsIndex:
    embedder = HashEmbedder(dim=64)
    return NewsIndex.open(folder, embedder, config=IndexConfig(model=embedder.name, dim=64, max_tokens=40,
                                                               vector_index=kind))


def top_doc(index: NewsIndex, query: str) -> str:
    _, ids = index.vectors.search(index.embedder.encode([query])[0], 1)
    return index.passages[index.passage_row(int(ids[0]))].doc_id


def manifest(index: NewsIndex) -> dict:
    return json.loads((index.folder / MANIFEST_FILE).read_text())


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_a_forced_kind_round_trips_add_delete_reopen_and_repair(kind: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "MIN_IVF_PASSAGES", 8)
    index = open_index(tmp_path / "ix", kind)
    index.add(articles(40), show_progress=False)
    assert index.vectors.kind == kind and len(index.vectors) == len(index.passages) == 40
    assert top_doc(index, "Report number 17 is about the election in town 17.") == "n17"
    index.add(articles(10, start=40), show_progress=False)
    index.delete(["n3", "n17"])
    assert index.check() == [] and len(index.vectors) == 48
    files = set(manifest(index)["files"]["sha256"])
    assert any(name.endswith(".deleted.npy") for name in files) == (kind == "hnsw")  # HNSW's tombstones
    index.close()
    reopened = open_index(tmp_path / "ix", kind)
    assert reopened.vectors.kind == kind and reopened.check() == [] and len(reopened.vectors) == 48
    assert "n17" not in {reopened.passages[reopened.passage_row(int(i))].doc_id
                         for i in reopened.vectors.search(reopened.embedder.encode(["town 17"])[0], 48)[1]}
    assert top_doc(reopened, "Report number 45 is about the vaccine in town 45.") == "n45"
    reopened.close()
    repaired = NewsIndex.repair(tmp_path / "ix", show_progress=False)
    assert repaired.vectors.kind == kind and repaired.vectors.deleted_share() == 0 and repaired.check() == []
    assert not list((tmp_path / "ix").glob("*.deleted.npy"))
    repaired.close()


def test_auto_moves_to_ivf_past_the_flat_bound_and_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "FLAT_MAX_PASSAGES", 30)
    monkeypatch.setattr(vectors, "MIN_IVF_PASSAGES", 8)
    index = open_index(tmp_path / "ix")
    index.add(articles(25), show_progress=False)
    assert index.vectors.kind == "flat"
    index.add(articles(10, start=25), show_progress=False)  # 35 passages: past the bound, rebuilt on save
    assert index.vectors.kind == "ivf" and index.check() == []
    assert top_doc(index, "Report number 30 is about the court in town 30.") == "n30"
    index.delete([f"n{i}" for i in range(10)])
    assert index.vectors.kind == "flat" and len(index.vectors) == 25 and index.check() == []


def test_heavy_hnsw_deletes_rebuild_the_graph(tmp_path: Path) -> None:
    index = open_index(tmp_path / "ix", "hnsw")
    index.add(articles(20), show_progress=False)
    index.delete(["n0", "n1", "n2"])
    assert index.vectors.deleted_share() == pytest.approx(3 / 20)
    index.delete(["n3"])  # 4 of 20: the share a rebuild waits for
    assert index.vectors.deleted_share() == 0 and len(index.vectors) == 16 and index.check() == []


def test_a_changed_setting_rebuilds_an_existing_index_on_its_next_write(tmp_path: Path) -> None:
    index = open_index(tmp_path / "ix", "flat")
    index.add(articles(12), show_progress=False)
    index.close()
    readonly = NewsIndex.open(tmp_path / "ix", HashEmbedder(dim=64),
                              config=IndexConfig(model="hash-64", dim=64, vector_index="hnsw"), readonly=True)
    assert readonly.vectors.kind == "flat"  # reading never rewrites
    readonly.close()
    index = open_index(tmp_path / "ix", "hnsw")
    index.add(articles(1, start=12), show_progress=False)
    assert index.vectors.kind == "hnsw" and manifest(index)["config"]["vector_index"] == "hnsw"


def test_an_unknown_kind_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="'annoy'"):
        IndexConfig(model="m", dim=8, vector_index="annoy")

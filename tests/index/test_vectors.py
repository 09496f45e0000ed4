"""FAISS side: exact inner-product search keyed by passage id, filters, removal, one-file save."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.vectors import FLAT_MAX_PASSAGES, MIN_IVF_PASSAGES, VectorIndex, choose_kind, ivf_lists


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture()
def filled() -> tuple[VectorIndex, np.ndarray, np.ndarray]:
    vectors = unit(np.random.default_rng(7).standard_normal((20, 16)))
    ids = np.arange(100, 120, dtype=np.int64)
    index = VectorIndex(16)
    index.add(ids, vectors)
    return index, ids, vectors


def test_search_returns_the_exact_neighbours_by_id(filled: tuple) -> None:
    index, ids, vectors = filled
    assert len(index) == 20
    scores, found = index.search(vectors[5], 3)
    assert found[0] == 105 and scores[0] == pytest.approx(1.0, abs=1e-5)
    expected = ids[np.argsort(-(vectors @ vectors[5]))[:3]]
    np.testing.assert_array_equal(found, expected)
    assert list(scores) == sorted(scores, reverse=True)


def test_search_among_allowed_ids_only(filled: tuple) -> None:
    index, _, vectors = filled
    scores, found = index.search(vectors[5], 5, allowed_ids=np.array([101, 110, 111]))
    assert set(found) == {101, 110, 111} and len(found) == 3
    assert index.search(vectors[5], 5, allowed_ids=np.array([], dtype=np.int64))[1].size == 0


def test_k_larger_than_index_and_empty_index() -> None:
    index = VectorIndex(4)
    assert index.search(np.ones(4, dtype=np.float32), 5)[1].size == 0
    index.add(np.array([7]), unit(np.ones((1, 4))))
    assert list(index.search(np.ones(4, dtype=np.float32), 5)[1]) == [7]


def test_remove_and_reconstruct(filled: tuple) -> None:
    index, _, vectors = filled
    np.testing.assert_allclose(index.reconstruct(103), vectors[3], atol=1e-6)
    index.remove([105, 106])
    assert len(index) == 18
    assert 105 not in index.search(vectors[5], 20)[1]
    assert set(index.ids().tolist()) == set(range(100, 120)) - {105, 106}
    index.remove([])
    assert len(index) == 18


def test_save_and_load(tmp_path: Path, filled: tuple) -> None:
    index, _, vectors = filled
    path = tmp_path / "v.faiss"
    index.save(path)
    loaded = VectorIndex.load(path, 16)
    np.testing.assert_array_equal(np.sort(loaded.ids()), np.sort(index.ids()))
    np.testing.assert_array_equal(loaded.search(vectors[2], 4)[1], index.search(vectors[2], 4)[1])
    with pytest.raises(ValueError, match="dimension 16, expected 8"):
        VectorIndex.load(path, 8)


def test_dimension_is_validated() -> None:
    with pytest.raises(ValueError, match="dim must be positive, got 0"):
        VectorIndex(0)


# -- index kinds ---------------------------------------------------------------------------------------------


def test_the_kind_is_chosen_by_size_unless_forced() -> None:
    assert choose_kind(1_000) == "flat" and choose_kind(FLAT_MAX_PASSAGES) == "flat"
    assert choose_kind(FLAT_MAX_PASSAGES + 1) == "ivf"
    assert choose_kind(10, "hnsw") == "hnsw" and choose_kind(5_000, "flat") == "flat"
    assert choose_kind(MIN_IVF_PASSAGES - 1, "ivf") == "flat"  # too few vectors to train centroids on
    with pytest.raises(ValueError, match="'annoy'"):
        choose_kind(10, "annoy")


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((40, 32))
    vectors = unit(centres[rng.integers(0, 40, 3000)] + 0.6 * rng.standard_normal((3000, 32)))
    return np.arange(3000, dtype=np.int64) * 3 + 11, vectors  # ids that are not row numbers


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_each_kind_finds_the_exact_neighbours_and_round_trips_add_delete_save_load(
        kind: str, corpus: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    ids, vectors = corpus
    index = VectorIndex.build(32, ids[:2500], vectors[:2500], kind)
    index.add(ids[2500:], vectors[2500:])
    assert (index.kind, len(index)) == (kind, 3000)
    queries = vectors[:50]
    exact = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :10]]
    recall = np.mean([len(set(index.search(q, 10)[1]) & set(row)) / 10 for q, row in zip(queries, exact)])
    assert recall >= 0.95, recall
    gone = [int(i) for i in ids[:10]]
    index.remove(gone)
    assert len(index) == 2990 and not set(gone) & set(index.ids().tolist())
    assert not set(gone) & set(index.search(vectors[0], 20)[1].tolist())
    allowed = ids[5:25]  # five of them deleted: a filtered search is exact among the others
    scores, found = index.search(vectors[20], 30, allowed_ids=allowed)
    assert set(found) == set(allowed[5:].tolist()) and found[0] == ids[20]
    written = index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss", 32)
    assert (loaded.kind, len(loaded)) == (kind, 2990) and sorted(loaded.ids()) == sorted(index.ids())
    assert [p.name for p in written] == ["v.faiss"] + (["v.faiss.deleted.npy"] if kind == "hnsw" else [])
    np.testing.assert_allclose(loaded.reconstruct(int(ids[100])), vectors[100], atol=0.02)  # SQ8 is near, not equal
    assert list(loaded.search(vectors[100], 1)[1]) == [ids[100]]


def test_hnsw_keeps_tombstones_until_a_rebuild_is_due(corpus: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vectors = corpus
    index = VectorIndex.build(32, ids[:100], vectors[:100], "hnsw")
    index.remove([int(i) for i in ids[:19]])
    assert not index.needs_rebuild("hnsw") and index.deleted_share() == pytest.approx(0.19)
    index.remove([int(ids[19])])
    assert index.needs_rebuild("hnsw")
    with pytest.raises(ValueError, match="deleted"):
        index.add(ids[:1], vectors[:1])


def test_an_ivf_index_needs_vectors_to_train_on() -> None:
    with pytest.raises(ValueError, match="at least one"):
        VectorIndex.build(8, np.zeros(0, dtype=np.int64), np.zeros((0, 8), dtype=np.float32), "ivf")
    assert ivf_lists(10) == 10 and ivf_lists(1_000_000) == 4000 and ivf_lists(3000) == 76

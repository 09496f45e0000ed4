"""FAISS side: exact inner-product search keyed by passage id, filters, removal, one-file save."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.vectors import VectorIndex


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

"""The scale benchmark: sets grown from real vectors, every kind measured against exact search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.scale_bench import ScaleOptions, grow, plot, run_scale, table


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_grown_sets_keep_the_real_vectors_and_add_near_copies() -> None:
    rng = np.random.default_rng(0)
    real = unit(rng.standard_normal((50, 24)))
    grown = grow(real, 400, 0.75, np.random.default_rng(1))
    assert grown.shape == (400, 24) and np.allclose(grown[:50], real)
    np.testing.assert_allclose(np.linalg.norm(grown, axis=1), 1.0, atol=1e-5)
    nearest = (grown[50:] @ real.T).max(axis=1)  # each copy's cosine to the vector it was made from
    assert 0.7 < float(np.median(nearest)) < 0.9
    assert grow(real, 20, 0.75, rng).shape == (20, 24)


def test_every_kind_is_measured_at_every_size_against_exact_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    real = unit(rng.standard_normal((300, 16)))
    options = ScaleOptions(sizes=(400, 1500), queries=20, show_progress=False)
    rows = run_scale(real, unit(rng.standard_normal((20, 16))), options)
    assert [(r.passages, r.kind) for r in rows] == [(n, k) for n in (400, 1500) for k in ("flat", "ivf", "hnsw")]
    flat = [r for r in rows if r.kind == "flat"]
    assert all(r.recall_at_10 == 1.0 and r.chosen for r in flat)  # exact, and what auto picks at these sizes
    assert all(0.5 <= r.recall_at_10 <= 1.0 and r.p95_ms >= r.p50_ms > 0 and r.disk_mb > 0 for r in rows)
    assert "| 1,500 | ivf |" in table(rows)
    plot(rows, tmp_path / "scale.png")
    assert (tmp_path / "scale.png").stat().st_size > 1000


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="'annoy'"):
        ScaleOptions(kinds=("annoy",))
    with pytest.raises(ValueError, match="sizes"):
        ScaleOptions(sizes=(0,))

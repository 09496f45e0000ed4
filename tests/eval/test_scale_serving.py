"""The serving half of the scale benchmark: whole indexes grown from real articles, timed end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.scale_bench import ScaleOptions, run_scale_bench
from eval.scale_serving import grow_index, questions_from, serve_figures
from index.embedding import HashEmbedder
from index.indexer import NewsIndex


def test_a_grown_index_repeats_the_articles_under_new_ids_with_near_vectors(tmp_path: Path, tiny_index: NewsIndex,
                                                                            fake_embedder: HashEmbedder) -> None:
    real = len(tiny_index.passages)
    longest = max(np.bincount(tiny_index.passages.doc_rows))
    passages = grow_index(tiny_index, tmp_path / "grown", 3 * real + 1, noise=0.75, seed=0)
    assert 3 * real + 1 <= passages < 3 * real + 1 + longest
    grown = NewsIndex.open(tmp_path / "grown", fake_embedder, readonly=True)
    try:
        assert len(grown.passages) == passages and grown.vectors.kind == "flat"
        first = next(iter(tiny_index.articles))
        original, copy = tiny_index.store.article(first), grown.store.article(f"{first}~2")
        assert copy is not None and copy.text == original.text and copy.title == original.title
        assert grown.sentences(copy) and [s.text for s in grown.sentences(copy)] == [
            s.text for s in tiny_index.sentences(original)]
        ids, vectors = grown.store.vectors(64, grown.passages.ids_of([first, f"{first}~2"]).tolist())
        half = len(ids) // 2
        cosines = (vectors[:half] * vectors[half:]).sum(axis=1)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert (0.6 < cosines).all() and (cosines < 0.95).all()  # near copies, not the same vectors
        assert grown.bm25.n_docs == passages  # derived files rebuilt from the grown store
    finally:
        grown.close()
    assert grow_index(tiny_index, tmp_path / "prefix", 3, noise=0.75, seed=0) < real  # a prefix below the source


def test_serving_figures_time_the_whole_ask_for_each_kind(tmp_path: Path, tiny_index: NewsIndex,
                                                          fake_embedder: HashEmbedder) -> None:
    grow_index(tiny_index, tmp_path / "grown", 200, noise=0.75, seed=0)
    questions = questions_from([info.title for info in tiny_index.articles.values()])
    assert questions[1].endswith("?") and not questions[0].endswith("?")
    for kind in ("flat", "hnsw"):
        row = serve_figures(tmp_path / "grown", kind, questions, fake_embedder, threads=1)
        assert row.kind == kind and row.passages >= 200
        assert row.ask_p95_ms >= row.ask_p50_ms > row.retrieval_p50_ms > 0 and row.open_s > 0 and row.rss_mb > 0


@pytest.mark.slow
def test_the_scale_bench_reports_serving_from_fresh_processes(tmp_path: Path, tiny_index: NewsIndex,
                                                              fake_embedder: HashEmbedder) -> None:
    options = ScaleOptions(sizes=(150,), kinds=("flat", "ivf"), queries=4, serving_questions=4, show_progress=False)
    text = run_scale_bench(tiny_index, options, tmp_path / "out")
    assert "| ask p50 ms |" in text and text.count("| flat |") == 2 and text.count("| ivf |") == 2
    assert (tmp_path / "out" / "scale.md").read_text(encoding="utf-8").strip() == text

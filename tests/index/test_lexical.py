"""BM25 side: the shared tokenizer and a BM25 index saved as JSON + .npy (never pickled)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.lexical import STOPWORDS, BM25Index, tokenize

DOCS = {
    11: "Vice President Mike Pence cast a tie-breaking vote to confirm Betsy DeVos",
    22: "Storm Doris brought strong winds to Ireland",
    33: "Ireland's government met on Thursday about the storm damage and the winds",
    44: "",
}


def build() -> BM25Index:
    return BM25Index.build(np.array(list(DOCS)), [tokenize(t) for t in DOCS.values()])


def test_tokenize_lowercases_drops_stopwords_and_stems() -> None:
    assert tokenize("The Senators were voting on DeVos's confirmation, said Reuters.") == [
        "senat", "vote", "devo", "confirm", "reuter"]
    assert tokenize("Votes VOTED voting") == ["vote", "vote", "vote"]
    assert tokenize("the and of said") == []
    assert tokenize("") == []
    assert {"the", "said", "who"} <= STOPWORDS


def test_scores_rank_matching_passages_and_respect_the_mask() -> None:
    bm25 = build()
    assert bm25.n_docs == 4
    scores = bm25.scores(tokenize("storm winds Ireland"))
    assert scores.shape == (4,)
    assert scores[1] > 0 and scores[2] > 0 and scores[0] == 0 and scores[3] == 0
    assert scores[1] > scores[2]  # shorter passage, same matches
    masked = bm25.scores(tokenize("storm winds Ireland"), mask=np.array([True, False, True, True]))
    assert masked[1] == 0 and masked[2] == pytest.approx(scores[2])
    assert not bm25.scores(tokenize("unknownword")).any()
    assert not bm25.scores([]).any()


def test_idf_follows_document_frequency() -> None:
    bm25 = build()
    assert bm25.idf("penc") > bm25.idf("storm") > 0  # "storm" is in two passages, "pence" in one
    assert bm25.idf("never-seen") == 0.0
    assert bm25.doc_freq["ireland"] == 2 and bm25.doc_freq["storm"] == 2


def test_save_and_load_round_trip_without_pickle(tmp_path: Path) -> None:
    bm25 = build()
    folder = tmp_path / "bm25"
    bm25.save(folder)
    suffixes = {p.suffix for p in folder.iterdir()}
    assert suffixes <= {".json", ".npy"}, f"unexpected files {sorted(folder.iterdir())}"
    for npy in folder.glob("*.npy"):
        np.load(npy, allow_pickle=False)  # would raise on an object (pickled) array
    loaded = BM25Index.load(folder)
    np.testing.assert_array_equal(loaded.ids, bm25.ids)
    assert loaded.doc_freq == bm25.doc_freq
    query = tokenize("Pence vote DeVos storm")
    np.testing.assert_allclose(loaded.scores(query), bm25.scores(query), rtol=1e-6)


def test_empty_index(tmp_path: Path) -> None:
    empty = BM25Index.build(np.zeros(0, dtype=np.int64), [])
    assert empty.n_docs == 0 and empty.scores(["vote"]).shape == (0,)
    empty.save(tmp_path / "e")
    assert BM25Index.load(tmp_path / "e").n_docs == 0

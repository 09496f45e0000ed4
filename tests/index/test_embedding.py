"""Embedders: the deterministic fake for tests, and the packaged all-MiniLM-L6-v2 loaded offline."""

from __future__ import annotations

import numpy as np
import pytest

from index.chunking import Chunker
from index.embedding import PACKAGED_MODEL, Embedder, HashEmbedder, SentenceTransformerEmbedder, packaged_model_path
from index.indexer import IndexConfig
from index.models import Article
from index.sentences import split_sentences

MODEL_WINDOW = 256  # word pieces all-MiniLM-L6-v2 reads; the rest is silently cut


def test_hash_embedder_is_deterministic_and_normalised() -> None:
    texts = ["Pence cast the tie-breaking vote.", "Storm Doris hit Ireland.", "", "!!!"]
    one, two = HashEmbedder(dim=32).encode(texts), HashEmbedder(dim=32).encode(texts)
    assert one.shape == (4, 32) and one.dtype == np.float32
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(np.linalg.norm(one, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(one[2], one[3])  # no words: the same fixed unit vector


def test_hash_embedder_shared_words_mean_similar_vectors() -> None:
    vectors = HashEmbedder(dim=64).encode(
        ["Pence cast the tie-breaking vote for DeVos", "DeVos confirmed after Pence vote", "Storm Doris hit Ireland"]
    )
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert HashEmbedder(dim=64).encode(["Vote"])[0] @ HashEmbedder(dim=64).encode(["vote"])[0] == pytest.approx(1.0)


def test_hash_embedder_validates_and_satisfies_the_protocol() -> None:
    with pytest.raises(ValueError, match="dim must be at least 2, got 1"):
        HashEmbedder(dim=1)
    embedder = HashEmbedder(dim=8)
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim) == ("hash-8", 8)
    assert embedder.encode([]).shape == (0, 8)


def test_packaged_model_is_installed_locally() -> None:
    from pathlib import Path

    folder = Path(packaged_model_path())
    assert folder.is_dir()
    assert (folder / "config.json").exists() or (folder / "modules.json").exists()
    embedder = SentenceTransformerEmbedder()  # the dimension is known without loading the model
    assert (embedder.name, embedder.dim) == (PACKAGED_MODEL, 384)


@pytest.mark.slow
def test_real_model_loads_offline_and_embeds(real_embedder: SentenceTransformerEmbedder) -> None:
    """Loads with sockets blocked (autouse fixture): nothing is fetched from a hub."""
    texts = [
        "Vice President Mike Pence cast the tie-breaking vote to confirm Betsy DeVos.",
        "Pence broke a 50-50 tie in the Senate so DeVos became education secretary.",
        "China's exports rose 7.9 percent in January, customs data showed.",
    ]
    vectors = real_embedder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    np.testing.assert_allclose(real_embedder.encode(texts[:1])[0], vectors[0], atol=1e-5)
    assert real_embedder.encode([]).shape == (0, 384)
    assert isinstance(real_embedder, Embedder)
    assert real_embedder.max_seq_length == MODEL_WINDOW


@pytest.mark.slow
def test_demo_passages_fit_the_model_window(real_embedder: SentenceTransformerEmbedder, demo_records: list,
                                            record_property: pytest.RecordProperty) -> None:
    """With the default chunking, no passage of the demo corpus is cut by the model's 256-piece window."""
    config = IndexConfig(model=real_embedder.name, dim=real_embedder.dim)
    chunker = Chunker(config.max_tokens, config.overlap, config.encoding)
    articles = [r for r in demo_records if isinstance(r, Article)]
    lengths, with_title = [], []
    for article in articles:
        for passage in chunker.chunk(article.text, split_sentences(article.doc_id, article.text)):
            lengths.append(real_embedder.count_tokens(passage.text))
            with_title.append(real_embedder.count_tokens(f"{article.title}\n{passage.text}"))
    over = sum(n > MODEL_WINDOW for n in with_title)
    figures = (f"{len(articles)} articles, {len(lengths)} passages: max {max(lengths)} word pieces "
               f"({max(with_title)} with the title); title+passage over {MODEL_WINDOW}: {over}")
    print(figures)
    record_property("demo_passage_word_pieces", figures)
    assert len(articles) == 3788
    assert max(lengths) <= MODEL_WINDOW
    assert over == 0

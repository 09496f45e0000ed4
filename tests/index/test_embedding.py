"""Embedders: the deterministic fake for tests, and the packaged all-MiniLM-L6-v2 loaded offline."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from index.chunking import Chunker
from index.embedding import (
    PACKAGED_MODEL,
    BatchingEmbedder,
    Embedder,
    HashEmbedder,
    SentenceTransformerEmbedder,
    packaged_model_path,
    resolve_precision,
)
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


@pytest.mark.parametrize(("requested", "device", "native", "expected"), [
    ("auto", "cpu", True, "bfloat16"),
    ("auto", "cpu", False, "float32"),  # emulated bfloat16 is slower than float32
    ("auto", "cuda", True, "float32"),
    ("float32", "cpu", True, "float32"),
    ("bfloat16", "cpu", False, "bfloat16"),  # asked for explicitly: honoured
])
def test_precision_auto_picks_bfloat16_only_on_a_cpu_that_has_it(requested: str, device: str, native: bool,
                                                                expected: str) -> None:
    assert resolve_precision(requested, device, native) == expected


def test_unknown_precision_is_refused_before_the_model_loads() -> None:
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16, got 'fp16'"):
        SentenceTransformerEmbedder(precision="fp16")


@pytest.mark.slow
def test_bfloat16_vectors_match_float32_ones() -> None:
    """Indexes built at either precision are interchangeable: the same texts give (nearly) the same vectors.

    (Without native bfloat16 the pass is emulated: slower, which is why "auto" avoids it there, but the same.)"""
    texts = ["Vice President Mike Pence cast the tie-breaking vote to confirm Betsy DeVos.",
             "China's exports rose 7.9 percent in January, customs data showed. " * 12]
    fast, exact = SentenceTransformerEmbedder(precision="bfloat16"), SentenceTransformerEmbedder(precision="float32")
    fast_vectors, exact_vectors = fast.encode(texts), exact.encode(texts)
    assert (fast.precision, exact.precision) == ("bfloat16", "float32")
    assert fast_vectors.dtype == np.float32
    assert not np.array_equal(fast_vectors, exact_vectors)  # the bfloat16 pass really ran
    np.testing.assert_array_less(0.9999, np.sum(fast_vectors * exact_vectors, axis=1))


@pytest.mark.slow
def test_bfloat16_weights_cast_once_give_the_bits_autocast_gives() -> None:
    """The Linear weights are stored in bfloat16 for speed; the vectors are those of autocast over float32 weights."""
    import torch
    from sentence_transformers import SentenceTransformer

    from index.embedding import packaged_model_path

    texts = ["How many people were evacuated near the Oroville Dam?", "China's exports rose 7.9 percent. " * 30]
    embedder = SentenceTransformerEmbedder(precision="bfloat16")
    cast = embedder.encode(texts)
    assert embedder._load()[0].auto_model.encoder.layer[0].attention.self.query.weight.dtype == torch.bfloat16
    plain = SentenceTransformer(packaged_model_path(), device="cpu", local_files_only=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = plain.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert np.array_equal(cast, expected)


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
    # a text's vector does not depend on its batch; under bfloat16 autocast a batch's padding changes the matrix
    # shapes and so the rounding (seen: up to 4e-4 apart on a loaded machine), under float32 it does not
    tolerance = 2e-3 if real_embedder.precision == "bfloat16" else 1e-5
    np.testing.assert_allclose(real_embedder.encode(texts[:1])[0], vectors[0], atol=tolerance)
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
    assert len(articles) == 3787
    assert max(lengths) <= MODEL_WINDOW
    assert over == 0


class PacedEmbedder(HashEmbedder):
    """The fake embedder, slowed per pass so concurrent callers overlap; records every pass's texts."""

    def __init__(self, pause: float = 0.05, fail: bool = False) -> None:
        super().__init__(dim=16)
        self.pause, self.fail = pause, fail
        self.passes: list[list[str]] = []

    def encode(self, texts: list[str], *, batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        self.passes.append(list(texts))
        time.sleep(self.pause)
        if self.fail:
            raise RuntimeError("model exploded")
        return super().encode(texts)


def encode_concurrently(embedder: Embedder, batches: list[list[str]]) -> list[np.ndarray | BaseException]:
    """Each batch encoded by a thread of its own, all released at once; the vectors or the error of each."""
    results: list[np.ndarray | BaseException] = [RuntimeError("not run")] * len(batches)
    start = threading.Barrier(len(batches))

    def run(slot: int) -> None:
        start.wait()
        try:
            results[slot] = embedder.encode(batches[slot])
        except Exception as exc:  # kept for the test to inspect
            results[slot] = exc

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a caller is still waiting"
    return results


def test_batching_embedder_alone_is_the_inner_embedder() -> None:
    inner = PacedEmbedder(pause=0)
    batching = BatchingEmbedder(inner)
    assert isinstance(batching, Embedder) and (batching.name, batching.dim) == (inner.name, inner.dim)
    np.testing.assert_array_equal(batching.encode(["Pence cast the vote", "Doris"]),
                                  HashEmbedder(dim=16).encode(["Pence cast the vote", "Doris"]))
    assert inner.passes == [["Pence cast the vote", "Doris"]]


def test_batching_embedder_concurrent_callers_share_passes_and_get_their_own_rows() -> None:
    inner = PacedEmbedder()
    batches = [[f"question {n} about Pence", f"second text {n}"] for n in range(8)]
    results = encode_concurrently(BatchingEmbedder(inner), batches)
    for texts, vectors in zip(batches, results):
        assert isinstance(vectors, np.ndarray)
        np.testing.assert_array_equal(vectors, HashEmbedder(dim=16).encode(texts))
    assert len(inner.passes) < len(batches)  # callers that arrived during a pass were served together
    assert sorted(t for p in inner.passes for t in p) == sorted(t for b in batches for t in b)  # each text once


def test_batching_embedder_failure_reaches_every_waiting_caller_and_the_next_pass_works() -> None:
    inner = PacedEmbedder(fail=True)
    batching = BatchingEmbedder(inner)
    results = encode_concurrently(batching, [[f"text {n}"] for n in range(6)])
    for result in results:  # the thread that ran a pass gets its error; the others get it as the cause
        assert isinstance(result, RuntimeError)
        assert str(result) == "model exploded" or str(result.__cause__) == "model exploded"
    inner.fail = False
    np.testing.assert_array_equal(batching.encode(["again"]), HashEmbedder(dim=16).encode(["again"]))


class ShortEmbedder(PacedEmbedder):
    """Returns one vector too few: a broken model must not leave callers waiting."""

    def encode(self, texts: list[str], *, batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        return super().encode(texts)[1:]


def test_batching_embedder_wrong_number_of_vectors_fails_every_caller_instead_of_hanging() -> None:
    results = encode_concurrently(BatchingEmbedder(ShortEmbedder()), [[f"text {n}"] for n in range(4)])
    for result in results:
        assert isinstance(result, RuntimeError) and "vectors for" in f"{result} {result.__cause__}"

"""Near-duplicate articles: the same story republished with small edits (wire copy, an updated version).

Each article's cleaned text becomes a set of word 5-shingles (lower-cased `\\w+` words), summarised
by a MinHash signature (datasketch, 128 permutations, the `affine32` scheme: 512 bytes an article),
and a MinHash LSH index finds the stored articles whose estimated Jaccard similarity may pass the
threshold. A candidate counts as a copy when the estimate from the two signatures is at least
`threshold` (0.5 by default: see `eval/near_duplicates.py` for the labelled pairs it was chosen on).

Texts under `MIN_WORDS` words are left out: a short notice differs from the next one built on
the same template by a word or two, too few to tell a copy from a template.

The first article of a story stays the article; a later near-copy is kept only as an alternative
source of it (outlet, date, headline, URL: `DocumentStore.copies_of`), never as passages of its own,
so an answer cites the story once and lists where else it ran.

The LSH index lives in memory and is rebuilt from the signatures in the document store when an
index is opened for writing (a few milliseconds per thousand articles); for an archive of millions,
datasketch's LSH can keep its buckets in Redis or Cassandra (`storage_config`) instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SCHEME = "affine32"
SHINGLE_WORDS = 5
DEFAULT_THRESHOLD = 0.5
MIN_WORDS = 50
_WORD = re.compile(r"\w+")


class NearCopy(NamedTuple):
    """A stored article that a new text nearly repeats, and their estimated Jaccard similarity."""

    doc_id: str
    similarity: float


def shingles(text: str, words: int = SHINGLE_WORDS) -> set[bytes]:
    """The word n-grams of `text` (lower-cased); a text shorter than n words is one shingle."""
    tokens = _WORD.findall(text.lower())
    if len(tokens) <= words:
        return {" ".join(tokens).encode("utf-8")}
    return {" ".join(tokens[i : i + words]).encode("utf-8") for i in range(len(tokens) - words + 1)}


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of `text` (uint32, NUM_PERM values); None under MIN_WORDS words."""
    if len(_WORD.findall(text)) < MIN_WORDS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
    minhash.update_batch(shingles(text))
    return minhash.hashvalues.astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures: the share of permutations whose minimum agrees."""
    return float(np.mean(a == b))


class NearDuplicateIndex:
    """Signatures of the stored articles and an LSH index over them; `find` the copy a new text repeats."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"near-duplicate threshold must be between 0 and 1, got {threshold}")
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._signatures: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._signatures

    def add(self, doc_id: str, values: np.ndarray) -> None:
        if doc_id in self._signatures:
            self.remove(doc_id)
        self._signatures[doc_id] = values
        self._lsh.insert(doc_id, self._minhash(values))

    def add_all(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        for doc_id, values in items:
            self.add(doc_id, values)

    def remove(self, doc_id: str) -> None:
        if self._signatures.pop(doc_id, None) is not None:
            self._lsh.remove(doc_id)

    def find(self, values: np.ndarray, exclude: str | None = None) -> NearCopy | None:
        """The most similar stored article at or above the threshold (ties: the first stored), or None."""
        best: NearCopy | None = None
        for doc_id in self._lsh.query(self._minhash(values)):
            if doc_id == exclude:
                continue
            score = similarity(values, self._signatures[doc_id])
            if score >= self.threshold and (best is None or score > best.similarity):
                best = NearCopy(doc_id, score)
        return best

    @staticmethod
    def _minhash(values: np.ndarray) -> MinHash:
        return MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME, hashvalues=values)

"""Lexical side: one tokenizer (lowercase, stopwords, Snowball stems) and a BM25 index saved as a folder."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

_TOKEN = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t said says say also""".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lowercased, stopword-free, stemmed terms: the vocabulary of BM25 and of sentence matching."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS]
    return _stemmer().stemWords(words)


class BM25Index:
    """BM25 (Lucene variant) over passages or whole articles, stored as bm25s arrays + JSON; never pickled.

    Rows are positions 0..n-1; `ids[row]` names what the row indexes (a passage id, or an article's id).
    """

    def __init__(self, model: bm25s.BM25, ids: np.ndarray, doc_freq: dict[str, int]) -> None:
        self._model = model
        self.ids = ids
        self.doc_freq = doc_freq
        self.n_docs = len(ids)

    @classmethod
    def build(cls, ids: np.ndarray, token_lists: list[list[str]], show_progress: bool = False) -> BM25Index:
        model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        doc_freq: Counter[str] = Counter()
        for tokens in token_lists:
            doc_freq.update(set(tokens))
        if token_lists:
            # bm25s needs at least one token per document; an empty one gets a placeholder.
            model.index([tokens or ["\u2400"] for tokens in token_lists], show_progress=show_progress)
        return cls(model, np.asarray(ids), dict(doc_freq))

    def idf(self, term: str) -> float:
        """Lucene BM25 idf of a term (0 for a term no row holds)."""
        df = self.doc_freq.get(term, 0)
        return float(np.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))) if df else 0.0

    def rows_with(self, term: str) -> np.ndarray:
        """Rows whose indexed text holds `term`, ascending: the term's posting list (bm25s fills each term's
        column in row order)."""
        term_id = self._model.vocab_dict.get(term) if self.n_docs and term in self.doc_freq else None
        if term_id is None:
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self._model.scores["indptr"], self._model.scores["indices"]
        return np.asarray(indices[indptr[term_id] : indptr[term_id + 1]], dtype=np.int64)

    def scores(self, query_tokens: list[str], mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every row for the query (rows outside `mask` get 0)."""
        known = [t for t in query_tokens if t in self.doc_freq]
        if not known or self.n_docs == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        scores = self._model.get_scores(known)
        return scores * mask if mask is not None else scores

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.n_docs:
            self._model.save(str(folder), show_progress=False)
        np.save(folder / "ids.npy", self.ids, allow_pickle=False)
        (folder / "doc_freq.json").write_text(json.dumps(self.doc_freq), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        ids = np.load(folder / "ids.npy", allow_pickle=False, mmap_mode="r")
        doc_freq = json.loads((folder / "doc_freq.json").read_text(encoding="utf-8"))
        # Memory-mapped: the score matrix is paged in as queries touch it, not read whole into memory. A writer
        # replaces the folder rather than rewriting its files, so a mapped view never changes under a reader.
        model = bm25s.BM25.load(str(folder), mmap=True) if len(ids) else bm25s.BM25(method="lucene")
        return cls(model, ids, doc_freq)

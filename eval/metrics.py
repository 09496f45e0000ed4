"""Evaluation metrics as pure functions: article rankings, answer strings, abstention, latency.

Conventions:
- A ranking is the list of article ids of the retrieved passages, best first. An article counts
  at the rank of its first passage; its later passages are ignored (`distinct`).
- `gold` is the set of relevant article ids; an empty set means the question has no gold article
  (unanswerable), and the per-question retrieval functions return None for it.
- Aggregates (`mean`, `percentile`, `auroc`) return None when there is nothing to aggregate,
  so a report can print "n/a" instead of a misleading 0.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import numpy as np

from index.clean import repair_lost_punctuation

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
})


def normalize(text: str) -> str:
    """Unicode NFKC, punctuation lost to a bad encoding put back as the cleaner does (gold strings are often copied
    from the raw text), quotes and apostrophes made one straight mark, whitespace runs collapsed (case kept).

    The cleaner tells a lost closing quote from a lost apostrophe by the rest of its line, which a gold string
    copied alone lacks: comparing both as one mark keeps the two readings equal."""
    repaired = repair_lost_punctuation(unicodedata.normalize("NFKC", text)).translate(_QUOTES)
    return " ".join(repaired.replace('"', "'").split())


def distinct(ranking: Iterable[str]) -> list[str]:
    """Article ids in order of first appearance."""
    return list(dict.fromkeys(ranking))


def gold_rank(ranking: Sequence[str], gold: Collection[str]) -> int | None:
    """1-based rank of the first gold article among the distinct articles; None when absent."""
    for rank, doc_id in enumerate(distinct(ranking), start=1):
        if doc_id in gold:
            return rank
    return None


def hit_at_k(ranking: Sequence[str], gold: Collection[str], k: int) -> float | None:
    """1.0 if a gold article is among the first k distinct articles, else 0.0; None without gold."""
    if not gold:
        return None
    rank = gold_rank(ranking, gold)
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(ranking: Sequence[str], gold: Collection[str], k: int = 10) -> float | None:
    """1/rank of the first gold article if within k distinct articles, else 0.0; None without gold."""
    if not gold:
        return None
    rank = gold_rank(ranking, gold)
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def ndcg_at_k(ranking: Sequence[str], gold: Collection[str], k: int = 10) -> float | None:
    """Binary-relevance nDCG over the first k distinct articles; None without gold."""
    if not gold:
        return None
    dcg = sum(1.0 / math.log2(rank + 1) for rank, doc_id in enumerate(distinct(ranking)[:k], start=1) if doc_id in gold)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def contains(texts: Iterable[str], needle: str) -> bool:
    """Whether any text contains `needle`, both sides normalised."""
    target = normalize(needle)
    return bool(target) and any(target in normalize(text) for text in texts)


def answer_words(text: str) -> list[str]:
    """SQuAD's answer normalisation as words: lowercased, punctuation and the articles a/an/the dropped."""
    return [w for w in re.findall(r"\w+", normalize(text).lower()) if w not in ("a", "an", "the")]


def exact_match(predicted: str, gold: str) -> float:
    """1.0 when the two answers are equal after SQuAD's normalisation, else 0.0 (two empty answers do not match)."""
    p = answer_words(predicted)
    return float(bool(p) and p == answer_words(gold))


def token_f1(predicted: str, gold: str) -> float:
    """Word-overlap F1 of a short answer against the gold one (SQuAD's measure): case, punctuation and articles
    ignored, so "Vice President Mike Pence" against "Mike Pence" scores 0.67."""
    p, g = answer_words(predicted), answer_words(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def answer_in_top_k(passages: Sequence[str], answer: str | None, k: int) -> float | None:
    """1.0 if the gold answer string occurs in one of the first k passages, else 0.0; None without an answer."""
    if not answer:
        return None
    return 1.0 if contains(passages[:k], answer) else 0.0


def evidence_match(sentence: str, evidence: str) -> bool:
    """A cited sentence matches the gold evidence when, normalised, they are equal or one contains the other.

    Containment covers sentence splitters that cut the evidence in two, or join it with a neighbour.
    """
    a, b = normalize(sentence), normalize(evidence)
    return bool(a and b) and (a in b or b in a)


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties counting half."""
    if not positives or not negatives:
        return None
    pos = np.asarray(positives, dtype=float)[:, None]
    neg = np.asarray(negatives, dtype=float)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation, as numpy); None for no values."""
    return float(np.percentile(values, q)) if len(values) else None

"""How sure a figure is: bootstrap intervals over questions, and paired tests between two runs on the same questions.

A question set of a few hundred questions measures a rate to a few points: 0.820 over 316 answerable questions
is 0.777-0.861 at 95%, and 30 unanswerable questions decide the abstention figures. `bootstrap_mean` and
`bootstrap_auroc` give the percentile interval of a run's figure (questions drawn with replacement; for the
AUROC, answerable and unanswerable questions drawn apart, as their numbers are fixed by the set). Two runs on
the same questions are compared question by question: `paired_difference` bootstraps the mean difference,
and for a yes/no figure counts the questions only one run gets right with an exact sign test (McNemar's).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb
from typing import NamedTuple

import numpy as np

from eval import metrics as m

RESAMPLES = 2000
LEVEL = 0.95


class Interval(NamedTuple):
    low: float
    high: float


class Difference(NamedTuple):
    """Run B against run A on the questions both score: means, B - A with its interval, and the sign test."""

    n: int
    a: float
    b: float
    low: float  # interval of b - a
    high: float
    only_a: int | None  # yes/no figures: questions only run A gets (None for graded figures such as F1)
    only_b: int | None
    p: float | None  # two-sided exact sign test over those questions


def _check(resamples: int, level: float) -> None:
    if resamples < 100:
        raise ValueError(f"resamples must be at least 100, got {resamples}")
    if not 0.5 <= level < 1.0:
        raise ValueError(f"level must be in [0.5, 1), got {level}")


def _percentiles(samples: np.ndarray, level: float) -> Interval:
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(low), float(high))


def bootstrap_mean(values: Sequence[float | None], resamples: int = RESAMPLES, level: float = LEVEL,
                   seed: int = 0) -> Interval | None:
    """Percentile interval of the mean of the values that are not None (None when there are none)."""
    _check(resamples, level)
    kept = np.array([float(v) for v in values if v is not None])
    if not kept.size:
        return None
    draws = np.random.default_rng(seed).integers(0, kept.size, (resamples, kept.size))
    return _percentiles(kept[draws].mean(axis=1), level)


def _aurocs(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """AUROC of each row pair (resamples x n): P(positive > negative), ties counting half; in chunks of rows that
    keep the pairwise comparison near 20 M cells."""
    step = max(1, 20_000_000 // (positives.shape[1] * negatives.shape[1]))
    out = []
    for i in range(0, len(positives), step):
        pos, neg = positives[i : i + step, :, None], negatives[i : i + step, None, :]
        out.append((pos > neg).mean(axis=(1, 2)) + 0.5 * (pos == neg).mean(axis=(1, 2)))
    return np.concatenate(out)


def _stratified_draws(rng: np.random.Generator, n_pos: int, n_neg: int, resamples: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, n_pos, (resamples, n_pos)), rng.integers(0, n_neg, (resamples, n_neg))


def bootstrap_auroc(positives: Sequence[float], negatives: Sequence[float], resamples: int = RESAMPLES,
                    level: float = LEVEL, seed: int = 0) -> Interval | None:
    """Percentile interval of the AUROC, positives and negatives resampled apart (None without one of them)."""
    _check(resamples, level)
    pos, neg = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    if not pos.size or not neg.size:
        return None
    pick_pos, pick_neg = _stratified_draws(np.random.default_rng(seed), pos.size, neg.size, resamples)
    return _percentiles(_aurocs(pos[pick_pos], neg[pick_neg]), level)


def sign_test(only_a: int, only_b: int) -> float:
    """Two-sided exact binomial test that questions won by one run alone are as likely to be A's as B's."""
    if only_a < 0 or only_b < 0:
        raise ValueError(f"counts must be >= 0, got {only_a}, {only_b}")
    n, k = only_a + only_b, min(only_a, only_b)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0


def paired_difference(a: Sequence[float | None], b: Sequence[float | None], resamples: int = RESAMPLES,
                      level: float = LEVEL, seed: int = 0) -> Difference | None:
    """B - A over the questions both runs score (same order in both); None when there is none."""
    _check(resamples, level)
    if len(a) != len(b):
        raise ValueError(f"the two runs must score the same questions, got {len(a)} and {len(b)} scores")
    pairs = np.array([(float(x), float(y)) for x, y in zip(a, b) if x is not None and y is not None]).reshape(-1, 2)
    if not len(pairs):
        return None
    draws = np.random.default_rng(seed).integers(0, len(pairs), (resamples, len(pairs)))
    low, high = _percentiles((pairs[:, 1] - pairs[:, 0])[draws].mean(axis=1), level)
    only_a = only_b = p = None
    if np.isin(pairs, (0.0, 1.0)).all():
        only_a = int(((pairs[:, 0] == 1) & (pairs[:, 1] == 0)).sum())
        only_b = int(((pairs[:, 0] == 0) & (pairs[:, 1] == 1)).sum())
        p = sign_test(only_a, only_b)
    return Difference(len(pairs), float(pairs[:, 0].mean()), float(pairs[:, 1].mean()), low, high, only_a, only_b, p)


def paired_auroc_difference(a: Sequence[float], b: Sequence[float], positive: Sequence[bool],
                            resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0) -> Difference | None:
    """AUROC of B's scores minus A's over the same questions (`positive`: the question has an answer), each
    resample drawing the same questions for both runs; None without positives or negatives."""
    _check(resamples, level)
    if not len(a) == len(b) == len(positive):
        raise ValueError(f"scores and labels must cover the same questions, got {len(a)}, {len(b)}, {len(positive)}")
    labels = np.asarray(positive, dtype=bool)
    scores = np.asarray([a, b], dtype=float)
    pos, neg = scores[:, labels], scores[:, ~labels]
    if not pos.shape[1] or not neg.shape[1]:
        return None
    pick_pos, pick_neg = _stratified_draws(np.random.default_rng(seed), pos.shape[1], neg.shape[1], resamples)
    auroc_a, auroc_b = (m.auroc(pos[i].tolist(), neg[i].tolist()) for i in (0, 1))
    samples = _aurocs(pos[1][pick_pos], neg[1][pick_neg]) - _aurocs(pos[0][pick_pos], neg[0][pick_neg])
    low, high = _percentiles(samples, level)
    return Difference(int(labels.size), float(auroc_a or 0.0), float(auroc_b or 0.0), low, high, None, None, None)

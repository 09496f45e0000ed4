"""Check the answer confidence on a question file and choose its threshold: `newsqa calibrate`.

The confidence's weights are fitted with the reader on held-out training data (eval.fit_confidence) and
shipped beside it; they are not fitted here. Every question of a file is asked once and the confidence of
each answer read (an abstention keeps its features). Printed: the AUROC of those confidences (answerable
against unanswerable), the share of each kind declined at a range of thresholds, the threshold the
product's bar picks (the highest that declines at most MAX_ANSWERABLE_DECLINED of the answerable), and,
to show what to expect on other questions, repeated stratified two-fold cross-validation: the threshold
picked on one half and scored on the other. For comparison it also cross-validates weights refitted on
the file itself (a logistic regression of the same features), which the product does not use.

Run as `newsqa calibrate --questions Q.jsonl` (answerable questions have an `article_id`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from eval import metrics as m
from eval.questions import Question
from qa.answering import FEATURES
from qa.pipeline import QAPipeline

THRESHOLDS = tuple(round(0.05 + 0.025 * i, 3) for i in range(37))  # 0.05 to 0.95
MAX_ANSWERABLE_DECLINED = 0.08  # the product's bar: the threshold declines at most this share of answerable questions


def fit_logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    """Bias then one weight per column, by Newton's method on the L2-penalised log loss (the bias unpenalised).

    Both classes weigh the same in the loss, however few unanswerable questions there are, so a confidence
    of 0.5 sits between them and the threshold is read off a scale that is not squeezed towards 1.
    """
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features must be (n, d) matching {len(labels)} labels, got shape {features.shape}")
    positives = labels.sum()
    if positives in (0, len(labels)):
        raise ValueError("fitting needs labels of both classes")
    balance = np.where(labels == 1, len(labels) / (2 * positives), len(labels) / (2 * (len(labels) - positives)))
    x = np.hstack([np.ones((len(features), 1)), features])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    weights = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-x @ weights))
        gradient = x.T @ (balance * (p - labels)) + penalty * weights
        hessian = (x * (balance * p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    return weights


def confidences(weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(weights[0] + features @ weights[1:])))


def _read_confidences(weights: np.ndarray, features: np.ndarray, read: np.ndarray) -> np.ndarray:
    """Confidences, 0 for questions declined before any evidence was read (declined at every threshold)."""
    return np.where(read, confidences(weights, features), 0.0)


class HeldOut(NamedTuple):
    """Means over the held-out halves of repeated stratified two-fold cross-validation."""

    auroc: float
    auroc_sd: float
    unanswerable_declined: float  # at the threshold picked on the other half (<= MAX_ANSWERABLE_DECLINED there)
    answerable_declined: float
    folds: int

    def summary(self) -> str:
        return (f"held out ({self.folds} halves, weights and threshold from the other half): AUROC {self.auroc:.3f} "
                f"± {self.auroc_sd:.3f}, unanswerable declined {self.unanswerable_declined:.3f}, "
                f"answerable declined {self.answerable_declined:.3f}")


class Calibration(NamedTuple):
    weights: tuple[float, ...]  # the confidence weights the pipeline used (bias, then one per FEATURES name)
    auroc: float | None  # of those confidences on all the questions (the weights were not fitted on them)
    threshold: float  # the product's bar applied to all the questions
    held_out: HeldOut | None  # the threshold chosen on one half, scored on the other; None when a half lacks a kind
    refit: HeldOut | None  # for comparison: weights refitted on one half of this file, scored on the other
    declined: dict[float, tuple[float, float]]  # threshold -> (unanswerable declined, answerable declined)

    def summary(self) -> str:
        lines = [f"confidence_weights = {list(self.weights)}  (fitted on held-out training data, shipped with the reader)",
                 f"AUROC {self.auroc:.3f} on these questions" if self.auroc is not None
                 else "AUROC n/a (needs answerable and unanswerable questions)",
                 f"threshold = {self.threshold}  (the highest declining at most {MAX_ANSWERABLE_DECLINED:.0%} of the "
                 "answerable questions here)",
                 "threshold " + (self.held_out.summary() if self.held_out else "held out: n/a (too few questions of a kind)"),
                 "weights refitted on this file, " + (self.refit.summary() if self.refit else "held out: n/a"),
                 "threshold  unanswerable declined  answerable declined"]
        lines += [f"{t:9.3f}  {u:21.3f}  {a:19.3f}" for t, (u, a) in self.declined.items()]
        return "\n".join(lines)


def _auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    return m.auroc(list(scores[labels == 1]), list(scores[labels == 0]))


def pick_threshold(answerable_scores: np.ndarray) -> float:
    """The highest of THRESHOLDS that declines at most MAX_ANSWERABLE_DECLINED of the answerable questions."""
    allowed = [t for t in THRESHOLDS if np.mean(answerable_scores < t) <= MAX_ANSWERABLE_DECLINED]
    return max(allowed, default=THRESHOLDS[0])


def _stratifiable(labels: np.ndarray) -> bool:
    """Whether each kind of question has at least two members, so both halves get some of each."""
    return min(int(np.sum(labels == kind)) for kind in (0.0, 1.0)) >= 2


def _halves(labels: np.ndarray, repeats: int, seed: int) -> Iterator[np.ndarray]:
    """The training half of each fold: `repeats` stratified random splits, each used both ways round."""
    rng = np.random.default_rng(seed)
    positions = [np.flatnonzero(labels == kind) for kind in (0.0, 1.0)]
    for _ in range(repeats):
        half = np.zeros(len(labels), dtype=bool)
        for kind in positions:
            half[rng.permutation(kind)[: len(kind) // 2]] = True
        yield half
        yield ~half


def cross_validate(features: np.ndarray, labels: np.ndarray, read: np.ndarray, l2: float = 1.0,
                   repeats: int = 20, seed: int = 0, scored: np.ndarray | None = None) -> HeldOut | None:
    """Repeated stratified two-fold cross-validation of the fit and of the threshold choice.

    Each repeat splits both kinds of question in random halves; weights and threshold come from one half
    (the threshold as the product's is chosen) and are scored on the other, both ways round. Questions
    outside `scored` (default: those `read`) count as declined at every threshold.
    """
    scored = read if scored is None else scored
    if not _stratifiable(labels):
        return None
    aurocs, unanswerable, answerable = [], [], []
    for train in _halves(labels, repeats, seed):
        test = ~train
        if len(set(labels[train & read])) < 2:  # the half's only questions of a kind were declined unread
            continue
        weights = fit_logistic(features[train & read], labels[train & read], l2)
        fitted = _read_confidences(weights, features[train], scored[train])
        threshold = pick_threshold(fitted[labels[train] == 1])
        scores = _read_confidences(weights, features[test], scored[test])
        auroc = _auroc(scores, labels[test])
        if auroc is not None:  # always, as the split is stratified; None only for a half without a kind
            aurocs.append(auroc)
        unanswerable.append(np.mean(scores[labels[test] == 0] < threshold))
        answerable.append(np.mean(scores[labels[test] == 1] < threshold))
    if not aurocs:
        return None
    return HeldOut(float(np.mean(aurocs)), float(np.std(aurocs)), float(np.mean(unanswerable)),
                   float(np.mean(answerable)), len(aurocs))


def threshold_held_out(scores: np.ndarray, labels: np.ndarray, repeats: int = 20, seed: int = 0) -> HeldOut | None:
    """Repeated stratified two-fold cross-validation of the threshold choice for fixed confidences."""
    if not _stratifiable(labels):
        return None
    aurocs, unanswerable, answerable = [], [], []
    for train in _halves(labels, repeats, seed):
        test = ~train
        threshold = pick_threshold(scores[train & (labels == 1)])
        aurocs.append(_auroc(scores[test], labels[test]))
        unanswerable.append(np.mean(scores[test & (labels == 0)] < threshold))
        answerable.append(np.mean(scores[test & (labels == 1)] < threshold))
    return HeldOut(float(np.mean(aurocs)), float(np.std(aurocs)), float(np.mean(unanswerable)),
                   float(np.mean(answerable)), len(aurocs))


def calibrate(pipeline: QAPipeline, questions: list[Question], k: int = 10, l2: float = 1.0,
              show_progress: bool = True) -> Calibration:
    """Ask every question, score the shipped confidence on them and choose the threshold."""
    if not any(q.gold for q in questions) or all(q.gold for q in questions):
        raise ValueError("calibration needs both answerable questions (with an article_id) and unanswerable ones")
    # An abstention keeps its features, so the answers come from the pipeline exactly as configured.
    answers = [pipeline.ask(q.question, k=k) for q in tqdm(questions, desc="asking", disable=not show_progress)]
    labels = np.array([1.0 if q.gold else 0.0 for q in questions])
    # A question declined before any evidence is read (in filter mode, a period outside the corpus) has no
    # features and counts as declined at every threshold; so does one the min_dense floor declines (confidence 0).
    scores = np.array([a.confidence for a in answers])
    read = np.array([bool(a.signals) for a in answers])
    features = np.array([[a.signals.get(name, 0.0) for name in FEATURES] for a in answers])
    floor = pipeline.answerer.config.min_dense if pipeline.retriever.config.mode != "bm25" else -1.0
    # as in the product, the floor declines only where the reader finds no span either
    scored = read & np.array([a.signals.get("dense", 0.0) >= floor or a.signals.get("span_margin", 0.0) > 0
                              for a in answers])
    declined = {t: (float(np.mean(scores[labels == 0] < t)), float(np.mean(scores[labels == 1] < t)))
                for t in THRESHOLDS}
    return Calibration(tuple(round(float(w), 4) for w in pipeline.answerer.weights), _auroc(scores, labels),
                       pick_threshold(scores[labels == 1]), threshold_held_out(scores, labels),
                       cross_validate(features, labels, read, l2, scored=scored), declined)

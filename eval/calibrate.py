"""Fit the answerer's confidence: a logistic regression of answerable against unanswerable questions.

Every question of a file is asked once and each answer's evidence signals (`qa.answering.SIGNALS`)
are read (an abstention keeps them). The weights are fitted on all of them (they go into
`AnswerConfig.confidence_weights` in qa/answering.py, the product's defaults); to show how well they carry
to questions they were not fitted on, they are also fitted on each half (alternate questions) and scored
on the other. Prints the weights in the form `AnswerConfig.confidence_weights` takes, the AUROCs, and
the share of each kind of question declined at a range of thresholds, to choose the threshold from.

Run as `newsqa calibrate --questions Q.jsonl` (answerable questions have an `article_id`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from eval import metrics as m
from eval.evaluate import Question
from qa.answering import SIGNALS
from qa.pipeline import QAPipeline

THRESHOLDS = tuple(round(0.3 + 0.025 * i, 3) for i in range(25))  # 0.3 to 0.9


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


class Calibration(NamedTuple):
    weights: tuple[float, ...]  # bias, then one per SIGNALS name
    auroc: float | None  # of the weights fitted on all questions, on all of them
    held_out: tuple[float | None, float | None]  # fitted on one half, scored on the other (both ways)
    declined: dict[float, tuple[float, float]]  # threshold -> (unanswerable declined, answerable declined)

    def summary(self) -> str:
        held = ", ".join("n/a" if a is None else f"{a:.3f}" for a in self.held_out)
        lines = [f"confidence_weights = {list(self.weights)}  (AnswerConfig, qa/answering.py)",
                 f"AUROC {self.auroc:.3f} on the questions fitted (held-out halves: {held})" if self.auroc is not None
                 else "AUROC n/a (needs answerable and unanswerable questions)",
                 "threshold  unanswerable declined  answerable declined"]
        lines += [f"{t:9.3f}  {u:21.3f}  {a:19.3f}" for t, (u, a) in self.declined.items()]
        return "\n".join(lines)


def _auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    return m.auroc(list(scores[labels == 1]), list(scores[labels == 0]))


def calibrate(pipeline: QAPipeline, questions: list[Question], k: int = 10, l2: float = 1.0,
              show_progress: bool = True) -> Calibration:
    """Ask every question, fit the confidence weights to their signals and report how they separate."""
    if not any(q.gold for q in questions) or all(q.gold for q in questions):
        raise ValueError("calibration needs both answerable questions (with an article_id) and unanswerable ones")
    # An abstention keeps its signals, so the answers come from the pipeline exactly as configured.
    answers = [pipeline.ask(q.question, k=k) for q in tqdm(questions, desc="asking", disable=not show_progress)]
    features = np.array([[a.signals.get(name, 0.0) for name in SIGNALS] for a in answers])
    labels = np.array([1.0 if q.gold else 0.0 for q in questions])
    # A question declined before any evidence is read (in filter mode, a period outside the corpus) has no
    # signals: it is declined at every threshold, so it counts as declined (confidence 0) but takes no part in the fit.
    read = np.array([bool(a.signals) for a in answers])

    def fit_and_score(train: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights fitted on the `train` questions, and the confidences they give the `score` questions."""
        weights = fit_logistic(features[train & read], labels[train & read], l2)
        return weights, np.where(read[score], confidences(weights, features[score]), 0.0)

    halves = np.arange(len(questions)) % 2

    def held_out(half: int) -> float | None:
        """Fitted on the other half, scored on this one (None when either half lacks a kind of question)."""
        train, test = halves != half, halves == half
        if len(set(labels[train & read])) < 2 or len(set(labels[test])) < 2:
            return None
        return _auroc(fit_and_score(train, test)[1], labels[test])

    everything = np.ones(len(questions), dtype=bool)
    weights, scores = fit_and_score(everything, everything)
    declined = {t: (float(np.mean(scores[labels == 0] < t)), float(np.mean(scores[labels == 1] < t)))
                for t in THRESHOLDS}
    return Calibration(tuple(round(float(w), 2) for w in weights), _auroc(scores, labels),
                       (held_out(0), held_out(1)), declined)

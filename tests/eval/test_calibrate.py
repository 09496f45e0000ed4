"""Confidence calibration: the logistic fit, and a calibration run over a tiny index."""

from __future__ import annotations

import numpy as np
import pytest

from eval.calibrate import THRESHOLDS, calibrate, confidences, fit_logistic
from eval.evaluate import Question
from index.indexer import NewsIndex
from qa.answering import SIGNALS, AnswerConfig
from qa.pipeline import QAPipeline


def test_fit_weighs_the_informative_column_and_balances_the_classes() -> None:
    rng = np.random.default_rng(0)
    informative = np.r_[rng.normal(1.0, 0.3, 90), rng.normal(0.0, 0.3, 10)]  # 90 positives, 10 negatives
    noise = rng.normal(0.0, 1.0, 100)
    features, labels = np.c_[informative, noise], np.r_[np.ones(90), np.zeros(10)]
    weights = fit_logistic(features, labels)
    assert weights.shape == (3,)
    assert weights[1] > 2.0 and abs(weights[2]) < 0.5 * weights[1]
    scores = confidences(weights, features)
    # classes weigh the same: at the optimum (bias unpenalised) each class misses by the same mean amount,
    # where an unweighted fit would give the 9x larger class 9x the pull
    assert np.mean(1 - scores[labels == 1]) == pytest.approx(np.mean(scores[labels == 0]), abs=1e-6)
    assert np.median(scores[labels == 1]) > 0.5 > np.median(scores[labels == 0])


def test_fit_refuses_one_class_and_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="both classes"):
        fit_logistic(np.zeros((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match="matching 3 labels"):
        fit_logistic(np.zeros((4, 2)), np.array([0.0, 1.0, 1.0]))


def question(qid: str, text: str, article_id: str | None) -> Question:
    return Question(qid, text, article_id, None, None, "unanswerable" if article_id is None else "what")


QUESTIONS = [
    question("1", "Who cast the tie-breaking vote to confirm Betsy DeVos?", "a1"),
    question("2", "How close are Syrian government forces to al-Mayadin?", "a2"),
    question("3", "How strong were the winds of Storm Doris in Ireland?", "a3"),
    question("4", "How much did China's exports rise in January?", "a4"),
    question("5", "Where did Angela Merkel defend her refugee policy?", "a5"),
    question("6", "How tall is the Eiffel tower?", None),
    question("7", "What verdict did the court reach in the trial of the Senate nominee?", None),
    question("8", "Which team won the cricket world cup final?", None),
]


def test_calibration_fits_one_weight_per_signal_and_reports_declines(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index, answering=AnswerConfig(threshold=0.9))
    result = calibrate(pipeline, QUESTIONS, show_progress=False)
    assert len(result.weights) == len(SIGNALS) + 1
    assert pipeline.answerer.config.threshold == 0.9  # the pipeline is left as it was
    assert result.auroc is not None and result.auroc > 0.5
    assert list(result.declined) == list(THRESHOLDS)
    unanswerable = [u for u, _ in result.declined.values()]
    answerable = [a for _, a in result.declined.values()]
    assert unanswerable == sorted(unanswerable) and answerable == sorted(answerable)  # a higher bar declines more
    text = result.summary()
    assert text.startswith(f"confidence_weights = {list(result.weights)}") and "held-out halves" in text
    AnswerConfig(confidence_weights=result.weights)  # what it prints is what the answerer takes


def test_calibration_needs_both_kinds_of_question(tiny_index: NewsIndex) -> None:
    with pytest.raises(ValueError, match="both answerable"):
        calibrate(QAPipeline(tiny_index), QUESTIONS[:5], show_progress=False)

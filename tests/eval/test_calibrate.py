"""Confidence calibration: the logistic fit, the threshold choice, and a calibration run over a tiny index."""

from __future__ import annotations

import numpy as np
import pytest

from eval.calibrate import MAX_ANSWERABLE_DECLINED, THRESHOLDS, calibrate, confidences, cross_validate, fit_logistic, pick_threshold
from eval.questions import Question
from index.indexer import NewsIndex
from qa.answering import FEATURES, AnswerConfig
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


def test_calibration_scores_the_shipped_confidence_and_picks_a_threshold(tiny_index: NewsIndex) -> None:
    pipeline = QAPipeline(tiny_index, answering=AnswerConfig(threshold=0.9))
    result = calibrate(pipeline, QUESTIONS, show_progress=False)
    assert result.weights == tuple(round(w, 4) for w in pipeline.answerer.weights)  # not refitted on the file
    assert len(result.weights) == len(FEATURES) + 1
    assert pipeline.answerer.config.threshold == 0.9  # the pipeline is left as it was
    assert result.auroc is not None and result.auroc > 0.5
    assert list(result.declined) == list(THRESHOLDS) and result.threshold in THRESHOLDS
    unanswerable = [u for u, _ in result.declined.values()]
    answerable = [a for _, a in result.declined.values()]
    assert unanswerable == sorted(unanswerable) and answerable == sorted(answerable)  # a higher bar declines more
    assert result.declined[result.threshold][1] <= MAX_ANSWERABLE_DECLINED
    text = result.summary()
    assert text.startswith(f"confidence_weights = {list(result.weights)}") and "held out (" in text
    held = result.held_out
    assert held is not None and held.folds == 40 and 0.0 <= held.auroc <= 1.0
    assert result.refit is not None and result.refit.folds <= 40


def test_questions_the_min_dense_floor_declines_count_as_declined_at_every_threshold(tiny_index: NewsIndex) -> None:
    def declined_at_the_lowest(pipeline: QAPipeline) -> int:
        unanswerable, answerable = calibrate(pipeline, QUESTIONS, show_progress=False).declined[min(THRESHOLDS)]
        return round(unanswerable * 3 + answerable * 5)  # QUESTIONS: 3 unanswerable, 5 answerable

    signals = [QAPipeline(tiny_index).ask(q.question).signals for q in QUESTIONS]
    floor = sorted(s["dense"] for s in signals)[3] + 1e-6
    # under the floor and no span the reader trusts: the product declines these whatever the threshold
    under = sum(s["dense"] < floor and s["span_margin"] <= 0 for s in signals)
    floored = QAPipeline(tiny_index, answering=AnswerConfig(min_dense=floor))
    assert declined_at_the_lowest(floored) >= under
    assert declined_at_the_lowest(floored) >= declined_at_the_lowest(QAPipeline(tiny_index))


def test_calibration_needs_both_kinds_of_question(tiny_index: NewsIndex) -> None:
    with pytest.raises(ValueError, match="both answerable"):
        calibrate(QAPipeline(tiny_index), QUESTIONS[:5], show_progress=False)


def test_threshold_is_the_highest_that_keeps_answerable_declines_within_the_bar() -> None:
    answerable = np.linspace(0.41, 0.99, 100)  # 7 of them below 0.45, 12 below 0.475
    threshold = pick_threshold(answerable)
    assert threshold == 0.45
    assert np.mean(answerable < threshold) <= MAX_ANSWERABLE_DECLINED
    higher = THRESHOLDS[THRESHOLDS.index(threshold) + 1]
    assert np.mean(answerable < higher) > MAX_ANSWERABLE_DECLINED


def test_cross_validation_scores_halves_the_fit_never_saw() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.ones(60), np.zeros(20)]
    separable = np.c_[np.r_[rng.normal(1.0, 0.2, 60), rng.normal(0.0, 0.2, 20)]]
    noise = rng.normal(0.0, 1.0, (80, 1))
    read = np.ones(80, dtype=bool)
    good = cross_validate(separable, labels, read, repeats=5)
    chance = cross_validate(noise, labels, read, repeats=5)
    assert good is not None and chance is not None and good.folds == chance.folds == 10
    assert good.auroc > 0.95 and good.unanswerable_declined > 0.9 and good.answerable_declined <= 0.2
    assert chance.auroc < 0.75
    assert cross_validate(separable[:61], labels[:61], read[:61]) is None  # one unanswerable question: no halves

"""Bootstrap intervals over questions and paired tests between two runs (eval/intervals.py)."""

from __future__ import annotations

from math import comb

import pytest

from eval import metrics as m
from eval.intervals import (
    bootstrap_auroc,
    bootstrap_mean,
    paired_auroc_difference,
    paired_difference,
    sign_test,
)


def test_the_interval_holds_the_mean_and_narrows_with_more_questions() -> None:
    few = [1.0] * 8 + [0.0] * 2
    many = few * 100
    small, large = bootstrap_mean(few), bootstrap_mean(many)
    assert small is not None and large is not None
    assert small.low <= 0.8 <= small.high and large.low <= 0.8 <= large.high
    assert large.high - large.low < (small.high - small.low) / 4  # ~1/sqrt(100) as wide
    assert 0.74 < large.low < 0.78 and 0.82 < large.high < 0.86  # 0.8 +- 1.96 sqrt(0.16 / 1000)


def test_missing_scores_are_left_out_and_the_draws_are_seeded() -> None:
    values = [1.0, None, 0.0, 1.0, None, 1.0]
    assert bootstrap_mean(values, seed=3) == bootstrap_mean([1.0, 0.0, 1.0, 1.0], seed=3)
    assert bootstrap_mean([None, None]) is None
    assert bootstrap_mean([0.5] * 20) == (0.5, 0.5)


def test_bad_settings_are_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="resamples must be at least 100, got 10"):
        bootstrap_mean([1.0], resamples=10)
    with pytest.raises(ValueError, match=r"level must be in \[0.5, 1\), got 1.5"):
        bootstrap_auroc([1.0], [0.0], level=1.5)
    with pytest.raises(ValueError, match="same questions, got 2 and 1"):
        paired_difference([1.0, 0.0], [1.0])


def test_auroc_interval_resamples_each_class_apart() -> None:
    assert bootstrap_auroc([0.9, 0.8, 0.7], [0.1, 0.2]) == (1.0, 1.0)  # every draw still separates them
    assert bootstrap_auroc([0.9], []) is None
    positives, negatives = [0.9, 0.4, 0.8, 0.3, 0.7, 0.6], [0.5, 0.2, 0.35, 0.1]
    interval = bootstrap_auroc(positives, negatives)
    point = m.auroc(positives, negatives)
    assert interval is not None and point is not None and interval.low < point < interval.high


def test_sign_test_is_the_exact_two_sided_binomial() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(10, 0) == pytest.approx(2 / 1024)
    assert sign_test(6, 15) == sign_test(15, 6) == pytest.approx(2 * sum(comb(21, i) for i in range(7)) / 2**21)
    assert sign_test(7, 7) == 1.0
    with pytest.raises(ValueError, match="counts must be >= 0"):
        sign_test(-1, 2)


def test_a_paired_difference_counts_the_questions_only_one_run_gets() -> None:
    a = [1.0, 1.0, 0.0, 0.0, 1.0, None] + [1.0] * 20
    b = [1.0, 0.0, 1.0, 1.0, 1.0, 1.0] + [1.0] * 20
    d = paired_difference(a, b)
    assert d is not None
    assert d.n == 25 and (d.only_a, d.only_b) == (1, 2)  # the question A did not score is left out
    assert d.b - d.a == pytest.approx(1 / 25) and d.low < d.b - d.a < d.high
    assert d.p == pytest.approx(sign_test(1, 2))
    same = paired_difference(a, a)
    assert same is not None and (same.low, same.high, same.only_a, same.only_b, same.p) == (0.0, 0.0, 0, 0, 1.0)


def test_graded_figures_get_an_interval_but_no_sign_test() -> None:
    d = paired_difference([0.5, 0.25, 1.0], [1.0, 0.5, 1.0])
    assert d is not None and d.only_a is None and d.p is None and 0.0 <= d.low <= d.high
    assert paired_difference([None], [1.0]) is None


def test_paired_auroc_difference_draws_the_same_questions_for_both_runs() -> None:
    answerable = ([True] * 6 + [False] * 4) * 10
    mixed = [0.9, 0.4, 0.8, 0.3, 0.7, 0.6, 0.5, 0.2, 0.65, 0.1] * 10
    separated = [0.9, 0.8, 0.85, 0.7, 0.75, 0.95, 0.1, 0.2, 0.3, 0.15] * 10
    d = paired_auroc_difference(mixed, separated, answerable)
    point = m.auroc([c for c, y in zip(mixed, answerable) if y], [c for c, y in zip(mixed, answerable) if not y])
    assert d is not None and d.b == 1.0 and d.a == point and d.n == 100
    assert 0.0 < d.low < d.b - d.a < d.high  # a gain of ~0.21 that 100 questions can tell
    same = paired_auroc_difference(mixed, mixed, answerable)
    assert same is not None and (same.low, same.high) == (0.0, 0.0)
    assert paired_auroc_difference([0.1], [0.2], [True]) is None

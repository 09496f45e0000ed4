"""The metric functions against values computed by hand."""

from __future__ import annotations

import math

import pytest

from eval import metrics as m


def test_normalize_nfkc_quotes_and_whitespace() -> None:
    assert m.normalize("\u201cQuoted\u201d  text\u00a0here\n") == "'Quoted' text here"  # quotes and apostrophes alike
    # punctuation lost to a bad encoding is put back, however the cleaner read the rest of the line
    assert m.normalize('the players"?union') == m.normalize('the players" union') == "the players' union"
    assert m.normalize("Merkel\u2019s \ufb01rst \uff11\uff12 pages") == "Merkel's first 12 pages"
    assert m.normalize("Case Kept") != m.normalize("case kept")


def test_distinct_and_rank_ignore_later_passages_of_an_article() -> None:
    ranking = ["a", "b", "a", "c", "b", "d"]
    assert m.distinct(ranking) == ["a", "b", "c", "d"]
    assert m.gold_rank(ranking, {"c"}) == 3  # not 4: the second "a" passage does not count
    assert m.gold_rank(ranking, {"z"}) is None
    assert m.gold_rank(["x", "x", "x", "g"], {"g"}) == 2


def test_hit_at_k_with_duplicates() -> None:
    ranking = ["x", "x", "x", "g"]
    assert m.hit_at_k(ranking, {"g"}, 1) == 0.0
    assert m.hit_at_k(ranking, {"g"}, 2) == 1.0
    assert m.hit_at_k(ranking, {"g"}, 10) == 1.0
    assert m.hit_at_k([], {"g"}, 10) == 0.0


def test_reciprocal_rank() -> None:
    assert m.reciprocal_rank(["a", "b", "a", "c"], {"c"}) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(["g"], {"g"}) == 1.0
    eleven = [f"d{i}" for i in range(10)] + ["g"]
    assert m.reciprocal_rank(eleven, {"g"}, 10) == 0.0  # rank 11 is past the cut-off
    assert m.reciprocal_rank(eleven, {"g"}, 11) == pytest.approx(1 / 11)


def test_ndcg_single_and_several_gold() -> None:
    assert m.ndcg_at_k(["a", "b", "a", "c"], {"c"}) == pytest.approx(0.5)  # 1/log2(3+1)
    assert m.ndcg_at_k(["g", "x"], {"g"}) == 1.0
    assert m.ndcg_at_k(["x", "y"], {"g"}) == 0.0
    # gold at ranks 2 and 4 of 4: (1/log2 3 + 1/log2 5) / (1 + 1/log2 3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k(["x", "g1", "x", "y", "g2"], {"g1", "g2"}) == pytest.approx(expected)
    assert expected == pytest.approx(0.6509, abs=1e-4)


def test_questions_without_gold_article_get_none() -> None:
    for value in (m.hit_at_k(["a"], set(), 1), m.reciprocal_rank(["a"], set()), m.ndcg_at_k(["a"], frozenset())):
        assert value is None
    assert m.mean([m.hit_at_k(["a"], {"a"}, 1), m.hit_at_k(["a"], set(), 1), m.hit_at_k(["b"], {"a"}, 1)]) == 0.5


def test_answer_in_top_k_normalises_both_sides() -> None:
    passages = ["alpha beta", "the \u2018delta\u2019  force"]
    assert m.answer_in_top_k(passages, "'delta' force", 1) == 0.0
    assert m.answer_in_top_k(passages, "'delta' force", 2) == 1.0
    assert m.answer_in_top_k(passages, None, 2) is None
    assert m.contains(["abc"], "") is False


def test_evidence_match_rule() -> None:
    evidence = "Pence cast the deciding vote on Tuesday."
    assert m.evidence_match("Pence  cast the deciding vote on Tuesday.", evidence)  # equal after normalising
    assert m.evidence_match("Pence cast the deciding vote", evidence)  # cited part of the evidence
    assert m.evidence_match("It was close. " + evidence, evidence)  # cited sentence holds the evidence
    assert not m.evidence_match("The Senate split 50-50.", evidence)
    assert not m.evidence_match("", evidence)


def test_auroc_counts_ties_as_half() -> None:
    # pairs: 0.9 beats both, 0.8 beats both, 0.4 loses to 0.5 and ties 0.4 -> (2 + 2 + 0.5) / 6
    assert m.auroc([0.9, 0.8, 0.4], [0.5, 0.4]) == pytest.approx(0.75)
    assert m.auroc([1.0], [0.0]) == 1.0
    assert m.auroc([0.0], [1.0]) == 0.0
    assert m.auroc([0.5], []) is None


def test_mean_and_percentile() -> None:
    assert m.mean([1.0, None, 0.0, True]) == pytest.approx(2 / 3)
    assert m.mean([None, None]) is None
    assert m.percentile([10.0, 20.0, 30.0, 40.0], 50) == pytest.approx(25.0)
    assert m.percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert m.percentile([], 50) is None


def test_token_f1_of_a_short_answer() -> None:
    assert m.token_f1("Mike Pence", "Mike Pence") == 1.0
    assert m.token_f1("Vice President Mike Pence", "Mike Pence") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert m.token_f1("the “New England Patriots”", "New England Patriots.") == 1.0  # articles, quotes, case
    assert m.token_f1("", "Mike Pence") == 0.0 and m.token_f1("Betsy DeVos", "Mike Pence") == 0.0

"""Two eval runs compared question by question (eval/compare_runs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.compare_runs import compare_runs, read_run, render_comparison


def write_run(folder: Path, cited: list[int], confidence: list[float], unanswerable: int = 2) -> Path:
    """An eval folder's run.jsonl: answerable questions with answer_contains as given, then unanswerable ones."""
    folder.mkdir(parents=True)
    lines = []
    for i, (hit, conf) in enumerate(zip(cited, confidence)):
        scores = {"answer_contains": float(hit), "answer_f1": 0.5 * hit, "abstain_answerable": 0.0,
                  "abstain_unanswerable": None, "hit@1": 1.0}
        if i >= len(cited) - unanswerable:
            scores = {"answer_contains": None, "answer_f1": None, "abstain_answerable": None,
                      "abstain_unanswerable": float(conf < 0.3), "hit@1": None}
        lines.append(json.dumps({"qid": f"q{i}", "confidence": conf, "scores": scores}))
    (folder / "run.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_runs_are_matched_by_question_and_compared_figure_by_figure(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", [1, 1, 0, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.9, 0.75, 0.2])
    b = write_run(tmp_path / "b", [1, 0, 1, 1, 1, 0, 0], [0.9, 0.4, 0.8, 0.7, 0.9, 0.1, 0.1])
    comparison = compare_runs(a, b)
    assert comparison.questions == 7 and comparison.only_in_a == comparison.only_in_b == 0
    contains = comparison.rows["answer_contains"]
    assert contains.n == 5 and (contains.a, contains.b) == (0.6, 0.8) and (contains.only_a, contains.only_b) == (1, 2)
    assert comparison.rows["abstain_unanswerable"][1:3] == (0.5, 1.0) and comparison.rows["hit@1"].low == 0.0
    assert comparison.rows["answer_f1"].p is None
    auroc = comparison.rows["abstention_auroc"]
    assert auroc.n == 7 and auroc.a == pytest.approx(0.8) and auroc.b == 1.0
    assert "answer_em" not in comparison.rows  # neither run scores it
    text = render_comparison(comparison)
    assert "7 questions in both runs." in text
    assert "| answer_contains | 5 | 0.600 | 0.800 | +0.200 |" in text


def test_questions_in_one_run_only_are_left_out_and_said(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", [1, 1, 0, 1], [0.9, 0.8, 0.7, 0.1], unanswerable=1)
    b = write_run(tmp_path / "b", [1, 0, 0], [0.9, 0.8, 0.1], unanswerable=0)
    comparison = compare_runs(a / "run.jsonl", b)
    assert (comparison.questions, comparison.only_in_a, comparison.only_in_b) == (3, 1, 0)
    assert "1 only in A and 0 only in B left out" in render_comparison(comparison)


def test_unreadable_runs_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no run.jsonl"):
        read_run(tmp_path)
    (tmp_path / "run.jsonl").write_text('{"qid": "q1", "scores": {}}\n\n{"question": "no id"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"run.jsonl:3: not a run record with a qid"):
        read_run(tmp_path)
    other = write_run(tmp_path / "other", [1], [0.5], unanswerable=0)
    (tmp_path / "run.jsonl").write_text('{"qid": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="no question in common"):
        compare_runs(tmp_path, other)

"""Two evaluation runs of the same questions, question by question (`newsqa compare A B`).

Each run is an eval folder (or its run.jsonl). For every figure both score, the table gives A, B and B - A
with a paired bootstrap interval; for yes/no figures (answer_contains, evidence_hit, hit@1, ...) also how many
questions only A and only B get, and the exact sign test over them. A difference whose interval spans 0 is
one the question set cannot tell from chance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from eval.intervals import RESAMPLES, Difference, paired_auroc_difference, paired_difference
from eval.report import markdown_table

KEYS = ("answer_contains", "answer_em", "answer_f1", "evidence_hit", "abstain_unanswerable", "abstain_answerable",
        "hit@1", "mrr@10")
AUROC = "abstention_auroc"


class Comparison(NamedTuple):
    a: Path
    b: Path
    questions: int  # in both runs
    only_in_a: int
    only_in_b: int
    rows: dict[str, Difference]  # figure -> difference, for the figures both runs score


def read_run(path: Path) -> dict[str, dict[str, Any]]:
    """qid -> record of an eval run (the folder `newsqa eval --out` wrote, or its run.jsonl)."""
    file = path / "run.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no run.jsonl (give the folder `newsqa eval --out` wrote)")
    records: dict[str, dict[str, Any]] = {}
    with file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                records[str(record["qid"])] = record
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{file}:{number}: not a run record with a qid ({error})") from None
    return records


def compare_runs(a: Path, b: Path, resamples: int = RESAMPLES, seed: int = 0) -> Comparison:
    """B against A on the questions both runs answered."""
    run_a, run_b = read_run(a), read_run(b)
    shared = sorted(run_a.keys() & run_b.keys())
    if not shared:
        raise ValueError(f"{a} and {b} have no question in common (compare runs of the same question file)")
    rows: dict[str, Difference] = {}
    for key in KEYS:
        scores_a = [run_a[q].get("scores", {}).get(key) for q in shared]
        scores_b = [run_b[q].get("scores", {}).get(key) for q in shared]
        difference = paired_difference(scores_a, scores_b, resamples, seed=seed)
        if difference is not None:
            rows[key] = difference
    # a question is answerable when it is scored as such (abstain_answerable is None for the others)
    answerable = [run_a[q].get("scores", {}).get("abstain_answerable") is not None for q in shared]
    if all("confidence" in run_a[q] and "confidence" in run_b[q] for q in shared):
        auroc = paired_auroc_difference([run_a[q]["confidence"] for q in shared],
                                        [run_b[q]["confidence"] for q in shared], answerable, resamples, seed=seed)
        if auroc is not None:
            rows[AUROC] = auroc
    return Comparison(a, b, len(shared), len(run_a.keys() - run_b.keys()), len(run_b.keys() - run_a.keys()), rows)


def render_comparison(comparison: Comparison) -> str:
    """The comparison as Markdown: a line on the questions, then one row per figure."""
    c = comparison
    unmatched = (f"; {c.only_in_a} only in A and {c.only_in_b} only in B left out" if c.only_in_a or c.only_in_b
                 else "")
    head = (f"A: {c.a}\nB: {c.b}\n{c.questions} questions in both runs{unmatched}. "
            "Intervals: 95% paired bootstrap over questions; p: exact sign test over the questions only one run gets.")

    def signed(value: float) -> str:
        return f"{value:+.3f}"

    table = markdown_table(
        ["figure", "n", "A", "B", "B - A", "95% interval", "only A", "only B", "p"],
        ([key, d.n, d.a, d.b, signed(d.b - d.a), f"{signed(d.low)} to {signed(d.high)}",
          "" if d.only_a is None else d.only_a, "" if d.only_b is None else d.only_b,
          "" if d.p is None else f"{d.p:.3f}"] for key, d in c.rows.items()),
    )
    return f"{head}\n\n{table}"

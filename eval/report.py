"""Evaluation output: Markdown tables (printed and written to report.md), run.jsonl, the recall@k plot."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

LABELS = {"system": "system (hybrid)", "bm25": "bm25", "dense": "dense"}
ANSWER_COLUMNS = ("answer_contains", "answer_em", "answer_f1", "short_answer_f1", "evidence_hit", "citation_validity",
                  "abstain_unanswerable", "abstain_answerable", "abstention_auroc")


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; floats with 3 decimals, None as n/a."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _interval(summary: dict[str, Any], key: str) -> str:
    low_high = summary.get("ci95", {}).get(key)
    return f"{low_high[0]:.3f}-{low_high[1]:.3f}" if low_high else ""


def _ms(value: float | None) -> str:
    return _fmt(value, 1)


def render_tables(metrics: dict[str, Any], ks: Sequence[int]) -> str:
    """The report's tables: retrieval (system and baselines), answers, latency, and by question type."""
    system, run = metrics["system"], metrics.get("run", {})
    ks = sorted(set(ks))
    parts = [
        f"{system['n_questions']} questions ({system['n_answerable']} with a gold article), task {run.get('task', '?')}; "
        f"index {run.get('index', '?')} ({run.get('articles', '?')} articles, {run.get('passages', '?')} passages); "
        f"article-level retrieval over the answerable questions, {run.get('retrieve_depth', '?')} passages retrieved.",
        "",
        "## Retrieval",
        "",
        markdown_table(
            ["", *(f"hit@{k}" for k in ks), "MRR@10", "nDCG@10", "answer_recall@5", "p50 ms", "p95 ms"],
            ([LABELS[name], *(metrics[name][f"hit@{k}"] for k in ks), metrics[name]["mrr@10"],
              metrics[name]["ndcg@10"], metrics[name]["answer_recall@5"], _ms(metrics[name]["latency_ms_p50"]),
              _ms(metrics[name]["latency_ms_p95"])] for name in LABELS),
        ),
        "",
        "## Answers and abstention (system)",
        "",
        markdown_table(["", *ANSWER_COLUMNS], [["value", *(system[key] for key in ANSWER_COLUMNS)],
                                               ["95% interval", *(_interval(system, key) for key in ANSWER_COLUMNS)]]),
        "",
        "Intervals: percentile bootstrap over the questions (2,000 resamples; for abstention_auroc the answerable and "
        "unanswerable questions are drawn apart). Two runs of the same questions compare with `newsqa compare`.",
        "",
        "Where the gold answers went (answerable questions): in a cited sentence (answer_contains), or lost because "
        "the system declined, because the sentence holding it was read but not cited, or because no passage the "
        "answerer read holds it.",
        "",
        markdown_table(
            ["cited", "lost: declined", "lost: read, not cited", "lost: not read"],
            [[system[key] for key in ("answer_contains", "lost_declined", "lost_not_cited", "lost_not_read")]],
        ),
        "",
        "## Latency (ms per question)",
        "",
        markdown_table(
            ["", "p50", "p95"],
            [["system: retrieval", _ms(system["retrieval_ms_p50"]), _ms(system["retrieval_ms_p95"])],
             ["system: answering", _ms(system["answer_ms_p50"]), _ms(system["answer_ms_p95"])],
             ["system: total (incl. query encoding)", _ms(system["latency_ms_p50"]), _ms(system["latency_ms_p95"])],
             *([f"{name} (incl. query encoding)" if name == "dense" else name,
                _ms(metrics[name]["latency_ms_p50"]), _ms(metrics[name]["latency_ms_p95"])] for name in ("bm25", "dense"))],
        ),
        "",
        "## By question type",
        "",
        markdown_table(
            ["type", "n", "hit@1", "hit@10", "MRR@10", "bm25 MRR@10", "dense MRR@10", "answer_recall@5",
             "answer_contains", "answer_f1", "evidence_hit", "abstained"],
            ([kind, row["n_questions"], row["hit@1"], row["hit@10"], row["mrr@10"],
              metrics["bm25"]["by_type"][kind]["mrr@10"], metrics["dense"]["by_type"][kind]["mrr@10"],
              row["answer_recall@5"], row["answer_contains"], row["answer_f1"], row["evidence_hit"], row["abstained"]]
             for kind, row in system["by_type"].items()),
        ),
    ]
    return "\n".join(parts)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def plot_curves(path: Path, curves: dict[str, dict[str, list[float | None]]], title: str) -> None:
    """hit@k (solid) and answer_recall@k (dashed) against k for the system and each baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    try:
        for (name, series), color in zip(curves.items(), ("tab:blue", "tab:orange", "tab:green")):
            for kind, style in (("hit", "-"), ("answer_recall", "--")):
                values = series[kind]
                if all(v is None for v in values):
                    continue
                ks = range(1, len(values) + 1)
                ax.plot(ks, [float("nan") if v is None else v for v in values], style, color=color,
                        label=f"{LABELS[name]} {'hit' if kind == 'hit' else 'answer recall'}@k")
        ax.set_xlabel("k (articles for hit@k, passages for answer recall@k)")
        ax.set_ylabel("share of answerable questions")
        ax.set_ylim(0, 1.02)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)

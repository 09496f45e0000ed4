"""Figures of written answers (`newsqa eval --llm`): what survives the checker, whether it holds the answer, latency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from eval import metrics as m
from qa.models import Answer


def written_scores(answer: Answer, gold_answer: str | None) -> dict[str, float | None]:
    """Per question: sentences written and kept, and whether what is shown (and what was written) holds the answer."""
    written = answer.written
    if written is None or answer.abstained:
        return {"asked": 0.0, "shown": None, "sentences": None, "supported": None, "contains": None,
                "raw_contains": None, "seconds": None}
    asked = float(bool(written.sources))  # a question the extractive reader declined asks no model
    shown_text = written.text if not written.fallback else " ".join(c.sentence for c in answer.citations)
    raw = " ".join(c.text for c in written.claims)
    return {
        "asked": asked,
        "shown": float(not written.fallback) if asked else None,
        "sentences": float(len(written.claims)) if asked else None,
        "supported": float(sum(c.supported for c in written.claims)) if asked else None,
        # the answer the user sees: the written one where shown, else the extractive one it fell back to
        "contains": float(m.contains([shown_text], gold_answer)) if asked and gold_answer else None,
        "raw_contains": float(m.contains([raw], gold_answer)) if asked and gold_answer else None,
        "seconds": written.seconds if asked else None,
    }


def written_summary(rows: Sequence[tuple[Answer, str | None]]) -> dict[str, Any]:
    """metrics.json's `written` object: over the answered questions that asked the model."""
    scores = [written_scores(answer, gold) for answer, gold in rows]
    asked = [s for s in scores if s["asked"]]
    sentences = sum(s["sentences"] or 0 for s in asked)
    fallbacks = Counter(_fallback_kind(a.written.fallback) for a, _ in rows
                        if a.written is not None and a.written.sources and a.written.fallback)
    seconds = [s["seconds"] * 1000 for s in asked if s["seconds"] is not None]
    return {
        "questions_asked": len(asked),
        "shown": m.mean(s["shown"] for s in asked),
        "sentences_written": int(sentences),
        "sentences_supported": (sum(s["supported"] or 0 for s in asked) / sentences) if sentences else None,
        "answer_contains_shown": m.mean(s["contains"] for s in asked),
        "answer_contains_written": m.mean(s["raw_contains"] for s in asked),
        "fallbacks": dict(fallbacks),
        "written_ms_p50": m.percentile(seconds, 50), "written_ms_p95": m.percentile(seconds, 95),
    }


def _fallback_kind(note: str) -> str:
    for kind in ("unreachable", "timeout", "rate-limited", "server-error", "refused", "empty", "malformed"):
        if f"({kind}:" in note:
            return kind
    return "no answer" if "found no answer" in note else "none supported" if "None of the" in note else "other"


def written_table(summary: dict[str, Any], model: str) -> str:
    def f(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    rows = [f"Written answers ({model}), over the {summary['questions_asked']} answered questions that asked it:", "",
            "| figure | value |", "|---|---|"]
    labels = {"shown": "written answer shown (something survived the checker)",
              "sentences_written": "sentences written", "sentences_supported": "share of written sentences supported",
              "answer_contains_written": "answer_contains, all it wrote (before the checker)",
              "answer_contains_shown": "answer_contains, what is shown (written, else the extractive fallback)",
              "written_ms_p50": "model latency p50 (ms)", "written_ms_p95": "model latency p95 (ms)"}
    rows += [f"| {label} | {f(summary[key])} |" for key, label in labels.items()]
    if summary["fallbacks"]:
        rows.append(f"| fallbacks | {', '.join(f'{k}: {v}' for k, v in sorted(summary['fallbacks'].items()))} |")
    return "\n".join(rows)

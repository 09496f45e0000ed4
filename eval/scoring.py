"""Scoring an evaluation run: per-question retrieval and answer figures, their means per system and type,
the recall curves and run.jsonl's records (eval/evaluate.py gathers the runs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from eval import metrics as m
from eval.intervals import bootstrap_auroc, bootstrap_mean
from eval.questions import Question
from qa.models import Answer, Hit

SYSTEMS = ("system", "bm25", "dense")
ANSWER_KEYS = ("answer_contains", "answer_em", "answer_f1", "short_answer_f1", "evidence_hit", "abstained",
               "abstain_unanswerable", "abstain_answerable")
# Where an answerable question's gold answer was lost, when no cited sentence holds it (shares of those
# questions; with answer_contains they sum to 1): the system declined, the answer was in a passage the
# answerer read but in no sentence it cited, or in no passage it read.
LOST_KEYS = ("lost_declined", "lost_not_cited", "lost_not_read")
# the answer figures given 95% intervals in metrics.json's `ci95` and the report (with abstention_auroc)
INTERVAL_KEYS = ("answer_contains", "answer_em", "answer_f1", "short_answer_f1", "evidence_hit", "abstain_unanswerable",
                 "abstain_answerable")
TYPE_ORDER = ("who", "what", "when", "where", "how_many", "why", "how", "title", "unanswerable")


class RankedRun(NamedTuple):
    """One retriever's result for one question."""

    hits: tuple[Hit, ...]
    passages: tuple[str, ...]  # texts of the first hits (as many as the largest cut-off)
    seconds: float

    @property
    def doc_ids(self) -> list[str]:
        return [h.doc_id for h in self.hits]


class QuestionResult(NamedTuple):
    question: Question
    runs: dict[str, RankedRun]
    answer: Answer
    valid: tuple[bool, ...]  # per citation: its offsets give exactly its sentence in the stored text
    read: tuple[str, ...]  # texts of the passages the answerer read (its top `AnswerConfig.passages` hits)


def retrieval_scores(question: Question, run: RankedRun, ks: tuple[int, ...]) -> dict[str, float | None]:
    """Per-question retrieval figures (None where the question has no gold article or answer)."""
    ranking, gold = run.doc_ids, question.gold
    answer = question.answer if gold else None
    scores: dict[str, float | None] = {f"hit@{k}": m.hit_at_k(ranking, gold, k) for k in ks}
    scores["mrr@10"] = m.reciprocal_rank(ranking, gold, 10)
    scores["ndcg@10"] = m.ndcg_at_k(ranking, gold, 10)
    scores.update({f"answer_recall@{k}": m.answer_in_top_k(run.passages, answer, k) for k in ks})
    return scores


def answer_scores(result: QuestionResult) -> dict[str, float | None]:
    """Per-question answer and abstention figures of the system, and where a gold answer not cited was lost."""
    question, answer = result.question, result.answer
    sentences = [c.sentence for c in answer.citations]
    answerable = bool(question.gold)
    scored = answerable and bool(question.answer)
    cited = scored and m.contains(sentences, question.answer)
    short = "" if answer.abstained else answer.short_answer
    lost = None
    if scored and not cited:
        lost = ("lost_declined" if answer.abstained else
                "lost_not_cited" if m.contains(result.read, question.answer) else "lost_not_read")
    return {
        "answer_contains": float(cited) if scored else None,
        # SQuAD's measures of the short answer over every answerable question (0 when declined or none is shown)
        "answer_em": m.exact_match(short, question.answer or "") if scored else None,
        "answer_f1": m.token_f1(short, question.answer or "") if scored else None,
        # the highlighted span, judged where a cited sentence holds the gold answer (0 when none is shown)
        "short_answer_f1": m.token_f1(answer.short_answer, question.answer or "") if cited else None,
        **{key: float(key == lost) if scored else None for key in LOST_KEYS},
        "evidence_hit": (float(any(m.evidence_match(s, question.evidence) for s in sentences))
                         if answerable and question.evidence else None),
        "abstained": float(answer.abstained),
        "abstain_unanswerable": float(answer.abstained) if not answerable else None,
        "abstain_answerable": float(answer.abstained) if answerable else None,
    }


def _latency(prefix: str, seconds: list[float]) -> dict[str, float | None]:
    ms = [s * 1000 for s in seconds]
    return {f"{prefix}_p50": m.percentile(ms, 50), f"{prefix}_p95": m.percentile(ms, 95)}


def _means(rows: list[dict[str, float | None]], keys: Iterable[str]) -> dict[str, float | None]:
    return {key: m.mean(row[key] for row in rows) for key in keys}


def summarize(results: list[QuestionResult], name: str, ks: tuple[int, ...], intervals: bool = False) -> dict[str, Any]:
    """Aggregate figures of one system over a set of questions; with `intervals`, the system's answer and
    abstention figures get 95% bootstrap intervals over the questions (`ci95`)."""
    keys = [f"hit@{k}" for k in ks] + ["mrr@10", "ndcg@10"] + [f"answer_recall@{k}" for k in ks]
    summary: dict[str, Any] = _means([retrieval_scores(r.question, r.runs[name], ks) for r in results], keys)
    summary["n_questions"] = len(results)
    summary["n_answerable"] = sum(1 for r in results if r.question.gold)
    summary.update(_latency("latency_ms", [r.runs[name].seconds for r in results]))
    if name != "system":
        summary.update(_latency("retrieval_ms", [r.runs[name].seconds for r in results]))
        return summary
    rows = [answer_scores(r) for r in results]
    summary.update(_means(rows, ANSWER_KEYS + LOST_KEYS))
    valid = [v for r in results for v in r.valid]
    summary["n_citations"] = len(valid)
    summary["citation_validity"] = m.mean(valid)
    confidences = ([r.answer.confidence for r in results if r.question.gold],
                   [r.answer.confidence for r in results if not r.question.gold])
    summary["abstention_auroc"] = m.auroc(*confidences)
    if intervals:
        found = {key: bootstrap_mean([row[key] for row in rows]) for key in INTERVAL_KEYS}
        found["abstention_auroc"] = bootstrap_auroc(*confidences)
        summary["ci95"] = {key: [round(v.low, 4), round(v.high, 4)] for key, v in found.items() if v is not None}
    summary.update(_latency("retrieval_ms", [r.answer.timings.get("retrieval", 0.0) for r in results]))
    summary.update(_latency("answer_ms", [r.answer.timings.get("answer", 0.0) for r in results]))
    return summary


def _type_key(kind: str) -> tuple[int, str]:
    return (TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER), kind)


def score(results: list[QuestionResult], ks: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """metrics.json's system/bm25/dense objects, each with a by_type breakdown."""
    groups: dict[str, list[QuestionResult]] = {}
    for result in results:
        groups.setdefault(result.question.type, []).append(result)
    out = {}
    for name in SYSTEMS:
        summary = summarize(results, name, ks, intervals=name == "system")
        summary["by_type"] = {kind: summarize(groups[kind], name, ks) for kind in sorted(groups, key=_type_key)}
        out[name] = summary
    return out


def curves(results: list[QuestionResult], max_k: int) -> dict[str, dict[str, list[float | None]]]:
    """hit@k and answer_recall@k for k = 1..max_k, per system (for the plot)."""
    ks = tuple(range(1, max_k + 1))
    out: dict[str, dict[str, list[float | None]]] = {}
    for name in SYSTEMS:
        rows = [retrieval_scores(r.question, r.runs[name], ks) for r in results]
        out[name] = {kind: [m.mean(row[f"{kind}@{k}"] for row in rows) for k in ks]
                     for kind in ("hit", "answer_recall")}
    return out


def run_record(result: QuestionResult, ks: tuple[int, ...]) -> dict[str, Any]:
    """One line of run.jsonl: what the system returned for a question, and how it scored."""
    q, answer = result.question, result.answer
    system = result.runs["system"]
    top = [{"rank": rank, "passage_id": h.passage_id, "article_id": h.doc_id, "start": h.start, "end": h.end,
            "score": round(h.score, 6), "text": text}
           for rank, (h, text) in enumerate(zip(system.hits, system.passages[:5]), start=1)]
    return {
        "qid": q.qid, "question": q.question, "type": q.type, "gold_article_id": q.article_id,
        "gold_answer": q.answer, "query": answer.query, "filters": answer.to_dict()["filters"],
        "ranked_article_ids": m.distinct(system.doc_ids)[:10],
        "baseline_ranked_article_ids": {name: m.distinct(result.runs[name].doc_ids)[:10] for name in SYSTEMS[1:]},
        "gold_rank": {name: m.gold_rank(result.runs[name].doc_ids, q.gold) for name in SYSTEMS},
        "top_passages": top,
        "answer": answer.text, "short_answer": answer.short_answer,
        "citations": [{**c.to_dict(), "valid": valid} for c, valid in zip(answer.citations, result.valid)],
        "confidence": round(answer.confidence, 4), "abstained": answer.abstained,
        **({"written": answer.written.to_dict()} if answer.written is not None else {}),
        "scores": {**retrieval_scores(q, system, ks), **answer_scores(result)},
        "timings_ms": {**{k: round(v * 1000, 2) for k, v in answer.timings.items()},
                       **{f"{name}_retrieval": round(result.runs[name].seconds * 1000, 2) for name in SYSTEMS[1:]}},
    }


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value

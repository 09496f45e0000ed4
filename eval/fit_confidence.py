"""Fit the answer confidence on held-out training data: which candidate's sentence holds the answer.

The product reads the question against its top passages and turns each passage's best span into a
candidate with the features of `qa.answering.FEATURES`. Here the same happens to held-out questions
of the QA training files, so the weights never see an evaluation question: each question's candidate
passages are every passage of its own paragraph (the one holding the answer and the same-topic ones
that do not) and the news passages BM25 ranks highest for it (which cannot answer it). SQuAD 2.0's
unanswerable questions, and questions with one detail swapped (eval.perturb), have no answer in any of them. A candidate is positive when the sentence of its
span holds a gold answer. The logistic weights are fitted on one part of the questions and reported
on another (question-level AUROC of the best candidate's confidence, and how often that candidate's
sentence holds the answer), then refitted on all and written to the reader's `confidence.json`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from eval import metrics as m
from eval.calibrate import fit_logistic
from eval.perturb import Perturber
from eval.reader_data import PassagePool, QARecord, passages_of
from index.chunking import Chunker
from index.embedding import Embedder
from index.sentences import sentence_spans
from qa.answering import FEATURES, candidate_features, logistic
from qa.reader import CONFIDENCE_FILE, PassageReader
from qa.retrieval import query_terms


class Simulated(NamedTuple):
    features: np.ndarray  # (candidates, len(FEATURES))
    labels: np.ndarray  # 1: the candidate's sentence holds a gold answer
    question: np.ndarray  # the question (row of `records`) each candidate belongs to
    answerable: np.ndarray  # per question


def _sentence_of(passage: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    touched = [passage[s:e] for s, e in spans if s < max(end, start + 1) and e > start]
    return " ".join(touched) or passage


def simulate(records: list[QARecord], reader: PassageReader, embedder: Embedder, news: PassagePool,
             max_tokens: int = 100, news_passages: int = 2, not_in_corpus: float = 0.3,
             perturber: Perturber | None = None, perturbed: float = 0.3, related: PassagePool | None = None,
             related_passages: int = 3, seed: int = 7, show_progress: bool = True) -> Simulated:
    """Candidates and their features for each question, as the product would make them.

    Each record is a question whose own paragraph is in the corpus; a share `not_in_corpus` of the answerable ones
    is asked a second time without it (the story or the detail is not in the corpus); with a perturber a share
    `perturbed` once more with one detail swapped (eval.perturb) against its own paragraph (a false premise). With
    `related` (a pool of other training contexts), the passages it ranks highest for the question that do not hold
    its answer join the candidates, and are what the not-in-corpus repeat reads besides the news: on-topic evidence
    without the answer, as a news corpus gives for a story it holds but not the detail asked.
    """
    chunker = Chunker(max_tokens=max_tokens, overlap=1)
    rng = random.Random(seed)
    cases: list[tuple[str, tuple[tuple[str, int], ...], list[str]]] = []  # question, answers, passages

    def without_answer(texts: list[str], record: QARecord) -> list[str]:
        return [t for t in texts
                if t not in record.context and not any(a.lower() in t.lower() for a, _ in record.answers)]

    for record in records:
        own = [record.context[s:e] for s, e in passages_of(record.context, chunker)]
        news_found = without_answer(news.top(record.question, news_passages + 3), record)
        found = news_found[:news_passages]
        near = without_answer(related.top(record.question, related_passages + 6), record)[:related_passages] if (
            related is not None) else []
        cases.append((record.question, record.answers, own + near + found))
        if record.answerable and (near or found) and rng.random() < not_in_corpus:
            cases.append((record.question, (), near + found if related is not None else news_found))
        if record.answerable and perturber is not None and rng.random() < perturbed:
            changed = perturber.perturb(record.question, record.context, rng)
            if changed is not None:
                cases.append((changed, (), own + near + found))
    rows, labels, owner = [], [], []
    for q, (question, answers, texts) in enumerate(tqdm(cases, desc="Confidence data", unit="question",
                                                        disable=not show_progress)):
        vectors = embedder.encode([question, *texts])
        dense = vectors[1:] @ vectors[0]
        weights = {t: max(news.bm25.idf(t), 1.0) for t in query_terms(question)}
        spans = [sentence_spans(text) for text in texts]
        breaks = [[s for s, _ in text_spans[1:]] for text_spans in spans]  # spans stay in a sentence, as in the product
        readings = reader.read_pairs([question] * len(texts), texts, breaks)
        for text, text_spans, reading, cosine in zip(texts, spans, readings, dense):
            sentence = _sentence_of(text, text_spans, reading.start, reading.end)
            features = candidate_features(reading, float(cosine), sentence, weights)
            rows.append([features[name] for name in FEATURES])
            labels.append(float(any(m.contains([sentence], a) for a, _ in answers)))
            owner.append(q)
    return Simulated(np.array(rows), np.array(labels), np.array(owner), np.array([bool(c[1]) for c in cases]))


def question_figures(weights: np.ndarray, data: Simulated, questions: np.ndarray) -> dict[str, float]:
    """Per question: the best candidate's confidence; AUROC answerable vs unanswerable, and top-1 holds the answer."""
    best, holds = {}, {}
    for features, label, q in zip(data.features, data.labels, data.question):
        if q not in questions:
            continue
        c = logistic(tuple(weights), dict(zip(FEATURES, features)))
        if c > best.get(q, -1.0):
            best[q], holds[q] = c, label
    pos = [best[q] for q in best if data.answerable[q]]
    neg = [best[q] for q in best if not data.answerable[q]]
    return {"questions": len(best), "auroc": m.auroc(pos, neg) or 0.0,
            "top_candidate_holds_answer": float(np.mean([holds[q] for q in best if data.answerable[q]] or [0.0]))}


def fit_confidence(records: list[QARecord], reader: PassageReader, embedder: Embedder, news: PassagePool,
                   out: Path, perturber: Perturber | None = None, related: PassagePool | None = None,
                   related_passages: int = 3, seed: int = 7, show_progress: bool = True) -> dict[str, Any]:
    """Fit on half the questions, report on the other half, refit on all; write `out/confidence.json`."""
    data = simulate(records, reader, embedder, news, perturber=perturber, related=related,
                    related_passages=related_passages, seed=seed,
                    show_progress=show_progress)
    if len(set(data.labels.tolist())) < 2:
        raise ValueError("the confidence data needs candidates that hold an answer and ones that do not")
    order = list(range(len(data.answerable)))
    random.Random(seed).shuffle(order)
    fit_half, test_half = np.array(order[: len(order) // 2]), np.array(order[len(order) // 2 :])
    in_fit = np.isin(data.question, fit_half)
    held_out = None  # a tiny data set may leave a half without one kind of candidate: then no half figures
    if len(set(data.labels[in_fit].tolist())) == 2:
        held_out = question_figures(fit_logistic(data.features[in_fit], data.labels[in_fit]), data, test_half)
    final = fit_logistic(data.features, data.labels)
    result = {"features": list(FEATURES), "weights": [round(float(w), 4) for w in final],
              "fitted_on": f"{len(records)} held-out qa-train questions ({len(data.answerable)} with the news-only "
                           f"repeats), {len(data.labels)} candidates",
              "held_out_half": held_out,
              "unanswerable_questions": int((~data.answerable.astype(bool)).sum()),
              "answerable_questions": int(data.answerable.astype(bool).sum())}
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIDENCE_FILE).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result

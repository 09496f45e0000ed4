"""Fit the answer confidence on held-out training data asked of the product itself.

The product retrieves its top passages for a question, reads each with the reader and turns each
passage's best span into a candidate with the features of `qa.answering.FEATURES`. Here the same
happens, end to end, to held-out questions of the QA training files, so the weights never see an
evaluation question: their paragraphs are added as articles to an index that already holds a news
corpus (`confidence_index`), and each question is asked of that index with the product's own
`HybridRetriever` and `ExtractiveAnswerer`. The candidates are then what the product would weigh: the
answering paragraph, other paragraphs of its article, and whatever news passages retrieval ranks beside
them. SQuAD 2.0's unanswerable questions (their paragraph is in the index, the answer is not), a share
of the answerable ones asked again with their own paragraph left out of the results (the story or the
detail is not in the corpus: the rest of the article and the news stay), and questions with one detail
swapped (eval.perturb) have no answer to find. A candidate is positive when the sentence of its span
holds a gold answer. The logistic weights are fitted on one half of the questions and reported on the
other (question-level AUROC of the best candidate's confidence, and how often that candidate's sentence
holds the answer), then refitted on all and written to the reader's `confidence.json`.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from eval import metrics as m
from eval.calibrate import fit_logistic
from eval.perturb import Perturber
from eval.reader_data import QARecord
from index.embedding import Embedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from qa.answering import FEATURES, AnswerConfig, ExtractiveAnswerer, logistic
from qa.models import Hit
from qa.question import ParsedQuestion, parse_question
from qa.reader import CONFIDENCE_FILE, PassageReader
from qa.retrieval import HybridRetriever

SQUAD_TRAIN_PREFIX = "squad1.1-train-"  # its ids name the Wikipedia article: squad1.1-train-<Title>-p<n>-q<n>
NEIGHBOURS = 2  # paragraphs of the same article on each side of a question's own, in its article


class Simulated(NamedTuple):
    features: np.ndarray  # (candidates, len(FEATURES))
    labels: np.ndarray  # 1: the candidate's sentence holds a gold answer
    question: np.ndarray  # the case (row of `answerable`) each candidate belongs to
    answerable: np.ndarray  # per case


def article_title(record: QARecord) -> str | None:
    """The Wikipedia article a record's paragraph comes from, where its id names it (SQuAD 1.1 train)."""
    if record.qid.startswith(SQUAD_TRAIN_PREFIX):
        return record.qid[len(SQUAD_TRAIN_PREFIX):].rsplit("-p", 1)[0] or None
    return None


def _doc_id(key: str) -> str:
    return "qa-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def paragraph_articles(records: list[QARecord], every: Iterable[QARecord] = ()) -> tuple[list[Article], dict[str, str]]:
    """Articles holding the records' paragraphs, and the article of each record (by qid).

    A paragraph whose Wikipedia article is known becomes part of one article of that title, with up to
    `NEIGHBOURS` paragraphs on each side taken from `every` (all records: other paragraphs are read, never
    asked about), as a news story holds more than the paragraph a question is about. Others are one article each.
    """
    paragraphs: dict[str, list[str]] = {}
    for record in every:
        title = article_title(record)
        if title is not None and record.context not in paragraphs.setdefault(title, []):
            paragraphs[title].append(record.context)
    spans: dict[str, tuple[int, int]] = {}
    for record in records:
        title = article_title(record)
        if title is None:
            continue
        known = paragraphs.setdefault(title, [])
        if record.context not in known:
            known.append(record.context)
        i = known.index(record.context)
        low, high = spans.get(title, (i, i))
        spans[title] = (min(low, i), max(high, i))
    articles: dict[str, Article] = {}
    owner: dict[str, str] = {}
    for title, (low, high) in spans.items():
        doc_id = _doc_id(title)
        text = "\n\n".join(paragraphs[title][max(0, low - NEIGHBOURS): high + NEIGHBOURS + 1])
        articles[doc_id] = Article(doc_id, title.replace("_", " "), text)
    for record in records:
        title = article_title(record)
        if title is not None:
            owner[record.qid] = _doc_id(title)
            continue
        doc_id = _doc_id(record.context)
        articles.setdefault(doc_id, Article(doc_id, "", record.context))
        owner[record.qid] = doc_id
    return list(articles.values()), owner


def confidence_index(folder: Path, embedder: Embedder, articles: list[Article], news: Iterable[Article] = (),
                     news_index: Path | None = None, max_tokens: int = 100, show_progress: bool = True) -> NewsIndex:
    """A new index in `folder` holding the news and the `articles` of held-out paragraphs.

    `news_index`: an existing index of the news (built with `embedder`'s model) to start from, copied, instead of
    embedding `news` again."""
    if folder.exists():
        shutil.rmtree(folder)
    if news_index is not None:
        shutil.copytree(news_index, folder, ignore=shutil.ignore_patterns("write.lock"))
        index = NewsIndex.open(folder, embedder)
    else:
        index = NewsIndex.open(folder, embedder, config=IndexConfig(model=embedder.name, dim=embedder.dim,
                                                                    max_tokens=max_tokens))
        index.add(list(news), show_progress=show_progress)
    index.add(articles, show_progress=show_progress)
    return index


def _holds(text: str, answers: tuple[tuple[str, int], ...]) -> bool:
    return any(m.contains([text], a) for a, _ in answers)


def simulate(records: list[QARecord], index: NewsIndex, owner: dict[str, str], reader: PassageReader,
             passages: int = AnswerConfig.passages, not_in_corpus: float = 0.3, perturber: Perturber | None = None,
             perturbed: float = 0.3, seed: int = 7, show_progress: bool = True) -> Simulated:
    """Candidates and their features for each question, asked of `index` as the product asks.

    `owner` maps each record's qid to the article of its paragraph (`paragraph_articles`). A share `not_in_corpus`
    of the answerable questions is asked a second time with the passages of its own paragraph, and any that hold
    its answer, left out of the results; with a perturber a share `perturbed` once more with one detail swapped.
    """
    retriever = HybridRetriever(index)
    answerer = ExtractiveAnswerer(index, AnswerConfig(passages=passages), reader)
    rng = random.Random(seed)
    rows: list[list[float]] = []
    labels: list[float] = []
    case_of: list[int] = []
    answerable: list[bool] = []

    newest = answerer.dates[1] if answerer.dates else None

    def ask(question: str, extra: int = 0) -> tuple[ParsedQuestion, list[Hit], np.ndarray]:
        parsed = parse_question(question, None, newest)
        vector = retriever.encode_query(parsed.query)
        hits = retriever.retrieve(parsed.query, k=passages + extra, query_vector=vector, terms=list(parsed.terms)).hits
        return parsed, hits, vector

    def add(parsed: ParsedQuestion, hits: list[Hit], answers: tuple[tuple[str, int], ...], vector: np.ndarray) -> None:
        for candidate in answerer.candidates(parsed, hits[:passages], vector):
            sentence = " ".join(s.text for s in candidate.sentences)
            rows.append([candidate.features[name] for name in FEATURES])
            labels.append(float(_holds(sentence, answers)))
            case_of.append(len(answerable))
        answerable.append(bool(answers))

    for record in tqdm(records, desc="Confidence data", unit="question", disable=not show_progress):
        parsed, hits, vector = ask(record.question, extra=20)  # room for the repeat without its own paragraph
        add(parsed, hits, record.answers, vector)
        if record.answerable and rng.random() < not_in_corpus:
            texts = index.store.articles(sorted({h.doc_id for h in hits}))
            others = [h for h in hits if not (h.doc_id == owner.get(record.qid) and (
                texts[h.doc_id].text[h.start:h.end][:80] in record.context))
                and not _holds(texts[h.doc_id].text[h.start:h.end], record.answers)]
            add(parsed, others, (), vector)
        if record.answerable and perturber is not None and rng.random() < perturbed:
            changed = perturber.perturb(record.question, record.context, rng)
            if changed is not None:
                parsed, hits, vector = ask(changed)
                add(parsed, hits, (), vector)
    return Simulated(np.array(rows).reshape(-1, len(FEATURES)), np.array(labels), np.array(case_of),
                     np.array(answerable))


def question_figures(weights: np.ndarray, data: Simulated, questions: np.ndarray) -> dict[str, float]:
    """Per question: the best candidate's confidence; AUROC answerable vs unanswerable, and top-1 holds the answer."""
    best: dict[int, float] = {}
    holds: dict[int, float] = {}
    for features, label, q in zip(data.features, data.labels, data.question):
        if q not in questions:
            continue
        c = logistic(tuple(weights), dict(zip(FEATURES, features)))
        if c > best.get(q, -1.0):
            best[q], holds[q] = c, label
    chosen = [int(q) for q in questions]
    pos = [best.get(q, 0.0) for q in chosen if data.answerable[q]]
    neg = [best.get(q, 0.0) for q in chosen if not data.answerable[q]]
    return {"questions": len(chosen), "auroc": m.auroc(pos, neg) or 0.0,
            "top_candidate_holds_answer": float(np.mean([holds.get(q, 0.0) for q in chosen if data.answerable[q]]
                                                        or [0.0]))}


def fit_confidence(records: list[QARecord], index: NewsIndex, owner: dict[str, str], reader: PassageReader,
                   out: Path, perturber: Perturber | None = None, passages: int = AnswerConfig.passages, seed: int = 7,
                   show_progress: bool = True) -> dict[str, Any]:
    """Fit on half the questions, report on the other half, refit on all; write `out/confidence.json`."""
    data = simulate(records, index, owner, reader, passages=passages, perturber=perturber, seed=seed,
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
              "fitted_on": f"{len(records)} held-out qa-train questions asked of an index of news and their "
                           f"paragraphs ({len(data.answerable)} with the repeats without their paragraph), "
                           f"{len(data.labels)} candidates of the top {passages} passages",
              "held_out_half": held_out,
              "unanswerable_questions": int((~data.answerable.astype(bool)).sum()),
              "answerable_questions": int(data.answerable.astype(bool).sum())}
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIDENCE_FILE).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result

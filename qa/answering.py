"""Extractive answering: score the sentences of the top passages, cite the few that answer.

No language model: a sentence is chosen for how much of the question's weighted vocabulary it
holds, how well its passage matched (dense and BM25), and whether it holds the kind of thing the
question asks for (a date for "when", a number for "how many", a name for "who"). The same
signals give a confidence; below the threshold the answer says the corpus has none.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import numpy as np

from index.indexer import NewsIndex
from index.lexical import tokenize
from index.models import Article, Sentence
from qa.models import Answer, Citation, Hit, RetrievalResult

NO_ANSWER = "I could not find an answer to that in the indexed articles."

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_MONTHS_SHORT = "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|hundreds|"
    "thousand|thousands|million|millions|billion|billions|dozen|dozens"
)
# Spans of the kind each question type asks for (used for type match and the short answer).
_TYPE_PATTERNS: dict[str, re.Pattern[str]] = {
    "when": re.compile(
        rf"\b(?:(?:early |late |mid-)?(?:{_MONTHS})(?: \d{{1,2}}(?:st|nd|rd|th)?)?(?:,? \d{{4}})?|"
        rf"\d{{1,2}} (?:{_MONTHS})(?: \d{{4}})?|(?:{_MONTHS_SHORT})\. \d{{1,2}}|(?:in |since |by )?(?:19|20)\d{{2}}|"
        rf"(?:last |next |on )?(?:{_WEEKDAYS})|yesterday|today|tonight|last (?:week|month|year)|"
        rf"\d{{1,2}}/\d{{1,2}}/\d{{2,4}})\b",
        re.IGNORECASE,
    ),
    "how_many": re.compile(
        rf"\b(?:\d[\d,.]*(?: (?:per ?cent|percent|million|billion|thousand|hundred))?%?|"
        rf"(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*)\b",
        re.IGNORECASE,
    ),
    "who": re.compile(r"\b[A-Z][a-zA-Z'’.-]+(?: (?:[A-Z][a-zA-Z'’.-]+|de|van|von|al|bin|da))*(?: [A-Z][a-zA-Z'’.-]+)\b"),
    "where": re.compile(r"\b(?:in|at|near|from|to|outside|inside) (?:the )?([A-Z][a-zA-Z'’-]+(?: [A-Z][a-zA-Z'’-]+)*)"),
}
_QUESTION_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "mani", "much"}


def question_type(question: str) -> str:
    """who / when / where / how_many / why / how / what, from the question's wording."""
    q = question.lower().strip()
    if re.search(r"\bhow (?:many|much)\b|\bwhat (?:number|percentage|share|proportion)\b", q):
        return "how_many"
    if re.search(r"\bwhen\b|\bwhat (?:year|month|day|date|time)\b|\b(?:which|what) (?:year|month|day)\b", q):
        return "when"
    if re.search(r"\bwho(?:m|se)?\b|\bwhich (?:person|official|minister|leader|president|company)\b", q):
        return "who"
    if re.search(r"\bwhere\b|\b(?:which|what) (?:city|country|town|village|region|state|province|place)\b", q):
        return "where"
    if re.search(r"\bwhy\b", q):
        return "why"
    if re.search(r"^how\b", q):
        return "how"
    return "what"


@dataclass(frozen=True)
class AnswerConfig:
    """Knobs of the extractive answerer; `threshold` is the confidence below which it abstains."""

    threshold: float = 0.35
    passages: int = 6  # top passages whose sentences are considered
    max_sentences: int = 2
    companion_ratio: float = 0.8  # a second sentence must score at least this share of the best
    lexical_weight: float = 1.0
    passage_weight: float = 0.35
    dense_weight: float = 0.6
    type_weight: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.passages < 1 or self.max_sentences < 1:
            raise ValueError(f"passages and max_sentences must be >= 1, got {self.passages}, {self.max_sentences}")


@dataclass(frozen=True)
class ScoredSentence:
    sentence: Sentence
    article: Article
    hit: Hit
    score: float
    lexical: float
    type_match: bool
    terms: frozenset[str]


class ExtractiveAnswerer:
    def __init__(self, index: NewsIndex, config: AnswerConfig | None = None) -> None:
        self.index = index
        self.config = config or AnswerConfig()

    def answer(self, question: str, retrieval: RetrievalResult, query_vector: np.ndarray | None = None) -> Answer:
        started = time.perf_counter()
        qtype = question_type(question)
        weights = self._term_weights(retrieval.query)
        scored = self._score_sentences(retrieval.hits[: self.config.passages], weights, qtype, query_vector)
        chosen = self._choose(scored)
        confidence = self._confidence(chosen, weights, retrieval.hits, query_vector)
        timings = {"retrieval": retrieval.seconds}
        if not chosen or confidence < self.config.threshold:
            timings["answer"] = time.perf_counter() - started
            return Answer(question, retrieval.query, NO_ANSWER, (), True, confidence, "", tuple(retrieval.hits),
                          retrieval.filters, timings)
        citations = tuple(self._citation(n, s, qtype, weights) for n, s in enumerate(chosen, start=1))
        text = " ".join(f"{c.sentence} [{c.n}]" for c in citations)
        short = ""
        if citations[0].answer_span:
            a, b = citations[0].answer_span
            short = chosen[0].article.text[a:b]
        timings["answer"] = time.perf_counter() - started
        return Answer(question, retrieval.query, text, citations, False, confidence, short, tuple(retrieval.hits),
                      retrieval.filters, timings)

    def _term_weights(self, query: str) -> dict[str, float]:
        terms = [t for t in dict.fromkeys(tokenize(query)) if t not in _QUESTION_WORDS]
        return {t: self.index.bm25.idf(t) for t in terms}

    def _score_sentences(self, hits: list[Hit], weights: dict[str, float], qtype: str,
                         query_vector: np.ndarray | None) -> list[ScoredSentence]:
        if not hits:
            return []
        total = sum(weights.values()) or 1.0
        top_score = hits[0].score or 1.0
        seen: set[tuple[str, int]] = set()
        scored: list[ScoredSentence] = []
        articles = self.index.store.articles([h.doc_id for h in hits])
        pattern = _TYPE_PATTERNS.get(qtype)
        for hit in hits:
            article = articles[hit.doc_id]
            ref = self.index.passages[self.index.passage_row(hit.passage_id)]
            dense = hit.dense_score
            if query_vector is not None:
                dense = float(self.index.vectors.reconstruct(hit.passage_id) @ query_vector)
            for sentence in self.index.sentences(article)[ref.first_sentence : ref.last_sentence + 1]:
                key = (article.doc_id, sentence.index)
                if key in seen:
                    continue
                seen.add(key)
                terms = frozenset(tokenize(sentence.text))
                lexical = sum(w for t, w in weights.items() if t in terms) / total
                type_match = bool(pattern and _has_type_span(pattern, sentence.text, qtype, weights))
                score = (
                    self.config.lexical_weight * lexical
                    + self.config.passage_weight * hit.score / top_score
                    + self.config.dense_weight * max(dense, 0.0)
                    + self.config.type_weight * type_match
                )
                scored.append(ScoredSentence(sentence, article, hit, score, lexical, type_match, terms))
        return sorted(scored, key=lambda s: -s.score)

    def _choose(self, scored: list[ScoredSentence]) -> list[ScoredSentence]:
        """The best sentence, plus companions that score nearly as well and say something else."""
        if not scored:
            return []
        chosen = [scored[0]]
        for candidate in scored[1:]:
            if len(chosen) >= self.config.max_sentences or candidate.score < self.config.companion_ratio * chosen[0].score:
                break
            if all(_jaccard(candidate.terms, c.terms) < 0.5 for c in chosen) and candidate.lexical > 0:
                chosen.append(candidate)
        return chosen

    def _confidence(self, chosen: list[ScoredSentence], weights: dict[str, float], hits: list[Hit],
                    query_vector: np.ndarray | None) -> float:
        """In [0, 1]: how much of the question the best sentence covers, and how well its passage matched."""
        if not chosen:
            return 0.0
        best = chosen[0]
        dense = hits[0].dense_score
        if query_vector is not None:
            dense = float(self.index.vectors.reconstruct(best.hit.passage_id) @ query_vector)
        rare = [t for t, w in weights.items() if w >= 2.0]
        passage_terms = set(tokenize(best.article.title + " " + best.article.text[best.hit.start : best.hit.end]))
        rare_covered = sum(t in passage_terms for t in rare) / len(rare) if rare else 1.0
        z = -4.0 + 3.0 * best.lexical + 3.0 * max(dense, 0.0) + 2.0 * rare_covered
        return 1.0 / (1.0 + math.exp(-z))

    def _citation(self, n: int, scored: ScoredSentence, qtype: str, weights: dict[str, float]) -> Citation:
        s, a, h = scored.sentence, scored.article, scored.hit
        span = None
        pattern = _TYPE_PATTERNS.get(qtype)
        if pattern:
            found = _best_type_span(pattern, s.text, qtype, weights)
            if found:
                span = (s.start + found[0], s.start + found[1])
        return Citation(n=n, doc_id=a.doc_id, title=a.title, source=a.source, date=a.date, url=a.url,
                        sentence=s.text, start=s.start, end=s.end, passage_id=h.passage_id,
                        passage_start=h.start, passage_end=h.end, score=scored.score, answer_span=span)


def _type_spans(pattern: re.Pattern[str], text: str, qtype: str, weights: dict[str, float]) -> list[tuple[int, int]]:
    """Spans of the asked-for kind that are not just words of the question."""
    spans = []
    for match in pattern.finditer(text):
        group = 1 if qtype == "where" else 0
        start, end = match.span(group)
        words = tokenize(text[start:end])
        if words and all(w in weights for w in words):
            continue
        if qtype == "who" and start == 0 and " " not in text[start:end]:
            continue
        spans.append((start, end))
    return spans


def _has_type_span(pattern: re.Pattern[str], text: str, qtype: str, weights: dict[str, float]) -> bool:
    return bool(_type_spans(pattern, text, qtype, weights))


def _best_type_span(pattern: re.Pattern[str], text: str, qtype: str, weights: dict[str, float]) -> tuple[int, int] | None:
    """The asked-for span nearest to the question's words in the sentence."""
    spans = _type_spans(pattern, text, qtype, weights)
    if not spans:
        return None
    anchors = [m.start() for m in re.finditer(r"\w+", text) if tokenize(m.group()) and tokenize(m.group())[0] in weights]
    if not anchors:
        return spans[0]
    return min(spans, key=lambda sp: min(abs(sp[0] - a) for a in anchors))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0

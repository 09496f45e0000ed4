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
from datetime import date

import numpy as np

from index.indexer import NewsIndex
from index.lexical import tokenize
from index.models import Article, Sentence
from qa.models import Answer, Citation, Hit, RetrievalResult
from qa.question_types import QuestionType, question_type
from qa.retrieval import query_terms
from qa.temporal import date_range, names_later_period

NO_ANSWER = "I could not find an answer to that in the indexed articles."

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_MONTHS_SHORT = "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_MONTH_NAMES = frozenset(_MONTHS.split("|"))
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_WEEKDAY_NAMES = frozenset(_WEEKDAYS.split("|"))
# Only for the short answer shown (not for choosing sentences):
# Shown with a quantity, as the article gives it: "at least $3 million", "more than 150", "up to 500".
_QUANTIFIER = re.compile(
    r"(?:\b(?:at least|at most|no more than|no fewer than|more than|less than|fewer than|up to|as many as|"
    r"as much as|nearly|almost|about|around|roughly|approximately|some|over|under|from))\s+$",
    re.IGNORECASE,
)
_RANGE_JOIN = re.compile(r"\s*(?:to|-|–|and)\s*")  # "3 to 6 inches", "from 34 to 11 hours"
_YEAR = re.compile(r"(?:19|20)\d\d")
# "the Belgian city of Leuven", "the army barracks town of Adiake": a place named after what it is.
_PLACE_OF = re.compile(
    r"\b(?:city|town|village|capital|province|state|states|region|port|district|county|island|suburb|"
    r"neighbou?rhood) of ([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)*(?: and [A-Z][\w'’-]+(?: [A-Z][\w'’-]+)*)?)"
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|hundreds|"
    "thousand|thousands|million|millions|billion|billions|dozen|dozens"
)
_UNITS = (
    r"(?:kilomet(?:er|re)s?|km|miles?|met(?:er|re)s?|feet|foot|ft|inches|kg|kilograms?|tonnes?|tons?|pounds|"
    r"dollars|euros|yuan|rubles|roubles|people|years?|months?|weeks?|days|hours|minutes|percent|points|"
    r"basis points|votes|seats|troops|soldiers|refugees|migrants|deaths|children|times)"
)
# Spans of the kind each question type asks for (used for type match and the short answer).
_TYPE_PATTERNS: dict[QuestionType, re.Pattern[str]] = {
    "when": re.compile(
        rf"\b(?:(?:early |late |mid-)?(?:{_MONTHS})(?: \d{{1,2}}(?:st|nd|rd|th)?)?(?:,? \d{{4}})?|"
        rf"\d{{1,2}} (?:{_MONTHS})(?: \d{{4}})?|(?:{_MONTHS_SHORT})\. \d{{1,2}}|(?:in |since |by )?(?:19|20)\d{{2}}|"
        rf"(?:last |next |on )?(?:{_WEEKDAYS})|yesterday|today|tonight|last (?:week|month|year)|"
        rf"\d{{1,2}}/\d{{1,2}}/\d{{2,4}})\b",
        re.IGNORECASE,
    ),
    "how_many": re.compile(
        rf"(?:[$€£¥]|\b)(?:\d[\d,.]*(?: (?:per ?cent|percent|million|billion|thousand|hundred|trillion))?%?|"
        rf"(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*)(?:[- ]?{_UNITS})?\b",
        re.IGNORECASE,
    ),
    "who": re.compile(r"\b[A-Z][a-zA-Z'’.-]+(?: (?:[A-Z][a-zA-Z'’.-]+|de|van|von|al|bin|da))*(?: [A-Z][a-zA-Z'’.-]+)\b"),
    "where": re.compile(r"\b(?:in|at|near|from|to|outside|inside) (?:the )?([A-Z][a-zA-Z'’-]+(?: [A-Z][a-zA-Z'’-]+)*)"),
    # a stated cause: the connective and the clause it opens ("because he was in a civil partnership")
    "why": re.compile(
        r"\b(?:because(?: of)?|due to|owing to|as a result of|in order to|so that|since|amid|after|cited|blamed|"
        r"forced|reasons? (?:for|why|was|is)|for (?:\w+ing|the sake of)|over (?:his|her|its|their|the) \w+)\b"
        r"[^.;:!?\"“”]{0,80}(?<=\w)(?!\w)",  # up to 80 characters more, ending at the end of a word
        re.IGNORECASE,
    ),
}


@dataclass(frozen=True)
class AnswerConfig:
    """Knobs of the extractive answerer; `threshold` is the confidence below which it abstains.

    A sentence scores its IDF-weighted coverage of the question's terms (each weight multiplied by
    1 + `local_weight` times the term's rarity among the candidate sentences), plus `passage_weight`
    times how far its passage's retrieval score is from the best one, plus `type_weight` when it
    holds a span of the asked-for kind. The confidence is a logistic function of the evidence
    signals (`confidence_weights`, fitted by `newsqa calibrate` on the development questions).
    """

    threshold: float = 0.475  # read off `newsqa calibrate`'s table: most unanswerable declined, <= 10% answerable
    passages: int = 5  # top passages whose sentences are considered
    max_sentences: int = 2
    passage_weight: float = 0.5
    type_weight: float = 0.6
    min_term_weight: float = 1.0
    local_weight: float = 0.5
    # Below this cosine between the question and the passage of its best sentence, that evidence is not about the
    # question at all, however many of its words the sentence holds. It depends on the embedding model, so it is off here and
    # set where the model is chosen (the product's 0.3 for all-MiniLM-L6-v2: see ui/settings.py).
    min_dense: float = 0.0
    # bias, then one per SIGNALS name: `newsqa calibrate` on the development questions, classes weighed equally
    confidence_weights: tuple[float, ...] = (-2.24, 1.09, 0.36, 0.43, 1.41, -1.34, 2.45, -2.13, -3.33)

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.passages < 1 or self.max_sentences < 1:
            raise ValueError(f"passages and max_sentences must be >= 1, got {self.passages}, {self.max_sentences}")
        if not -1.0 <= self.min_dense <= 1.0:
            raise ValueError(f"min_dense must be a cosine in [-1, 1], got {self.min_dense}")
        if self.local_weight < 0:
            raise ValueError(f"local_weight must be >= 0, got {self.local_weight}")
        if len(self.confidence_weights) != len(SIGNALS) + 1:
            raise ValueError(f"confidence_weights needs {len(SIGNALS) + 1} numbers, got {len(self.confidence_weights)}")


# Evidence signals behind the confidence, each in [0, 1].
SIGNALS = ("sentence_coverage", "passage_coverage", "rare_coverage", "dense", "type_match", "article_coverage",
           "later_period", "unmet_outcome")
EVIDENCE_SIGNALS = SIGNALS[:6]  # read from the chosen sentences and their passages; the rest from the question

# Words that ask how something ended. News of an event often comes before its outcome (a trial before
# its verdict, an election before its result), so evidence that never states the outcome asked for
# does not answer, however well it covers the story.
_OUTCOME = re.compile(
    r"\b(?:verdicts?|results?|outcomes?|won|wins?|winners?|beat|defeated|elected|sentenced|convicted|acquitted|"
    r"conclu\w+|finally|ultimately|eventually|final|completed?|ruled|ruling)\b",
    re.IGNORECASE,
)


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
        self.dates: tuple[date, date] | None = date_range(a.date for a in index.articles.values())  # oldest, newest

    def answer(self, question: str, retrieval: RetrievalResult, query_vector: np.ndarray | None = None) -> Answer:
        started = time.perf_counter()
        qtype = question_type(question)
        weights = self._term_weights(retrieval.query)
        scored = self._score_sentences(retrieval.hits[: self.config.passages], weights, qtype)
        chosen = self._choose(scored)
        signals = self.signals(chosen, weights, query_vector)
        signals["later_period"] = float(self._names_later_period(question))
        signals["unmet_outcome"] = float(_unmet_outcome(question, chosen))
        off_topic = query_vector is not None and signals["dense"] < self.config.min_dense
        confidence = 0.0 if off_topic else self.confidence(signals)  # the signals still say why
        timings = {"retrieval": retrieval.seconds}
        if not chosen or confidence < self.config.threshold or off_topic:
            timings["answer"] = time.perf_counter() - started
            return Answer(question, retrieval.query, NO_ANSWER, (), True, confidence, "", tuple(retrieval.hits),
                          retrieval.filters, timings, signals)
        citations = tuple(self._citation(n, s, qtype, weights) for n, s in enumerate(chosen, start=1))
        text = " ".join(f"{c.sentence} [{c.n}]" for c in citations)
        short = ""
        if citations[0].answer_span:
            a, b = citations[0].answer_span
            short = chosen[0].article.text[a:b]
        timings["answer"] = time.perf_counter() - started
        return Answer(question, retrieval.query, text, citations, False, confidence, short, tuple(retrieval.hits),
                      retrieval.filters, timings, signals)

    def _term_weights(self, query: str) -> dict[str, float]:
        return {t: self.index.bm25.idf(t) for t in query_terms(query)}

    def _score_sentences(self, hits: list[Hit], weights: dict[str, float], qtype: QuestionType) -> list[ScoredSentence]:
        if not hits:
            return []
        total = sum(weights.values()) or 1.0
        # Choosing among sentences, every question word counts at least `min_term_weight`: in a small
        # index IDF says little (a word in every passage of a one-article index weighs ~0).
        floored = {t: max(w, self.config.min_term_weight) for t, w in weights.items()}
        top_score = hits[0].score
        seen: set[tuple[str, int]] = set()
        candidates: list[tuple[Sentence, Article, Hit, frozenset[str]]] = []
        articles = self.index.store.articles([h.doc_id for h in hits])
        for hit in hits:
            article = articles.get(hit.doc_id)
            if article is None:  # deleted by an ingest since this reader's view was loaded
                continue
            ref = self.index.passages[self.index.passage_row(hit.passage_id)]
            for sentence in self.index.sentences(article)[ref.first_sentence : ref.last_sentence + 1]:
                key = (article.doc_id, sentence.index)
                if key not in seen:
                    seen.add(key)
                    candidates.append((sentence, article, hit, frozenset(tokenize(sentence.text))))
        # A question word in most candidate sentences (the story's subject) tells them apart less than
        # one in a few (the asked-about predicate): weight each by its rarity among the candidates too.
        n = len(candidates)
        local = {t: 1.0 + self.config.local_weight * math.log((n + 1) / (1 + sum(t in c[3] for c in candidates)))
                 for t in floored}
        chooser = {t: w * local[t] for t, w in floored.items()}
        chooser_total = sum(chooser.values()) or 1.0
        pattern = _TYPE_PATTERNS.get(qtype)
        scored: list[ScoredSentence] = []
        for sentence, article, hit, terms in candidates:
            lexical = sum(w for t, w in weights.items() if t in terms) / total
            type_match = bool(pattern and _has_type_span(pattern, sentence.text, qtype, weights))
            choice = sum(w for t, w in chooser.items() if t in terms) / chooser_total
            score = (choice + self.config.passage_weight * (hit.score - top_score)
                     + self.config.type_weight * type_match)
            scored.append(ScoredSentence(sentence, article, hit, score, lexical, type_match, terms))
        return sorted(scored, key=lambda s: -s.score)

    def _choose(self, scored: list[ScoredSentence]) -> list[ScoredSentence]:
        """The best sentence, plus up to `max_sentences - 1` more that add new words to it."""
        if not scored:
            return []
        chosen = [scored[0]]
        for candidate in scored[1:]:
            if len(chosen) >= self.config.max_sentences:
                break
            if candidate.lexical > 0 and all(_jaccard(candidate.terms, c.terms) < 0.5 for c in chosen):
                chosen.append(candidate)
        return chosen

    def signals(self, chosen: list[ScoredSentence], weights: dict[str, float],
                query_vector: np.ndarray | None) -> dict[str, float]:
        """The evidence behind an answer, each in [0, 1] (all 0 when nothing was found)."""
        if not chosen:
            return dict.fromkeys(EVIDENCE_SIGNALS, 0.0)
        best = chosen[0]
        total = sum(weights.values()) or 1.0
        passage_text = best.article.title + " " + best.article.text[best.hit.start : best.hit.end]
        passage_terms = set(tokenize(passage_text))
        article_terms = set(tokenize(best.article.title + " " + best.article.text))
        rare = [t for t, w in weights.items() if w >= 4.0]
        dense = best.hit.dense_score
        if query_vector is not None:
            dense = float(self.index.vectors.reconstruct(best.hit.passage_id) @ query_vector)
        return {
            "sentence_coverage": max(c.lexical for c in chosen),
            "passage_coverage": sum(w for t, w in weights.items() if t in passage_terms) / total,
            "rare_coverage": sum(t in article_terms for t in rare) / len(rare) if rare else 1.0,
            "dense": max(dense, 0.0),
            "type_match": float(any(c.type_match for c in chosen)),
            "article_coverage": sum(w for t, w in weights.items() if t in article_terms) / total,
        }

    def _names_later_period(self, question: str) -> bool:
        """Whether the question names a year or period after the newest article."""
        return self.dates is not None and names_later_period(question, self.dates[1])

    def confidence(self, signals: dict[str, float]) -> float:
        """Logistic combination of the signals: the probability that the evidence answers the question."""
        bias, *coefficients = self.config.confidence_weights
        z = bias + sum(w * signals[name] for w, name in zip(coefficients, SIGNALS))
        return 1.0 / (1.0 + math.exp(-z))

    def _citation(self, n: int, scored: ScoredSentence, qtype: QuestionType, weights: dict[str, float]) -> Citation:
        s, a, h = scored.sentence, scored.article, scored.hit
        span = None
        pattern = _TYPE_PATTERNS.get(qtype)
        if pattern:
            found = _best_type_span(pattern, s.text, qtype, weights)
            if found:
                span = (s.start + found[0], s.start + found[1])
        return Citation(n=n, doc_id=a.doc_id, title=a.title, source=a.source, date=a.date, url=a.url,
                        sentence=s.text, start=s.start, end=s.end, passage_id=h.passage_id,
                        # a sentence too long for one passage runs past it: show the passage around all of it
                        passage_start=min(h.start, s.start), passage_end=max(h.end, s.end),
                        score=scored.score, answer_span=span)


def _type_spans(pattern: re.Pattern[str], text: str, qtype: QuestionType,
                weights: dict[str, float]) -> list[tuple[int, int]]:
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


def _name_not_asked(text: str, start: int, end: int, weights: dict[str, float]) -> int | None:
    """Where a name span's answer starts: after the last word it shares with the question ("U.S. President Donald
    Trump" for "which president" gives "Donald Trump"). None when the question's own words end it ("Betsy DeVos"
    for "…confirmed DeVos?" names the question's subject) or nothing of three letters is left."""
    words = [(m.start(), m.group(), tokenize(m.group())) for m in re.finditer(r"[\w'’.-]+", text[start:end])]
    shared = [i for i, (_, _, tokens) in enumerate(words) if tokens and all(t in weights for t in tokens)]
    kept = words[shared[-1] + 1 :] if shared else words
    if not any(sum(ch.isalpha() for ch in word) >= 3 for _, word, _ in kept):
        return None
    return start + kept[0][0]


def _has_type_span(pattern: re.Pattern[str], text: str, qtype: QuestionType, weights: dict[str, float]) -> bool:
    return bool(_type_spans(pattern, text, qtype, weights))


def _best_type_span(pattern: re.Pattern[str], text: str, qtype: QuestionType,
                    weights: dict[str, float]) -> tuple[int, int] | None:
    """The asked-for span nearest to the question's words in the sentence, to show as the short answer.

    Stricter than the type match that helps choose sentences: a name the question itself gives is not
    its answer, and "May" after a name is Theresa May, not the month ("In May" still is).
    """
    found = _type_spans(pattern, text, qtype, weights)
    if qtype == "where":  # "in the Belgian city of Leuven": Leuven, not the adjective before "city"
        for place in _PLACE_OF.finditer(text):
            found = [sp for sp in found if not 0 <= place.start() - sp[1] <= 1] + [place.span(1)]
    spans = []
    for start, end in found:
        if qtype == "who":
            trimmed = _name_not_asked(text, start, end, weights)
            if trimmed is None:
                continue
            start = trimmed
        if qtype == "when" and text[start:end] == "May" and _after_a_name(text, start):
            continue
        if qtype == "how_many" and _YEAR.fullmatch(text[start:end]):
            continue  # a bare year is when something happened, not how many
        if qtype == "where" and text[start:end].lower() in _MONTH_NAMES | _WEEKDAY_NAMES:
            continue  # "in April", "on Monday": a time, not a place
        spans.append((start, end))
    if not spans:
        return None
    anchors = [m.start() for m in re.finditer(r"\w+", text) if tokenize(m.group()) and tokenize(m.group())[0] in weights]
    best = spans[0] if not anchors else min(spans, key=lambda sp: min(abs(sp[0] - a) for a in anchors))
    return _whole_quantity(text, best, spans) if qtype == "how_many" else best


def _whole_quantity(text: str, span: tuple[int, int], spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The quantity with its qualifier and the other end of its range: "more than 150", "3 to 6 inches"."""
    start, end = span
    for other_start, other_end in spans:
        if other_start > end and _RANGE_JOIN.fullmatch(text[end:other_start]):
            end = other_end
            break
    if qualifier := _QUANTIFIER.search(text, 0, start):
        start = qualifier.start()
    return start, end


def _after_a_name(text: str, at: int) -> bool:
    """Whether the word just before `at` is capitalised and not a stopword: "Theresa May", not "In May"."""
    match = re.search(r"([A-Z][\w'’-]*)\s+$", text[:at])
    return bool(match and tokenize(match.group(1)))


def _unmet_outcome(question: str, chosen: list[ScoredSentence]) -> bool:
    """Whether the question asks how something ended and no chosen sentence holds any of its outcome words."""
    words = {t for match in _OUTCOME.finditer(question) for t in tokenize(match.group())}
    return bool(words) and not any(words & c.terms for c in chosen)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0

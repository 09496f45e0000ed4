"""Extractive answering with the trained reader: the best span is the short answer, its sentence the citation.

The reader reads the question against each of the top passages and gives, per passage, its best span
and how likely the passage answers at all. Each passage's span becomes a candidate with five
features (`FEATURES`); one logistic model of them, fitted on held-out training data (`newsqa
train-reader`, never on the evaluation questions) and shipped with the reader, gives each candidate
the probability that its sentence holds the answer. The most probable candidate is the answer; a
second one from another sentence is cited with it when it passes the threshold too. Below the
threshold (chosen with `newsqa calibrate`), or when the evidence is off the question's topic (its passage's cosine under
`min_dense`), the answer says the corpus has none. A question about a time after an article was published is
answered from that article only by a sentence that names that time (news written before it can only tell of
plans): after the newest article, no article answers without naming it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np

from index.indexer import NewsIndex
from index.lexical import tokenize
from index.models import Article, Sentence
from qa.models import AlternativeSource, Answer, Citation, Hit, RetrievalResult
from qa.question import ParsedQuestion, parse_question
from qa.reader import SHIPPED_READER, PassageReader, Reading, shared_reader
from qa.temporal import date_range, later_mentions

NO_ANSWER = "I could not find an answer to that in the indexed articles."

# The features of a candidate, in the order of `confidence_weights` (after the bias).
FEATURES = ("answerable", "span_prob", "span_margin", "dense", "sentence_coverage")
# Without fitted weights (a reader folder that has no confidence.json): the answerability head alone.
DEFAULT_WEIGHTS = (-3.0, 6.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class AnswerConfig:
    """Knobs of the answerer; `threshold` is the confidence below which it declines.

    `confidence_weights` (bias, then one per FEATURES name) default to those fitted with the reader; `min_dense`
    is a floor on the cosine between the question and the cited passage (off-topic evidence), set where the
    embedding model is chosen (ui/settings.py), off here.
    """

    threshold: float = 0.275  # `newsqa calibrate` on the dev questions: declines at most 8% of the answerable
    # Passages read: 8 against 5 lifts the training-data simulation of the product (eval.fit_confidence, held-out
    # half: the best candidate holds the answer 0.761 against 0.751, AUROC 0.876 against 0.870); 10 adds ~0.001.
    passages: int = 8
    max_sentences: int = 2
    min_dense: float = 0.0
    confidence_weights: tuple[float, ...] | None = None
    reader: str = ""  # the reader folder; "" is the one shipped in qa/reader_weights
    # A question about a time after an article was published ("in June 2017", "the 2018 report", "the May 7 run-off")
    # is answered from that article only by a sentence that names that time: it can tell only of plans for it, and
    # says so by naming it. After the newest article this holds for every article.
    later_needs_mention: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.passages < 1 or self.max_sentences < 1:
            raise ValueError(f"passages and max_sentences must be >= 1, got {self.passages}, {self.max_sentences}")
        if not -1.0 <= self.min_dense <= 1.0:
            raise ValueError(f"min_dense must be a cosine in [-1, 1], got {self.min_dense}")
        if self.confidence_weights is not None and len(self.confidence_weights) != len(FEATURES) + 1:
            raise ValueError(f"confidence_weights needs {len(FEATURES) + 1} numbers, got {len(self.confidence_weights)}")


class Candidate(NamedTuple):
    """One passage's best span, placed in its article, with the features that score it."""

    hit: Hit
    article: Article
    span: tuple[int, int]  # offsets into the article text; empty when the reader found none
    sentences: tuple[Sentence, ...]  # the sentences the span lies in
    features: dict[str, float]
    confidence: float


def candidate_features(reading: Reading, dense: float, sentence_text: str, weights: dict[str, float]) -> dict[str, float]:
    """The features of one candidate (the same for training-data fits and for the product)."""
    total = sum(weights.values())
    terms = set(tokenize(sentence_text))
    return {
        "answerable": reading.answerable,
        "span_prob": reading.span_prob,
        "span_margin": math.tanh(reading.span_logit / 8) if math.isfinite(reading.span_logit) else -1.0,
        "dense": max(dense, 0.0),
        "sentence_coverage": sum(w for t, w in weights.items() if t in terms) / total if total > 0 else 0.0,
    }


def logistic(weights: tuple[float, ...], features: dict[str, float]) -> float:
    bias, *coefficients = weights
    z = bias + sum(w * features[name] for w, name in zip(coefficients, FEATURES))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


_DOUBLE_QUOTES = "\"“”«»"


def balanced_quotes(text: str, start: int, end: int) -> tuple[int, int]:
    """The span `text[start:end]` without a lone double quotation mark at its start or end.

    The reader often starts a quoted answer at its opening mark and stops before the closing one (`"no deal is
    better than a bad deal`), which reads as a broken quotation. Only a span with one such mark, at an edge, is cut
    (an inch mark after a number is kept: `6'2"`); single quotes are left alone, most are apostrophes.
    """
    span = text[start:end]
    if len(span) < 2 or sum(ch in _DOUBLE_QUOTES for ch in span) != 1:
        return start, end
    new_start, new_end = start, end
    if span[0] in _DOUBLE_QUOTES:
        new_start += 1
        while new_start < end and text[new_start].isspace():
            new_start += 1
    elif span[-1] in _DOUBLE_QUOTES and not span[-2].isdigit():
        new_end -= 1
    return (new_start, new_end) if new_start < new_end else (start, end)


_ASIDE = {"a", "an", "the", "mr", "mrs", "ms", "miss", "dr"}
_NEGATIONS = {"not", "no", "never", "non"}


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\d[\d.,]*\d|\w+", text.lower()))  # "1,000,000" and "0.5" are one word each


def agrees(short: str, other: str) -> bool:
    """Whether two short answers say the same: the shorter's words, in a row, within the longer's ("200,000" and
    "nearly 200,000", "John Rayne Rivello" and "Mr Rivello"), articles and forms of address aside, and neither
    denying what the other says ("guilty", "not guilty")."""
    a, b = ([w for w in _words(x) if w not in _ASIDE] for x in (short, other))
    if not a or not b or bool(_NEGATIONS & set(a)) != bool(_NEGATIONS & set(b)):
        return False
    shorter, longer = sorted((a, b), key=len)
    return any(longer[i : i + len(shorter)] == shorter for i in range(len(longer) - len(shorter) + 1))


def term_weights(index: NewsIndex, terms: tuple[str, ...] | list[str]) -> dict[str, float]:
    """IDF of each question term in the index (at least 1, so that a small index still tells terms apart)."""
    return {t: max(index.bm25.idf(t), 1.0) for t in terms}


class ExtractiveAnswerer:
    def __init__(self, index: NewsIndex, config: AnswerConfig | None = None,
                 reader: PassageReader | None = None) -> None:
        self.index = index
        self.config = config or AnswerConfig()
        self.reader = reader if reader is not None else shared_reader(self.config.reader or SHIPPED_READER)
        self.dates: tuple[date, date] | None = date_range(a.date for a in index.articles.values())  # oldest, newest

    @property
    def weights(self) -> tuple[float, ...]:
        if self.config.confidence_weights is not None:
            return self.config.confidence_weights
        fitted = getattr(self.reader, "confidence_weights", None)
        weights = fitted() if callable(fitted) else None
        return tuple(weights) if weights else DEFAULT_WEIGHTS

    def answer(self, question: ParsedQuestion | str, retrieval: RetrievalResult,
               query_vector: np.ndarray | None = None) -> Answer:
        started = time.perf_counter()
        if isinstance(question, str):
            question = parse_question(question, newest=self.dates[1] if self.dates else None)
        candidates = self.candidates(question, retrieval.hits[: self.config.passages], query_vector)
        chosen = self._choose(candidates)
        signals = dict(chosen[0].features, confidence=chosen[0].confidence) if chosen else {}
        if chosen:
            signals["later_period"] = float(question.later)  # shown, not weighed: the pipeline adds a caveat
        confidence = chosen[0].confidence if chosen else 0.0
        # Evidence far from the question in meaning is off its topic, unless the reader itself finds the answer there
        # (its best span scores above its "no answer here"): a sentence can name what is asked in a passage about more.
        off_topic = (bool(chosen) and query_vector is not None and signals["dense"] < self.config.min_dense
                     and signals["span_margin"] <= 0)
        if off_topic:
            confidence = 0.0  # the signals still say why
        timings = {"retrieval": retrieval.seconds}
        if not chosen or confidence < self.config.threshold:
            timings["answer"] = time.perf_counter() - started
            return Answer(question.text, question.query, NO_ANSWER, (), True, confidence, "", tuple(retrieval.hits),
                          retrieval.filters, timings, signals)
        short = chosen[0].article.text[chosen[0].span[0] : chosen[0].span[1]].strip()
        # A companion's own span is marked only where it gives the same answer: two different spans marked
        # side by side ("Patriots" and "Atlanta Falcons") would read as two answers. Its sentence is cited either way.
        flat = [citation for i, c in enumerate(chosen)
                for citation in self._citations(c, marked=i == 0 or agrees(short, c.article.text[c.span[0]:c.span[1]]))]
        citations = tuple(dataclasses.replace(c, n=n) for n, c in enumerate(flat, start=1))
        text = " ".join(f"{c.sentence} [{c.n}]" for c in citations)
        timings["answer"] = time.perf_counter() - started
        return Answer(question.text, question.query, text, citations, False, confidence, short, tuple(retrieval.hits),
                      retrieval.filters, timings, signals)

    def candidates(self, question: ParsedQuestion, hits: list[Hit], query_vector: np.ndarray | None) -> list[Candidate]:
        """Every readable top passage's best span, scored, best first."""
        articles = self.index.store.articles([h.doc_id for h in hits])
        kept = [(h, articles[h.doc_id]) for h in hits if h.doc_id in articles]  # one may be deleted since
        if not kept:
            return []
        texts = [a.text[h.start : h.end] for h, a in kept]
        sentences_of = {a.doc_id: self.index.sentences(a) for _, a in kept}
        breaks = [[s.start - h.start for s in sentences_of[a.doc_id] if h.start < s.start < h.end] for h, a in kept]
        readings = self.reader.read_pairs([question.query] * len(kept), texts, breaks)
        weights = term_weights(self.index, question.terms)
        model = self.weights
        later_of: dict[str, tuple[str, ...]] = {}
        out = []
        for (hit, article), reading in zip(kept, readings):
            span = balanced_quotes(article.text, hit.start + reading.start, hit.start + reading.end)
            sentences = tuple(s for s in sentences_of[article.doc_id] if s.start < max(span[1], span[0] + 1)
                              and s.end > span[0])
            if not sentences:
                continue
            dense = hit.dense_score
            if query_vector is not None:
                dense = float(self.index.vectors.reconstruct(hit.passage_id) @ query_vector)
            text = " ".join(s.text for s in sentences)
            features = candidate_features(reading, dense, text, weights)
            confidence = logistic(model, features)
            mentions = self._later_mentions(question, article.date, later_of)
            if mentions and not any(re.search(rf"\b{re.escape(m)}\b", text) for m in mentions):
                confidence = 0.0  # asked about a time after its article, this sentence does not speak of that time
            out.append(Candidate(hit, article, span, sentences, features, confidence))
        return sorted(out, key=lambda c: -c.confidence)

    def _later_mentions(self, question: ParsedQuestion, published: str,
                        cache: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        """How the question names a time after the article of date `published` ("" for unknown) was written.

        The period is the one the question was read as (against the newest article: "in June" is the corpus's
        June); the article's date runs on one day (a story filed the evening before, in another time zone). An
        article without a date is read against the newest one, as the question was. Cached per date within one `ask`.
        """
        if not (self.config.later_needs_mention and question.timed):
            return ()
        if published not in cache:
            try:
                when = date.fromisoformat(published) + timedelta(days=1)
            except ValueError:  # no date, or one that is not ISO: the corpus-wide reading
                cache[published] = question.later_mentions
            else:
                cache[published] = later_mentions(question.text, when, question.period) or question.later_mentions
        return cache[published]

    def _choose(self, candidates: list[Candidate]) -> list[Candidate]:
        """The best candidate, and up to `max_sentences - 1` more that pass the threshold in other sentences."""
        if not candidates:
            return []
        chosen = [candidates[0]]
        cited = {(candidates[0].article.doc_id, s.index) for s in candidates[0].sentences}
        said = {_words(s.text) for s in candidates[0].sentences}
        sentence_count = len(candidates[0].sentences)
        for candidate in candidates[1:]:
            if sentence_count >= self.config.max_sentences or candidate.confidence < self.config.threshold:
                break
            keys = {(candidate.article.doc_id, s.index) for s in candidate.sentences}
            if keys & cited or sentence_count + len(keys) > self.config.max_sentences:
                continue
            if all(_words(s.text) in said for s in candidate.sentences):
                continue  # the same sentence in another article (a wire story run twice) adds nothing
            chosen.append(candidate)
            cited |= keys
            said |= {_words(s.text) for s in candidate.sentences}
            sentence_count += len(keys)
        return chosen

    def _citations(self, candidate: Candidate, marked: bool = True) -> list[Citation]:
        """The candidate's sentences as citations (numbered later), each with its part of its span where `marked`."""
        a, h = candidate.article, candidate.hit
        also = tuple(AlternativeSource(c.doc_id, c.title, c.source, c.date, c.url)
                     for c in self.index.store.copies_of([a.doc_id]).get(a.doc_id, []))
        out = []
        for s in candidate.sentences:
            lo, hi = max(candidate.span[0], s.start), min(candidate.span[1], s.end)
            out.append(Citation(n=0, doc_id=a.doc_id, title=a.title, source=a.source, date=a.date, url=a.url,
                                sentence=s.text, start=s.start, end=s.end, passage_id=h.passage_id,
                                # a sentence too long for one passage runs past it: show the passage around all of it
                                passage_start=min(h.start, s.start), passage_end=max(h.end, s.end),
                                score=candidate.confidence, answer_span=(lo, hi) if hi > lo and marked else None,
                                also_published=also))
        return out

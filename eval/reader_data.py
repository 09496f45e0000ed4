"""Training data for the reader: extractive QA records cut into passages the way the product cuts news.

The product reads passages of at most 100 tiktoken tokens made of whole sentences, so the reader is
trained on exactly those: each context of `qa-train` (SQuAD 1.1, SQuAD 2.0 dev, SQuADShifts) is split
with the product's sentence splitter and packed with its `Chunker`. Each question then gives:

- a positive: a passage that holds one of its answers whole (the answer's offsets moved into it);
- sometimes a same-context negative: a passage of its own paragraph that holds none of its answers
  (the hard case for a reader: same topic, same names, no answer);
- for a SQuAD 2.0 unanswerable question, the passage of its paragraph that shares most of its words
  (the adversarial no-answer case: the premise is there, the answer is not);
- sometimes a news negative: a passage of a news corpus that BM25 ranks high for the question, which
  cannot answer it (the questions are about Wikipedia, reviews and Reddit, not these articles);
- sometimes a related negative: a passage of another training context that BM25 ranks high for the
  question and that holds none of its answers (the retriever's hard negative: the rest of the article,
  the same names, not the answer);
- sometimes a perturbed negative: the question with one detail its passage holds swapped for one it
  does not (eval.perturb), against the passage that answered the original: the false premise;
- sometimes a hedged negative: the positive passage with the verb that asserts the answer put in a modal
  ("flew 2,500 quilts" -> "might fly 2,500 quilts", eval.hedge): a plan, not the outcome asked about; and,
  where the question can be asked in the same modal, that question against the hedged passage as a positive.

Splits are by context, so that no paragraph is on both sides of the held-out line.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.hedge import Hedger
from eval.perturb import Perturber
from index.chunking import Chunker
from index.lexical import BM25Index, tokenize
from index.models import Article, Sentence
from index.sentences import sentence_spans
from qa.question_types import question_type


KINDS = ("positive", "same_context", "unanswerable", "news", "related", "perturbed", "deleted", "hedged",
         "hedged_asked")


@dataclass(frozen=True)
class QARecord:
    """One question of an extractive QA file: `context[start:start + len(text)] == text` for each answer."""

    qid: str
    dataset: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...]  # (text, start); empty when the context cannot answer

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class ReaderExample:
    """A question and one passage; `answers` are (start, end) character offsets into `passage`, empty for none."""

    question: str
    passage: str
    answers: tuple[tuple[int, int], ...]
    kind: str  # one of KINDS
    qid: str = ""


def read_qa_records(folder: Path, files: Iterable[str] | None = None) -> Iterator[QARecord]:
    """Records of every `*.jsonl.gz` (or the named files) in `folder`; a bad line raises naming file and line."""
    paths = [folder / name for name in files] if files else sorted(folder.glob("*.jsonl.gz"))
    if not paths:
        raise FileNotFoundError(f"{folder} holds no *.jsonl.gz QA files")
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    answers = tuple((a["text"], int(a["start"])) for a in obj["answers"])
                    record = QARecord(str(obj["id"]), str(obj.get("dataset", path.name)), obj["question"],
                                      obj["context"], answers)
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise ValueError(f"{path}:{number}: not a QA record ({exc})") from exc
                for text, start in record.answers:
                    if record.context[start : start + len(text)] != text:
                        raise ValueError(f"{path}:{number}: answer {text!r} is not at offset {start} of its context")
                yield record


def is_held_out(context: str, fraction: float) -> bool:
    """Whether a context falls in the held-out split (a stable hash of its text, so no paragraph is on both sides)."""
    digest = hashlib.sha1(context.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def sample_by_type(records: list[QARecord], n: int, temperature: float, rng: random.Random) -> list[QARecord]:
    """`n` of `records` drawn without replacement, each question type's share tempered towards even.

    A type with `count` records is drawn with weight `count ** (1 / temperature)` in all (temperature sampling, as
    multilingual training evens out its languages): 1 keeps the data's own mix, 2 takes its square root, larger
    flattens it further. SQuAD's questions are half "what"; news readers ask more who, how many, when and why.
    Weighted sampling without replacement by random keys `u ** (1 / weight)` (Efraimidis & Spirakis 2006); a type
    that runs out leaves its share to the others.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    types = [question_type(r.question) for r in records]
    counts = Counter(types)
    exponent = 1.0 / temperature - 1.0  # a record's weight: its type's total weight shared among its records
    keys = [rng.random() ** (1.0 / counts[kind] ** exponent) for kind in types]
    order = sorted(range(len(records)), key=lambda i: -keys[i])
    return [records[i] for i in order[: max(0, n)]]


def passages_of(text: str, chunker: Chunker) -> list[tuple[int, int]]:
    """(start, end) of the product's passages over `text`: its sentences packed to the chunker's budget."""
    sentences = [Sentence("ctx", i, s, e, text[s:e]) for i, (s, e) in enumerate(sentence_spans(text))]
    return [(p.start, p.end) for p in chunker.chunk(text, sentences)]


def _inside(answers: tuple[tuple[str, int], ...], start: int, end: int) -> tuple[tuple[int, int], ...]:
    return tuple((a - start, a + len(t) - start) for t, a in answers if start <= a and a + len(t) <= end)


def _holds_any(answers: tuple[tuple[str, int], ...], passage: str) -> bool:
    return any(t.lower() in passage.lower() for t, _ in answers)


def without_answer(passage: str, answers: tuple[tuple[int, int], ...], min_sentences: int = 2) -> str | None:
    """`passage` without the sentences that hold any of `answers` (offsets into it); None when fewer than
    `min_sentences` sentences would be left."""
    spans = sentence_spans(passage)
    kept = [(s, e) for s, e in spans if not any(a < e and b > s for a, b in answers)]
    if len(kept) < min_sentences or len(kept) == len(spans):
        return None
    return " ".join(passage[s:e] for s, e in kept)


def _overlap(question: str, passage: str) -> int:
    return len(set(tokenize(question)) & set(tokenize(passage)))


class PassagePool:
    """Passages searched with BM25: the "no answer here" candidates for a question that they cannot answer.

    Of a news corpus (`of_articles`), they are off-topic for a `qa-train` question; of the `qa-train`
    contexts themselves (`of_contexts`), the top ones are the retriever's hard negatives: other paragraphs
    of the same article or topic, holding its names but not its answer.
    """

    def __init__(self, texts: list[str], show_progress: bool = False) -> None:
        if not texts:
            raise ValueError("the corpus for negatives holds no passages")
        self.texts = texts
        self.bm25 = BM25Index.build(list(range(len(texts))), [tokenize(t) for t in texts], show_progress)

    @classmethod
    def of_articles(cls, articles: Iterable[Article], chunker: Chunker, show_progress: bool = False) -> PassagePool:
        return cls([a.text[s:e] for a in articles for s, e in passages_of(a.text, chunker)], show_progress)

    @classmethod
    def of_contexts(cls, contexts: Iterable[str], chunker: Chunker, show_progress: bool = False) -> PassagePool:
        """The product's passages of each distinct context."""
        unique = list(dict.fromkeys(contexts))
        return cls([c[s:e] for c in unique for s, e in passages_of(c, chunker)], show_progress)

    def top(self, question: str, n: int = 3) -> list[str]:
        scores = self.bm25.scores(tokenize(question))
        n = min(n, len(scores))
        best = np.argpartition(-scores, n - 1)[:n]
        return [self.texts[i] for i in best[np.argsort(-scores[best])] if scores[i] > 0]


@dataclass(frozen=True)
class Mix:
    """How many negatives of each kind one question adds (probabilities), and the passage budget."""

    same_context: float = 0.3
    news: float = 0.15
    related: float = 0.0  # needs a PassagePool of other training contexts passed to make_examples
    perturbed: float = 0.0  # an experiment (not in the shipped weights); needs a Perturber passed to make_examples
    # The positive passage with the sentences that hold the answer taken out: the same topic and names, not the fact
    # (a minimal pair, as a news question about an outcome no article reports meets its story). An experiment.
    deleted: float = 0.0
    # The positive passage with the verb that asserts the answer put in a modal ("won" -> "would win"): the answer's
    # words stay, the fact does not (eval.hedge). An experiment; needs a Hedger passed to make_examples.
    hedged: float = 0.0
    hedged_asked: float = 0.0  # of the hedged ones whose question can be put in the same modal: that pair as a positive
    max_tokens: int = 100

    def __post_init__(self) -> None:
        for name in ("same_context", "news", "related", "perturbed", "deleted", "hedged", "hedged_asked"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {getattr(self, name)}")


def make_examples(records: Iterable[QARecord], mix: Mix, rng: random.Random,
                  news: PassagePool | None = None, perturber: Perturber | None = None,
                  related: PassagePool | None = None, hedger: Hedger | None = None) -> Iterator[ReaderExample]:
    """Reader examples of each record: a positive (or an unanswerable's best-matching passage), plus negatives."""
    chunker = Chunker(max_tokens=mix.max_tokens, overlap=1)
    spans_of: dict[str, list[tuple[int, int]]] = {}
    for record in records:
        spans = spans_of.get(record.context)
        if spans is None:
            spans = spans_of[record.context] = passages_of(record.context, chunker)
            if len(spans_of) > 4096:
                spans_of.clear()
                spans_of[record.context] = spans
        if not spans:
            continue
        if record.answerable:
            holding = [(s, e, inside) for s, e in spans if (inside := _inside(record.answers, s, e))]
            if not holding:
                continue  # the answer straddles a sentence boundary the splitter drew
            s, e, inside = rng.choice(holding)
            yield ReaderExample(record.question, record.context[s:e], inside, "positive", record.qid)
            if perturber is not None and rng.random() < mix.perturbed:
                changed = perturber.perturb(record.question, record.context[s:e], rng)
                if changed is not None:
                    yield ReaderExample(changed, record.context[s:e], (), "perturbed", record.qid)
            if mix.deleted and rng.random() < mix.deleted:
                rest = without_answer(record.context[s:e], inside)
                # Only where the rest shares as many of the question's terms as the passage did: otherwise the pair
                # teaches "few of the question's words, no answer", which rejects passages that paraphrase it.
                if (rest is not None and not _holds_any(record.answers, rest)
                        and _overlap(record.question, rest) >= _overlap(record.question, record.context[s:e])):
                    yield ReaderExample(record.question, rest, (), "deleted", record.qid)
            if hedger is not None and mix.hedged and rng.random() < mix.hedged:
                hedged = hedger.hedge(record.question, record.context[s:e], inside, rng)
                if hedged is not None:
                    yield ReaderExample(record.question, hedged.passage, (), "hedged", record.qid)
                    if hedged.question is not None and mix.hedged_asked and rng.random() < mix.hedged_asked:
                        # the same hedged passage asked about in the same modal answers: modality, not "a modal
                        # word means no answer", is what the pair teaches
                        yield ReaderExample(hedged.question, hedged.passage, hedged.answers, "hedged_asked", record.qid)
            others = [(s, e) for s, e in spans if not _holds_any(record.answers, record.context[s:e])]
            if others and rng.random() < mix.same_context:
                s, e = rng.choice(others)
                yield ReaderExample(record.question, record.context[s:e], (), "same_context", record.qid)
        else:
            s, e = max(spans, key=lambda span: _overlap(record.question, record.context[span[0]:span[1]]))
            yield ReaderExample(record.question, record.context[s:e], (), "unanswerable", record.qid)
        if related is not None and rng.random() < mix.related:
            candidates = [t for t in related.top(record.question, 6)
                          if t not in record.context and not _holds_any(record.answers, t)]
            if candidates:
                yield ReaderExample(record.question, rng.choice(candidates[:3]), (), "related", record.qid)
        if news is not None and rng.random() < mix.news:
            candidates = [t for t in news.top(record.question) if not _holds_any(record.answers, t)]
            if candidates:
                yield ReaderExample(record.question, rng.choice(candidates), (), "news", record.qid)

"""How well the written-answer checker (qa/verify.py) tells supported sentences from corrupted ones.

For each question the product answers, the sources a language model would see (qa.grounding.evidence) give
written sentences of two kinds, built by fixed rules so that the run needs no model and can be repeated:

- good: a cited sentence as written (`verbatim`), its main clause with the rest cut at the first comma or
  semicolon past its fifth word (`clause`), and the sentence put in reported speech, "According to OUTLET,
  …" (`attributed`);
- corrupted: the same sentence with one number changed (`number`: a number of the sentence replaced by
  another number from the other sources, or by itself plus one), one name changed (`name`: a capitalised
  name replaced by one from another source), or its citation moved to another source that shares no
  name with it (`citation`), or taken away (`uncited`).

The report gives, per kind, how many the checker accepts: good ones should all be accepted, corrupted ones
none. The rules cannot make paraphrases as free as a model's: `newsqa eval --llm` gives the share of a real
model's sentences that survive.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from tqdm.auto import tqdm

from eval.questions import Question
from qa.grounding import evidence
from qa.models import Answer, Citation
from qa.pipeline import QAPipeline
from qa.verify import MIN_SUPPORT, check, names, source_names

GOOD = ("verbatim", "clause", "attributed")
CORRUPT = ("number", "name", "citation", "uncited")
_NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")


class Case(NamedTuple):
    kind: str
    text: str
    cites: tuple[int, ...]


def good_cases(source: Citation) -> list[Case]:
    sentence = source.sentence.strip()
    cases = [Case("verbatim", sentence, (source.n,))]
    words = sentence.split()
    for i, word in enumerate(words[5:], start=5):
        if word.endswith((",", ";")) and i < len(words) - 3:
            cases.append(Case("clause", " ".join(words[: i + 1]).rstrip(",;") + ".", (source.n,)))
            break
    if source.source and sentence[:1].isupper():
        first = sentence.split()[0]
        lowered = sentence if first in {"I"} or first.lower() not in {"the", "a", "an", "it", "this", "there"} \
            else sentence[0].lower() + sentence[1:]
        cases.append(Case("attributed", f"According to {source.source}, {lowered}", (source.n,)))
    return cases


def corrupted_cases(source: Citation, others: Sequence[Citation], rng: random.Random) -> list[Case]:
    sentence = source.sentence.strip()
    cases = []
    own_numbers = _NUMBER.findall(sentence)
    if own_numbers:
        target = rng.choice(own_numbers)
        pool = [n for c in others for n in _NUMBER.findall(c.sentence) if n.replace(",", "") != target.replace(",", "")
                and n not in sentence]
        replacement = rng.choice(pool) if pool else str(int(float(target.replace(",", ""))) + 1)
        cases.append(Case("number", re.sub(rf"\b{re.escape(target)}\b", replacement, sentence, count=1), (source.n,)))
    known = source_names([c.sentence for c in (source, *others)])
    own_names = names(sentence, known)
    lowered = sentence.lower()
    foreign = [n for c in others for n in names(c.sentence, known) if n.lower() not in lowered]
    if own_names and foreign:
        target, replacement = rng.choice(own_names), rng.choice(foreign)
        cases.append(Case("name", re.sub(rf"\b{re.escape(target)}\b", replacement, sentence, count=1), (source.n,)))
    unrelated = [c for c in others if not set(map(str.lower, own_names)) & {n.lower() for n in names(c.sentence, known)}
                 and c.doc_id != source.doc_id]
    if unrelated:
        cases.append(Case("citation", sentence, (rng.choice(unrelated).n,)))
    cases.append(Case("uncited", sentence, ()))
    return cases


class VerifierReport(NamedTuple):
    accepted: dict[str, int]  # per kind, how many the checker accepted
    total: dict[str, int]
    questions: int

    def rate(self, kind: str) -> float | None:
        return self.accepted[kind] / self.total[kind] if self.total.get(kind) else None

    @property
    def good_rejected(self) -> float | None:
        total = sum(self.total.get(k, 0) for k in GOOD)
        return 1 - sum(self.accepted.get(k, 0) for k in GOOD) / total if total else None

    @property
    def corrupted_caught(self) -> float | None:
        total = sum(self.total.get(k, 0) for k in CORRUPT)
        return 1 - sum(self.accepted.get(k, 0) for k in CORRUPT) / total if total else None

    def table(self) -> str:
        rows = ["| kind | sentences | accepted | should be |", "|---|---|---|---|"]
        for kind in (*GOOD, *CORRUPT):
            if self.total.get(kind):
                rows.append(f"| {kind} | {self.total[kind]} | {self.rate(kind):.3f} | {'all' if kind in GOOD else 'none'} |")
        rows.append("")
        rows.append(f"{self.questions} answered questions; corrupted sentences caught: {self.corrupted_caught:.3f}; "
                    f"good sentences rejected: {self.good_rejected:.3f}")
        return "\n".join(rows)


def measure(cases_of: Iterable[tuple[Answer, Sequence[Citation]]], min_support: float = MIN_SUPPORT,
            seed: int = 7) -> VerifierReport:
    """Check every good and corrupted sentence made from each answered question's sources (the cited ones)."""
    rng = random.Random(seed)
    accepted: Counter[str] = Counter()
    total: Counter[str] = Counter()
    questions = 0
    for answer, sources in cases_of:
        if answer.abstained or not sources:
            continue
        questions += 1
        known = source_names([c.sentence for c in sources])
        for source in sources[: len(answer.citations)]:
            others = [c for c in sources if c.n != source.n]
            for case in (*good_cases(source), *corrupted_cases(source, others, rng)):
                total[case.kind] += 1
                accepted[case.kind] += check(case.text, case.cites, sources, min_support, known).supported
    return VerifierReport(dict(accepted), dict(total), questions)


def run_verifier_eval(pipeline: QAPipeline, questions: Sequence[Question], min_support: float = MIN_SUPPORT,
                      show_progress: bool = True) -> VerifierReport:
    """Answer each question (extractively) and measure the checker on sentences made from its sources."""
    def answered() -> Iterator[tuple[Answer, tuple[Citation, ...]]]:
        for question in tqdm(questions, desc="Checking", unit="question", disable=not show_progress, dynamic_ncols=True):
            answer = pipeline.ask(question.question)
            yield answer, evidence(answer, pipeline.index) if not answer.abstained else ()

    return measure(answered(), min_support)

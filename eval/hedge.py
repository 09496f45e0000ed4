"""Passages made unanswerable on purpose: the event that answers the question told as a plan or a possibility.

A news corpus is a snapshot. Before a vote, a trial or a launch its articles say what *would*, *could* or *was
expected to* happen; a question about the outcome ("How many seats did the party win?") then meets a
sentence with the right names and even the number ("the party is expected to win 33 seats") that does not
answer it. `qa-train` has no such pairs: its answers are stated as facts. So they are made from answerable
ones, a minimal pair as in the contrast-set literature: the sentence holding the answer keeps every word,
and the verb that asserts the answer is put in a modal ("approved" -> "may approve", "was sentenced" ->
"could be sentenced", "had won" -> "would have won"). The passage still holds the answer's text, so the
reader must look at what is asserted of it, not only whether it is there. Where the question's own verb can
take the same modal ("How many quilts were flown?" -> "How many quilts might be flown?"), that question
against the hedged passage is a positive (`Mix.hedged_asked`): without it the pair could teach "a modal word
means no answer", which would reject the sentences that answer questions about plans.

Only a past event is hedged (a verb in the past tense, or a past auxiliary), only where the answer hangs off
the sentence's main verb with no other verb between, and never for a question that itself asks about plans
or possibilities ("What did they plan to build?"). The parse can still miss, so these are noisy labels;
their share is a setting (`Mix.hedged`), and the held-out split reports the reader's no-answer accuracy on
them apart.
"""

from __future__ import annotations

import random
import re
from typing import Any, NamedTuple

from index.sentences import sentence_spans

# Modals that need no agreement with the subject, then phrases that do (was/were) or that read as a plan.
SIMPLE_MODALS = ("would", "could", "might", "may", "will")
PLAN_PHRASES = ("{be} expected to", "{be} set to", "planned to", "hoped to", "aimed to")
# A question about plans, chances or conditions is answered by a hedged sentence: no negative is made of it.
ASKS_ABOUT_PLANS = re.compile(r"\b(?:would|will|could|might|may|can|should|must|shall|plans?|planned|planning|"
                              r"expect\w*|hop(?:e|es|ed|ing)|intend\w*|aim\w*|propos\w*|predict\w*|want\w*|seek\w*|"
                              r"sought|try|tries|tried|going to|if|forecast\w*|promis\w*|likely|possib\w*|potential\w*|"
                              r"chance)\b", re.I)
_PAST_AUXILIARIES = {"was": "be", "were": "be", "had": "have", "has": "have", "have": "have"}
_PLURAL_SUBJECTS = {"they", "we", "you"}


def _verbal_head(token: Any) -> Any:
    """The nearest verb or auxiliary above `token` in the parse (the root when there is none)."""
    current = token
    while current.head.i != current.i:  # spaCy makes a new Token object on each access: compare positions
        current = current.head
        if current.pos_ in ("VERB", "AUX"):
            return current
    return current


class Edit(NamedTuple):
    """`text` in place of the characters start:end of a sentence."""

    start: int
    end: int
    text: str

    def apply(self, sentence: str) -> str:
        """The sentence edited; the new words take a capital where they open it."""
        text = self.text
        if sentence[: self.start].strip() == "":
            text = text[:1].upper() + text[1:]
        return sentence[: self.start] + text + sentence[self.end :]


def _modal_phrase(modal: str, verb: Any) -> str:
    """`modal` with its "{be}" made to agree with the verb's subject."""
    subject = next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    plural = subject is not None and (subject.tag_ in ("NNS", "NNPS") or subject.lower_ in _PLURAL_SUBJECTS
                                      or any(c.dep_ == "conj" for c in subject.children))
    return modal.format(be="were" if plural else "was")


def hedge_sentence(doc: Any, start: int, end: int, modal: str, asked: frozenset[str] | None = None) -> Edit | None:
    """The edit that puts the past event asserting the answer (characters start:end of the parsed sentence `doc`)
    in `modal` (one of SIMPLE_MODALS or PLAN_PHRASES); None when no such verb governs the answer or, given `asked`
    (the question's verb lemmas), when the question does not name that verb: the event hedged may not be the one
    asked about."""
    tokens = [t for t in doc if t.idx < end and t.idx + len(t) > start]
    heads = {_verbal_head(t).i for t in tokens if t.pos_ not in ("VERB", "AUX")}
    if len(heads) != 1:
        return None  # the answer is a verb, or spans two clauses
    verb = doc[heads.pop()]
    if verb.dep_ != "ROOT" or verb.pos_ != "VERB" or verb.lemma_.lower() in ("be", "have"):
        return None  # a state ("is", "has"), not an event; or a verb of a subordinate clause
    if asked is not None and verb.lemma_.lower() not in asked:
        return None
    children = list(verb.children)
    if any(c.tag_ == "MD" or c.dep_ == "neg" for c in children):
        return None
    auxiliaries = [c for c in children if c.dep_ in ("aux", "auxpass")]
    if auxiliaries:
        first = auxiliaries[0]
        lemma = _PAST_AUXILIARIES.get(first.lower_)
        if lemma is None or first.i > verb.i or modal not in SIMPLE_MODALS:
            return None  # "did", "is", "are": not a past event told with a past auxiliary
        if lemma == "have" and first.lower_ != "had" and len(auxiliaries) == 1 and verb.tag_ != "VBN":
            return None
        edit = Edit(first.idx, first.idx + len(first), f"{modal} {lemma}")
    elif verb.tag_ == "VBD":
        # An adverb just before the verb ("badly affected") goes after the modal: "was set to badly affect".
        first = verb
        while first.i > 0 and doc[first.i - 1].dep_ == "advmod" and doc[first.i - 1].head.i == verb.i:
            first = doc[first.i - 1]
        adverbs = doc.text[first.idx : verb.idx]
        edit = Edit(first.idx, verb.idx + len(verb), f"{_modal_phrase(modal, verb)} {adverbs}{verb.lemma_.lower()}")
    else:
        return None
    return edit


def hedge_question(doc: Any, lemma: str, modal: str) -> str | None:
    """The parsed question `doc` asking about its verb `lemma` in `modal` ("Who declared ...?" -> "Who may declare
    ...?", "How many were flown?" -> "How many could be flown?", "When did he begin?" -> "When would he begin?");
    None where the question's form is not one of those."""
    if modal not in SIMPLE_MODALS:
        return None
    verbs = [t for t in doc if t.pos_ == "VERB" and t.lemma_.lower() == lemma]
    if len(verbs) != 1:
        return None
    verb = verbs[0]
    if verb.dep_ == "conj" or any(c.dep_ == "conj" and c.pos_ == "VERB" for c in verb.children):
        return None  # "has it increased or decreased?"
    auxiliaries = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i]
    if any(c.tag_ == "MD" or c.dep_ == "neg" for c in verb.children):
        return None
    if auxiliaries:
        first = auxiliaries[0]
        between = doc.text[first.idx + len(first) : verb.idx]  # " " or, asked, " the subject "
        if first.lower_ == "did" and verb.tag_ == "VB":
            edit = Edit(first.idx, first.idx + len(first), modal)
        elif first.lower_ in _PAST_AUXILIARIES and len(auxiliaries) == 1:
            edit = Edit(first.idx, verb.idx, f"{modal}{between}{_PAST_AUXILIARIES[first.lower_]} ")
        else:
            return None
    elif verb.tag_ == "VBD":
        edit = Edit(verb.idx, verb.idx + len(verb), f"{modal} {verb.lemma_.lower()}")
    else:
        return None
    return edit.apply(doc.text)


class Hedged(NamedTuple):
    """A hedged passage (the answer's words kept, not asserted) and, where the question could be asked in the
    same modal, that question with the answer's offsets in the hedged passage: a positive of the same pair."""

    passage: str
    question: str | None
    answers: tuple[tuple[int, int], ...]


class Hedger:
    """Makes hedged negatives (see the module doc) with spaCy's parse, loaded on first use."""

    def __init__(self, parser: Any = None) -> None:
        self._parser = parser

    @property
    def parser(self) -> Any:
        if self._parser is None:
            from eval.news_questions import load_parser  # noqa: PLC0415 - spaCy only when hedging

            self._parser = load_parser()
        return self._parser

    def hedge(self, question: str, passage: str, answers: tuple[tuple[int, int], ...],
              rng: random.Random) -> Hedged | None:
        """`passage` with the sentence holding the first answer hedged; None when it cannot be, or when the
        question asks about plans itself."""
        if not answers or ASKS_ABOUT_PLANS.search(question):
            return None
        start, end = answers[0]
        for s, e in sentence_spans(passage):
            if s <= start and end <= e:
                break
        else:
            return None  # the answer runs over a sentence boundary
        question_doc = self.parser(question)
        asked = frozenset(t.lemma_.lower() for t in question_doc if t.pos_ in ("VERB", "AUX"))
        modal = rng.choice(SIMPLE_MODALS + PLAN_PHRASES)
        sentence_doc = self.parser(passage[s:e])
        edit = hedge_sentence(sentence_doc, start - s, end - s, modal, asked)
        if edit is None and modal not in SIMPLE_MODALS:  # an auxiliary takes a simple modal ("could be sentenced")
            modal = rng.choice(SIMPLE_MODALS)
            edit = hedge_sentence(sentence_doc, start - s, end - s, modal, asked)
        if edit is None:
            return None
        at, delta = s + edit.start, len(edit.text) - (edit.end - edit.start)
        if any(a < s + edit.end and b > at for a, b in answers):
            return None  # an answer runs through the edited words
        hedged = passage[:s] + edit.apply(passage[s:e]) + passage[e:]
        moved = tuple((a + delta, b + delta) if a >= s + edit.end else (a, b) for a, b in answers)
        lemma = next(t.lemma_.lower() for t in sentence_doc if t.dep_ == "ROOT")
        return Hedged(hedged, hedge_question(question_doc, lemma, modal), moved)

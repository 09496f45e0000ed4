"""Questions made unanswerable on purpose: one name, number or content word of the question swapped.

A news reader's hard no-answer case is the false premise: a question about a story the corpus holds, with
one detail the story does not have ("Which *Chinese* city hosted the forum?" when a Russian one did; "How
many people *died*?" when they were evacuated). SQuAD 2.0's crowd-written unanswerable questions are
this kind but scarce (5,945), so more are made from answerable ones, as in the entity-swap negatives of
the unanswerable-question literature: a mention of the question that its passage contains (a capitalised
name, a number, or a content word) is replaced by one of the same shape taken from another question,
which the passage does not contain. The passage stays the one that answered the original question, so
the reader learns to check the question's details against it rather than its topic.

The swap can miss (the new detail may happen not to matter), so these are noisy labels; their share in
the training mix is a setting (`Mix.perturbed`), and the held-out split reports the reader's no-answer
accuracy on them separately.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

from index.lexical import STOPWORDS

# A capitalised run not opening the question ("the Chinese city", "Tim Farron", "Church in Wales"), a number,
# or a lowercase content word of five letters or more.
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w'’-]*(?:\s+(?:of|the|de|von|van|al)?\s*[A-Z][\w'’-]*)*")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_WORD = re.compile(r"\b[a-z]{5,}\b")
_QUESTION_WORDS = frozenset({"which", "where", "whose", "whom", "there", "their", "about", "would", "could",
                             "should", "after", "before", "during", "being"})


def _mentions(question: str) -> dict[str, list[str]]:
    return {"name": [m.group(0) for m in _NAME.finditer(question)],
            "number": [m.group(0) for m in _NUMBER.finditer(question)],
            "word": [w for w in _WORD.findall(question) if w not in STOPWORDS and w not in _QUESTION_WORDS]}


class Perturber:
    """Swaps one detail of a question for one of the same kind from other questions (see the module doc)."""

    def __init__(self, questions: Iterable[str], name_share: float = 0.6) -> None:
        if not 0.0 <= name_share <= 1.0:
            raise ValueError(f"name_share must be in [0, 1], got {name_share}")
        self.name_share = name_share
        self.pools: dict[str, list[str]] = {"name": [], "number": [], "word": []}
        seen: dict[str, set[str]] = {k: set() for k in self.pools}
        for question in questions:
            for kind, found in _mentions(question).items():
                for mention in found:
                    if mention not in seen[kind]:
                        seen[kind].add(mention)
                        self.pools[kind].append(mention)

    def perturb(self, question: str, passage: str, rng: random.Random) -> str | None:
        """The question with one detail its passage holds swapped for one it does not hold; None if none can be."""
        lowered = passage.lower()
        found = {kind: [m for m in mentions if m.lower() in lowered] for kind, mentions in _mentions(question).items()}
        kinds = [k for k in ("name", "number") if found[k] and self.pools[k]]
        if not kinds or (found["word"] and self.pools["word"] and rng.random() > self.name_share):
            kinds = ["word"] if found["word"] and self.pools["word"] else kinds
        if not kinds:
            return None
        kind = rng.choice(kinds)
        old = rng.choice(found[kind])
        for attempt in range(24):
            new = rng.choice(self.pools[kind])
            if new.lower() in lowered or new.lower() == old.lower():
                continue
            if attempt < 16 and not _same_shape(kind, old, new):  # then any of the kind
                continue
            return re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, question, count=1)
        return None


def _same_shape(kind: str, old: str, new: str) -> bool:
    """A name for a name of as many words, a word for one of the same ending (a verb for a verb, mostly)."""
    if kind == "name":
        return len(old.split()) == len(new.split())
    if kind == "word":
        return old[-2:] == new[-2:]
    return len(old) == len(new)

"""Check a written answer sentence by sentence against the source sentences each one cites, and only those.

A written sentence is supported when it cites at least one given source, and what it claims is in what it
cites: every number (digits or number words), every name (a capitalised word, or the first word when a source
writes it capitalised mid-sentence, i.e. as a name) and every date word of the claim appears in the cited
sentences, and at least `min_support` of its content words (stemmed, stopwords left out) do too. The scorer is
lexical on purpose: a swapped number or name changes a sentence's meaning while leaving an embedding of it
almost where it was, and a reader can see exactly why a sentence was refused. `eval/verifier.py` measures it
on written answers corrupted on purpose (a number, a name or a citation swapped).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from typing import NamedTuple

from index.lexical import STOPWORDS, tokenize
from index.sentences import sentence_spans
from qa.models import Citation

MIN_SUPPORT = 0.6  # share of a claim's content words that its cited sentences must hold
_MARKS = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_MARKS = re.compile(r"^(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
# "(CNN, 2017-02-07)": a source line's outlet and date, which small models copy into what they write.
_ATTRIBUTION = re.compile(r"\s*\((?:[^()\n]{1,80}, )?\d{4}-\d{2}-\d{2}\)\s*")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'’-]*")
NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS |= {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                 "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
                 "dozen": "12", "half": "0.5", "first": "1", "second": "2", "third": "3"}
# Capitalised words that name no one: sentence openers, pronouns and the like.
_NOT_NAMES = STOPWORDS | {"according", "however", "also", "meanwhile", "yes", "no", "the", "a", "an", "it", "its",
                          "this", "that", "these", "those", "there", "here", "he", "she", "they", "we", "i", "in",
                          "on", "at", "after", "before", "while", "but", "and", "so", "since", "as", "both"}


class Claim(NamedTuple):
    """One written sentence and the verdict on it."""

    text: str  # as written, citation marks taken out
    cites: tuple[int, ...]  # the source numbers it cites, in order
    supported: bool
    reason: str  # why not, in words a reader can check ("" when supported)
    support: float  # share of its content words found in what it cites


def split_claims(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """The written text as (sentence without marks, cited numbers); a mark after a sentence's period is its own."""
    pieces: list[list] = []
    for start, end in sentence_spans(text):
        chunk = text[start:end]
        leading = _LEADING_MARKS.match(chunk)
        if leading and pieces:  # "… the vote. [1] He …": the mark closes the sentence before
            pieces[-1][0] += " " + leading.group(0).strip()
            chunk = chunk[leading.end():]
        if chunk.strip():
            pieces.append([chunk.strip()])
    out = []
    for (chunk,) in pieces:
        cites = tuple(int(n) for group in _MARKS.findall(chunk) for n in re.split(r"\s*[,;]\s*", group))
        words = _ATTRIBUTION.sub(" ", _MARKS.sub("", chunk)).strip()
        words = re.sub(r"\s+([.,;:!?])", r"\1", words)
        if words:
            out.append((words, tuple(dict.fromkeys(cites))))
    return out


def numbers(text: str) -> set[str]:
    """The numbers of `text`, normalised: "1,000" and "1000" alike, "three" as "3"."""
    found = {n.replace(",", "").rstrip(".").lstrip("0") or "0" for n in _NUMBER.findall(text)}
    found |= {NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in NUMBER_WORDS}
    return found


def _ordered_numbers(text: str) -> list[str]:
    return sorted(numbers(text), key=lambda n: (text.find(n) if n in text else len(text), n))


def source_names(texts: Sequence[str]) -> set[str]:
    """Words the sources capitalise where a sentence does not start: names."""
    names = set()
    for text in texts:
        for match in _WORD.finditer(text):
            word = match.group(0)
            if word[0].isupper() and match.start() > 0 and not re.search(r"[.!?\"“]\s*$", text[:match.start()]):
                names.add(_bare(word).lower())
    return names


def _bare(word: str) -> str:
    return re.sub(r"['’]s$", "", word).strip("'’-")


def names(text: str, known_names: set[str] = frozenset()) -> list[str]:
    """The names a claim states: capitalised words past its first, and its first when it is a known name or is
    followed by another capitalised word ("Mike Pence …")."""
    out = []
    words = list(_WORD.finditer(text))
    for i, match in enumerate(words):
        word = _bare(match.group(0))
        if not word or not word[0].isupper() or word.lower() in _NOT_NAMES:
            continue
        if i == 0:
            following = words[1].group(0) if len(words) > 1 else ""
            if word.lower() not in known_names and not following[:1].isupper():
                continue
        out.append(word)
    return out


def check(claim: str, cites: tuple[int, ...], sources: Sequence[Citation], min_support: float = MIN_SUPPORT,
          known_names: set[str] | None = None) -> Claim:
    """The verdict on one written sentence against the sources it cites."""
    given = {c.n: c for c in sources}
    if not cites:
        return Claim(claim, cites, False, "cites no source", 0.0)
    missing = [n for n in cites if n not in given]
    if missing:
        return Claim(claim, cites, False, f"cites [{missing[0]}], which was not among the sources given", 0.0)
    cited = " ".join(_context(given[n]) for n in cites)
    cited_lower = cited.lower()
    held_numbers = numbers(cited)
    absent_numbers = [n for n in _ordered_numbers(claim) if n not in held_numbers]
    if absent_numbers:
        return Claim(claim, cites, False, f"the number {absent_numbers[0]} is not in {_refs(cites)}", 0.0)
    if known_names is None:
        known_names = source_names([c.sentence for c in sources])
    cited_words = {_bare(w).lower() for w in _WORD.findall(cited)}
    for name in names(claim, known_names):
        if name.lower() not in cited_words and name.lower() not in cited_lower:
            return Claim(claim, cites, False, f"“{name}” is not in {_refs(cites)}", 0.0)
    terms = [t for t in tokenize(claim) if not t.isdigit()]
    held = set(tokenize(cited))
    support = sum(t in held for t in terms) / len(terms) if terms else 1.0
    if support < min_support:
        return Claim(claim, cites, False, f"only {support:.0%} of its words are in {_refs(cites)}", support)
    return Claim(claim, cites, True, "", support)


def verify(text: str, sources: Sequence[Citation], min_support: float = MIN_SUPPORT) -> list[Claim]:
    """Every sentence of a written answer, checked against what it cites."""
    known = source_names([c.sentence for c in sources])
    return [check(claim, cites, sources, min_support, known) for claim, cites in split_claims(text)]


def _context(c: Citation) -> str:
    """What a citation vouches for: its sentence, and the outlet and date it was published under."""
    when = ""
    if len(c.date) >= 7 and c.date[5:7].isdigit() and 1 <= int(c.date[5:7]) <= 12:
        when = f"{calendar.month_name[int(c.date[5:7])]} {c.date}"
    return f"{c.sentence} {c.source} {when}"


def _refs(cites: tuple[int, ...]) -> str:
    return " ".join(f"[{n}]" for n in cites)

"""Sentence splitting with character offsets: rule-based, fast, and exact about where each sentence lies."""

from __future__ import annotations

import re

from index.models import Sentence

# Words that end with a period without ending a sentence (titles, months, initials, party-state tags).
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sen sens rep reps gov govs gen lt col maj sgt capt cmdr adm rev st jr sr messrs mt ft
    inc corp co ltd llc dept univ assn bros vs etc al approx est
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u d.c a.m p.m i.e e.g""".split()
)
# Abbreviations only before a number ("No. 5", "Vol. 2"): "voted no. Then ..." ends a sentence.
_NUMBER_ABBREVIATIONS = frozenset("no nos vol fig op pp".split())
_PARTY_TAG = re.compile(r"^[DRI]-[A-Z][a-z]{1,4}$")  # "D-Mass", "R-Ky"

# A sentence ends at terminal punctuation, optional closing quotes/brackets, then whitespace
# before something that can start a sentence. The demo corpus also writes a closing quote as
# '"?' glued to the next word ('grizzlies."?DeVos'), glues a closing quote to the next sentence
# ('matters most."Guthrie'), and separates sentences with a stray hyphen ('the title.- The book',
# 'Feb. 11.-The musical'); all of these are boundaries too (the hyphen belongs to neither sentence).
_BOUNDARY = re.compile(
    r"""(?P<end>[.!?…]+["'”’)\]]*(?:"\?)?)(?P<gap>\s+|-\s*)(?=["'“‘(\[]?[A-Z0-9À-ÖØ-Þ])"""
    r"""|(?P<glued>[.!?](?:["”’']\?|["”]))(?=["“‘]?[A-Z])"""
    r"""|(?P<para>\n\s*)"""
)
_WORD_BEFORE = re.compile(r"([\w.\-]+)$")
# A "sentence" longer than this is a table or a list flattened into text (a timeline of 78 attacks, 12,050
# characters, in the demo corpus), not prose: it is cut, at a clause break where there is one, so that a
# citation stays readable. The longest prose sentences of news run to about 500 characters.
MAX_SENTENCE_CHARS = 600
_CLAUSE_BREAKS = ("; ", ": ", ", ", " ")  # preferred cut points, best first


def _is_abbreviation(text: str, end: int) -> bool:
    """Whether the period ending at `end` belongs to an abbreviation or an initial."""
    if text[end - 1] != ".":
        return False
    match = _WORD_BEFORE.search(text, max(0, end - 64), end - 1)  # a bounded look-back keeps splitting linear
    if not match:
        return False
    word = match.group(1)
    lowered = word.lower()
    if lowered in _ABBREVIATIONS or _PARTY_TAG.match(word):
        return True
    if lowered in _NUMBER_ABBREVIATIONS:
        return text[end : end + 2].strip()[:1].isdigit()
    # Initials ("George W. Bush", "J.K."), but not a sentence ending in a capitalised acronym run.
    return len(word) == 1 and word.isupper() or bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences of `text`, stripped of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group("para") is not None:
            end = match.start()
        else:
            terminal = match.group("end") or match.group("glued")
            end = match.start() + len(terminal)
            if _is_abbreviation(text, match.start() + len(terminal.rstrip("\"'”’)]?"))):
                continue
        _append_stripped(text, start, end, spans)
        start = match.end()
    _append_stripped(text, start, len(text), spans)
    return spans


def _append_stripped(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_SENTENCE_CHARS:
        cut = _cut_point(text, start, start + MAX_SENTENCE_CHARS)
        _append_stripped(text, start, cut, spans)
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((start, end))


def _cut_point(text: str, start: int, limit: int) -> int:
    """Where to cut a run-on span before `limit`: after the last clause break in its second half, else at `limit`."""
    for mark in _CLAUSE_BREAKS:
        at = text.rfind(mark, start + MAX_SENTENCE_CHARS // 2, limit)
        if at != -1:
            return at + len(mark.rstrip()) if mark.strip() else at
    return limit


def split_sentences(doc_id: str, text: str) -> list[Sentence]:
    """Split an article's text into `Sentence`s whose offsets index into `text`."""
    return [
        Sentence(doc_id=doc_id, index=i, start=s, end=e, text=text[s:e])
        for i, (s, e) in enumerate(sentence_spans(text))
    ]

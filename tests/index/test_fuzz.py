"""Fuzzing with hypothesis: cleaning, sentence splitting and chunking keep their invariants on any Unicode.

The invariant everything downstream relies on: an offset pair always points at exactly the text it
claims (`text[start:end] == sentence.text == passage.text`), sentences are ordered and disjoint and
cover every non-space character, and no passage exceeds the token budget.
"""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.chunking import Chunker
from index.clean import normalize_text
from index.pages import clean_scraped_page
from index.sentences import split_sentences

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every code point, lone surrogates and controls included.
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=300)
# Pieces that steer the splitter and chunker into their corners: abbreviations, initials, closing
# quotes, the corpus's '"?' glue, paragraph breaks, combining marks, wide characters, long words.
PIECES = st.sampled_from([
    "Mr.", "Dr.", "U.S.", "e.g.", "No.", "No. 5", "J.K.", "D-Mass.", "George W. Bush", ".", "!", "?", "…", "?!",
    '"', "“", "”", "’", "'", "(", ")", "[", "]", '."?', '?"?', " ", "  ", "\t", "\n", "\n\n", "\r\n", "\u00a0",
    "\u200b", "\u2028", "\x00", "\x85", "e\u0301", "\u0301", "한국어", "中文。", "🙂", "\U0001F468\u200d\U0001F469",
    "The", "A", "5", "1999.", "x" * 120, "supercalifragilistic" * 8, "\ufffd",
])
NEWSLIKE = st.lists(st.one_of(PIECES, st.text(ANY_CHAR, max_size=12)), max_size=80).map("".join)
TEXTS = st.one_of(ANY_TEXT, NEWSLIKE)

CHUNKERS = [Chunker(max_tokens=16, overlap=1), Chunker(max_tokens=40, overlap=0), Chunker(max_tokens=40, overlap=2)]


def _assert_normalized(text: str) -> None:
    assert normalize_text(text) == text  # idempotent
    text.encode("utf-8")  # storable: no lone surrogates
    assert unicodedata.is_normalized("NFC", text)
    assert text == text.strip()
    assert "\r" not in text and "\t" not in text and "  " not in text and "\n\n\n" not in text
    assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in text)


@FUZZ
@given(TEXTS)
@example("e\u200b\u0301")  # a dropped zero-width space must not leave a composable pair behind
@example("a\ud800b")
def test_normalize_text(raw: str) -> None:
    _assert_normalized(normalize_text(raw))


@FUZZ
@given(st.lists(TEXTS, max_size=8).map("\n".join))
def test_clean_scraped_page(raw: str) -> None:
    page = clean_scraped_page(raw)
    _assert_normalized(page.text)
    assert "\n" not in page.title
    _assert_sentences(page.text)


def _assert_sentences(text: str) -> list:
    sentences = split_sentences("d", text)
    covered = [False] * len(text)
    previous_end = 0
    for i, s in enumerate(sentences):
        assert s.index == i and s.doc_id == "d"
        assert text[s.start : s.end] == s.text and s.text
        assert not s.text[0].isspace() and not s.text[-1].isspace()
        assert previous_end <= s.start < s.end <= len(text)
        previous_end = s.end
        covered[s.start : s.end] = [True] * (s.end - s.start)
    # Only white space, and the stray hyphen the splitter treats as a separator ("said.- The"), may lie between sentences.
    uncovered = [i for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
    assert all(text[i] == "-" and text[:i].rstrip()[-1:] in ".!?…\"'”’)]" for i in uncovered), "a character is in no sentence"
    return sentences


@FUZZ
@given(TEXTS)
def test_split_sentences(text: str) -> None:
    _assert_sentences(text)


@FUZZ
@given(TEXTS, st.sampled_from(range(len(CHUNKERS))))
def test_chunk(text: str, which: int) -> None:
    chunker = CHUNKERS[which]
    sentences = split_sentences("d", text)
    passages = chunker.chunk(text, sentences)
    assert bool(passages) == bool(sentences)
    covered = [False] * len(text)
    previous_start = -1
    for n, p in enumerate(passages):
        assert p.index == n and p.doc_id == "d"
        assert text[p.start : p.end] == p.text and p.text
        assert p.n_tokens == chunker.count_tokens(p.text) <= chunker.max_tokens
        assert 0 <= p.first_sentence <= p.last_sentence < len(sentences)
        assert sentences[p.first_sentence].start <= p.start < p.end <= sentences[p.last_sentence].end
        assert p.start > previous_start
        previous_start = p.start
        covered[p.start : p.end] = [True] * (p.end - p.start)
    for s in sentences:
        assert all(covered[i] or text[i].isspace() for i in range(s.start, s.end)), f"sentence {s.index} not in any passage"

"""Passages: runs of whole sentences within the token budget, overlapping, from the offline tiktoken encoding."""

from __future__ import annotations

import socket

import pytest
import tiktoken

from index.chunking import OFFLINE_ENCODING, Chunker, get_encoding
from index.models import Passage
from index.sentences import split_sentences

SENTENCES = [
    "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos.",
    "The Senate had split 50-50 on the nomination.",
    "It was the first time a vice president broke a tie on a Cabinet nominee.",
    "Democrats staged a 24-hour marathon of speeches against her.",
    "More than 30 lawmakers took to the floor.",
    "Two Republicans, Susan Collins and Lisa Murkowski, voted against her.",
    "Sen. Chris Van Hollen said his office received 14,000 calls.",
    "The committee had voted along party lines, 12-11.",
    "Teachers' unions opposed the nomination.",
    "She never attended or worked in the public education system.",
]
TEXT = " ".join(SENTENCES[:5]) + "\n\n" + " ".join(SENTENCES[5:])


def chunk(text: str, max_tokens: int = 40, overlap: int = 1) -> tuple[Chunker, list, list[Passage]]:
    chunker = Chunker(max_tokens=max_tokens, overlap=overlap)
    sentences = split_sentences("d", text)
    return chunker, sentences, chunker.chunk(text, sentences)


def test_encoding_loads_with_the_network_blocked() -> None:
    """The autouse fixture refuses connections; the encoding must come from installed files anyway."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(RuntimeError, match="tried to reach"):
        sock.connect(("93.184.216.34", 443))
    with pytest.raises(RuntimeError, match="tried to resolve"):
        socket.getaddrinfo("openaipublic.blob.core.windows.net", 443)
    get_encoding.cache_clear()
    tiktoken.registry.ENCODINGS.pop(OFFLINE_ENCODING, None)  # force a real load, not a cached object
    encoding = get_encoding()
    assert encoding.name == OFFLINE_ENCODING
    assert encoding.encode_ordinary("hello world") == [15339, 1917]  # cl100k_base ids
    assert Chunker().count_tokens("Betsy DeVos was confirmed.") == len(encoding.encode_ordinary("Betsy DeVos was confirmed."))


def test_count_tokens_matches_the_encoding() -> None:
    chunker = Chunker()
    assert chunker.count_tokens("") == 0
    assert chunker.count_tokens("hello world") == 2
    assert chunker.count_tokens(TEXT) > len(SENTENCES) * 8


@pytest.mark.parametrize(("max_tokens", "overlap"), [(16, 0), (40, 0), (40, 1), (60, 2), (1000, 1)])
def test_passages_are_runs_of_whole_sentences_within_budget(max_tokens: int, overlap: int) -> None:
    chunker, sentences, passages = chunk(TEXT, max_tokens, overlap)
    assert passages and [p.index for p in passages] == list(range(len(passages)))
    for p in passages:
        assert TEXT[p.start : p.end] == p.text
        assert p.n_tokens == chunker.count_tokens(p.text) <= max_tokens
        assert p.doc_id == "d"
        if max_tokens >= 40:  # no sentence is over budget: passages start and end on sentence edges
            assert (p.start, p.end) == (sentences[p.first_sentence].start, sentences[p.last_sentence].end)
    covered = {i for p in passages for i in range(p.first_sentence, p.last_sentence + 1)}
    assert covered == set(range(len(sentences)))


@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_overlap_and_greedy_packing(overlap: int) -> None:
    chunker, sentences, passages = chunk(TEXT, 45, overlap)
    assert len(passages) >= 3
    for prev, nxt in zip(passages, passages[1:]):
        assert nxt.first_sentence == max(prev.last_sentence + 1 - overlap, prev.first_sentence + 1)
        # Greedy: the next sentence did not fit in the previous passage.
        grown = TEXT[prev.start : sentences[prev.last_sentence + 1].end]
        assert chunker.count_tokens(grown) > 45
    assert passages[-1].last_sentence == len(sentences) - 1


def test_whole_text_fits_in_one_passage() -> None:
    _, sentences, passages = chunk(TEXT, 1000, 1)
    assert len(passages) == 1
    assert (passages[0].first_sentence, passages[0].last_sentence) == (0, len(sentences) - 1)
    assert passages[0].text == TEXT


def test_over_long_sentence_is_split_at_word_boundaries() -> None:
    # ~500 characters: longer than the token budget, shorter than a run-on the splitter cuts itself
    long_sentence = "The army " + " ".join(f"shelled position number {n} near the river" for n in range(12)) + "."
    text = SENTENCES[0] + " " + long_sentence + " " + SENTENCES[1]
    chunker, sentences, passages = chunk(text, 30, 1)
    assert len(sentences) == 3
    pieces = [p for p in passages if p.first_sentence == p.last_sentence == 1]
    assert len(pieces) >= 3
    for p in passages:
        assert text[p.start : p.end] == p.text and p.n_tokens <= 30
    assert " ".join(p.text for p in pieces) == long_sentence  # pieces tile the sentence at spaces
    assert all(text[p.start - 1] == " " and (p.end == len(text) or text[p.end] in " .") for p in pieces)
    assert passages[0].last_sentence == 0 and passages[-1].first_sentence == 2


def test_giant_word_is_cut_by_characters() -> None:
    text = "Start here.\n\n" + "x" * 500 + "\n\nEnd here."  # one "word" of 500 characters, a sentence of its own
    chunker, sentences, passages = chunk(text, 20, 0)
    assert all(p.n_tokens <= 20 and text[p.start : p.end] == p.text for p in passages)
    pieces = [p for p in passages if p.first_sentence == p.last_sentence == 1]
    assert len(pieces) > 1
    assert "".join(p.text for p in pieces) == "x" * 500
    assert all(a.end == b.start for a, b in zip(pieces, pieces[1:]))


def test_no_sentences_no_passages() -> None:
    assert Chunker().chunk("", []) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_tokens": 8}, "max_tokens must be at least 16, got 8"),
    ({"overlap": -1}, "overlap must be >= 0 sentences, got -1"),
])
def test_constructor_rejects_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Chunker(**kwargs)


def test_unknown_encoding_is_refused_without_downloading() -> None:
    with pytest.raises((ValueError, KeyError)):
        Chunker(encoding="no_such_encoding")

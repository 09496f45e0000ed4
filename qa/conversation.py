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
_OPENINGS = r"and|what about|how about|and what about|what of"  # "And in Germany?", "What about Merkel?"
_ELLIPTICAL = re.compile(rf"^(?:{_OPENINGS})\b", re.IGNORECASE)
# "When?", "And why?", "How many exactly?": a question word with nothing to ask it of is an ellipsis too.
_BARE_WORDS = {"and", "but", "so", "then", "when", "why", "where", "how", "who", "whom", "what", "which", "many",
               "much", "long", "often", "not", "exactly", "else", "again", "now"}
# People a question points back at ("What did he say?"): unlike "it" or "this", no topic of its own replaces them.
_PEOPLE = re.compile(r"\b(he|she|they|him|her|them|his|hers|their|theirs)\b", re.IGNORECASE)
# "What about the travel ban, which countries did it cover?": an elliptical opening, a topic, then a question.
_OPENING_AND_QUESTION = re.compile(
    rf"(?P<opening>{_OPENINGS})\s+[^,;:—–?]+\s*[,;:—–]\s*"
    r"(?:who|whom|whose|what|when|where|why|how|which|did|does|do|is|was|were|are|can|could|will|would|has|have|had)\b",
    re.IGNORECASE)
# A topic of at least this many words, none of them in the last turn, makes such a question one of its own.
NEW_TOPIC_TERMS = 3
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
    query: str = ""  # what was searched for it (its follow-up rewrite); "" when it was searched as asked

    @property
    def searched(self) -> str:
        return self.query or self.question


_TITLES = {"president", "vice", "chancellor", "prime", "minister", "secretary", "senator", "sen", "rep", "gov",
           "governor", "mr", "mrs", "ms", "dr", "king", "queen", "pope", "general", "gen", "speaker", "first", "lady",
           "former", "foreign", "state", "us", "u.s"}
# Ranks and forms of address: a "name" made of these alone ("Retired Lt. Gen" before "Michael Flynn") names nobody.
# They are not cut from the front of a name, as titles are: "Justice Department", "Major League Baseball".
_RANKS = {"retired", "ret", "lt", "lieutenant", "col", "colonel", "maj", "major", "capt", "captain", "sgt",
          "sergeant", "adm", "admiral", "cmdr", "commander", "sir", "dame", "lord", "rev", "reverend", "prof",
          "professor", "judge", "justice"}


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
        if all(w.lower().strip("'’.") in _RANKS | _TITLES for w in words):
            continue
        if name and name.lower() not in _NOT_ENTITIES | _TITLES and name not in found:
            found.append(name)
    return found


def _starts_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or before[-1] in ".!?\"“”'’:;([-–—"


def is_elliptical(question: str) -> bool:
    """Whether the question leaves out what it asks about: "And in Germany?", "What about Merkel?", "When?"."""
    if _ELLIPTICAL.search(question.strip()):
        return True
    words = re.findall(r"[\w'’]+", question.lower())
    return bool(words) and all(w in _BARE_WORDS for w in words)


def starts_new_topic(question: str, last: Turn) -> bool:
    """Whether an elliptical opening leads into a question of its own: "What about the travel ban, which countries
    did it cover?" after a question on Kim Jong Nam. Its topic (the words between the opening and the question) has
    NEW_TOPIC_TERMS words or more, none of them in the last turn's question, search or headline, and it points back
    at no person. The answer's sentences are left out of the comparison: they carry words of their own beside the
    topic ("travel" in the story of a killing at an airport). "What about North Korea's reaction?" asks nothing
    of its own and stays a follow-up."""
    match = _OPENING_AND_QUESTION.match(question.strip())
    if match is None or _PEOPLE.search(question):
        return False
    own = {t for t in tokenize(question[match.end("opening"):]) if t not in _NOT_ENTITIES}
    if len(own) < NEW_TOPIC_TERMS:
        return False
    return not own & set(tokenize(" ".join((last.question, last.query, last.title))))


def is_follow_up(question: str, last: Turn | None = None) -> bool:
    """Whether the question needs an earlier turn to be understood; `last` is that turn, where there is one.

    A question that brings a topic of its own (`starts_new_topic`) stands alone. Ellipsis ("And in Germany?",
    "Why?") needs the turn before. A question that names someone or something stands alone unless a personal
    pronoun points back ("What did he say about Mexico?"). One that names nothing leans on the conversation when a
    pronoun points back or when it says too little to find a story by itself ("How many people were evacuated?").
    """
    if last is not None and starts_new_topic(question, last):
        return False
    if is_elliptical(question):
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
    if not history or not is_follow_up(question, history[-1]):
        return question
    last = history[-1]
    own = {e.lower() for e in entities(question)}
    context: list[str] = []
    # A follow-up points back at the last turn. Only when that turn named nothing itself (a follow-up that found
    # no answer) does the turn before it, the one both lean on, lend its names: a topic given up earlier never does.
    for turn in reversed(history[-2:]):
        # The answer's first name is usually its subject; a name inside one already kept adds nothing.
        for name in entities(turn.searched) + entities(turn.answer)[:1]:
            if name.lower() not in own and not any(name in c for c in context):
                context.append(name)
        if context or not is_follow_up(turn.question):
            break
    if is_elliptical(question):
        # "And in Germany?": carry the previous question's topic words over; the question's own name
        # takes the place of the earlier ones, so those are carried only when it names none.
        own_terms = set(tokenize(question))
        topic = [w for w in re.findall(r"[\w'’-]+", last.searched)
                 if w.lower() not in STOPWORDS and tokenize(w) and tokenize(w)[0] not in own_terms
                 and w.lower() not in _NOT_ENTITIES and not any(w in c for c in context)]
        context = topic + ([] if own else context)
    extra = " ".join(context[:8])
    return f"{question} {extra}".strip() if extra else question

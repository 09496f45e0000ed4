"""What kind of thing a question asks for: who / when / where / how_many / why / how / what.

The question word decides: the one that opens the question or one of its comma-separated parts,
maybe after a preposition ("Once the FARC disarms, which group…", "In what year…"), or that ends
it ("The storm hit when?"). A question word inside a clause asks nothing ("Did he resign when the
scandal broke?" is a yes/no question). "How many/much/long…" asks for a quantity, "who" for a
name. After "which" or "what" the head noun of the asked-about phrase decides ("which Kenyan High
Court judge ruled…" asks for a person, "what is the budget of…" for a quantity, "in which
county…" for a place). The phrase runs until an auxiliary, a preposition or a relative word, and
its last noun of a known class is taken as its head ("Which House Majority Whip" asks for a person,
not a number), unless a possessive names its owner first ("which company's shares": a company).
"""

from __future__ import annotations

import re
from typing import Literal

QuestionType = Literal["who", "when", "where", "how_many", "why", "how", "what"]

_NOUN_CLASSES: dict[QuestionType, str] = {
    "how_many": (
        "number|percentage|share|proportion|amount|fee|price|sum|budget|cap|limit|level|height|size|tally|count|rate|"
        "increase|decrease|rise|fall|drop|volume|cost|value|total|figure|margin|age|salary|fine|capacity|distance|"
        "length|population|turnout|score|temperature|speed|weight|ratio|growth|term|vote|stake|deficit|debt|revenue|"
        "profit|loss|wage|rent"
    ),
    "why": "reason|motive|explanation",
    "when": "year|month|day|date|time|deadline|decade|century|week|season|hour",
    "who": (
        "person|people|man|woman|official|minister|leader|president|lawyer|judge|journalist|blogger|author|writer|"
        "player|coach|spokesman|spokeswoman|spokesperson|senator|governor|mayor|chief|ceo|director|actor|actress|"
        "singer|politician|candidate|envoy|ambassador|general|commander|diplomat|economist|analyst|activist|suspect|"
        "victim|executive|founder|head|secretary|manager|chairman|chairwoman|member|group|company|firm|party|team|"
        "teacher|mp|td|lawmaker|legislator|congressman|congresswoman|fellow|commentator|counsellor|counselor|adviser|"
        "advisor|aide|photographer|artist|musician|rapper|band|star|athlete|footballer|doctor|scientist|professor|"
        "researcher|reporter|editor|presenter|host|businessman|businesswoman|billionaire|investor|entrepreneur|owner|"
        "prosecutor|attorney|officer|soldier|pilot|archbishop|bishop|priest|pope|cardinal|imam|king|queen|prince|"
        "princess|whip|deputy|commissioner|councillor|councilor|rival|bank|union|university|institution|academy|"
        "agency|organisation|organization|broadcaster|newspaper|network|club|brand|carrier|airline|manufacturer|"
        "maker|vendor|insurer|retailer|lender|operator|developer|giant"
    ),
    "where": (
        "city|country|town|village|region|state|province|place|island|district|capital|port|airport|venue|county|"
        "neighbourhood|neighborhood|station|base|street|square|hospital|prison|stadium|area|site|nation|continent|"
        "border|location|destination|territory|suburb|borough|resort|camp|facility"
    ),
}
_NOUN_CLASS = {noun: kind for kind, nouns in _NOUN_CLASSES.items() for noun in nouns.split("|")}
# words that end the asked-about phrase: auxiliaries, prepositions, relative words
_PHRASE_END = frozenset(
    "did does do was were is are has have had will would can could should may might must of in on at to from by "
    "with about for as after before over under into than that when where who whom which while".split()
)
_WORDS = r"(who|whom|whose|what|which|when|where|why|how)"
_PREPOSITION = (r"(?:in|on|at|by|from|for|of|to|with|under|after|before|during|since|until|into|over|about|against|"
                r"among|between|through|within|outside|inside|near|according to)")
# a question word opening the question or a comma-separated part of it, or ending it
_QUESTION_WORD = re.compile(
    rf"(?:^|[,;:]\s*)\W*(?:(?:and|but|so|then|roughly|about|approximately|around|exactly|nearly|almost)\s+)?"
    rf"(?:{_PREPOSITION}\s+)?{_WORDS}\b|\b{_WORDS}\W*$")
_QUANTITY = re.compile(r"^how (?:many|much|long|far|close|tall|high|old|big|large|deep|wide|often|fast|effective)\b")
_CAUSE = re.compile(r"^what (?:caused|prompted|led|drove)\b")
_PHRASE_LENGTH = 6


def question_type(question: str) -> QuestionType:
    """who / when / where / how_many / why / how / what, from the question's wording."""
    q = " ".join(question.lower().split())
    found = _QUESTION_WORD.search(q)
    if not found:
        return "what"
    word = found.group(1) or found.group(2)
    start = found.start(1) if found.group(1) else found.start(2)
    rest = q[start:]
    if word == "how":
        return "how_many" if _QUANTITY.search(rest) or q[:start].endswith("by ") else "how"
    if word in ("who", "whom", "whose"):
        return "who"
    if word in ("when", "where", "why"):
        return word
    if _CAUSE.search(rest):
        return "why"
    return _head_class(re.findall(r"\w[\w'’.-]*", q[start + len(word):])) or "what"


def _head_class(words: list[str]) -> QuestionType | None:
    """The class of the head noun of the phrase after "which"/"what" ("the name of", "kind of" skipped).

    A known noun in the possessive names the owner asked about ("which lawyer's report": a person);
    a compound counts as its last part ("vice-minister").
    """
    for lead in (("is", "was", "are", "were", "s"), ("the",), ("name", "names", "kind", "type", "sort", "one"),
                 ("of",), ("the",)):
        if words and words[0] in lead:
            words = words[1:]
    kind: QuestionType | None = None
    for word in words[:_PHRASE_LENGTH]:
        if word in _PHRASE_END:
            break
        noun = re.sub(r"['’]s?$", "", word)
        known = _NOUN_CLASS.get(_singular(noun.rsplit("-", 1)[-1]))
        if known and noun != word:
            return known
        kind = known or kind
    return kind


def _singular(word: str) -> str:
    """The known noun a plural names ("countries" -> "country"), else the word itself."""
    if word in _NOUN_CLASS or not word.endswith("s"):
        return word
    for suffix, replacement in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and word[: -len(suffix)] + replacement in _NOUN_CLASS:
            return word[: -len(suffix)] + replacement
    return word

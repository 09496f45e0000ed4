"""Cleaning: normalise an article's text and cut what is not its story (datelines, bylines, widgets, sign-offs).

Everything downstream (sentences, passages, citations) points into the text returned here, so the
cleaner decides once what a reader can be cited from. Scraped pages and HTML fragments are split into
headline, captions and body by `index.pages`, which calls `normalize_text`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_HSPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")

# Datelines that open wire and agency copy: "WASHINGTON (Reuters) - ", "Washington (CNN)" glued to the first word,
# "MOSCOW, February 7. /TASS/. ", "SEOUL, Feb 9 (Reuters) - ", "LONDON — ", "Islamabad, Pakistan -- ".
# A place is at most four capitalised words (a comma and a region or country may follow); an agency is one of the
# wires below in parentheses or slashes. Without an agency, the place must be in capitals, or "City, Country", and
# a dash must follow: "Rep. Sean Duffy (R-Wis.) said" and "Paris, the capital, ..." are prose, not datelines.
_AGENCIES = (r"CNN(?: ?Money)?|Reuters|AP|AFP|TASS|Xinhua|Bloomberg|UPI|dpa|DPA|ANI|PTI|IANS|PRNewswire|"
             r"Sputnik|EFE|Kyodo|Yonhap|Anadolu|IRNA|BBC|AA|RIA Novosti|Interfax")
_PLACE = r"[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,3}(?:, [A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,2})?"
_CAPS_PLACE = r"[A-Z][A-Z'’.-]+(?: [A-Z][A-Z'’.-]+){0,3}(?:, [A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,2})?"
_DATE = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2}(?:, \d{4})?"
_DASH = r"(?: ?[—–]+ ?| -+ ?| ?-- ?| ?\"\? ?)"  # '"?' is an em dash lost to a bad encoding (seen in wire copy)
_REGION = r"(?: ?[/(][A-Z][\w .'’-]{1,30}[/)])?"  # "INCHEON /Republic of Korea/", "KUMERTAU (Bashkiria)"
_DATELINE_OPENING = re.compile(
    rf"^(?:(?P<place>{_PLACE}){_REGION}(?:[,.] ?{_DATE})?[.,]? ?"
    rf"(?:\((?P<agency>{_AGENCIES})\)|/ ?(?P<slashed>{_AGENCIES})[^/\n]{{0,40}}/)(?:\.? ?-|\.)? ?(?:{_DASH}|: ?)?"
    rf"|(?P<caps>{_CAPS_PLACE})(?:,? {_DATE})?{_DASH}"
    rf"|(?P<city>[A-Z][a-z]+(?: [A-Z][a-z]+){{0,2}}, [A-Z][a-z]+(?: [A-Z][a-z]+){{0,2}}) ?(?:--|—) ?"
    r"|[-—–] )"  # the dash of a dateline an earlier tool cut away
    r"(?=[\"“'‘(]?[A-Z0-9])"
)


class Dateline(NamedTuple):
    """The dateline that opened an article: its place, the wire named in it ("" if none), and its length."""

    place: str
    agency: str
    length: int  # characters cut from the start of the text


def split_dateline(text: str) -> Dateline | None:
    """The dateline opening `text` ("WASHINGTON (Reuters) - ", "Washington (CNN)"), or None.

    What follows it must start like a sentence, and at least a short sentence must be left after it.
    """
    match = _DATELINE_OPENING.match(text)
    if match is None or len(text) - match.end() < 20:
        return None
    place = match.group("place") or match.group("caps") or match.group("city") or ""
    agency = match.group("agency") or match.group("slashed") or ""
    return Dateline(place.strip(" ,."), agency, match.end())


# A byline glued to the body where a page's lines were joined: "By Phil McNulty Chief football writer at the King
# Power Stadium Share this with Leicester City wrote...", "By Robert Faturechi ProPublica, March 17, 2017, 2:13 p.m.
# Former U.S. Attorney...". Only cut where a page widget or a time of posting ends it: a byline with no such end
# cannot be told from the sentence that follows.
_GLUED_BYLINE = re.compile(
    r"^By (?P<byline>[A-Z][^\n]{2,140}?)"
    r"(?: Share this with| Media playback is not supported on this device| \d{1,2}:\d{2} ?[ap]\.m\.)"
    r"(?: Media playback is not supported on this device)? "
    r"(?=[\"“'‘]?[A-Z0-9])"
)
# Page widgets' words left in the text of scraped BBC pages; they are never part of a story.
_WIDGET_TEXT = re.compile(r" ?\bMedia playback is not supported on this device\b ?")
# DW's share buttons and permalink, between a story's sections or at its end; a new section follows them.
_SHARE_WIDGET = re.compile(
    r"[ \t]*\bSend Facebook Twitter Google\+ Whatsapp Tumblr linkedin stumble Digg reddit Newsvine Permalink"
    r"(?:[ \t]+https?://(?:www\.)?dw\.com/p/\w+)?[ \t-]*")
# An editors' sign-off ending a story: initials, the wires it drew on, a stray dash ("jbh/rt (AFP/Reuters)",
# "ipj/rt-(AFP, dpa, Reuters)", "mp (DPA/Reuters) -"), and an author line before it ("Author: Rachel Stewart").
_SIGN_OFF = re.compile(
    r"(?:^|(?<=\s))(?P<initials>[a-z]{1,4}(?:/[a-z]{1,4})*)[ \t]*[-–]?[ \t]*"
    r"(?P<wires>\([^()\n]{1,60}\))?[\s\-–]*$")
_WIRES = re.compile(rf"\((?:with )?(?:{_AGENCIES})\b", re.IGNORECASE)
_AUTHOR_LINE = re.compile(  # "Author: Sabine Oelze / db", "Author: Jochen Kürten (eg)": the initials are an editor's
    r"(?:(?<=[.!?\"”’])\s*|\n|^)Author: (?P<author>[A-Z][^\n.!?:/()]{2,80}?)(?:\s*/\s*[a-z]{1,4}|\s*\([a-z]{1,4}\))?\s*$")
_TRAILING_DASHES = re.compile(r"(?:(?<=[.!?\"”’)\s])|^)[\s\-–]*[-–][\s\-–]*$")


def split_byline(text: str) -> tuple[str, int] | None:
    """(byline, characters to cut) for a byline glued to the start of `text`, or None."""
    match = _GLUED_BYLINE.match(text)
    if match is None or len(text) - match.end() < 20:
        return None
    return match.group("byline").strip(" ,"), match.end()


def drop_widget_text(text: str) -> str:
    """`text` without page-widget phrases ("Media playback is not supported on this device"; share buttons; links to
    other stories, `drop_read_more`)."""
    text = drop_read_more(_MANY_NEWLINES.sub("\n\n", _SHARE_WIDGET.sub("\n\n", text)))
    return _WIDGET_TEXT.sub(lambda m: " " if m.group(0).startswith(" ") and m.group(0).endswith(" ") else "", text)


# A link to another story between two paragraphs, its line break lost: "… treatment. READ MORE: Fatah and Hamas to
# form unity government There was no immediate claim …". The headline is in sentence case, so the story's next
# sentence is known to start where a line break or a capitalised function word follows it ("The" of a name aside).
_READ_MORE = re.compile(r"(?:(?<=\s)|^)READ MORE: ")
_SENTENCE_OPENERS = frozenset(
    "The A An In On At While He She It They We But And This That These Those According However After Before When As "
    "If Since Although Its His Her Their Our There Some Many Most Last Earlier Later Meanwhile Despite For With From "
    "Under During Among Also Yet So Now Then Several Both Such Each Speaking Asked Following Over About By Of".split())
_NAMES_WITH_THE = re.compile(r"The (?:Associated Press|Hague|New York Times|Washington Post|Wall Street Journal|"
                             r"Times|Guardian|Independent|Telegraph|Economist|Atlantic|Netherlands|Gambia|Bahamas|"
                             r"Daily|Sunday|Financial Times|Los Angeles Times|New Yorker|Huffington Post)\b")
_SENTENCE_END = re.compile(r"[.!?…][\"”'’)\]]*$")
_ABBREVIATION = re.compile(r"(?:[A-Z]\.)+|(?:Dr|St|Mr|Mrs|Ms|vs|Gen|Sen|Rep|Gov)\.")
_HEADLINE_WORDS = 25


def drop_read_more(text: str) -> str:
    """`text` without the "READ MORE: <headline>" links glued into it, where the headline's end is known (see above):
    another story's headline is no sentence of this one. Where it is not known, before the next sentence's end, the
    link is left: cutting at a guess could take a sentence of the story with it."""
    out, last = [], 0
    for match in _READ_MORE.finditer(text):
        if match.start() < last:
            continue
        end = _headline_end(text, match.end())
        if end is not None:
            out.append(text[last : match.start()].rstrip() + "\n\n")
            last = end
            while last < len(text) and text[last] in " \t":
                last += 1
    return ("".join(out) + text[last:]).strip() if out else text


def _headline_end(text: str, start: int) -> int | None:
    """Where the headline starting at `start` ends: at a line break, or before the next sentence's opening word if one
    comes outside the headline's own single quotes ("'Hope is all I have', Syrian journalist says") before anything
    that could end a sentence or open a quotation of the story's; None where that is not known."""
    window = text[start : start + 400]
    words = list(re.finditer(r"\S+", window))
    quoted = False
    for i, word in enumerate(words[:_HEADLINE_WORDS]):
        token = word.group()
        if i >= 1 and "\n" in window[words[i - 1].end() : word.start()]:
            return start + word.start()
        if (i >= 2 and token in _SENTENCE_OPENERS and not quoted and not _NAMES_WITH_THE.match(window, word.start())
                and not words[i - 1].group().endswith((":", ",", "-", "—", "–"))):
            return start + word.start()
        if token[0] in "\"“" or ("?" in token and not quoted) or (
                _SENTENCE_END.search(token) and not _ABBREVIATION.fullmatch(token)):
            return None  # a quotation or a sentence of the story's may have begun: where is not known
        if token[0] in "'‘":
            quoted = True
        if token.rstrip(",.;:!?").endswith(("'", "’")):
            quoted = False
    if len(words) <= _HEADLINE_WORDS and start + 400 >= len(text):
        return len(text)  # the link ends the story
    return None


def split_sign_off(text: str) -> tuple[str, str]:
    """(`text` without the sign-off ending it, the author it names or ""): see `_SIGN_OFF`. The sign-off is no
    sentence of the story, and glued to its last one it would be cited with it."""
    text = text.rstrip()
    sign_off = _SIGN_OFF.search(text)
    if sign_off is not None:
        before = text[: sign_off.start()].rstrip(" \t-–")
        # editors' initials ("jbh/rt") or a sentence's end before one ("mp"), and a news agency among the wires or
        # both: "he said (AFP)", "yes and/or" and "was (in part) legal" are prose
        slashed, after_sentence = "/" in sign_off.group("initials"), not before or before[-1] in ".!?\"”’)"
        agency = bool(sign_off.group("wires") and _WIRES.match(sign_off.group("wires")))
        if (slashed and (agency or after_sentence)) or (agency and after_sentence):
            text = before
    text = _TRAILING_DASHES.sub("", text).rstrip()
    author = _AUTHOR_LINE.search(text)
    if author is None:
        return text, ""
    return text[: author.start()].rstrip(), author.group("author").strip(" ,")


def replace_surrogates(text: str) -> str:
    """Lone surrogates (from JSON escapes such as "\\ud800") become U+FFFD: they cannot be stored as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


# Curly punctuation lost to a bad encoding in scraped copy (a quarter of the demo corpus's articles, most of them
# HuffPost, ABC News and TASS pages): a closing quote with the space after it, or a dash between spaces, became '"?',
# and an apostrophe became '"'. ftfy, the library that repairs mojibake, needs the bytes, and these are gone; what
# stood there is told by where the mark stands. '"?' before a space or at the end is left alone: it can be a
# question's own mark after a quotation ('Did he say "yes"?').
_LOST_DASH = re.compile(r'(?<=\s)"\?(?=[^\s"?])')  # 'no such attack "?but RT' -> 'no such attack — but RT'
_LOST_QUOTE = re.compile(r'(?<=[^\s"])"\?(?=[\w"“‘(\[$£€])')  # 'bodies,"?she told' -> 'bodies," she told'
_LOST_APOSTROPHE = re.compile(r"(?<=[A-Za-z])\"(?=(?:t|s|re|ll|ve|d|m)\b)")  # 'didn"t' -> "didn't"


# The links of an embedded tweet ("#PassTheBill pic.twitter.com/XG6lQIy5a6"): shortened, they say nothing a reader
# could be cited for, and a reader model takes them for names ("iQmaYHinnl").
_TWEET_LINKS = re.compile(r"[ \t]?(?<![\w/])(?:https?://t\.co/\w+|pic\.twitter\.com/\w+)")


def repair_lost_punctuation(text: str) -> str:
    """Put back the quotes, dashes and apostrophes a bad encoding turned into '"?' and '"' (see above).

    A lost mark after a plural with no quotation open on its line ('states"?rights') was an apostrophe.
    """
    if '"' not in text:
        return text
    text = _LOST_APOSTROPHE.sub("'", text)
    text = _LOST_DASH.sub("— ", text)

    def closing(match: re.Match[str]) -> str:
        line = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
        return "' " if line.endswith("s") and line.count('"') % 2 == 0 else '" '

    return _LOST_QUOTE.sub(closing, text)


def normalize_text(text: str) -> str:
    """Drop control characters, NFC-normalise, put back punctuation lost to a bad encoding
    (`repair_lost_punctuation`), drop embedded tweets' short links, collapse runs of spaces, keep paragraph breaks.

    Lone surrogates (which cannot be stored as UTF-8) become U+FFFD. Characters are dropped before
    NFC so that a removed zero-width space cannot leave an uncomposed pair behind.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text.replace("\u00a0", " ").replace("\t", " "))
    text = repair_lost_punctuation(unicodedata.normalize("NFC", replace_surrogates(text)))
    text = _TWEET_LINKS.sub("", text)
    lines = [_HSPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()

"""Cleaning: normalise text and strip page furniture (section lines, captions, footers) from scraped news.

Everything downstream (sentences, passages, citations) points into the text returned here, so the
cleaner decides once what a reader can be cited from: the headline and photo captions are kept as
metadata, never as answer text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_HSPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")

# "News / Syria", "World / Middle East / Iraq": a breadcrumb of short segments separated by slashes.
_SECTION_LINE = re.compile(r"^[\w&'’.-]+(?: [\w&'’.-]+){0,3}(?: ?[/|>»›] ?[\w&'’.-]+(?: [\w&'’.-]+){0,3})+$")
# A line that ends with a picture credit: "(AFP photo)", "(Photo by AFP)", "(Via AP)", "(Reuters/File)".
_CAPTION_CREDIT = re.compile(
    r"\((?:[^()]{0,60}\b(?:photos?|pictures?|images?|via|file|afp|ap|reuters|getty|epa|ani|xinhua|"
    r"anadolu|sputnik|tass|irna|shutterstock)\b[^()]{0,60})\)\s*\.?$",
    re.IGNORECASE,
)
_CAPTION_START = re.compile(r"^(?:photo|file photo|image|picture|caption)\s*[:|-]", re.IGNORECASE)
_FURNITURE = re.compile(
    r"website can (?:also )?be accessed|alternate addresses|follow us on|subscribe to|sign up for|"
    r"all rights reserved|^©|copyright \d{4}|click here|share this|^related\b|^read more|^advertisement$|"
    r"^tags?\b|^topics?:|^more on this story|^more from|^see also|"
    r"download (?:the|our) app|newsletter",
    re.IGNORECASE,
)
_ENDS_LIKE_PROSE = re.compile(r"[.!?:;…\"'”’)]\s*$")
# Footer links and tag lists are a few words; a longer line is prose that lost its final period.
_SHORT_LINE_WORDS = 6
# "Published: March 3, 2017", "Updated 10:42 GMT", "By Jane Doe, Harbor Gazette": lines between headline and body.
# A byline names people, never ends like a sentence ("By Monday, all were safe." is prose).
_DATELINE = re.compile(
    r"^(?:(?i:published|updated|posted|last updated)\b.{0,60}\d[^.!?]{0,12}"
    r"|[Bb][Yy] [A-Z][\w'’.-]*(?:,? (?:and |of |de )?[A-Z][\w'’-]*){0,6})$"
)


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
    r"(?:[ \t]+https?://\S+)?[ \t-]*")
# An editors' sign-off ending a story: initials, the wires it drew on, a stray dash ("jbh/rt (AFP/Reuters)",
# "ipj/rt-(AFP, dpa, Reuters)", "mp (DPA/Reuters) -"), and an author line before it ("Author: Rachel Stewart").
_SIGN_OFF = re.compile(
    r"(?:^|(?<=\s))[a-z]{1,4}(?:/[a-z]{1,4})*[ \t]*[-–]?[ \t]*(?P<wires>\([^()\n]{1,60}\))?[\s\-–]*$")
_WIRES = re.compile(rf"\((?:with )?(?:{_AGENCIES})\b", re.IGNORECASE)
_AUTHOR_LINE = re.compile(r"(?:(?<=[.!?\"”’])\s*|\n|^)Author: (?P<author>[A-Z][^\n.!?]{2,80}?)\s*$")
_TRAILING_DASHES = re.compile(r"(?<=[.!?\"”’)\s])[\s\-–]*[-–][\s\-–]*$")


def split_byline(text: str) -> tuple[str, int] | None:
    """(byline, characters to cut) for a byline glued to the start of `text`, or None."""
    match = _GLUED_BYLINE.match(text)
    if match is None or len(text) - match.end() < 20:
        return None
    return match.group("byline").strip(" ,"), match.end()


def drop_widget_text(text: str) -> str:
    """`text` without page-widget phrases ("Media playback is not supported on this device"; share buttons)."""
    text = _SHARE_WIDGET.sub("\n\n", text)
    return _WIDGET_TEXT.sub(lambda m: " " if m.group(0).startswith(" ") and m.group(0).endswith(" ") else "", text)


def split_sign_off(text: str) -> tuple[str, str]:
    """(`text` without the sign-off ending it, the author it names or ""): see `_SIGN_OFF`. The sign-off is no
    sentence of the story, and glued to its last one it would be cited with it."""
    text = text.rstrip()
    sign_off = _SIGN_OFF.search(text)
    if sign_off is not None:
        initials, wires = sign_off.group().split("(")[0], sign_off.group("wires")
        before = text[: sign_off.start()].rstrip(" \t-–")
        # editors' initials ("jbh/rt") or a sentence's end before one ("mp"), and a news agency among the wires or
        # both: "he said (AFP)", "yes and/or" and "was (in part) legal" are prose
        slashed, after_sentence = "/" in initials, not before or before[-1] in ".!?\"”’)"
        agency = bool(wires and _WIRES.match(wires))
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


def is_caption(line: str) -> bool:
    """True for photo captions such as '... (AFP photo)' or 'Photo: ...'."""
    return bool(_CAPTION_CREDIT.search(line) or _CAPTION_START.match(line))


def is_furniture(line: str) -> bool:
    """True for site furniture: footers, sharing prompts, copyright lines."""
    return bool(_FURNITURE.search(line))


@dataclass(frozen=True)
class CleanedPage:
    """A scraped page split into the parts a reader sees and the parts answers may cite."""

    title: str
    text: str
    section: str = ""
    captions: tuple[str, ...] = ()
    removed: tuple[str, ...] = field(default=())  # furniture lines, kept for inspection


def clean_scraped_page(raw: str) -> CleanedPage:
    """Split a scraped news page (.txt) into headline, section, captions, body text and furniture.

    Layout handled: an optional breadcrumb line ("News / Syria"), the headline (first short line), byline
    and date lines under it, caption lines anywhere, body paragraphs, and a trailing block of site furniture
    (a last paragraph that merely lacks its final period is kept).
    """
    lines = [line for line in normalize_text(raw).split("\n")]
    nonblank = [i for i, line in enumerate(lines) if line]
    section, title = "", ""
    cursor = 0
    if nonblank and _is_breadcrumb(lines[nonblank[0]]):
        section = re.sub(r"\s*[/|>»›]\s*", " / ", lines[nonblank[0]])
        cursor = 1
    if cursor < len(nonblank):
        candidate = lines[nonblank[cursor]]
        if len(candidate) <= 200 and not is_caption(candidate):
            title = candidate
            cursor += 1
    body_lines = [lines[i] for i in nonblank[cursor:]]
    removed: list[str] = []
    while body_lines and _DATELINE.match(body_lines[0]):  # byline and dates under the headline
        removed.append(body_lines.pop(0))
    captions = tuple(line for line in body_lines if is_caption(line))
    kept = [line for line in body_lines if not is_caption(line)]
    footer: list[str] = []
    # Trailing furniture: footer lines, and short non-prose lines after the last paragraph.
    while kept and (is_furniture(kept[-1]) or _is_short_non_prose(kept[-1])):
        footer.insert(0, kept.pop())
    removed += footer
    body: list[str] = []
    for line in kept:
        (removed if is_furniture(line) else body).append(line)
    return CleanedPage(
        title=title, text="\n\n".join(body), section=section, captions=captions, removed=tuple(removed)
    )


def _is_breadcrumb(line: str) -> bool:
    """"News / Syria", "Home | World | Europe": short segments between separators (a headline may hold one "|")."""
    return bool(_SECTION_LINE.match(line)) and ("/" in line or len(re.findall(r"[|>»›]", line)) >= 2)


def _is_short_non_prose(line: str) -> bool:
    return not _ENDS_LIKE_PROSE.search(line) and (len(line.split()) <= _SHORT_LINE_WORDS or "|" in line)


class _HTMLText(HTMLParser):
    """Collects title, meta tags, paragraphs and captions from an article page; skips scripts and chrome."""

    _SKIP = {"script", "style", "noscript", "nav", "footer", "header", "aside", "form", "iframe", "svg", "button"}
    _BLOCK = {"p", "h1", "h2", "h3", "h4", "li", "blockquote", "figcaption", "div", "section", "article", "br"}
    # Blocks whose id or class names page chrome: comments, related stories, sharing, newsletters, ads.
    _CHROME = re.compile(r"(?:^|[\s_-])(?:comments?|related|share|sharing|social|newsletter|promo|advert\w*|ads?|"
                         r"sidebar|breadcrumbs?|cookie\w*|subscribe|recommended|more-stories|outbrain|taboola)"
                         r"(?:$|[\s_-])", re.IGNORECASE)

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self.h1 = ""
        self.blocks: list[tuple[str, str]] = []  # (tag, text)
        self._skip_depth = 0
        self._article_depth = 0
        self._skipped: list[bool] = []  # per open header: whether it was skipped (a site's, not an article's)
        self._stack: list[str] = []
        self._buffer: list[str] = []
        self._in_title = False
        self._chrome: list[list] = []  # [tag, open count] of each chrome block being skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._chrome and tag == self._chrome[-1][0]:
            self._chrome[-1][1] += 1
        elif tag in self._BLOCK | {"ul", "ol", "aside"} and tag != "article" and self._CHROME.search(
                " ".join(v or "" for k, v in attrs if k in ("id", "class"))):
            self._flush()
            self._chrome.append([tag, 1])
            self._skip_depth += 1
            return
        if tag == "meta":
            values = {k: v or "" for k, v in attrs}
            key = values.get("property") or values.get("name") or values.get("itemprop")
            if key and "content" in values:
                self.meta.setdefault(key.lower(), values["content"])
            return
        if tag == "time" and not self._skip_depth and (stamp := dict(attrs).get("datetime")):
            self.meta.setdefault("time", stamp)  # the first <time datetime> is the publication's, as a fallback
        if tag == "article":
            self._article_depth += 1
        if tag == "header":  # a site's header is chrome; an article's holds its headline
            self._flush()
            self._skipped.append(not self._article_depth)
            self._skip_depth += not self._article_depth
        elif tag in self._SKIP:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        if tag in self._BLOCK:
            self._flush()
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._chrome and tag == self._chrome[-1][0]:
            self._chrome[-1][1] -= 1
            if not self._chrome[-1][1]:
                self._chrome.pop()
                self._skip_depth = max(0, self._skip_depth - 1)
                return
        if tag == "article":
            self._article_depth = max(0, self._article_depth - 1)
        if tag == "header":
            self._flush()
            self._skip_depth = max(0, self._skip_depth - (self._skipped.pop() if self._skipped else True))
        elif tag in self._SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "title":
            self._in_title = False
        if tag in self._BLOCK:
            self._flush()
            if tag in self._stack:
                while self._stack and self._stack.pop() != tag:
                    pass

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip_depth:
            self._buffer.append(data)

    def _flush(self) -> None:
        text = normalize_text(" ".join(self._buffer))
        self._buffer = []
        if not text:
            return
        tag = "figcaption" if "figcaption" in self._stack else (self._stack[-1] if self._stack else "p")
        if tag == "h1" and not self.h1:
            self.h1 = text
        if False in self._skipped and tag != "h1":  # in an article's header: its headline counts, its byline does not
            return
        self.blocks.append((tag, text))

    def close(self) -> None:
        super().close()
        self._flush()


@dataclass(frozen=True)
class HTMLPage:
    title: str
    text: str
    date: str
    url: str
    captions: tuple[str, ...]
    site: str = ""  # og:site_name: the outlet's own name
    published: str = ""  # the publication date of the page's meta tags alone ("" when it has none)


def clean_html(html: str) -> HTMLPage:
    """Extract an article from HTML: headline, publication date, canonical URL, body paragraphs.

    Scripts, styles and page chrome (nav, header, footer, aside, forms) never reach the text;
    figure captions are returned separately.
    """
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    meta = parser.meta
    title = meta.get("og:title") or parser.h1 or normalize_text(parser.title)
    captions = tuple(text for tag, text in parser.blocks if tag == "figcaption" or is_caption(text))
    paragraphs = [
        text
        for tag, text in parser.blocks
        if tag != "figcaption" and text not in (title, parser.h1) and not is_caption(text) and not is_furniture(text)
    ]
    published = (meta.get("article:published_time") or meta.get("article:published") or meta.get("datepublished")
                 or meta.get("date") or "")
    url = meta.get("og:url", "")
    return HTMLPage(title=title, text="\n\n".join(paragraphs), date=published or meta.get("time", ""), url=url,
                    captions=captions, site=meta.get("og:site_name", ""), published=published)

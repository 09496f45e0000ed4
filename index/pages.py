"""Pages: the text of a scraped news page (.txt) or an HTML fragment, without its furniture.

Section lines, the headline, bylines and dates under it, photo captions and footers are told apart from the
story's paragraphs; the headline and captions are kept as metadata, never as answer text. The text itself is
normalised by `index.clean`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from index.clean import normalize_text

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

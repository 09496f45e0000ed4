"""Web pages: the article of one saved or fetched HTML page, read with trafilatura.

trafilatura (a maintained news and web-text extractor: boilerplate removal with its own readability
and jusText fallbacks, htmldate for dates) finds the main text, the date and the author. The page's
own ``<meta>`` tags (og:title, og:site_name, og:url, article:published_time), read by the small walker
in `index.pages`, give the headline, the outlet, the URL and the date where they are there, with
trafilatura's as the fallback (its date from markup and the URL only: htmldate's search of the text
turned "Copyright 2017" into 2017-01-01); the walker also
collects the photo captions, which are kept as metadata and never as answer text.

That split is measured, field by field, on real saved news pages (``newsqa eval --task
html-extraction``, see `eval/html_extraction.py`): trafilatura's text and dates are far better than
the walker's, its headlines and outlet names slightly worse than the meta tags'.
"""

from __future__ import annotations

import functools
import logging
import re
from configparser import ConfigParser
from dataclasses import dataclass

from index.clean import normalize_text
from index.pages import clean_html, is_caption

# trafilatura logs every page it finds too short or empty at WARNING; the reader reports those itself.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

_LIST_MARK = re.compile(r"^[-•*]\s+")
# Author strings that name a widget or a newsroom, not a person.
_NOT_AN_AUTHOR = re.compile(r"^(?:username|admin|staff|editor|national desk|web desk|news desk)$", re.IGNORECASE)


@dataclass(frozen=True)
class WebPage:
    """What one HTML page holds: the answerable text and its metadata."""

    title: str
    text: str
    date: str  # as the page gives it (ISO date or date-time), "" when unknown
    url: str
    site: str  # the outlet's own name, "" when the page gives none
    author: str
    captions: tuple[str, ...]
    extractor: str  # "trafilatura", or "walker" when trafilatura found no text


def extract_page(html: str, url: str = "") -> WebPage:
    """The article of one HTML page (`url`: where it came from, for relative links and the outlet)."""
    walked = clean_html(html)
    document = trafilatura_fields(html, url)
    title = walked.title or normalize_text(document.get("title") or "")
    captions = set(walked.captions)
    text = _body(document.get("text") or "", title, captions)
    extractor = "trafilatura"
    if not text:  # a fragment or a page trafilatura cannot read: the walker's paragraphs
        text, extractor = walked.text, "walker"
    author = normalize_text(document.get("author") or "")
    return WebPage(
        title=title,
        text=text,
        date=walked.published or document.get("date") or walked.date,
        url=walked.url or document.get("url") or "",
        site=walked.site or _outlet_name(document.get("sitename") or ""),
        author="" if _NOT_AN_AUTHOR.match(author) else author,
        captions=walked.captions,
        extractor=extractor,
    )


# trafilatura's settings: a brief of two short paragraphs is still an article. Under MIN_EXTRACTED_SIZE
# characters (250 by default) trafilatura swaps its result for a flat dump of the whole page, headline
# and captions run into the first paragraph.
_MIN_EXTRACTED_CHARS = 25
_DATE_PARAMS = {"extensive_search": False, "original_date": True}


@functools.cache
def _config() -> ConfigParser:
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(_MIN_EXTRACTED_CHARS))
    return config


def trafilatura_fields(html: str, url: str) -> dict:
    """trafilatura's own fields of a page (text, title, author, date, sitename, url, …); {} when it finds none."""
    import trafilatura  # imported on first use: lxml and htmldate cost ~0.3 s to load

    try:
        # favor_recall: on the labelled pages, text F1 0.965 against 0.948 balanced and 0.944 for precision
        document = trafilatura.bare_extraction(html, url=url or None, with_metadata=True, include_comments=False,
                                               include_images=False, include_links=False, deduplicate=False,
                                               favor_recall=True, config=_config(),
                                               date_extraction_params=_DATE_PARAMS)
    except (ValueError, TypeError):  # markup lxml cannot build a tree from
        return {}
    return document.as_dict() if document is not None else {}


def _outlet_name(sitename: str) -> str:
    """trafilatura's site name, unless it is only a host name (the reader maps hosts to outlets itself)."""
    sitename = normalize_text(sitename)
    return "" if re.fullmatch(r"(?:https?://)?[\w.-]+\.[a-z]{2,}/?", sitename, re.IGNORECASE) else sitename


def _body(text: str, title: str, captions: set[str]) -> str:
    """trafilatura's lines as paragraphs, without the headline, the captions and page furniture."""
    paragraphs = []
    for line in text.splitlines():
        line = normalize_text(line)
        bare = _LIST_MARK.sub("", line)
        if not line or bare == title or bare in captions or is_caption(bare):
            continue
        paragraphs.append(line)
    return "\n\n".join(paragraphs)

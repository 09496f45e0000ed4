"""Records: one `Article` from the fields of a record (a JSONL object, a CSV row), its text cleaned.

Field names vary by source (`id` or `article_id`, `date` or `published`, `url` or `link`); dates are read from
the common news formats, the outlet from the URL's host when no `source` is given. A record that cannot be an
article becomes a `RecordError` naming where it was. `cut_dateline` also serves pages and feed entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlparse

from index.clean import (drop_widget_text, normalize_text, replace_surrogates, split_byline, split_dateline,
                         split_sign_off)
from index.models import Article

MAX_TEXT_CHARS = 2_000_000  # a record longer than this is refused rather than indexed


def max_record_bytes() -> int:
    """Longest line or one-article file read: MAX_TEXT_CHARS characters as JSON escapes (6 bytes) plus other fields."""
    return 6 * MAX_TEXT_CHARS + 65_536


_ID_FIELDS = ("article_id", "id", "doc_id")
_DATE_FIELDS = ("date", "publish_date", "published", "pubdate")
_URL_FIELDS = ("url", "article_source_link", "link")
UNDECODED = re.compile(r"[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape
_KNOWN_FIELDS = set(_ID_FIELDS + _DATE_FIELDS + _URL_FIELDS + ("title", "text", "source", "subtitle"))

OUTLET_NAMES = {
    "abcnews.go.com": "ABC News",
    "aljazeera.com": "Al Jazeera",
    "tass.com": "TASS",
    "rte.ie": "RTÉ",
    "huffingtonpost.com": "HuffPost",
    "dw.com": "DW",
    "europe.chinadaily.com.cn": "China Daily",
    "bbc.co.uk": "BBC",
    "bbc.com": "BBC",
    "cnn.com": "CNN",
    "presstv.com": "Press TV",
    "presstv.ir": "Press TV",
}


@dataclass(frozen=True)
class RecordError:
    """A record that could not be read: `location` is 'file' or 'file:line'.

    With `kept`, a warning about a record that was still read (e.g. a page decoded as cp1252).
    """

    location: str
    reason: str
    kept: bool = False

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


Record = Article | RecordError


def outlet_from_url(url: str) -> str:
    """Outlet name from a URL's host ("http://www.bbc.co.uk/news/x" -> "BBC")."""
    host = urlparse(url).hostname or ""
    host = host.removeprefix("www.")
    return OUTLET_NAMES.get(host, host)


def normalize_date(value: str) -> str:
    """ISO date (YYYY-MM-DD) from common news formats; "" when it cannot be read."""
    value = (value or "").strip()
    if not value:
        return ""
    match = re.match(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", value)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return datetime(year, month, day).date().isoformat()
        except ValueError:
            return ""
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in ("%B %d, %Y", "%d %B %Y", "%b %d, %Y", "%b. %d, %Y", "%d %b %Y", "%m/%d/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return ""


def cut_dateline(text: str, metadata: dict[str, Any]) -> str:
    """The text without a byline glued to its start, page-widget phrases, its opening dateline
    ("WASHINGTON (Reuters) - ") and an editors' sign-off at its end ("jbh/rt (AFP/Reuters)"); the byline (or the
    sign-off's author), place and wire go into `metadata`."""
    text, author = split_sign_off(drop_widget_text(text).strip())
    if author:
        metadata.setdefault("byline", author)
    byline = split_byline(text)
    if byline is not None:
        metadata.setdefault("byline", byline[0])
        text = text[byline[1] :]
    dateline = split_dateline(text)
    if dateline is None:
        return text
    if dateline.place:
        metadata.setdefault("dateline", dateline.place)
    if dateline.agency:
        metadata.setdefault("agency", dateline.agency)
    return text[dateline.length :]


def records_from_fields(fields: dict[str, Any], location: str, fallback_id: str) -> Iterator[Record]:
    """The article of a JSONL object or CSV row, after a warning when its date could not be read (kept undated)."""
    record = article_from_fields(fields, location, fallback_id)
    if isinstance(record, Article) and not record.date and record.metadata.get("raw_date"):
        yield RecordError(location, f"date not understood ({record.metadata['raw_date']!r}); kept undated", kept=True)
    yield record


def article_from_fields(fields: dict[str, Any], location: str, fallback_id: str) -> Record:
    """Build an Article from a mapping of article fields (JSONL object, CSV row)."""
    def first(names: tuple[str, ...]) -> str:
        for name in names:
            value = fields.get(name)
            if value not in (None, ""):
                return str(value)
        return ""

    text = fields.get("text")
    if not isinstance(text, str) or not text.strip():
        return RecordError(location, "missing or empty 'text'")
    if len(text) > MAX_TEXT_CHARS:
        return RecordError(location, f"text has {len(text):,} characters, over the limit of {MAX_TEXT_CHARS:,}")
    if UNDECODED.search(text):
        return RecordError(location, "text is not valid UTF-8")
    metadata = {k: v for k, v in fields.items() if k not in _KNOWN_FIELDS and v not in (None, "")}
    cleaned = cut_dateline(normalize_text(text), metadata)
    if not cleaned:
        return RecordError(location, "text is empty after cleaning")
    doc_id = replace_surrogates(first(_ID_FIELDS)).strip() or fallback_id
    url = replace_surrogates(first(_URL_FIELDS))
    raw_date = first(_DATE_FIELDS)
    if raw_date:
        metadata.setdefault("raw_date", raw_date)
    return Article(
        doc_id=doc_id,
        title=normalize_text(str(fields.get("title") or "")),
        subtitle=normalize_text(str(fields.get("subtitle") or "")),
        text=cleaned,
        date=normalize_date(raw_date),
        source=replace_surrogates(str(fields.get("source") or "")) or outlet_from_url(url),
        url=url,
        metadata=metadata,
    )

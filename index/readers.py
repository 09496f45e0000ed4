"""Readers: turn files (JSONL, JSON, CSV/TSV, scraped .txt pages, HTML, RSS/Atom) into `Article`s.

Readers never raise on bad input: each bad record becomes a `RecordError` naming the file and
line, and reading goes on with the next record. Memory stays bounded on hostile input: a JSONL
or CSV line, or a one-article file (.txt, .html), longer than `max_record_bytes()` is refused
without being loaded.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, AnyStr, NamedTuple
from urllib.parse import urlparse

from index.clean import (clean_html, clean_scraped_page, drop_widget_text, normalize_text, replace_surrogates,
                         split_byline, split_dateline, split_sign_off)
from index.html_page import extract_page
from index.models import Article

MAX_TEXT_CHARS = 2_000_000  # a record longer than this is refused rather than indexed


def max_record_bytes() -> int:
    """Longest line or one-article file read: MAX_TEXT_CHARS characters as JSON escapes (6 bytes) plus other fields."""
    return 6 * MAX_TEXT_CHARS + 65_536


_ID_FIELDS = ("article_id", "id", "doc_id")
_DATE_FIELDS = ("date", "publish_date", "published", "pubdate")
_URL_FIELDS = ("url", "article_source_link", "link")
_UNDECODED = re.compile(r"[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape
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

TEXT_SUFFIXES = {".txt"}
HTML_SUFFIXES = {".html", ".htm"}
FEED_SUFFIXES = {".rss", ".atom", ".xml"}
TABLE_SUFFIXES = {".csv", ".tsv"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES | TABLE_SUFFIXES | JSON_SUFFIXES


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
    if _UNDECODED.search(text):
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


def decode_bytes(data: bytes) -> tuple[str, str | None]:
    """UTF-8, else cp1252 (Latin-1 family) with a note naming the first bad byte, as scraped pages often are."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return data.decode("cp1252", errors="replace"), f"not valid UTF-8 (line {line}, byte {exc.start})"


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or more than 10% control bytes other than tab, newline, form feed and carriage return."""
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return b"\x00" in head or controls * 10 > len(head)


def _bounded_lines(handle: IO[AnyStr], limit: int) -> Iterator[tuple[AnyStr | None, int]]:
    """(line, size) of a file; line is None when longer than `limit` (then skipped, never held whole)."""
    ends = ("\n", "\r") if isinstance(handle, io.TextIOBase) else (b"\n",)
    while line := handle.readline(limit + 1):
        if len(line) <= limit:
            yield line, len(line)
            continue
        size = len(line)
        while not line.endswith(ends) and (line := handle.readline(1 << 16)):
            size += len(line)
        yield None, size


def _too_long(size: int, limit: int, unit: str = "bytes") -> str:
    return f"line of {size:,} {unit} is over the limit of {limit:,}; skipped"


def read_jsonl(path: Path) -> Iterator[Record]:
    limit = max_record_bytes()
    with path.open("rb") as handle:
        for number, (raw, size) in enumerate(_bounded_lines(handle, limit), start=1):
            location = f"{path}:{number}"
            if raw is None:
                yield RecordError(location, _too_long(size, limit))
                continue
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")  # a BOM may open the file
            except UnicodeDecodeError as exc:
                yield RecordError(location, f"not valid UTF-8 (byte {exc.start} of the line)")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RecordError(location, f"malformed JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})")
                continue
            except (ValueError, RecursionError) as exc:  # a number too long to convert, nesting too deep
                yield RecordError(location, f"malformed JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                yield RecordError(location, f"expected a JSON object, got {type(obj).__name__}")
                continue
            yield from records_from_fields(obj, location, fallback_id=f"{path.stem}-{number}")


def read_json(path: Path) -> Iterator[Record]:
    text, note = decode_bytes(path.read_bytes())
    if note:
        yield RecordError(str(path), f"{note}; file skipped")
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield RecordError(f"{path}:{exc.lineno}", f"malformed JSON ({exc.msg})")
        return
    except (ValueError, RecursionError) as exc:
        yield RecordError(str(path), f"malformed JSON ({exc})")
        return
    items = data if isinstance(data, list) else [data]
    for number, obj in enumerate(items, start=1):
        location = f"{path}[{number - 1}]"
        if not isinstance(obj, dict):
            yield RecordError(location, f"expected a JSON object, got {type(obj).__name__}")
        else:
            yield from records_from_fields(obj, location, fallback_id=f"{path.stem}-{number}")


def read_csv(path: Path) -> Iterator[Record]:
    limit = max_record_bytes()
    csv.field_size_limit(limit)
    over: list[int] = []  # size of a line over the limit, which ends the file

    def lines(handle: IO[str]) -> Iterator[str]:
        for line, size in _bounded_lines(handle, limit):
            if line is None:
                over.append(size)
                return
            yield line

    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(lines(handle), delimiter=_delimiter(path, handle))
        columns = reader.fieldnames or []
        if "text" not in columns:
            yield RecordError(f"{path}:1", f"no 'text' column (columns: {', '.join(columns) or 'none'})")
            return
        try:
            for row in reader:
                location = f"{path}:{reader.line_num}"
                if None in row:
                    yield RecordError(location, f"{len(columns) + len(row[None])} fields, header has {len(columns)}")
                    continue
                if any(_UNDECODED.search(v) for v in row.values() if v):  # a spreadsheet saved as Latin-1
                    row = {k: _as_cp1252(v) for k, v in row.items()}
                    yield RecordError(location, "not valid UTF-8; decoded as cp1252 (article kept)", kept=True)
                yield from records_from_fields(row, location, fallback_id=f"{path.stem}-{reader.line_num}")
        except csv.Error as exc:
            yield RecordError(f"{path}:{reader.line_num}", f"CSV error: {exc}; rest of the file skipped")
            return
        if over:
            yield RecordError(f"{path}:{reader.line_num + 1}", _too_long(over[0], limit, "characters") + " with the rest of the file")


def _delimiter(path: Path, handle: IO[str]) -> str:
    """Tab for .tsv; for .csv, a comma unless the header holds none but semicolons or tabs (spreadsheet exports)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = handle.readline()
    handle.seek(0)
    if "," in header:
        return ","
    return max((";", "\t"), key=header.count) if ";" in header or "\t" in header else ","


def _as_cp1252(value: str) -> str:
    """A field read with surrogateescape, its original bytes decoded as cp1252 instead."""
    return value.encode("utf-8", "surrogateescape").decode("cp1252", errors="replace") if value else value


def _read_page(path: Path) -> tuple[str, list[RecordError]]:
    """A whole-file page's text: UTF-8, else cp1252 with a note that the article was kept."""
    text, note = decode_bytes(path.read_bytes())
    notes = [RecordError(str(path), f"{note}; decoded as cp1252 (article kept)", kept=True)] if note else []
    return text, notes


def read_scraped_page(path: Path) -> Iterator[Record]:
    text, notes = _read_page(path)
    yield from notes
    page = clean_scraped_page(text)
    if not page.text:
        yield RecordError(str(path), "no article text found after removing headline, captions and furniture")
        return
    metadata: dict[str, Any] = {"path": str(path)}
    if page.section:
        metadata["section"] = page.section
    if page.captions:
        metadata["captions"] = list(page.captions)
    source = next((name for name in OUTLET_NAMES.values() if name.lower() in " ".join(page.removed).lower()), "")
    text = cut_dateline(page.text, metadata)
    yield Article(doc_id=path.stem, title=page.title, text=text, source=source, metadata=metadata)


def read_html(path: Path) -> Iterator[Record]:
    text, notes = _read_page(path)
    yield from notes
    yield article_from_html(text, str(path), path.stem, {"path": str(path)})


def article_from_html(html: str, location: str, doc_id: str, metadata: dict[str, Any], url: str = "") -> Record:
    """The article of one HTML page (`url`: where it was fetched, when the page names none)."""
    page = extract_page(html, url)
    if not page.text:
        return RecordError(location, "no article text found in the HTML")
    if page.captions:
        metadata["captions"] = list(page.captions)
    if page.author:
        metadata["author"] = page.author
    text = cut_dateline(page.text, metadata)
    url = page.url or url
    return Article(doc_id=doc_id, title=page.title, text=text, date=normalize_date(page.date), url=url,
                   source=page.site or outlet_from_url(url), metadata=metadata)


class FeedEntry(NamedTuple):
    """One entry of a feed: its article (or why it has none), its link, and whether it carried only a summary."""

    record: Record
    link: str
    summary_only: bool


def feed_entries(data: bytes, location: str, stem: str, metadata: dict[str, Any]) -> Iterator[FeedEntry | RecordError]:
    """The entries of an RSS/Atom document; a RecordError alone when it is not a readable feed."""
    import feedparser

    feed = feedparser.parse(data)
    if feed.bozo and not feed.entries:
        yield RecordError(location, f"not a readable RSS/Atom feed ({feed.get('bozo_exception')})")
        return
    for number, entry in enumerate(feed.entries, start=1):
        where = f"{location}[entry {number}]"
        contents = entry.get("content") or []
        html = contents[0].get("value", "") if contents else entry.get("summary", "")
        body = clean_html(f"<html><body>{html}</body></html>").text if "<" in html else normalize_text(html)
        url = entry.get("link", "")
        url = url if url.lower().startswith(("http://", "https://")) else ""  # feedparser may copy a urn: id here
        if not body:
            yield FeedEntry(RecordError(where, "entry has no text"), url, True)
            continue
        meta = dict(metadata)
        body = cut_dateline(body, meta)
        yield FeedEntry(Article(
            doc_id=str(entry.get("id") or url or f"{stem}-{number}"),
            title=normalize_text(entry.get("title", "")),
            text=body,
            date=normalize_date(entry.get("published") or entry.get("updated") or ""),
            url=url,
            source=normalize_text(feed.feed.get("title", "")) or outlet_from_url(url),
            metadata=meta,
        ), url, not contents)


def read_feed(path: Path) -> Iterator[Record]:
    for entry in feed_entries(path.read_bytes(), str(path), path.stem, {"path": str(path)}):
        yield entry if isinstance(entry, RecordError) else entry.record


_READERS = {
    **{s: read_scraped_page for s in TEXT_SUFFIXES},
    **{s: read_html for s in HTML_SUFFIXES},
    **{s: read_feed for s in FEED_SUFFIXES},
    **{s: read_csv for s in TABLE_SUFFIXES},
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
}


def files_below(folder: Path) -> list[Path]:
    """The supported files below a folder, sorted, in the order `read_path` reads them; hidden files and
    everything inside hidden folders (.git, .cache) are not news."""
    files = (p for p in folder.rglob("*") if p.is_file())
    return [child for child in sorted(p for p in files if not any(part.startswith(".") for part in p.relative_to(folder).parts))
            if child.suffix.lower() in SUPPORTED_SUFFIXES]


def read_path(path: Path) -> Iterator[Record]:
    """Records from one file, or from every supported file below a folder (sorted, recursive)."""
    if path.is_dir():
        for child in files_below(path):
            yield from read_path(child)
        return
    if not path.exists():
        yield RecordError(str(path), "no such file or folder")
        return
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        yield RecordError(str(path), f"unsupported file type {path.suffix!r} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
        return
    with path.open("rb") as handle:
        head = handle.read(8192)
    if not head:
        yield RecordError(str(path), "empty file (0 bytes)")
        return
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield RecordError(str(path), "UTF-16 text, which newsqa does not read; save the file as UTF-8")
        return
    if _looks_binary(head):
        yield RecordError(str(path), "binary file (NUL or control bytes), not text")
        return
    if reader in (read_scraped_page, read_html) and (size := path.stat().st_size) > max_record_bytes():
        yield RecordError(str(path), f"file of {size:,} bytes is over the limit of {max_record_bytes():,} bytes for one article")
        return
    yield from reader(path)


def read_paths(paths: Iterable[Path]) -> Iterator[Record]:
    for path in paths:
        yield from read_path(Path(path))


def read_text_table(data: str, name: str) -> Iterator[Record]:
    """Articles from CSV text held in memory (the demo corpus)."""
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(io.StringIO(data))
    for row in reader:
        yield article_from_fields(row, f"{name}:{reader.line_num}", fallback_id=f"{name}-{reader.line_num}")

"""Readers: turn files (JSONL, JSON, CSV/TSV, scraped .txt pages, HTML, RSS/Atom) into `Article`s.

A record's fields become an article in `index.records`; a page's text is split from its furniture in `index.pages`.

Readers never raise on bad input: each bad record becomes a `RecordError` naming the file and
line, and reading goes on with the next record. Memory stays bounded on hostile input: a JSONL
or CSV line, or a one-article file (.txt, .html), longer than `max_record_bytes()` is refused
without being loaded.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, AnyStr, NamedTuple

from index.clean import normalize_text
from index.html_page import extract_page
from index.models import Article
from index.pages import clean_html, clean_scraped_page
from index.records import (OUTLET_NAMES, UNDECODED, Record, RecordError, article_from_fields, cut_dateline,
                           max_record_bytes, normalize_date, outlet_from_url, records_from_fields)

TEXT_SUFFIXES = {".txt"}
HTML_SUFFIXES = {".html", ".htm"}
FEED_SUFFIXES = {".rss", ".atom", ".xml"}
TABLE_SUFFIXES = {".csv", ".tsv"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES | TABLE_SUFFIXES | JSON_SUFFIXES


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
                if any(UNDECODED.search(v) for v in row.values() if v):  # a spreadsheet saved as Latin-1
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

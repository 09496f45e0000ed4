"""News over HTTP: pages and feeds the user names by URL, and feeds watched for new entries.

Nothing here runs unless the user gave a URL. `Fetcher` is a polite HTTP client (httpx): a timeout
on every request, retries with exponential back-off on timeouts, connection errors, 429 and 5xx
(a `Retry-After` of up to a minute is honoured), redirects followed, and at most one request per
host every `per_host_interval` seconds. `read_url` turns a URL into records: a feed gives its
entries (an entry that carries only a summary is replaced by its linked page), anything else is one
HTML page. `FeedWatcher` re-reads feeds with conditional GET (ETag / Last-Modified) and yields only
entries that are new or whose text changed, remembering what it saw in a JSON state file so that a
restart does not ingest anything twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

from index.models import Article
from index.readers import FeedEntry, Record, RecordError, article_from_html, decode_bytes, feed_entries

USER_AGENT = "newsqa/0.1 (+https://github.com/newsqa; extractive news QA)"
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
               "application/feed+json")
_RETRIED_STATUS = {429, 500, 502, 503, 504}


class FetchError(OSError):
    """A URL could not be fetched after the retries; the message names it and says why."""


class Fetched(NamedTuple):
    url: str  # after redirects
    status: int  # 200, or 304 when a conditional request found nothing new
    body: bytes
    content_type: str
    etag: str
    last_modified: str


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


class Fetcher:
    """GET with a timeout, retries with back-off, redirects and a per-host pace."""

    def __init__(self, timeout: float = 10.0, retries: int = 3, backoff: float = 1.0, per_host_interval: float = 1.0,
                 max_bytes: int = 10 * 2**20, sleep: Callable[[float], None] = time.sleep) -> None:
        if timeout <= 0 or retries < 0 or backoff < 0 or per_host_interval < 0:
            raise ValueError(f"timeout must be > 0 and retries, backoff and per_host_interval >= 0, got "
                             f"{timeout}, {retries}, {backoff}, {per_host_interval}")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.per_host_interval, self.max_bytes, self._sleep = per_host_interval, max_bytes, sleep
        self._client = httpx.Client(follow_redirects=True, timeout=timeout, headers={"User-Agent": USER_AGENT})
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, etag: str = "", last_modified: str = "") -> Fetched:
        headers = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            self._wait_for_host(url)
            try:
                response = self._client.get(url, headers=headers)
            except httpx.TimeoutException:
                reason = f"no answer within {self.timeout:g} s"
                continue
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in _RETRIED_STATUS:
                reason = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit() and attempt < self.retries:
                    self._sleep(min(int(retry_after), 60))
                continue
            if response.status_code not in (200, 304):
                raise FetchError(f"{url}: HTTP {response.status_code}")
            if len(response.content) > self.max_bytes:
                raise FetchError(f"{url}: {len(response.content):,} bytes, over the limit of {self.max_bytes:,}")
            return Fetched(str(response.url), response.status_code, response.content,
                           response.headers.get("Content-Type", "").split(";")[0].strip().lower(),
                           response.headers.get("ETag", ""), response.headers.get("Last-Modified", ""))
        raise FetchError(f"{url}: {reason} (after {self.retries + 1} attempts)")

    def _wait_for_host(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            wait = self._last_request.get(host, -1e9) + self.per_host_interval - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            self._last_request[host] = time.monotonic()


def looks_like_feed(fetched: Fetched) -> bool:
    head = fetched.body[:512].lstrip().lower()
    return (fetched.content_type in _FEED_TYPES
            or (head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head))
            or head.startswith((b"<rss", b"<feed", b"<rdf")))


def page_record(fetcher: Fetcher, url: str, fetched: Fetched | None = None, doc_id: str = "") -> Record:
    """The article of the HTML page at `url` (its id: `doc_id`, else the URL)."""
    fetched = fetched or fetcher.get(url)
    text, note = decode_bytes(fetched.body)
    record = article_from_html(text, url, doc_id or url, {"fetched_from": fetched.url}, url=fetched.url)
    if note and isinstance(record, Article):
        record.metadata["encoding_note"] = note
    return record


def entry_digest(entry: FeedEntry) -> str:
    """What identifies the version of a feed entry as the feed gives it (its text or summary, and its link)."""
    text = entry.record.text if isinstance(entry.record, Article) else ""
    return hashlib.sha1(f"{entry.link}\n{text}".encode()).hexdigest()


def feed_records(fetcher: Fetcher, fetched: Fetched,
                 wanted: Callable[[FeedEntry], bool] = lambda entry: True) -> Iterator[Record]:
    """The `wanted` entries of a fetched feed; an entry with only a summary is replaced by its linked page when that
    reads (so a watcher that wants only new entries fetches no page twice)."""
    stem = urlsplit(fetched.url).path.rsplit("/", 1)[-1] or urlsplit(fetched.url).netloc
    for entry in feed_entries(fetched.body, fetched.url, stem, {"feed": fetched.url}):
        if isinstance(entry, RecordError):
            yield entry
            continue
        if not wanted(entry):
            continue
        if entry.summary_only and entry.link:
            try:
                page = page_record(fetcher, entry.link,
                                   doc_id=entry.record.doc_id if isinstance(entry.record, Article) else entry.link)
            except FetchError as exc:
                page = RecordError(entry.link, str(exc))
            if isinstance(page, Article):
                summary = entry.record if isinstance(entry.record, Article) else None
                yield Article(page.doc_id, page.title or (summary.title if summary else ""), page.text,
                              date=page.date or (summary.date if summary else ""),
                              source=(summary.source if summary else "") or page.source, url=page.url,
                              metadata={**page.metadata, "feed": fetched.url})
                continue
            if isinstance(entry.record, RecordError):
                yield page
                continue
        yield entry.record


def read_url(url: str, fetcher: Fetcher) -> Iterator[Record]:
    """Records from a URL: a feed's entries, or one page. A fetch that fails is a RecordError naming the URL."""
    try:
        fetched = fetcher.get(url)
    except FetchError as exc:
        yield RecordError(url, str(exc))
        return
    yield from feed_records(fetcher, fetched) if looks_like_feed(fetched) else [page_record(fetcher, url, fetched)]


def read_urls(urls: Iterable[str], fetcher: Fetcher) -> Iterator[Record]:
    for url in urls:
        yield from read_url(url, fetcher)


class FeedWatcher:
    """Polls feeds (or pages) and yields what is new or changed since the last poll, remembered in `state_file`."""

    def __init__(self, urls: list[str], state_file: Path, fetcher: Fetcher) -> None:
        bad = [u for u in urls if not is_url(u)]
        if bad:
            raise ValueError(f"watch needs http(s) URLs, got {', '.join(map(repr, bad))}")
        self.urls, self.state_file, self.fetcher = urls, state_file, fetcher
        self.state: dict[str, dict] = self._load()

    def _load(self) -> dict[str, dict]:
        if not self.state_file.exists():
            return {}
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"watch state {self.state_file} is unreadable ({exc}); move it away to start afresh") from exc
        return state if isinstance(state, dict) else {}

    def _save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.state_file)

    def poll(self, commit: Callable[[list[Record]], None]) -> dict[str, int]:
        """One pass over the URLs: new or changed entries go to `commit`; the state is saved only after it returns."""
        counts = {"not_modified": 0, "new_or_changed": 0, "unchanged": 0, "errors": 0}
        for url in self.urls:
            seen = self.state.setdefault(url, {"etag": "", "last_modified": "", "entries": {}})
            try:
                fetched = self.fetcher.get(url, seen["etag"], seen["last_modified"])
            except FetchError as exc:
                counts["errors"] += 1
                commit([RecordError(url, str(exc))])
                continue
            if fetched.status == 304:
                counts["not_modified"] += 1
                continue
            digests: dict[str, str] = {}

            def wanted(entry: FeedEntry) -> bool:
                """New or changed as the feed gives it (an unchanged entry's linked page is not fetched again)."""
                key, digest = str(getattr(entry.record, "doc_id", entry.link)), entry_digest(entry)
                digests[key] = digest
                if seen["entries"].get(key) == digest:
                    counts["unchanged"] += 1
                    return False
                return True

            if looks_like_feed(fetched):
                records: list[Record] = list(feed_records(self.fetcher, fetched, wanted))
            else:
                page = page_record(self.fetcher, url, fetched)
                digest = hashlib.sha1(page.text.encode("utf-8")).hexdigest() if isinstance(page, Article) else ""
                digests[url] = digest
                records = [page] if seen["entries"].get(url) != digest or not digest else []
                counts["unchanged"] += not records
            for record in records:
                counts["errors" if isinstance(record, RecordError) else "new_or_changed"] += 1
            commit(records)
            seen.update(etag=fetched.etag, last_modified=fetched.last_modified,
                        entries={**seen["entries"], **digests})
            self._save()
        return counts

    def run(self, commit: Callable[[list[Record]], None], every: float, stop: threading.Event,
            report: Callable[[dict[str, int]], None] = lambda counts: None, cycles: int | None = None) -> int:
        """Poll every `every` seconds until `stop` is set (or `cycles` polls are done); returns the polls made."""
        done = 0
        while not stop.is_set() and (cycles is None or done < cycles):
            report(self.poll(commit))
            done += 1
            if cycles is not None and done >= cycles:
                break
            stop.wait(every)
        return done


def parse_interval(text: str) -> float:
    """Seconds in "90s", "15m", "2h" or a bare number of seconds; at least 1 s."""
    value = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        seconds = float(value[:-1]) * units[value[-1]] if value and value[-1] in units else float(value)
    except ValueError:
        raise ValueError(f"--every expects a time such as 90s, 15m or 2h, got {text!r}") from None
    if seconds < 1:
        raise ValueError(f"--every must be at least 1 s, got {text!r}")
    return seconds

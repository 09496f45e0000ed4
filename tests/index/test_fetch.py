"""Pages and feeds over HTTP, from a server on 127.0.0.1 started by the test: retries, timeouts, redirects, 304s."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from index.embedding import HashEmbedder
from index.fetch import FeedWatcher, Fetcher, parse_interval, read_url
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from index.readers import RecordError

if TYPE_CHECKING:
    from news_site import NewsServer


@pytest.fixture()
def fetcher() -> Iterator[Fetcher]:
    slept: list[float] = []
    client = Fetcher(timeout=0.5, retries=1, backoff=0.25, per_host_interval=0.0, sleep=slept.append)
    client.slept = slept  # type: ignore[attr-defined]
    yield client
    client.close()


def test_a_page_keeps_its_story_and_loses_navigation_comments_and_related_stories(news_site: NewsServer,
                                                                                 fetcher: Fetcher) -> None:
    (article,) = list(read_url(f"{news_site.base}/moved", fetcher))  # a redirect, followed
    assert isinstance(article, Article)
    assert article.title.startswith("Storm Doris hits Ireland") and article.date == "2017-02-23"
    assert article.text.startswith("Storm Doris brought winds of up to 150 kilometres per hour")
    assert "Aran Islands" in article.text
    for left_out in ("Home", "Related stories", "Storm Ewan", "Comment by Pat", "Copyright", "Salthill"):
        assert left_out not in article.text, left_out
    assert article.metadata["captions"] == ["Waves at Salthill on Thursday. (AFP photo)"]
    assert article.url == f"{news_site.base}/story.html" and article.doc_id == f"{news_site.base}/moved"


def test_a_server_error_is_retried_and_a_slow_or_missing_page_is_an_error_naming_it(news_site: NewsServer,
                                                                                   fetcher: Fetcher) -> None:
    (article,) = list(read_url(f"{news_site.base}/flaky", fetcher))
    assert isinstance(article, Article) and [p for p, _ in news_site.requests].count("/flaky") == 2
    assert fetcher.slept == [0.25]  # type: ignore[attr-defined]  # one back-off before the retry
    (slow,) = list(read_url(f"{news_site.base}/slow", fetcher))
    assert isinstance(slow, RecordError) and slow.location == f"{news_site.base}/slow"
    assert "no answer within 0.5 s (after 2 attempts)" in slow.reason
    (missing,) = list(read_url(f"{news_site.base}/nothing", fetcher))
    assert isinstance(missing, RecordError) and "HTTP 404" in missing.reason


def test_a_summary_only_feed_entry_is_read_from_its_linked_page(news_site: NewsServer, fetcher: Fetcher) -> None:
    (article,) = list(read_url(f"{news_site.base}/atom.xml", fetcher))
    assert isinstance(article, Article) and article.doc_id == "urn:gazette:doris"
    assert article.text.startswith("Storm Doris brought winds") and article.source == "Harbor Gazette"
    assert article.metadata["feed"] == f"{news_site.base}/atom.xml"


def test_watching_a_feed_ingests_only_new_entries_with_conditional_requests(news_site: NewsServer, fetcher: Fetcher,
                                                                           tmp_path: Path) -> None:
    embedder = HashEmbedder(dim=32)
    index = NewsIndex.open(tmp_path / "ix", embedder, config=IndexConfig(model=embedder.name, dim=32, max_tokens=60))
    committed: list[list[str]] = []

    def commit(records: list) -> None:
        committed.append([r.doc_id for r in records])
        index.add(records, show_progress=False)

    feed = f"{news_site.base}/feed.rss"
    state = tmp_path / "watch.json"
    watcher = FeedWatcher([feed], state, fetcher)
    assert watcher.poll(commit)["new_or_changed"] == 2
    assert sorted(index.articles) == [f"{news_site.base}/news/1", f"{news_site.base}/news/2"]
    assert watcher.poll(commit) == {"not_modified": 1, "new_or_changed": 0, "unchanged": 0, "errors": 0}
    conditional = news_site.requests[-1][1]
    assert conditional["If-None-Match"] == '"v2"' and conditional["If-Modified-Since"] == "Thu, 23 Feb 2017 10:00:00 GMT"
    news_site.entries = 3  # the feed gains an entry
    restarted = FeedWatcher([feed], state, fetcher)  # a restart reads what was seen from the state file
    stop = threading.Event()
    assert restarted.run(commit, every=0.01, stop=stop, cycles=2) == 2
    assert committed == [[f"{news_site.base}/news/1", f"{news_site.base}/news/2"], [f"{news_site.base}/news/3"]]
    # Each summary-only entry's linked page (a 404 here, so the summary is kept) was asked for once, when it was new.
    assert [path for path, _ in news_site.requests].count("/news/1") == 1
    assert len(index.articles) == 3 and index.check() == []
    stored = index.store.article(f"{news_site.base}/news/3")
    assert stored is not None and stored.title == "Power restored" and stored.source == "Galway Daily"
    assert stored.date == "2017-02-23" and any(p.doc_id == stored.doc_id for p in index.passages)


def test_watch_settings_are_checked() -> None:
    assert (parse_interval("90s"), parse_interval("15m"), parse_interval("2h"), parse_interval("30")) == (
        90, 900, 7200, 30)
    with pytest.raises(ValueError, match="--every expects a time such as 90s, 15m or 2h, got 'soon'"):
        parse_interval("soon")
    with pytest.raises(ValueError, match="watch needs http"):
        FeedWatcher(["feed.xml"], Path("state.json"), Fetcher())

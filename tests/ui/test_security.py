"""Security of `newsqa serve`: where it binds, what its login guards, and that no route reads the server's disk.

Only loopback is ever contacted: the public-address cases check the launch decision with Gradio's own
`launch` replaced, and the "fetch this URL" attempts name this machine's own server.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

import httpx
import pytest

from index.embedding import HashEmbedder
from index.indexer import NewsIndex
from qa.pipeline import QAPipeline
from ui.cli import main
from ui.settings import Settings
from ui.web import MAX_UPLOAD, build_app, launch

pytestmark = [pytest.mark.ui, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

SECRET = "nqa-secret-7f3c9e1a5b"  # inside a file outside every folder the server may serve
ANSWER_TEXT = "cast a tie-breaking vote on Tuesday"  # in every answer to DEVOS (API and chat)
DEVOS = "Who cast the tie-breaking vote to confirm Betsy DeVos?"
SQLITE_HEADER = b"SQLite format 3\x00"


class Target(NamedTuple):
    """A file an attacker wants, and bytes that would show it was served."""

    path: Path
    marker: bytes


class Site(NamedTuple):
    """The chat started with Gradio's upload folder holding the index (the worst place for it)."""

    url: str
    port: int
    uploads: Path
    index: Path
    public: Path  # a file Gradio does serve (in its upload folder): the control that the routes work
    targets: list[Target]


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET `path` exactly as written (no dot-segment or percent normalisation by the client)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def site(start_web_app: Callable[..., str], web_index: NewsIndex, tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("security")
    uploads = root / "gradio-uploads"
    index = uploads / "index"
    shutil.copytree(web_index.folder, index, ignore=shutil.ignore_patterns("write.lock"))
    public = uploads / "public.txt"
    public.write_text("served on purpose\n")
    secret = root / "secret.txt"
    secret.write_text(f"{SECRET}\n")
    passwd = Path("/etc/passwd")
    targets = [Target(secret, SECRET.encode()), Target(index / "store.sqlite", SQLITE_HEADER)]
    if passwd.is_file() and (first := passwd.read_bytes().split(b"\n")[0]):
        targets.append(Target(passwd, first))
    with pytest.MonkeyPatch.context() as patch:  # Gradio reads its upload folder when the app is built and launched
        patch.setenv("GRADIO_TEMP_DIR", str(uploads))
        url = start_web_app(index=NewsIndex.open(index, HashEmbedder(dim=64), readonly=True))
    return Site(url, urlsplit(url).port or 0, uploads, index, public, targets)


# -- binding -----------------------------------------------------------------------------------------
def test_the_server_listens_on_loopback_only(site: Site) -> None:
    assert urlsplit(site.url).hostname == "127.0.0.1"
    table = Path("/proc/net/tcp")
    if not table.exists():
        pytest.skip("no /proc/net/tcp to read listening sockets from")
    listening = [line.split()[1] for line in table.read_text().splitlines()[1:] if line.split()[3] == "0A"]
    mine = [address for address in listening if int(address.split(":")[1], 16) == site.port]
    assert mine == ["0100007F:%04X" % site.port], mine  # 127.0.0.1, not 0.0.0.0


@pytest.fixture()
def captured_serve(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """`newsqa serve` with the server itself replaced: the settings it would serve with."""
    import ui.web

    for name in ("NEWSQA_HOST", "NEWSQA_PORT", "NEWSQA_AUTH", "NEWSQA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    seen: list[Settings] = []
    monkeypatch.setattr(ui.web, "serve", lambda settings, llm=False: seen.append(settings))
    return seen


def test_serve_binds_loopback_unless_told_otherwise(captured_serve: list[Settings], web_index: NewsIndex,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no newsqa.toml of the working folder
    assert main(["serve", "--index", str(web_index.folder)]) == 0
    assert (captured_serve[-1].host, captured_serve[-1].auth) == ("127.0.0.1", "")
    assert main(["serve", "--index", str(web_index.folder), "--host", "0.0.0.0", "--auth", "reader:pa:ss"]) == 0
    assert (captured_serve[-1].host, captured_serve[-1].auth) == ("0.0.0.0", "reader:pa:ss")


class FakeLaunch:
    """Stands in for gr.Blocks.launch: records its arguments, opens no port."""

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def __call__(self, **kwargs: Any) -> tuple[None, str, None]:
        self.kwargs = kwargs
        return None, f"http://{kwargs['server_name']}:{kwargs['server_port']}/", None


@pytest.mark.parametrize(("host", "auth", "warned"), [
    ("0.0.0.0", "", True), ("::", "", True), ("", "", True), ("192.168.1.5", "", True),
    ("0.0.0.0", "reader:pa:ss", False), ("127.0.0.1", "", False), ("127.0.0.2", "", False), ("::1", "", False),
    ("localhost", "", False),
])
def test_launch_passes_host_and_login_through_and_warns_when_public_without_one(
        web_index: NewsIndex, host: str, auth: str, warned: bool, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(index_dir=Path(web_index.folder), host=host, auth=auth)
    app = build_app(QAPipeline(web_index), settings)
    fake = FakeLaunch()
    monkeypatch.setattr(app, "launch", fake)
    launch(app, settings, prevent_thread_lock=True, quiet=True)
    err = capsys.readouterr().err
    assert ("warning: serving on" in err) is warned, err
    assert fake.kwargs["server_name"] == host
    assert fake.kwargs["auth"] == (("reader", "pa:ss") if auth else None)
    assert fake.kwargs["allowed_paths"] == []
    assert str(Path(web_index.folder).resolve()) in fake.kwargs["blocked_paths"]
    assert fake.kwargs["max_file_size"] == MAX_UPLOAD


# -- the login ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def guarded_url(start_web_app: Callable[..., str]) -> str:
    return start_web_app(auth="reader:s3cret")


ASK_BODY = json.dumps({"data": [DEVOS, "", "", "", [], 5, [], False]})
CHAT_BODY = json.dumps({"data": [DEVOS, None, None, None, [], 5, [], False], "fn_index": 0, "session_hash": "nqa-sec"})
GUARDED = [  # every way in to an answer, the corpus or a file, called without logging in
    ("GET", "/config", None), ("GET", "/gradio_api/info", None), ("GET", "/gradio_api/openapi.json", None),
    ("POST", "/gradio_api/call/ask", ASK_BODY), ("POST", "/gradio_api/run/ask", ASK_BODY),
    ("POST", "/gradio_api/api/ask", ASK_BODY), ("POST", "/gradio_api/queue/join", CHAT_BODY),
    ("GET", "/gradio_api/queue/data?session_hash=nqa-sec", None), ("GET", "/gradio_api/file=/etc/passwd", None),
    ("GET", "/gradio_api/deep_link?session_hash=nqa-sec", None), ("GET", "/monitoring", None),
]


def _login(client: httpx.Client, password: str) -> httpx.Response:
    return client.post("/login", data={"username": "reader", "password": password})


def test_without_login_no_route_answers_or_shows_the_corpus(guarded_url: str, web_index: NewsIndex) -> None:
    titles = [info.title.encode() for info in web_index.articles.values()]
    with httpx.Client(base_url=guarded_url, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200 and b'"auth_required":true' in page.content  # the login form, no app
        for secret in (*titles, ANSWER_TEXT.encode(), str(web_index.folder).encode()):
            assert secret not in page.content
        for method, path, body in GUARDED:
            response = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 401, (path, response.status_code, response.text[:200])
            assert ANSWER_TEXT.encode() not in response.content and not any(t in response.content for t in titles)
        upload = client.post("/gradio_api/upload", files={"files": ("a.txt", b"hello", "text/plain")})
        assert upload.status_code == 401


def test_a_wrong_or_forged_login_gets_no_token_and_a_right_one_opens_the_api(guarded_url: str) -> None:
    with httpx.Client(base_url=guarded_url, timeout=30) as client:
        wrong = _login(client, "not-the-password")
        assert wrong.status_code == 400 and not wrong.cookies
        client.cookies.set("access-token-unsecure-x", "forged")
        assert client.get("/config").status_code == 401
        right = _login(client, "s3cret")
        assert right.status_code == 200 and any(name.startswith("access-token") for name in right.cookies)
        assert client.get("/config").status_code == 200  # the control: the same routes open once logged in
        event = client.post("/gradio_api/call/ask", content=ASK_BODY, headers={"Content-Type": "application/json"})
        assert event.status_code == 200, event.text
        stream = client.get(f"/gradio_api/call/ask/{event.json()['event_id']}")
        assert ANSWER_TEXT in stream.text


# -- no route reads the disk -------------------------------------------------------------------------
FILE_ROUTES = ["/file=", "/gradio_api/file=", "/gradio_api/file/", "/static/", "/assets/", "/svelte/",
               "/gradio_api/custom_component/x/client/js/", "/favicon.ico/", "/theme.css/", "/gradio_api/proxy=",
               "/gradio_api/stream/x/0/0/", "/monitoring/", "/"]


def traversals(path: Path, cwd: Path) -> list[str]:
    """`path` written every way a request might smuggle it past a folder check."""
    absolute, rel = str(path), str(path).lstrip("/")
    up = 12  # more "../" than any served folder is deep
    return [
        absolute, quote(absolute, safe=""), "/" + absolute, "file://" + absolute, os.path.relpath(path, cwd),
        "../" * up + rel, "..%2f" * up + rel, "%2e%2e%2f" * up + rel, "%2e%2e/" * up + rel,
        "%252e%252e%252f" * up + rel, "..%5c" * up + rel.replace("/", "%5c"), "....//" * up + rel,
        ".%2e/" * up + rel, "..;/" * up + rel, "%c0%ae%c0%ae%c0%af" * up + rel,
    ]


def test_no_file_route_serves_a_file_outside_its_folder(site: Site) -> None:
    status, body = raw_get(site.port, f"/gradio_api/file={site.public}")
    assert (status, body) == (200, b"served on purpose\n")  # the route does serve files Gradio owns
    leaks = []
    for target in site.targets:
        for prefix in FILE_ROUTES:
            for smuggled in traversals(target.path, Path.cwd()):
                status, body = raw_get(site.port, prefix + smuggled)
                if target.marker in body:
                    leaks.append(f"{prefix}{smuggled} -> {status}")
    assert not leaks, leaks


def test_the_index_is_never_served_even_inside_the_upload_folder(site: Site) -> None:
    for name in ("store.sqlite", "manifest.json"):
        status, body = raw_get(site.port, f"/gradio_api/file={site.index / name}")
        assert status == 403 and SQLITE_HEADER not in body and b"store_version" not in body, (name, status)
    faiss = next(site.index.glob("vectors-*"))
    assert raw_get(site.port, f"/gradio_api/file={faiss}")[0] == 403


def test_no_url_fetch_reaches_this_machine(site: Site) -> None:
    for target in (f"http://127.0.0.1:{site.port}/config", f"http://localhost:{site.port}/gradio_api/info",
                   f"http://[::1]:{site.port}/config"):
        for prefix in ("/gradio_api/file=", "/gradio_api/proxy="):
            status, body = raw_get(site.port, prefix + target)
            assert status in (400, 403), (prefix + target, status, body[:200])
            assert b"dependencies" not in body and b"named_endpoints" not in body


def _sse_events(response: httpx.Response) -> Iterator[dict]:
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield json.loads(line[5:])


def chat_event(client: httpx.Client) -> int:
    """fn_index of the page's chat event (the question box's submit), read from the app's config."""
    config = client.get("/config").json()
    return next(d["id"] for d in config["dependencies"] if d["api_name"] == "respond")


def call_chat(client: httpx.Client, data: list, session: str) -> str:
    """The page's own (private) chat event, called as the browser does; returns everything streamed back."""
    joined = client.post("/gradio_api/queue/join",
                         json={"data": data, "fn_index": chat_event(client), "session_hash": session})
    if joined.status_code != 200:
        return joined.text
    seen = []
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as response:
        for event in _sse_events(response):
            seen.append(json.dumps(event))
            if event.get("msg") == "process_completed":
                break
    return "\n".join(seen)


def call_ask(client: httpx.Client, data: list) -> str:
    event = client.post("/gradio_api/call/ask", json={"data": data})
    if event.status_code != 200:
        return event.text
    return client.get(f"/gradio_api/call/ask/{event.json()['event_id']}").text


def file_payloads(path: Path) -> list[Any]:
    """Ways a client can name a file in a parameter: Gradio's FileData shapes and bare path strings."""
    return [{"path": str(path), "meta": {"_type": "gradio.FileData"}},
            {"path": str(path), "url": f"/gradio_api/file={path}", "orig_name": path.name,
             "meta": {"_type": "gradio.FileData"}},
            [{"path": str(path), "meta": {"_type": "gradio.FileData"}}],
            str(path), "../" * 12 + str(path).lstrip("/")]


def test_no_parameter_makes_the_server_read_a_file(site: Site) -> None:
    ask_defaults = [DEVOS, "", "", "", [], 5, [], False]  # the last: written answer or not
    chat_defaults = [DEVOS, None, None, None, [], 5, [], False]
    leaks = []
    with httpx.Client(base_url=site.url, timeout=60) as client:
        # the control: the same calls with harmless values answer, so a refusal below is the payload's doing
        assert ANSWER_TEXT in call_ask(client, ask_defaults)
        assert ANSWER_TEXT in call_chat(client, chat_defaults, "nqa-sec-control")
        for target in site.targets:
            for payload in file_payloads(target.path):
                for slot in range(len(ask_defaults)):
                    for name, call in (("ask", lambda d: call_ask(client, d)),
                                       ("chat", lambda d, s=slot: call_chat(client, d, f"nqa-sec-{s}"))):
                        data = list(ask_defaults if name == "ask" else chat_defaults)
                        data[slot] = payload
                        text = call(data)
                        if target.marker.decode(errors="replace") in text:
                            leaks.append(f"{name} slot {slot} {payload!r}")
    assert not leaks, leaks
    copies = [p for p in site.uploads.rglob("*") if p.is_file() and not p.is_relative_to(site.index)
              and any(t.marker in p.read_bytes() for t in site.targets)]
    assert not copies, copies  # nor copied any target into Gradio's cache, to be fetched later


def test_uploads_are_capped(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=30) as client:
        small = client.post("/gradio_api/upload", files={"files": ("note.txt", b"small note", "text/plain")})
        assert small.status_code == 200, small.text
        assert raw_get(site.port, f"/gradio_api/file={small.json()[0]}") == (200, b"small note")
        big = client.post("/gradio_api/upload", files={"files": ("big.bin", b"x" * 200_000, "text/plain")})
        assert big.status_code == 413, big.status_code


def test_launch_keeps_gradio_blocked_paths_from_the_environment(web_index: NewsIndex, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_BLOCKED_PATHS", f"{tmp_path / 'a'}, {tmp_path / 'b'}")
    settings = Settings(index_dir=Path(web_index.folder))
    app = build_app(QAPipeline(web_index), settings)
    fake = FakeLaunch()
    monkeypatch.setattr(app, "launch", fake)
    launch(app, settings)
    assert fake.kwargs["blocked_paths"] == [str(Path(web_index.folder).resolve()), str(tmp_path / "a"),
                                            str(tmp_path / "b")]

"""A news site on 127.0.0.1 for the tests of fetching pages and feeds, and the page it serves.

A plain module rather than part of `conftest.py`: test files import its pages by name, and `tests/ui` has a
conftest of its own that an import of `conftest` could pick up instead.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEWS_STORY = [
    "Storm Doris brought winds of up to 150 kilometres per hour to Ireland on Thursday, the weather service said.",
    "Thousands of homes lost power in the west of the country, and ferries to the Aran Islands were cancelled.",
    "Met Éireann said the winds would ease by Friday morning, though rain would continue in the north-west.",
]
# A saved news page: navigation, an ad, a byline line, a captioned photo, related stories, comments, a footer.
NEWS_PAGE = f"""<!doctype html><html lang="en"><head><title>Storm Doris hits Ireland | Harbor Gazette</title>
<meta property="og:title" content="Storm Doris hits Ireland">
<meta property="og:site_name" content="Harbor Gazette">
<meta property="og:url" content="https://gazette.example/news/2017/02/23/storm-doris">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2017-02-23T09:00:00Z"></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<div class="ad-slot">Advertisement: cheap flights to Lanzarote</div>
<main><article><h1>Storm Doris hits Ireland</h1><p class="byline">By Jane Doe</p>
<figure><img src="waves.jpg"><figcaption>Waves at Salthill on Thursday. (AFP photo)</figcaption></figure>
<p>{NEWS_STORY[0]}</p><p>{NEWS_STORY[1]}</p><p>{NEWS_STORY[2]}</p></article></main>
<aside class="related-stories"><h3>Related stories</h3><ul><li><a href="/a">Storm Ewan on its way next week</a></li>
<li><a href="/b">Ferry operator posts record losses for the year</a></li></ul></aside>
<section id="comments"><h3>Comments</h3><p>Comment by Pat: terrible weather again this year, nobody warned us.</p></section>
<footer>Copyright 2017 Harbor Gazette. All rights reserved.</footer></body></html>"""

PAGE = """<!doctype html><html><head><title>Storm Doris hits Ireland | Harbor Gazette</title>
<meta property="og:site_name" content="Harbor Gazette">
<meta property="article:published_time" content="2017-02-23T09:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>Storm Doris hits Ireland</h1>
<figure><img src="x.jpg"><figcaption>Waves at Salthill on Thursday. (AFP photo)</figcaption></figure>
<p>Storm Doris brought winds of up to 150 kilometres per hour to Ireland on Thursday, the weather service said.</p>
<p>Thousands of homes lost power in the west of the country, and ferries to the Aran Islands were cancelled.</p>
</article>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Storm Ewan on its way</a></li></ul></aside>
<section id="comments"><p>Comment by Pat: terrible weather again this year.</p></section>
<footer>Copyright 2017 Harbor Gazette. All rights reserved.</footer></body></html>"""

ENTRY = """<item><title>{title}</title><link>{base}/news/{n}</link><guid>{base}/news/{n}</guid>
<pubDate>Thu, 23 Feb 2017 0{n}:00:00 GMT</pubDate>
<description>{text}</description></item>"""
STORIES = [
    ("Storm closes schools", "Schools across Galway closed on Thursday as Storm Doris brought gales to the coast."),
    ("Ferries cancelled", "All ferries to the Aran Islands were cancelled because of the storm, the operator said."),
    ("Power restored", "Power was restored to most of the 55,000 homes cut off by Storm Doris, the grid operator said."),
]
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Harbor Gazette</title>
<id>urn:gazette</id><updated>2017-02-23T10:00:00Z</updated>
<entry><title>Storm Doris hits Ireland</title><id>urn:gazette:doris</id><link href="{base}/story.html"/>
<updated>2017-02-23T09:00:00Z</updated><summary>Winds of up to 150 km/h.</summary></entry></feed>"""


class NewsServer:
    """A loopback site: a page, an RSS feed that grows and answers 304 to a current ETag, an Atom feed of
    summaries, a redirect, a 500 then success, a slow page and a missing one."""

    def __init__(self) -> None:
        self.entries = 2
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.flaky_failures = 1
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                outer.requests.append((self.path, {k: v for k, v in self.headers.items()}))
                outer.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def send(self, handler: BaseHTTPRequestHandler, status: int, body: str = "", content_type: str = "text/html",
             headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", f"{content_type}; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        if h.path == "/story.html":
            self.send(h, 200, PAGE)
        elif h.path == "/feed.rss":
            etag = f'"v{self.entries}"'
            if h.headers.get("If-None-Match") == etag:
                self.send(h, 304, headers={"ETag": etag})
                return
            items = "".join(ENTRY.format(base=self.base, n=n, title=t, text=x)
                            for n, (t, x) in enumerate(STORIES[: self.entries], start=1))
            body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Galway Daily</title>'
                    f"<link>{self.base}</link>{items}</channel></rss>")
            self.send(h, 200, body, "application/rss+xml", {"ETag": etag, "Last-Modified": "Thu, 23 Feb 2017 10:00:00 GMT"})
        elif h.path == "/atom.xml":
            self.send(h, 200, ATOM.format(base=self.base), "application/atom+xml")
        elif h.path == "/moved":
            self.send(h, 301, headers={"Location": "/story.html"})
        elif h.path == "/flaky":
            if self.flaky_failures:
                self.flaky_failures -= 1
                self.send(h, 500, "try again")
            else:
                self.send(h, 200, PAGE)
        elif h.path == "/slow":
            time.sleep(1.5)
            self.send(h, 200, PAGE)
        else:
            self.send(h, 404, "no such page")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

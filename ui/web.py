"""The web chat (`newsqa serve`): a Gradio app over one QAPipeline, plus an `ask` API endpoint.

Article text and metadata are untrusted. Everything put into the page goes through `text_html`
(HTML-escaped, markdown punctuation turned into character references), the chat renders HTML
without markdown and with Gradio's sanitizer on, and links are only made from http(s) URLs.
The UI holds no retrieval logic: it calls QAPipeline.ask and formats what comes back.
"""

from __future__ import annotations

import html
import ipaddress
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import gradio as gr
import torch
from threadpoolctl import threadpool_limits

from index.models import Article
from qa.conversation import Turn
from qa.models import Answer, Citation, Filters
from qa.pipeline import QAPipeline
from ui.settings import Settings
from ui.wiring import categories, make_filters, open_pipeline, outlets

STREAM_PAUSE = 0.04  # seconds between streamed pieces, so the answer visibly builds up
MAX_K = 30
HEADING_CHARS = 160  # a question longer than this is shortened where it heads its sources
EXAMPLES = 4
MAX_UPLOAD = "64kb"  # the chat has no file inputs; Gradio's upload route stays open, so keep it small
# Questions about the demo corpus, each shown only when the article it is about is in the index.
DEMO_QUESTIONS = {
    "Who cast the tie-breaking vote that confirmed Betsy DeVos as education secretary?":
        "Betsy DeVos confirmed as education secretary",
    "Which team won Super Bowl LI?": "Barcelona 6-1 PSG: 'Crazy and unbelievable' - how the world reacted",
    "How strong were the winds of Storm Doris?": "Storm Doris: Woman killed as UK hit by winds reaching 94mph",
    "How many people died at the Kintampo waterfall in Ghana?":
        "Ghana waterfall: Many dead in Kintampo freak tree accident",
    # the BBC demo corpus (`newsqa ingest --demo bbc`)
    "Why did Chelsea sack Adrian Mutu?": "Chelsea sack Mutu",
    "Which company did Time Warner say it owns 8% of?": "Ad sales boost Time Warner profit",
}
# HTML's special characters and markdown/template punctuation, all as character references (one pass).
_INERT = str.maketrans({ch: f"&#{ord(ch)};" for ch in "&<>\"'[]()*_`~#!|\\${}:"})


# -- escaping and highlighting ------------------------------------------------------------------
def text_html(text: str) -> str:
    """`text` as inert HTML: escaped, and with markdown/template punctuation as character references."""
    return text.translate(_INERT)


def safe_url(url: str) -> str | None:
    """The URL if it is a plain http(s) link, else None (no javascript:, data: …)."""
    url = url.strip()
    return url if url.lower().startswith(("http://", "https://")) and not any(c.isspace() for c in url) else None


class Mark(NamedTuple):
    """A span of an article's text to wrap in a tag (offsets into the article text)."""

    start: int
    end: int
    css: str
    tag: str = "mark"


def highlight(text: str, start: int, end: int, marks: Sequence[Mark]) -> str:
    """Escaped `text[start:end]` with every mark's span wrapped in its tag (longest marks outermost)."""
    cuts = sorted({start, end} | {p for m in marks for p in (m.start, m.end) if start < p < end})
    out = []
    for a, b in pairwise(cuts):
        piece = text_html(text[a:b])
        covering = (m for m in marks if m.start <= a and b <= m.end and m.start < m.end)
        for m in sorted(covering, key=lambda m: m.end - m.start):
            piece = f'<{m.tag} class="{m.css}">{piece}</{m.tag}>'
        out.append(piece)
    return "".join(out)


def _citation_marks(citation: Citation) -> list[Mark]:
    marks = [Mark(citation.start, citation.end, "nqa-hl")]
    if citation.answer_span:
        marks.append(Mark(*citation.answer_span, "nqa-short", "strong"))
    return marks


# -- one answer as HTML ----------------------------------------------------------------------------
def _anchor(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def _cite_link(turn: int, c: Citation) -> str:
    tip = text_html(f"[{c.n}] {c.title} — {c.source or 'unknown outlet'}, {c.date or 'undated'}")
    return f'<a class="nqa-cite" href="#{_anchor(turn, c.n)}" title="{tip}">[{c.n}]</a>'


def _filters_text(filters: Filters) -> str:
    if not filters.date_from and not filters.date_to:
        dates = "any date"
    else:
        dates = f"{filters.date_from or 'the start'} to {filters.date_to or 'today'}"
    outlets = ", ".join(filters.sources) if filters.sources is not None else "all outlets"
    kinds = f"; categories {', '.join(filters.categories)}" if filters.categories is not None else ""
    return f"{dates}; {outlets}{kinds}"


def retrieval_note(answer: Answer, articles: int) -> str:
    """Collapsible "searched N articles in X ms" with the query actually searched and the filters."""
    ms = answer.timings.get("retrieval", 0.0) * 1000
    total_ms = answer.timings.get("total", 0.0) * 1000
    docs = len({h.doc_id for h in answer.hits})
    rows = [("Searched for", answer.query or answer.question), ("Filters", _filters_text(answer.filters)),
            ("Read", f"{len(answer.hits)} passages from {docs} articles"),
            ("Confidence", f"{answer.confidence:.2f}"), ("Answered in", _ms(total_ms))]
    body = "".join(f"<dt>{text_html(k)}</dt><dd>{text_html(v)}</dd>" for k, v in rows)
    return (f'<details class="nqa-note"><summary>searched {articles:,} articles in {_ms(ms)}</summary>'
            f"<dl>{body}</dl></details>")


def _ms(ms: float) -> str:
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def answer_sentences(answer: Answer, turn: int) -> list[str]:
    """Each cited sentence as HTML (short answer emphasised) followed by its [n] link."""
    sentences = [highlight(c.sentence, 0, len(c.sentence), _shifted_span(c)) for c in answer.citations]
    return [f'<span class="nqa-sent">{s}</span> {_cite_link(turn, c)}' for s, c in zip(sentences, answer.citations)]


def _shifted_span(c: Citation) -> list[Mark]:
    if not c.answer_span:
        return []
    return [Mark(c.answer_span[0] - c.start, c.answer_span[1] - c.start, "nqa-short", "strong")]


def abstention(answer: Answer) -> str:
    return ('<div class="nqa-abstain" role="note"><span class="nqa-icon" aria-hidden="true">∅</span><div>'
            f"<strong>No answer in the corpus</strong><p>{text_html(answer.text)}</p>"
            '<p class="nqa-tip">Try other words, a wider date range or more outlets.</p></div></div>')


def notice(message: str) -> str:
    return f'<div class="nqa-notice" role="alert">⚠ {text_html(message)}</div>'


def answer_html(answer: Answer, turn: int, articles: int, sentences: int | None = None) -> str:
    """The assistant's message: the retrieval note, then the first `sentences` sentences (all by default)."""
    if answer.abstained:
        return f'<div class="nqa-answer">{retrieval_note(answer, articles)}{rewritten(answer)}{abstention(answer)}</div>'
    parts = answer_sentences(answer, turn)[:sentences]
    composing = sentences is not None and sentences < len(answer.citations)
    pending = '<span class="nqa-typing" aria-label="composing">…</span>' if composing else ""
    caveat = f'<p class="nqa-caveat" role="note">{text_html(answer.note)}</p>' if answer.note else ""
    return (f'<div class="nqa-answer">{retrieval_note(answer, articles)}{rewritten(answer)}'
            f'<p>{" ".join(parts)}{pending}</p>{caveat}</div>')


def rewritten(answer: Answer) -> str:
    """A visible line with the searched query when a follow-up was rewritten (else nothing)."""
    if not answer.query or answer.query == answer.question:
        return ""
    return f'<p class="nqa-rewrite">Searched for: “{text_html(answer.query)}”</p>'


# -- the sources panel -----------------------------------------------------------------------------
def source_card(turn: int, c: Citation, article: Article | None, cited: Sequence[Citation]) -> str:
    """Outlet, date, linked title, the passage with the sentence marked, and the whole article."""
    url = safe_url(c.url)
    title = text_html(c.title or "(untitled)")
    if url:
        href = html.escape(url, quote=True)
        title = f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
    meta = (f"{text_html(c.source or 'unknown outlet')} · {text_html(c.date or 'undated')} · "
            f'<span class="nqa-offsets" title="character offsets of the cited sentence in article '
            f'{text_html(c.doc_id)}">chars {c.start}–{c.end}</span>')
    if url:
        meta += f' · <span class="nqa-url">{text_html(urlsplit(url).netloc)}</span>'
    head = (f'<article class="nqa-src" id="{_anchor(turn, c.n)}"><h4><span class="nqa-n">[{c.n}]</span> {title}</h4>'
            f'<div class="nqa-meta">{meta}</div>{_also_published(c)}')
    if article is None:  # deleted since it was retrieved: only the cited sentence is known
        sentence = highlight(c.sentence, 0, len(c.sentence), [Mark(0, len(c.sentence), "nqa-hl")])
        return f'{head}<blockquote class="nqa-passage">{sentence}</blockquote></article>'
    passage = highlight(article.text, c.passage_start, c.passage_end, _citation_marks(c))
    lead = "… " if c.passage_start > 0 else ""
    tail = " …" if c.passage_end < len(article.text) else ""
    marks = [m for other in cited if other.doc_id == c.doc_id for m in _citation_marks(other)]
    full = highlight(article.text, 0, len(article.text), marks)
    return (f'{head}<blockquote class="nqa-passage">{lead}{passage}{tail}</blockquote>'
            f'<details class="nqa-full"><summary>Read the whole article</summary>'
            f'<div class="nqa-article">{full}</div></details></article>')


def _also_published(c: Citation) -> str:
    """The near-copies of the cited article: the same story at other outlets or in other versions."""
    if not c.also_published:
        return ""
    items = []
    for other in c.also_published:
        label = text_html(f"{other.source or 'unknown outlet'}, {other.date or 'undated'}")
        url = safe_url(other.url)
        if url:
            label = f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">{label}</a>'
        items.append(f'<li title="{text_html(other.title)}">{label}</li>')
    return f'<div class="nqa-also">Also published: <ul>{"".join(items)}</ul></div>'


def sources_html(answer: Answer, turn: int, articles: dict[str, Article]) -> str:
    cards = "".join(source_card(turn, c, articles.get(c.doc_id), answer.citations) for c in answer.citations)
    if not cards:
        cards = '<p class="nqa-empty">No sources: nothing in the corpus answered this question.</p>'
    return cards


@dataclass(frozen=True)
class TurnView:
    """One finished exchange of a browser session: the answer and its rendered sources."""

    answer: Answer
    sources: str  # HTML of its source cards

    def turn(self) -> Turn:
        top = self.answer.citations[0].title if self.answer.citations else ""
        return Turn(self.answer.question, "" if self.answer.abstained else self.answer.text, top)


EMPTY_SOURCES = ('<div class="nqa-sources"><h3>Sources</h3><p class="nqa-empty">Each cited sentence appears here '
                 "with its outlet, date and article. Click a [n] in an answer to jump to it.</p></div>")


def sources_panel(views: Sequence[TurnView]) -> str:
    """Sources of every turn, newest first and open; older turns folded."""
    if not views:
        return EMPTY_SOURCES
    groups = []
    for turn in range(len(views) - 1, -1, -1):
        view = views[turn]
        is_open = " open" if turn == len(views) - 1 else ""
        question = view.answer.question
        heading = question if len(question) <= HEADING_CHARS else question[: HEADING_CHARS - 1].rstrip() + "…"
        groups.append(f'<details class="nqa-turn"{is_open}><summary title="{text_html(question)}">'
                      f"{text_html(heading)}</summary>"
                      f"{view.sources}</details>")
    return f'<div class="nqa-sources"><h3>Sources</h3>{"".join(groups)}</div>'


# -- the corpus ------------------------------------------------------------------------------------
class Corpus(NamedTuple):
    """What the loaded index holds, for the filters, the header and the example questions."""

    articles: int
    outlets: list[str]
    categories: list[str]
    first_date: str
    last_date: str
    examples: list[str]


def describe_corpus(pipeline: QAPipeline, examples: int = EXAMPLES) -> Corpus:
    """Counts, outlets and date range of the index, and example questions: the demo's own when its articles are
    there, then newest headlines (one per outlet)."""
    infos = list(pipeline.index.articles.values())
    sources = outlets(pipeline.index)
    dates = sorted(a.date for a in infos if a.date)
    titles = {a.title for a in infos}
    questions = [q for q, title in DEMO_QUESTIONS.items() if title in titles]
    seen_outlets: set[str] = set()
    for info in sorted(infos, key=lambda a: (a.date, a.doc_id), reverse=True):
        if len(questions) >= examples:
            break
        if info.source not in seen_outlets and 15 <= len(info.title) <= 90:
            seen_outlets.add(info.source)
            questions.append(f"Tell me about: {info.title}")
    return Corpus(len(infos), sources, categories(pipeline.index), dates[0] if dates else "",
                  dates[-1] if dates else "", questions[:examples])


def parse_history(history: str | None) -> list[Turn]:
    """Turns from the API's JSON: a list of {"question", "answer", "title"} objects."""
    if not history or not history.strip():
        return []
    try:
        items = json.loads(history)
        if not isinstance(items, list):
            raise ValueError(f"expected a JSON list, got {type(items).__name__}")
        return [Turn(str(i["question"]), str(i.get("answer", "")), str(i.get("title", ""))) for i in items]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"history must be a JSON list of {{question, answer, title}} objects: {exc}") from exc


# -- the handlers ----------------------------------------------------------------------------------
class WebChat:
    """What the page's events call: the streamed chat reply and the `/ask` API. Holds no per-user state."""

    def __init__(self, pipeline: QAPipeline, default_k: int, compute_threads: int = 0) -> None:
        self.pipeline = pipeline
        self.default_k = default_k
        self.compute_threads = compute_threads
        self.corpus = describe_corpus(pipeline)
        self._worker = threading.local()

    def _ask(self, question: str, history: Sequence[Turn], filters: Filters, k: int) -> Answer:
        """pipeline.ask, with this worker thread's encoder and vector-search threads capped first.

        The app answers several questions at once, each in a worker thread. torch, FAISS and numpy's BLAS
        default to one thread per core, and OpenMP's cap is per calling thread, so each worker sets its own
        on first use: with the defaults, concurrent questions fight over the cores (16 loopback clients on
        2 cores, before query encodings were batched: 23.8 questions/s, against 31 with one thread each).
        """
        first = self.compute_threads and not getattr(self._worker, "capped", False)
        if first:
            self._cap_threads()
        answer = self.pipeline.ask(question, history=history, filters=filters, k=k)
        if first:  # the first answer may load a library with a thread pool of its own (the reader's, scipy's BLAS)
            self._cap_threads()
            self._worker.capped = True
        return answer

    def _cap_threads(self) -> None:
        threadpool_limits(self.compute_threads)
        torch.set_num_threads(self.compute_threads)

    def messages(self, views: Sequence[TurnView]) -> list[dict[str, str]]:
        """The conversation so far as Chatbot messages (rebuilt from the session's turns)."""
        messages = []
        for turn, view in enumerate(views):
            messages.append({"role": "user", "content": text_html(view.answer.question)})
            messages.append({"role": "assistant", "content": answer_html(view.answer, turn, self.corpus.articles)})
        return messages

    def respond(self, question: str, views: list[TurnView], date_from: str | None, date_to: str | None,
                outlets: list[str] | None, k: float,
                chosen_categories: list[str] | None = None) -> Iterator[tuple[Any, ...]]:
        """Yields (chat, turns, sources panel, question box): a pending note, the retrieval note, then each sentence."""
        views = list(views or [])
        question = (question or "").strip()
        if not question:
            yield self.messages(views), views, sources_panel(views), ""
            return
        shown = self.messages(views) + [{"role": "user", "content": text_html(question)}]
        try:
            filters = make_filters(date_from, date_to, outlets, ("From", "To"), self.corpus.outlets,
                                   chosen_categories, self.corpus.categories)
        except ValueError as exc:
            refusal = {"role": "assistant", "content": notice(f"Filters: {exc}")}
            yield shown + [refusal], views, sources_panel(views), question
            return
        searching = f'<div class="nqa-pending">Searching {self.corpus.articles:,} articles…</div>'
        yield shown + [{"role": "assistant", "content": searching}], views, sources_panel(views), ""
        answer = self._ask(question, [v.turn() for v in views], filters, int(k))
        turn = len(views)
        cited = self.pipeline.index.store.articles([c.doc_id for c in answer.citations])
        done = views + [TurnView(answer, sources_html(answer, turn, cited))]
        steps = 0 if answer.abstained else len(answer.citations)
        for count in range(steps + 1):
            content = answer_html(answer, turn, self.corpus.articles, None if count == steps else count)
            panel = sources_panel(done if count or answer.abstained else views)
            # gr.skip(): the box was cleared when the search started; the user may be typing the next question
            yield shown + [{"role": "assistant", "content": content}], done, panel, gr.skip()
            if count < steps:
                time.sleep(STREAM_PAUSE)

    def api(self) -> Callable[..., dict]:
        """The `/ask` endpoint (typed, so Gradio can describe it to clients)."""

        def ask(question: str, history: str = "", date_from: str = "", date_to: str = "",
                sources: list[str] | None = None, k: int = self.default_k,
                categories: list[str] | None = None) -> dict:
            """Answer one question. history: JSON list of {question, answer, title}; returns Answer.to_dict()."""
            try:
                filters = make_filters(date_from, date_to, sources, ("date_from", "date_to"), self.corpus.outlets,
                                       categories, self.corpus.categories)
                turns = parse_history(history)
                if not 1 <= int(k) <= MAX_K:
                    raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
            except ValueError as exc:
                raise gr.Error(str(exc)) from exc
            return self._ask(question, turns, filters, int(k)).to_dict()

        return ask


def _placeholder(corpus: Corpus, folder: str) -> str:
    """What the empty chat says: how to fill an empty index, or what the corpus holds."""
    if not corpus.articles:
        return (f"**This index is empty.** {text_html(folder)} holds no articles yet. Add some with "
                f"<code>newsqa ingest FILES --index {text_html(folder)}</code> or "
                "<code>newsqa ingest --demo</code>, then restart the chat.")
    span = f", {text_html(corpus.first_date)} to {text_html(corpus.last_date)}" if corpus.first_date else ""
    return (f"**Ask about {corpus.articles:,} news articles** from {len(corpus.outlets)} outlets{span}. "
            "Every answer cites its sentences; try one of these:")


# -- the page --------------------------------------------------------------------------------------
def build_app(pipeline: QAPipeline, settings: Settings) -> gr.Blocks:
    """The chat, filters and sources panel over `pipeline`, and the `/ask` API endpoint."""
    chat = WebChat(pipeline, min(settings.k, MAX_K), settings.compute_threads)
    corpus, folder = chat.corpus, str(pipeline.index.folder)
    empty = not corpus.articles
    with gr.Blocks(title="newsqa — ask the news", analytics_enabled=False) as app:
        views_state = gr.State([])
        gr.HTML(_header(corpus, folder), elem_id="nqa-header", js_on_load=None)
        with gr.Row(equal_height=False, elem_id="nqa-main"):
            with gr.Column(scale=3, min_width=340):
                chatbot = gr.Chatbot(
                    elem_id="nqa-chat", show_label=False, height=620, min_height=320, render_markdown=False,
                    sanitize_html=True, latex_delimiters=[], feedback_options=None, buttons=[],
                    placeholder=_placeholder(corpus, folder), layout="bubble", autoscroll=True,
                    examples=[{"text": q} for q in corpus.examples] or None,
                )
                question = gr.Textbox(
                    elem_id="nqa-question", show_label=False, submit_btn="Ask", lines=1,
                    max_length=settings.max_question_chars, interactive=not empty,
                    placeholder="The index is empty" if empty else "Ask a question about the news…",
                )
                clear = gr.Button("New conversation", size="sm", variant="secondary", elem_id="nqa-clear")
            with gr.Column(scale=2, min_width=300, elem_id="nqa-side"):
                with gr.Accordion("Filters", open=True, elem_id="nqa-filters"):
                    with gr.Row():
                        date_from = gr.DateTime(label="From", include_time=False, type="string", min_width=170,
                                                elem_id="nqa-from")
                        date_to = gr.DateTime(label="To", include_time=False, type="string", min_width=170,
                                              elem_id="nqa-to")
                    with gr.Row():
                        outlets = gr.Dropdown(corpus.outlets, value=[], multiselect=True, label="Outlets",
                                              info="all when empty", elem_id="nqa-outlets", scale=3, min_width=200)
                        k = gr.Slider(1, MAX_K, value=chat.default_k, step=1, label="Passages (k)",
                                      info="how many to search", elem_id="nqa-k", scale=2, min_width=170)
                    kinds = gr.Dropdown(corpus.categories, value=[], multiselect=True, label="Categories",
                                        info="all when empty", elem_id="nqa-categories",
                                        visible=bool(corpus.categories))
                sources = gr.HTML(EMPTY_SOURCES, elem_id="nqa-sources", js_on_load=None)

        inputs = [question, views_state, date_from, date_to, outlets, k, kinds]
        outputs = [chatbot, views_state, sources, question]
        question.submit(chat.respond, inputs, outputs, api_visibility="private", show_progress="hidden")
        chatbot.example_select(_example_text, None, question, api_visibility="private", queue=False).then(
            chat.respond, inputs, outputs, api_visibility="private", show_progress="hidden")
        for reset in (clear.click, chatbot.clear):
            reset(lambda: ([], [], EMPTY_SOURCES, ""), None, outputs, api_visibility="private", queue=False)
        gr.api(chat.api(), api_name="ask")
    return app


def _example_text(event: gr.SelectData) -> str:
    """The question of the example the user clicked (typed as SelectData so Gradio passes the event)."""
    return str(event.value["text"])


def _header(corpus: Corpus, folder: str) -> str:
    if not corpus.articles:
        facts = f"empty index at {folder}"
    else:
        span = f" · {corpus.first_date} – {corpus.last_date}" if corpus.first_date else ""
        facts = f"{corpus.articles:,} articles · {len(corpus.outlets)} outlets{span}"
    return (f'<header class="nqa-top"><h1>newsqa</h1><p>Answers from the news, with the sentences that say so. '
            f'<span class="nqa-facts">{text_html(facts)}</span></p></header>')


# -- launching -------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(settings: Settings) -> str | None:
    """A warning when the chat would be reachable from other machines without a login."""
    if is_loopback(settings.host) or settings.auth:
        return None
    return (f"warning: serving on {settings.host} without a login: anyone who can reach this machine can use the "
            'chat. Set auth = "user:password" (NEWSQA_AUTH or --auth) or bind 127.0.0.1.')


def blocked_paths(settings: Settings) -> list[str]:
    """Folders Gradio must never serve, whatever else it allows: the index, plus GRADIO_BLOCKED_PATHS."""
    extra = [p.strip() for p in os.environ.get("GRADIO_BLOCKED_PATHS", "").split(",") if p.strip()]
    return [str(settings.index_dir.resolve()), *extra]


def launch(app: gr.Blocks, settings: Settings, *, prevent_thread_lock: bool = False, quiet: bool = False) -> str:
    """Start the server on settings.host/port (login when settings.auth is set); returns its URL.

    The chat takes no files: uploads are capped at MAX_UPLOAD and the index folder is never served.
    """
    if warning := exposure_warning(settings):
        print(warning, file=sys.stderr)
    auth = tuple(settings.auth.split(":", 1)) if settings.auth else None
    # After every event Gradio rebuilds a pandas summary of its last (up to 10,000) events for its monitoring
    # page, which newsqa does not use: GIL time growing with uptime, 8% of the server's under load at only
    # 400 events. Rebuild it every 1,000 events instead (an explicit GRADIO_ANALYTICS_* setting still wins).
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    app.queue(default_concurrency_limit=settings.concurrency)
    try:
        _, url, _ = app.launch(
            server_name=settings.host, server_port=settings.port, auth=auth, prevent_thread_lock=prevent_thread_lock,
            quiet=quiet, show_error=True, ssr_mode=False, footer_links=["api"], theme=THEME, css=CSS, head=HEAD,
            allowed_paths=[], blocked_paths=blocked_paths(settings), max_file_size=MAX_UPLOAD,
        )
    except OSError as exc:  # Gradio's message points at its own GRADIO_SERVER_PORT, not at newsqa's settings
        raise OSError(f"cannot serve on {settings.host}:{settings.port}, the port is busy or not allowed ({exc}); "
                      "choose another with --port or NEWSQA_PORT") from exc
    return url


def serve(settings: Settings) -> None:
    """Open the index read-only, load the model once (so the first visitor does not wait) and serve the chat."""
    pipeline = open_pipeline(settings, shared=True)
    print(f"Loading the model and the index in {settings.index_dir} …", flush=True)
    pipeline.ask("What is in the news?", k=1)
    launch(build_app(pipeline, settings), settings)


THEME = gr.themes.Soft(
    primary_hue="indigo", neutral_hue="slate",
    font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
)

# A citation link opens the folded groups around its source card, scrolls to it and flashes it.
HEAD = """<script>
document.addEventListener("click", function (event) {
  var link = event.target && event.target.closest ? event.target.closest("a.nqa-cite") : null;
  if (!link) return;
  var target = document.getElementById((link.getAttribute("href") || "").slice(1));
  if (!target) return;
  event.preventDefault();
  event.stopPropagation();
  for (var el = target; el; el = el.parentElement) { if (el.tagName === "DETAILS") el.open = true; }
  target.scrollIntoView({behavior: "smooth", block: "start"});
  target.classList.remove("nqa-flash");
  void target.offsetWidth;
  target.classList.add("nqa-flash");
}, true);
</script>"""

CSS = """
.gradio-container { max-width: 1320px !important; }
.nqa-top h1 { margin: 0; font-size: 1.6rem; letter-spacing: -0.01em; }
.nqa-top p { margin: 0.2rem 0 0; color: var(--body-text-color-subdued); }
.nqa-facts { display: inline-block; margin-left: 0.4rem; padding: 0 0.5rem; border-radius: 999px;
  background: var(--background-fill-secondary); font-size: 0.85em; }
.nqa-answer p { margin: 0.4rem 0 0; line-height: 1.55; }
.nqa-note { font-size: 0.85em; color: var(--body-text-color-subdued); }
.nqa-rewrite, .nqa-caveat { margin: 0.2rem 0 0; font-size: 0.85em; color: var(--body-text-color-subdued); }
.nqa-caveat { padding-left: 0.5rem; border-left: 3px solid #d97706; }
.nqa-note summary { cursor: pointer; }
.nqa-note dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 0.7rem; margin: 0.3rem 0 0.4rem; }
.nqa-note dt { font-weight: 600; }
.nqa-note dd { margin: 0; overflow-wrap: anywhere; }
a.nqa-cite { display: inline-block; padding: 0 0.3em; margin-left: 0.1em; border-radius: 0.4em; font-size: 0.8em;
  font-weight: 600; line-height: 1.4; text-decoration: none !important; vertical-align: 0.15em;
  background: var(--color-accent-soft); color: var(--color-accent) !important; }
a.nqa-cite:hover, a.nqa-cite:focus { background: var(--color-accent); color: white !important; }
.nqa-short { font-weight: 700; text-decoration: underline; text-decoration-color: #e3a008; text-decoration-thickness: 2px; }
mark.nqa-hl { background: #fff1a8; color: #1f2328; padding: 0 0.1em; border-radius: 0.2em; }
.nqa-abstain { display: flex; gap: 0.7rem; align-items: flex-start; padding: 0.6rem 0.8rem; margin-top: 0.4rem;
  border-left: 4px solid #d97706; border-radius: 0.4rem; background: rgba(217, 119, 6, 0.08); }
.nqa-abstain .nqa-icon { font-size: 1.5rem; line-height: 1; color: #d97706; }
.nqa-abstain p { margin: 0.2rem 0 0; }
.nqa-abstain .nqa-tip { font-size: 0.85em; color: var(--body-text-color-subdued); }
.nqa-notice { padding: 0.5rem 0.7rem; border-left: 4px solid #dc2626; background: rgba(220, 38, 38, 0.08); border-radius: 0.4rem; }
.nqa-pending, .nqa-typing { color: var(--body-text-color-subdued); animation: nqa-pulse 1.2s ease-in-out infinite; }
@keyframes nqa-pulse { 50% { opacity: 0.35; } }
.nqa-sources h3 { margin: 0 0 0.4rem; font-size: 1.05rem; }
.nqa-empty { color: var(--body-text-color-subdued); font-size: 0.9em; }
.nqa-turn { margin-bottom: 0.6rem; }
.nqa-turn > summary { cursor: pointer; font-weight: 600; padding: 0.3rem 0; overflow-wrap: anywhere; }
.nqa-src { padding: 0.7rem 0.8rem; margin: 0.5rem 0; border: 1px solid var(--border-color-primary);
  border-radius: 0.6rem; background: var(--block-background-fill); scroll-margin-top: 0.8rem; }
.nqa-src h4 { margin: 0; font-size: 0.98rem; line-height: 1.35; overflow-wrap: anywhere; }
.nqa-src h4 a { color: var(--body-text-color); text-decoration: underline; text-decoration-color: var(--border-color-primary); }
.nqa-n { color: var(--color-accent); font-weight: 700; }
.nqa-meta { margin-top: 0.15rem; font-size: 0.8em; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.nqa-also { margin-top: 0.2rem; font-size: 0.8em; color: var(--body-text-color-subdued); }
.nqa-also ul { display: inline; margin: 0; padding: 0; list-style: none; }
.nqa-also li { display: inline; }
.nqa-also li + li::before { content: " · "; }
.nqa-url { opacity: 0.8; }
.nqa-passage { margin: 0.5rem 0 0.3rem; padding: 0 0 0 0.7rem; border-left: 3px solid var(--border-color-primary);
  font-size: 0.92em; line-height: 1.5; overflow-wrap: anywhere; }
.nqa-full summary { cursor: pointer; font-size: 0.85em; color: var(--color-accent); }
.nqa-article { white-space: pre-wrap; max-height: 24rem; overflow: auto; margin-top: 0.4rem; padding: 0.5rem 0.6rem;
  font-size: 0.9em; line-height: 1.5; border-radius: 0.4rem; background: var(--background-fill-secondary); overflow-wrap: anywhere; }
.nqa-flash { animation: nqa-flash 1.6s ease-out; }
@keyframes nqa-flash { 0% { box-shadow: 0 0 0 3px var(--color-accent); } 100% { box-shadow: 0 0 0 0 transparent; } }
#nqa-sources { max-height: 78vh; overflow-y: auto; }
#nqa-chat .placeholder { padding: 0 1.2rem; }
#nqa-from input.time, #nqa-to input.time { min-width: 0; width: 100%; flex: 1 1 auto; }
@media (max-width: 700px) {
  .gradio-container { padding: 0 6px !important; }
  .nqa-top h1 { font-size: 1.3rem; }
  .nqa-facts { display: table; margin: 0.3rem 0 0; }
  #nqa-chat { height: auto !important; min-height: 240px !important; max-height: 70vh; }
  #nqa-sources { max-height: none; }
}
"""

"""The web chat (`newsqa serve`): a Gradio app over one QAPipeline, plus an `ask` API endpoint.

Article text and metadata are untrusted: the page's HTML is made in `ui.render` (escaped, links only from
http(s) URLs), and the chat renders it without markdown and with Gradio's sanitizer on. The UI holds no
retrieval logic: it calls QAPipeline.ask and formats what comes back.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import gradio as gr
import torch
from threadpoolctl import threadpool_limits

from index.models import Article
from qa.conversation import Turn
from qa.models import Answer, Filters
from qa.pipeline import QAPipeline
from qa.written import cited_sources
from ui.render import (
    CSS,
    EMPTY_SOURCES,
    HEAD,
    THEME,
    TurnView,
    answer_html,
    notice,
    shown_citations,
    sources_html,
    sources_panel,
    text_html,
    written_html,
)
from ui.settings import Settings
from ui.wiring import categories, make_filters, open_pipeline, outlets

STREAM_PAUSE = 0.04  # seconds between streamed pieces, so the answer visibly builds up
MAX_K = 30
# The chat fills the window's height less the header and the question box below it, so that the box stays in view
# on a 768-pixel laptop screen (a fixed 620 pixels pushed it below the fold) and a tall screen is used.
CHAT_HEIGHT = "calc(100svh - 250px)"  # min_height keeps it usable on a very short window
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
    """Turns from the API's JSON: a list of {"question", "answer", "title", "query"} objects (all but "question" optional)."""
    if not history or not history.strip():
        return []
    try:
        items = json.loads(history)
        if not isinstance(items, list):
            raise ValueError(f"expected a JSON list, got {type(items).__name__}")
        return [Turn(str(i["question"]), str(i.get("answer", "")), str(i.get("title", "")), str(i.get("query", "")))
                for i in items]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"history must be a JSON list of {{question, answer, title, query}} objects: {exc}") from exc


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
            render = written_html if view.answer.written is not None else answer_html
            messages.append({"role": "assistant", "content": render(view.answer, turn, self.corpus.articles)})
        return messages

    def respond(self, question: str, views: list[TurnView], date_from: str | None, date_to: str | None,
                outlets: list[str] | None, k: float, chosen_categories: list[str] | None = None,
                write: bool = False) -> Iterator[tuple[Any, ...]]:
        """Yields (chat, turns, sources panel, question box): a pending note, the retrieval note, then each sentence."""
        views = list(views or [])
        question = (question or "").strip()
        if not question:
            yield self.messages(views), views, sources_panel(views), ""
            return
        shown = self.messages(views) + [{"role": "user", "content": text_html(question)}]
        too_long = self.pipeline.too_long(question)
        if too_long is not None:  # refused here too, so that the question stays in its box to be shortened
            yield shown + [{"role": "assistant", "content": notice(too_long)}], views, sources_panel(views), question
            return
        k = min(max(int(k), 1), MAX_K)  # the slider's number box takes any number typed into it
        try:
            filters = make_filters(date_from, date_to, outlets, ("From", "To"), self.corpus.outlets,
                                   chosen_categories, self.corpus.categories)
        except ValueError as exc:
            refusal = {"role": "assistant", "content": notice(f"Filters: {exc}")}
            yield shown + [refusal], views, sources_panel(views), question
            return
        searching = f'<div class="nqa-pending">Searching {self.corpus.articles:,} articles…</div>'
        yield shown + [{"role": "assistant", "content": searching}], views, sources_panel(views), ""
        history = [v.turn() for v in views]
        answer = self._ask(question, history, filters, int(k))
        turn = len(views)
        if write and self.pipeline.writer is not None:
            yield from self._written(shown, views, answer, history, turn)
            return
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

    def _written(self, shown: list[dict], views: list[TurnView], answer: Answer, history: list[Turn],
                 turn: int) -> Iterator[tuple[Any, ...]]:
        """Stream the written answer: each sentence as it comes, its citations resolved once it ends."""
        articles: dict[str, Article] = {}
        for event in self.pipeline.stream_written(answer, history):
            if isinstance(event, Answer):
                answer = event
                break
            cited = cited_sources(event.claims, event.sources)
            articles.update(self.pipeline.index.store.articles([c.doc_id for c in cited if c.doc_id not in articles]))
            draft_view = TurnView(answer, sources_html(answer, turn, articles, cited))
            content = written_html(answer, turn, self.corpus.articles, event)
            yield shown + [{"role": "assistant", "content": content}], views, sources_panel(views + [draft_view]), gr.skip()
        cited = self.pipeline.index.store.articles([c.doc_id for c in shown_citations(answer)])
        done = views + [TurnView(answer, sources_html(answer, turn, cited))]
        content = written_html(answer, turn, self.corpus.articles)
        yield shown + [{"role": "assistant", "content": content}], done, sources_panel(done), gr.skip()

    def api(self) -> Callable[..., dict]:
        """The `/ask` endpoint (typed, so Gradio can describe it to clients)."""

        def ask(question: str, history: str = "", date_from: str = "", date_to: str = "",
                sources: list[str] | None = None, k: int = self.default_k,
                categories: list[str] | None = None, written: bool = False) -> dict:
            """Answer one question. history: JSON list of {question, answer, title, query}; returns Answer.to_dict().
            written: also a language model's answer, checked sentence by sentence (when the chat has one)."""
            try:
                filters = make_filters(date_from, date_to, sources, ("date_from", "date_to"), self.corpus.outlets,
                                       categories, self.corpus.categories)
                turns = parse_history(history)
                if not 1 <= int(k) <= MAX_K:
                    raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
            except ValueError as exc:
                raise gr.Error(str(exc)) from exc
            answer = self._ask(question, turns, filters, int(k))
            if written and self.pipeline.writer is not None and not answer.signals.get("too_long"):
                answer = self.pipeline.writer.write(answer, turns)
            return answer.to_dict()

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
                    elem_id="nqa-chat", show_label=False, height=CHAT_HEIGHT, min_height=320, render_markdown=False,
                    sanitize_html=True, latex_delimiters=[], feedback_options=None, buttons=[],
                    placeholder=_placeholder(corpus, folder), layout="bubble", autoscroll=True,
                    examples=[{"text": q} for q in corpus.examples] or None,
                )
                question = gr.Textbox(
                    elem_id="nqa-question", show_label=False, submit_btn="Ask", lines=1,
                    # twice the limit: a longer question is refused with its length (respond), not cut unseen
                    max_length=2 * settings.max_question_chars, interactive=not empty,
                    placeholder="The index is empty" if empty else "Ask a question about the news…",
                )
                with gr.Row():
                    clear = gr.Button("New conversation", size="sm", variant="secondary", elem_id="nqa-clear")
                    write = gr.Checkbox(value=pipeline.writer is not None, visible=pipeline.writer is not None,
                                        label=f"Written answer ({pipeline.writer.model.name if pipeline.writer else ''})",
                                        info="a language model writes it from the sources; each sentence is checked "
                                        "against its citation and unsupported ones are not shown",
                                        elem_id="nqa-llm")
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

        inputs = [question, views_state, date_from, date_to, outlets, k, kinds, write]
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


def serve(settings: Settings, llm: bool = False) -> None:
    """Open the index read-only, load the model once (so the first visitor does not wait) and serve the chat;
    `llm`: offer written answers from the language model at settings.llm_url."""
    pipeline = open_pipeline(settings, shared=True, llm=llm)
    print(f"Loading the model and the index in {settings.index_dir} …", flush=True)
    pipeline.ask("What is in the news?", k=1)
    launch(build_app(pipeline, settings), settings)

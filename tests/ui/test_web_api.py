"""The web app's `/ask` endpoint driven with gradio_client, its login, and the HTML it builds."""

from __future__ import annotations

import html
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError
from threadpoolctl import ThreadpoolController, threadpool_info

from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndexError, NewsIndex
from qa.models import AlternativeSource, Answer, Citation, Filters
from qa.pipeline import QAPipeline
from ui.render import Mark, TurnView, answer_html, highlight, safe_url, sources_html, sources_panel, text_html
from ui.settings import Settings
from ui.web import MAX_K, WebChat, build_app, describe_corpus, exposure_warning, is_loopback, serve
from ui.wiring import make_filters

pytestmark = [pytest.mark.ui, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

DEVOS = "Who cast the tie-breaking vote to confirm Betsy DeVos?"


def ask(client: Client, question: str, **kwargs: object) -> dict:
    return client.predict(question, api_name="/ask", **kwargs)


@pytest.fixture(scope="module")
def client(web_url: str) -> Client:
    return Client(web_url, verbose=False)


def assert_offsets(index: NewsIndex, citation: dict) -> None:
    article = index.store.article(citation["article_id"])
    assert article is not None, citation
    assert article.text[citation["start"] : citation["end"]] == citation["sentence"]
    assert citation["passage_start"] <= citation["start"] < citation["end"] <= citation["passage_end"]
    if citation["answer_span"]:
        a, b = citation["answer_span"]
        assert citation["start"] <= a < b <= citation["end"]


def test_ask_returns_the_answer_with_citations_that_point_at_the_stored_sentence(client: Client, web_index: NewsIndex) -> None:
    result = ask(client, DEVOS)
    assert not result["abstained"]
    assert "Mike Pence cast a tie-breaking vote" in result["answer"]
    assert "[1]" in result["answer"]
    first = result["citations"][0]
    assert (first["n"], first["article_id"], first["source"], first["date"]) == (1, "devos-vote", "ABC News", "2017-02-07")
    assert first["url"] == "http://abcnews.go.com/devos-vote"
    assert first["sentence"] in result["answer"]
    for citation in result["citations"]:
        assert_offsets(web_index, citation)
    assert result["short_answer"] == "Vice President Mike Pence"
    assert set(result["timings_ms"]) >= {"retrieval", "answer", "total"}


def test_filters_change_what_is_cited(client: Client, web_index: NewsIndex) -> None:
    later = ask(client, DEVOS, date_from="2017-02-08")
    assert later["filters"]["date_from"] == "2017-02-08"
    assert later["citations"], later
    assert all(c["date"] >= "2017-02-08" for c in later["citations"])
    assert "devos-vote" not in {c["article_id"] for c in later["citations"]}
    for citation in later["citations"]:
        assert_offsets(web_index, citation)
    only_dw = ask(client, DEVOS, sources=["DW"])
    assert only_dw["filters"]["sources"] == ["DW"]
    assert all(c["source"] == "DW" for c in only_dw["citations"])


def test_history_makes_a_follow_up_search_for_the_earlier_names(client: Client) -> None:
    history = json.dumps([{"question": DEVOS, "answer": "Vice President Mike Pence cast a tie-breaking vote. [1]",
                           "title": "Pence breaks tie to confirm DeVos"}])
    alone = ask(client, "When did he start work?")
    follow_up = ask(client, "When did he start work?", history=history)
    assert alone["query"] == "When did he start work?"
    assert follow_up["query"].startswith("When did he start work?")
    assert "Betsy DeVos" in follow_up["query"] or "Mike Pence" in follow_up["query"]


def test_a_turn_remembers_what_its_follow_up_searched(client: Client) -> None:
    """A follow-up of a follow-up leans on what that one searched ("How many people? Oroville Dam"), so the chat's
    turns and the API's history carry the rewrite."""
    history = [{"question": "Which country is the happiest?", "answer": "Norway is the happiest country. [1]"},
               {"question": "How many people?", "answer": "", "query": "How many people? Oroville Dam"}]
    follow_up = ask(client, "And what did officials say?", history=json.dumps(history))
    assert "Oroville Dam" in follow_up["query"] and "Norway" not in follow_up["query"]
    asked = Answer("When did he start work?", "When did he start work? Betsy DeVos", "She started on Monday. [1]",
                   (), False, 0.9)
    assert TurnView(asked, "").turn().query == "When did he start work? Betsy DeVos"
    assert TurnView(replace(asked, query=asked.question), "").turn().query == ""  # searched as asked


def test_concurrent_questions_each_get_their_own_answer(client: Client) -> None:
    questions = {DEVOS: "devos-vote", "How strong were the winds of Storm Doris?": "storm-doris",
                 "Which country is the happiest in the world?": "happiest", "How much did China's exports rise?": "exports"}
    jobs = [(q, client.submit(q, api_name="/ask")) for q in list(questions) * 2]
    for question, job in jobs:
        result = job.result(timeout=60)
        assert result["question"] == question
        assert result["citations"][0]["article_id"] == questions[question], result


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the default is one thread, nothing to cap")
def test_each_worker_thread_caps_its_compute_threads_before_answering(web_index: NewsIndex) -> None:
    """OpenMP's thread count is per calling thread: the cap must be set in the worker that answers."""
    chat = WebChat(QAPipeline(web_index), default_k=5, compute_threads=1)
    controller = ThreadpoolController()
    blas = controller.select(user_api="blas").lib_controllers
    torch_before, blas_before = torch.get_num_threads(), [lib.num_threads for lib in blas]
    seen: dict[str, object] = {}

    def worker() -> None:
        seen["result"] = chat.api()(DEVOS)
        seen["limits"] = {lib["user_api"] for lib in threadpool_info() if lib["num_threads"] != 1}
        seen["torch"] = torch.get_num_threads()

    try:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=60)
    finally:
        torch.set_num_threads(torch_before)
        for lib, threads in zip(blas, blas_before):
            lib.set_num_threads(threads)
    assert seen["limits"] == set() and seen["torch"] == 1  # OpenMP and BLAS at one thread, torch too
    assert seen["result"]["citations"][0]["article_id"] == "devos-vote"  # type: ignore[index]


def test_unrelated_question_abstains(client: Client) -> None:
    result = ask(client, "How tall is the Eiffel tower?")
    assert result["abstained"]
    assert result["citations"] == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"date_from": "March 2017"}, "date_from"),
    ({"date_from": "2017-03-01", "date_to": "2017-02-01"}, "after date_to"),
    ({"history": "{not json"}, "history must be a JSON list"),
    ({"k": MAX_K + 1}, "k must be between"),
])
def test_bad_input_is_refused_with_a_message(client: Client, kwargs: dict, message: str) -> None:
    with pytest.raises(AppError, match=message):
        ask(client, DEVOS, **kwargs)


def test_login_is_required_when_auth_is_set(start_web_app: Callable[..., str]) -> None:
    url = start_web_app(auth="reader:s3cret")
    with pytest.raises(AuthenticationError):
        Client(url, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=("reader", "wrong"), verbose=False)
    logged_in = Client(url, auth=("reader", "s3cret"), verbose=False)
    assert not ask(logged_in, DEVOS)["abstained"]


def test_only_loopback_without_login_goes_unwarned() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert exposure_warning(Settings()) is None
    assert exposure_warning(Settings(host="0.0.0.0", auth="a:b")) is None
    warning = exposure_warning(Settings(host="0.0.0.0"))
    assert warning and "0.0.0.0" in warning and "auth" in warning


def test_serve_names_a_missing_index(tmp_path: Path) -> None:
    with pytest.raises(NewsIndexError, match="newsqa ingest"):
        serve(Settings(index_dir=tmp_path / "nothing-here"))


def test_empty_index_says_so_and_offers_no_input(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    empty = NewsIndex.open(tmp_path / "empty", fake_embedder, config=IndexConfig(model=fake_embedder.name, dim=64))
    app = build_app(QAPipeline(empty), Settings(index_dir=tmp_path / "empty"))
    chat = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "nqa-chat")
    box = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "nqa-question")
    assert "This index is empty" in chat.placeholder and "newsqa ingest" in chat.placeholder
    assert box.interactive is False
    assert not chat.examples


def test_examples_come_from_the_index(web_index: NewsIndex) -> None:
    corpus = describe_corpus(QAPipeline(web_index))
    titles = {a.title for a in web_index.articles.values()}
    assert corpus.examples and all(q.removeprefix("Tell me about: ") in titles for q in corpus.examples)
    assert corpus.outlets == sorted({a.source for a in web_index.articles.values()}, key=str.casefold)
    assert (corpus.first_date, corpus.last_date) == ("2017-02-07", "2017-03-20")


# -- the HTML the app builds -----------------------------------------------------------------------
class Tags(HTMLParser):
    """Every start tag and attribute of a fragment, to check that nothing active got through."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> Tags:
    tags = Tags()
    tags.feed(fragment)
    tags.close()
    return tags


ALLOWED_TAGS = {"div", "details", "summary", "dl", "dt", "dd", "p", "span", "a", "strong", "mark", "article", "h4",
                "blockquote", "ul", "li"}


def hostile_answer(web_index: NewsIndex) -> tuple[Answer, dict]:
    article = web_index.store.article("hostile")
    assert article is not None
    start = article.text.index("A second")
    end = article.text.index("instead.") + len("instead.")
    citation = Citation(1, article.doc_id, article.title, article.source, article.date, article.url,
                        article.text[start:end], start, end, 0, 0, len(article.text), 1.0,
                        (article.text.index("<img"), article.text.index("instead") - 1))
    answer = Answer("q", "q <b>", f"{citation.sentence} [1]", (citation,), False, 0.9, filters=Filters(sources=("x<y",)))
    return answer, {article.doc_id: article}


def test_hostile_text_becomes_inert_html(web_index: NewsIndex, hostile_snippets: tuple[str, str, str]) -> None:
    answer, articles = hostile_answer(web_index)
    for fragment in (answer_html(answer, 0, 6), sources_html(answer, 0, articles)):
        tags = parse(fragment)
        assert {t for t, _ in tags.tags} <= ALLOWED_TAGS
        for tag, attrs in tags.tags:
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)
            assert not str(attrs.get("href", "")).lower().startswith("javascript"), attrs
        assert "<script" not in fragment and "<img" not in fragment and "](" not in fragment
    shown = "".join(parse(sources_html(answer, 0, articles)).text)
    for needle in (*hostile_snippets, 'Forum hit by <b>injected</b> markup "attack"', "Evil <i>Outlet</i>"):
        assert needle in shown


def test_highlight_marks_spans_and_escapes_between() -> None:
    text = "Say <b>it's</b> to Ann [x](y) now."
    a, ann = text.index("<b>"), text.index("Ann")
    out = highlight(text, 0, len(text), [Mark(a, ann + 3, "hl"), Mark(ann, ann + 3, "short", "strong")])
    tags = parse(out)
    assert [t for t, _ in tags.tags] == ["mark", "mark", "strong"]
    assert "".join(tags.text) == text
    assert out.endswith('<mark class="hl"><strong class="short">Ann</strong></mark> &#91;x&#93;&#40;y&#41; now.')
    window = highlight(text, a, a + 3, [Mark(0, 3, "hl")])
    assert html.unescape(window) == "<b>" and "<" not in window


def test_text_is_inert_and_only_web_links_are_linked() -> None:
    nasty = "it's & <img src=x onerror=\"alert(1)\"> [a](javascript:x) `code` $x$ {{y}} ${z}"
    inert = text_html(nasty)
    assert html.unescape(inert) == nasty
    assert not set(inert) & set("<>\"'[]()`$") and "javascript:" not in inert
    assert safe_url(" https://example.org/a ") == "https://example.org/a"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,x") is None
    assert safe_url("http://x y") is None


def test_form_filters_are_refused_in_the_forms_own_words() -> None:
    with pytest.raises(ValueError, match=r"From must be a date like 2017-02-28, got '2017-13-45'"):
        make_filters("2017-13-45", None, None, ("From", "To"), [])
    with pytest.raises(ValueError, match="From 2017-03-01 is after To 2017-02-01"):
        make_filters("2017-03-01", "2017-02-01", None, ("From", "To"), [])
    with pytest.raises(ValueError, match=r"no articles from 'cnn' in this index; its outlets are: CNN, DW"):
        make_filters(None, None, ["cnn"], ("From", "To"), ["DW", "CNN"])
    assert make_filters(" 2017-02-01 ", "", ["CNN"], ("From", "To"), ["CNN"]) == Filters("2017-02-01", None, ("CNN",))


def test_while_an_answer_streams_the_question_box_is_left_to_the_user(web_index: NewsIndex) -> None:
    chat = WebChat(QAPipeline(web_index), default_k=10)
    boxes = [update[-1] for update in chat.respond(DEVOS, [], None, None, None, 10)]
    assert len(boxes) >= 3 and boxes[0] == ""  # cleared once, when the search starts
    assert all(box == {"__type__": "update"} for box in boxes[1:])  # gr.skip(): whatever was typed since stays


def test_a_rewritten_follow_up_and_a_caveat_are_shown_with_the_answer(web_index: NewsIndex) -> None:
    answer, articles = hostile_answer(web_index)
    shown = answer_html(replace(answer, note="Written before <June>."), 0, 10)
    assert "Searched for: “q &#60;b&#62;”" in shown and "Written before &#60;June&#62;." in shown
    plain = answer_html(replace(answer, query=answer.question), 0, 10)
    assert "Searched for:" not in plain and "nqa-caveat" not in plain


def test_the_short_answer_heads_the_answer_with_how_sure_it_is(web_index: NewsIndex) -> None:
    answer, articles = hostile_answer(web_index)
    sure = answer_html(replace(answer, short_answer="55,000 <homes>", confidence=0.93), 0, 10)
    assert "Answer</span> <strong>55,000 &#60;homes&#62;</strong>" in sure and "high confidence (0.93)" in sure
    assert "low confidence (0.31)" in answer_html(replace(answer, short_answer="x", confidence=0.31), 0, 10)
    assert "nqa-short-line" not in answer_html(replace(answer, short_answer=""), 0, 10)
    one = QAPipeline(web_index).ask(DEVOS, k=1)
    assert "1 passage from 1 article<" in answer_html(one, 0, 10)


def test_a_decline_that_other_words_cannot_help_gives_no_such_tip(web_index: NewsIndex) -> None:
    declined = Answer("Who won in 2019?", "Who won in 2019?", "The indexed articles run from …", (), True, 0.0)
    assert "Try other words" in answer_html(declined, 0, 10)
    for signal in ("outside_coverage", "not_english"):
        assert "Try other words" not in answer_html(replace(declined, signals={signal: 1.0}), 0, 10)


def test_an_over_long_question_is_refused_with_its_length_not_cut(web_index: NewsIndex) -> None:
    chat = WebChat(QAPipeline(web_index, max_question_chars=100), default_k=10)
    question = "I have read a lot about this. " * 5 + "Who cast the tie-breaking vote?"
    *_, (shown, views, _, box) = chat.respond(question, [], None, None, None, 10)
    assert "limited to 100 characters; this one has 181" in shown[-1]["content"]
    assert views == [] and box == question  # nothing asked, and the question left to shorten


def test_source_cards_list_where_else_the_story_ran_as_inert_text(web_index: NewsIndex) -> None:
    answer, articles = hostile_answer(web_index)
    also = (AlternativeSource("c1", "Same <i>story</i>", "Wire <b>Co</b>", "2017-02-02", "javascript:alert(1)"),
            AlternativeSource("c2", "Same story", "RTÉ", "", "https://rte.example/c2"))
    answer = replace(answer, citations=(replace(answer.citations[0], also_published=also),))
    fragment = sources_html(answer, 0, articles)
    tags = parse(fragment)
    assert {t for t, _ in tags.tags} <= ALLOWED_TAGS
    assert not any(str(attrs.get("href", "")).lower().startswith("javascript") for _, attrs in tags.tags)
    assert [attrs["href"] for tag, attrs in tags.tags if tag == "a" and "rte" in str(attrs.get("href"))] == [
        "https://rte.example/c2"]
    shown = "".join(tags.text)
    assert "Also published: Wire <b>Co</b>, 2017-02-02RTÉ, undated" in shown


def test_source_cards_show_offsets_and_long_questions_are_shortened_as_headings(web_index: NewsIndex) -> None:
    answer, articles = hostile_answer(web_index)
    citation = answer.citations[0]
    assert f"chars {citation.start}–{citation.end}" in sources_html(answer, 0, articles)
    long = replace(answer, question="word " * 400)
    panel = sources_panel([TurnView(long, sources_html(long, 0, articles))])
    heading = panel.split("<summary", 1)[1].split("</summary>", 1)[0]
    assert heading.endswith("…") and len(heading.split(">", 1)[1]) <= 160 + 10


def test_a_busy_port_is_refused_with_the_setting_to_change(start_web_app: Callable[..., str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match=rf"cannot serve on 127.0.0.1:{port}.*--port or NEWSQA_PORT"):
            start_web_app(port=port)


def test_the_api_gives_the_written_answer_when_asked(web_index: NewsIndex, chat_server) -> None:  # noqa: ANN001
    from qa.llm import ChatClient, LLMConfig
    from qa.written import GroundedWriter

    key = "sk-api-secret-777"
    chat_server.reply = "Vice President Mike Pence cast a tie-breaking vote [1]."
    writer = GroundedWriter(ChatClient(LLMConfig(chat_server.url, api_key=key, timeout=10)), web_index)
    ask = WebChat(QAPipeline(web_index, writer=writer), default_k=5).api()
    plain, written = ask(DEVOS), ask(DEVOS, written=True)
    assert "written" not in plain and written["written"]["answer"] == chat_server.reply
    assert written["answer"] == plain["answer"]  # the extractive answer beside it, unchanged
    assert key not in json.dumps(written)
    chat_server.mode = "429"
    limited = ask(DEVOS, written=True)
    assert "rate-limited" in limited["written"]["fallback"] and limited["answer"] == plain["answer"]

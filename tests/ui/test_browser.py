"""The web chat in a real browser (Debian's Chromium through Playwright): streaming, citations, filters, safety."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

pytestmark = [pytest.mark.ui, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--disable-sync"]
# Where the pictures go: a temporary folder, or the README's (`NEWSQA_SCREENSHOTS=docs/screenshots make test`).
SCREENSHOTS_ENV = "NEWSQA_SCREENSHOTS"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DEVOS = "Who cast the tie-breaking vote to confirm Betsy DeVos?"
DEVOS_SENTENCE = "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos as education secretary."
HOSTILE_QUESTION = "What string did security researchers find inside a forum post?"
TIMEOUT_MS = 20_000

# Records each distinct state of the newest answer while it streams: "note:sentences:typing".
WATCH_STREAM = """() => {
  window.__states = [];
  const chat = document.querySelector('#nqa-chat');
  const record = () => {
    const answers = chat.querySelectorAll('.nqa-answer');
    const last = answers[answers.length - 1];
    if (!last) return;
    const state = [answers.length, !!last.querySelector('.nqa-note'), last.querySelectorAll('.nqa-sent').length,
                   !!last.querySelector('.nqa-typing')].join(':');
    if (window.__states[window.__states.length - 1] !== state) window.__states.push(state);
  };
  new MutationObserver(record).observe(chat, {childList: true, subtree: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium with `make browser` "
                    "(apt-get install chromium chromium-driver)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder for the pictures: NEWSQA_SCREENSHOTS if set (the README's come from there), else a temporary one."""
    folder = Path(os.environ[SCREENSHOTS_ENV]) if os.environ.get(SCREENSHOTS_ENV) else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture()
def open_chat(browser: Browser, web_url: str) -> Iterator[Callable[..., Page]]:
    """A fresh browser session (its own conversation) on the chat, at a given viewport size."""
    contexts = []

    def open_page(viewport: dict[str, int] = DESKTOP, **options: object) -> Page:
        context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(web_url)
        page.wait_for_selector("#nqa-question textarea")
        return page

    yield open_page
    for context in contexts:
        context.close()


def answers(page: Page) -> Locator:
    return page.locator("#nqa-chat .nqa-answer")


def ask(page: Page, question: str) -> Locator:
    """Type and send a question; wait until its answer has finished streaming and return it."""
    before = answers(page).count()
    page.fill("#nqa-question textarea", question)
    page.press("#nqa-question textarea", "Enter")
    return wait_for_answer(page, before + 1)


def wait_for_answer(page: Page, count: int) -> Locator:
    page.wait_for_function(
        """(n) => document.querySelectorAll('#nqa-chat .nqa-answer').length === n
                 && !document.querySelector('#nqa-chat .nqa-typing, #nqa-chat .nqa-pending')""", arg=count)
    return answers(page).nth(count - 1)


def cited_titles(page: Page, turn: int) -> list[str]:
    return page.locator(f"#nqa-sources [id^='src-{turn}-'] h4").all_inner_texts()


def test_answer_streams_in_and_its_citation_leads_to_the_source(open_chat: Callable[..., Page],
                                                                 screenshots: Path) -> None:
    page = open_chat()
    expect(page.locator("#nqa-chat .placeholder")).to_contain_text("Ask about 6 news articles")
    expect(page.locator("#nqa-chat button.example").first).to_contain_text("Tell me about:")
    page.evaluate(WATCH_STREAM)
    answer = ask(page, DEVOS)

    # Streamed: the retrieval note showed before any sentence, then the sentences arrived.
    states = page.evaluate("window.__states")
    final_sentences = answer.locator(".nqa-sent").count()
    assert final_sentences >= 1
    assert "1:true:0:true" in states, states
    assert states[-1] == f"1:true:{final_sentences}:false", states

    # The answer, with its short answer emphasised and a citation that names its source on hover.
    expect(answer.locator(".nqa-sent").first).to_have_text(DEVOS_SENTENCE)
    expect(answer.locator("strong.nqa-short").first).to_have_text("Vice President Mike Pence")
    link = answer.locator("a.nqa-cite").first
    expect(link).to_have_text("[1]")
    expect(link).to_have_attribute("href", "#src-0-1")
    expect(link).to_have_attribute("title", "[1] Pence breaks tie to confirm DeVos — ABC News, 2017-02-07")

    # The collapsible retrieval note: what was searched and with which filters.
    note = answer.locator(".nqa-note")
    expect(note.locator("summary")).to_contain_text("searched 6 articles in")
    expect(note.locator("dl")).to_be_hidden()
    note.locator("summary").click()
    expect(note.locator("dl")).to_contain_text(f"Searched for{DEVOS}")
    expect(note.locator("dl")).to_contain_text("any date; all outlets")

    # Clicking [1] brings its source card into view: outlet, date, linked title, passage with the sentence marked.
    card = page.locator("#src-0-1")
    page.locator("#nqa-sources").evaluate("panel => panel.scrollTo(0, panel.scrollHeight)")
    link.click()
    expect(card).to_be_in_viewport()
    expect(card).to_have_class("nqa-src nqa-flash")
    expect(card.locator(".nqa-meta")).to_contain_text("ABC News · 2017-02-07")
    expect(card.locator("h4 a")).to_have_attribute("href", "http://abcnews.go.com/devos-vote")
    expect(card.locator("h4")).to_have_text("[1] Pence breaks tie to confirm DeVos")
    assert "".join(card.locator("blockquote mark.nqa-hl").all_inner_texts()) == DEVOS_SENTENCE
    expect(card.locator("blockquote")).to_contain_text("The Senate had split 50-50 on the nomination.")

    # The whole article opens from the card, with the cited sentence marked in it.
    article = card.locator(".nqa-article")
    expect(article).to_be_hidden()
    card.locator(".nqa-full summary").click()
    expect(article).to_be_visible()
    expect(article).to_contain_text("It was the first time a vice president broke a tie on a Cabinet nominee.")
    marked = article.locator("mark.nqa-hl").all_inner_texts()  # every sentence the answer cites from this article
    assert DEVOS_SENTENCE in "".join(marked) and all(m in article.inner_text() for m in marked)
    page.wait_for_timeout(1800)  # let the flash fade before the picture
    page.screenshot(path=str(screenshots / "chat-desktop.png"))

    # A date filter that excludes that article changes the answer: it no longer cites it.
    page.fill("#nqa-from input", "2017-02-08")
    page.press("#nqa-from input", "Enter")
    filtered = ask(page, DEVOS)
    filtered.locator(".nqa-note summary").click()
    expect(filtered.locator(".nqa-note dl")).to_contain_text("2017-02-08 to today")
    assert filtered.locator(".nqa-sent").first.inner_text() != DEVOS_SENTENCE
    titles = cited_titles(page, 1)
    assert titles and not any("Pence breaks tie to confirm DeVos" in t for t in titles), titles
    expect(page.locator("#src-1-1 .nqa-meta")).to_contain_text("CNN · 2017-02-22")


def test_hostile_article_is_shown_as_text_and_never_runs(open_chat: Callable[..., Page],
                                                        hostile_snippets: tuple[str, str, str]) -> None:
    page = open_chat()
    question = f'{HOSTILE_QUESTION} <img src=y onerror="window.__pwned=5">'
    answer = ask(page, question)
    expect(page.locator("#nqa-chat [data-testid='user']").first).to_contain_text('<img src=y onerror="window.__pwned=5">')
    script, image, link = hostile_snippets
    expect(answer).to_contain_text(script)
    card = page.locator("#src-0-1")
    card.locator(".nqa-full summary").click()
    full = card.locator(".nqa-article")
    for snippet in (script, image, link):
        expect(full).to_contain_text(snippet)
    expect(card.locator("h4")).to_have_text('[1] Forum hit by <b>injected</b> markup "attack"')
    expect(card.locator(".nqa-meta")).to_have_text(re.compile(r"^Evil <i>Outlet</i> · 2017-03-01 · chars \d+–\d+$"))
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img[src='x'], img[src='y'], #nqa-sources b, #nqa-sources i").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.evaluate("[...document.scripts].filter(s => s.textContent.includes('__pwned')).length") == 0


def test_follow_up_uses_this_session_history_only(open_chat: Callable[..., Page]) -> None:
    page = open_chat()
    ask(page, DEVOS)
    follow_up = ask(page, "When did he start work?")
    searched = follow_up.locator(".nqa-note dd").first.text_content() or ""
    assert searched.startswith("When did he start work?") and ("Betsy DeVos" in searched or "Mike Pence" in searched)
    other_session = open_chat()
    alone = ask(other_session, "When did he start work?")
    assert alone.locator(".nqa-note dd").first.text_content() == "When did he start work?"
    page.click("#nqa-clear")
    expect(answers(page)).to_have_count(0)
    expect(page.locator("#nqa-sources")).to_contain_text("Each cited sentence appears here")


def test_no_answer_looks_different_and_examples_ask(open_chat: Callable[..., Page]) -> None:
    page = open_chat()
    example_button = page.locator("#nqa-chat button.example").first
    example_text = example_button.inner_text()
    example_button.click()
    example = wait_for_answer(page, 1)
    expect(page.locator("#nqa-chat [data-testid='user']").first).to_have_text(example_text)
    expect(example.locator("a.nqa-cite").first).to_be_visible()
    none = ask(page, "How tall is the Eiffel tower?")
    abstain = none.locator(".nqa-abstain")
    expect(abstain).to_contain_text("No answer in the corpus")
    expect(none.locator("a.nqa-cite")).to_have_count(0)
    assert abstain.evaluate("el => getComputedStyle(el).borderLeftColor") == "rgb(217, 119, 6)"
    expect(page.locator("#nqa-sources details[open]")).to_contain_text("No sources")
    for field, day in (("#nqa-from input", "2017-03-01"), ("#nqa-to input", "2017-02-01")):
        page.fill(field, day)
        page.press(field, "Enter")
    page.fill("#nqa-question textarea", DEVOS)
    page.press("#nqa-question textarea", "Enter")
    expect(page.locator("#nqa-chat .nqa-notice")).to_contain_text("From 2017-03-01 is after To 2017-02-01")
    expect(page.locator("#nqa-question textarea")).to_have_value(DEVOS)


def test_phone_width(open_chat: Callable[..., Page], screenshots: Path) -> None:
    page = open_chat(PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    answer = ask(page, DEVOS)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator("#nqa-chat").bounding_box()
    assert box and box["width"] <= PHONE["width"]
    answer.locator("a.nqa-cite").first.click()
    expect(page.locator("#src-0-1")).to_be_in_viewport()
    page.wait_for_timeout(1800)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "chat-phone.png"), full_page=True)



@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 768}, {"width": 1920, "height": 1080}])
def test_the_question_box_stays_in_view_and_the_chat_uses_the_height(open_chat: Callable[..., Page],
                                                                      viewport: dict[str, int]) -> None:
    """On a 768-pixel laptop screen the box to ask in is not pushed below the fold; a tall screen's height is used."""
    page = open_chat(viewport)
    ask(page, DEVOS)
    page.evaluate("window.scrollTo(0, 0)")
    question = page.locator("#nqa-question textarea").bounding_box()
    chat = page.locator("#nqa-chat").bounding_box()
    assert question and chat and question["y"] + question["height"] <= viewport["height"]
    assert chat["height"] >= viewport["height"] - 300

MUTU = ("Chelsea have sacked Adrian Mutu after he failed a drugs test. The 25-year-old tested positive for a banned "
        "substance in October, and the club said it had a zero tolerance policy on drugs. Mutu joined Chelsea from "
        "Parma in 2003 for a fee of 15.8 million pounds and scored six goals in his first season at Stamford Bridge. "
        "The Football Association is expected to decide on a ban within weeks, and the player may appeal.")


def test_categories_filter_and_where_else_a_story_ran(browser: Browser, start_web_app: Callable[..., str],
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    from index.embedding import HashEmbedder
    from index.indexer import IndexConfig, NewsIndex
    from index.models import Article

    embedder = HashEmbedder(dim=64)
    folder = tmp_path_factory.mktemp("categories") / "index"
    writer = NewsIndex.open(folder, embedder, config=IndexConfig(model=embedder.name, dim=64, max_tokens=60))
    writer.add([
        Article("bbc-sport-199", "Chelsea sack Mutu", MUTU, source="BBC News", metadata={"category": "sport"}),
        Article("wire-mutu", "Chelsea sack Mutu", MUTU.replace("The 25-year-old", "The Romanian striker, 25,"),
                source="Wire Service", url="https://wire.example/mutu", metadata={"category": "sport"}),
        Article("bbc-business-001", "Chelsea stadium deal",
                "Chelsea signed a stadium naming deal worth 50 million pounds, the club said on Monday.",
                source="BBC News", metadata={"category": "business"}),
    ], show_progress=False)
    writer.close()
    url = start_web_app(NewsIndex.open(folder, embedder, readonly=True))
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        categories = page.locator("#nqa-categories")
        expect(categories).to_be_visible()
        categories.locator("input").click()
        page.get_by_role("option", name="business").click()
        page.keyboard.press("Escape")
        answer = ask(page, "Why did Chelsea sack Adrian Mutu?")
        expect(answer).not_to_contain_text("failed a drugs test")  # only business articles are searched
        categories.locator("input").click()
        page.get_by_role("option", name="sport").click()
        page.keyboard.press("Escape")
        categories.locator(".token", has_text="business").locator(".token-remove").click()  # sport only
        expect(categories.locator(".token")).to_have_count(1)
        answer = ask(page, "Why did Chelsea sack Adrian Mutu?")
        expect(answer.locator(".nqa-sent").first).to_contain_text("failed a drugs test")
        also = page.locator("#nqa-sources .nqa-src").first.locator(".nqa-also")
        expect(also).to_contain_text("Also published: Wire Service, undated")
        expect(also.locator("a")).to_have_attribute("href", "https://wire.example/mutu")
    finally:
        context.close()


LLM_KEY = "sk-browser-secret-5150"


def grounded_reply(messages: list[dict[str, str]]) -> str:
    """A model's reply that cites the source lines it was given by their numbers, plus one unsupported sentence."""
    lines = messages[-1]["content"].splitlines()
    number = {needle: next(re.match(r"\[(\d+)\]", line).group(1) for line in lines if needle in line)
              for needle in ("Mike Pence cast", "split 50-50")}
    return (f"Vice President Mike Pence cast a tie-breaking vote to confirm Betsy DeVos [{number['Mike Pence cast']}]. "
            f"The Senate had split 50-50 on the nomination [{number['split 50-50']}]. "
            "Pence later starred in a Hollywood film.")


# Records each distinct state of the written answer while it streams: "supported sentences:typing".
WATCH_WRITTEN = """() => {
  window.__written = [];
  const chat = document.querySelector('#nqa-chat');
  new MutationObserver(() => {
    const all = chat.querySelectorAll('.nqa-written');
    const last = all[all.length - 1];
    if (!last) return;
    const state = last.querySelectorAll('.nqa-sent').length + ':' + !!last.querySelector('.nqa-typing');
    if (window.__written[window.__written.length - 1] !== state) window.__written.push(state);
  }).observe(chat, {childList: true, subtree: true, characterData: true});
}"""


def test_a_written_answer_streams_in_checked_sentence_by_sentence(browser: Browser, start_web_app: Callable[..., str],
                                                                  web_index, chat_server, capfd,
                                                                  screenshots: Path) -> None:
    from qa.llm import ChatClient, LLMConfig
    from qa.written import GroundedWriter

    chat_server.reply, chat_server.mode, chat_server.delay = grounded_reply, "drip", 0.08
    client = ChatClient(LLMConfig(chat_server.url, model="fake-llm", api_key=LLM_KEY, timeout=20))
    url = start_web_app(writer=GroundedWriter(client, web_index), llm_api_key=LLM_KEY)
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        expect(page.locator("#nqa-llm input")).to_be_checked()
        page.evaluate(WATCH_WRITTEN)
        page.fill("#nqa-question textarea", DEVOS)
        page.press("#nqa-question textarea", "Enter")
        answer = wait_for_answer(page, 1)
        states = page.evaluate("window.__written")
        assert "1:true" in states and states[-1] == "2:false", states  # sentence 1 shown, checked, while 2 was written
        expect(answer.locator(".nqa-sent")).to_have_text([
            "Vice President Mike Pence cast a tie-breaking vote to confirm Betsy DeVos.",
            "The Senate had split 50-50 on the nomination."])
        expect(answer.locator(".nqa-badge")).to_contain_text("Written by fake-llm")
        dropped = answer.locator(".nqa-dropped")
        expect(dropped.locator("summary")).to_have_text("1 written sentence not shown: not supported by what it cites")
        expect(dropped.locator("li")).to_contain_text("Pence later starred in a Hollywood film. cites no source")
        links = answer.locator("a.nqa-cite")
        expect(links).to_have_count(2)
        first = links.first.get_attribute("href")
        card = page.locator(f"#nqa-sources {first}")
        expect(card).to_be_visible()
        assert "".join(card.locator("blockquote mark.nqa-hl").all_inner_texts()) == DEVOS_SENTENCE
        page.screenshot(path=str(screenshots / "written-answer.png"), full_page=True)
        assert LLM_KEY not in page.content()
        assert chat_server.requests[-1][1]["Authorization"] == f"Bearer {LLM_KEY}"  # sent to the model only
    finally:
        context.close()
    out, err = capfd.readouterr()
    assert LLM_KEY not in out + err

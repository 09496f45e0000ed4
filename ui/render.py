"""The chat's HTML: answers with their [n] marks, written answers with what was dropped, and the source cards.

Article text and metadata are untrusted. Everything put into the page goes through `text_html` (HTML-escaped,
markdown punctuation turned into character references) and links are only made from http(s) URLs. Also the
page's theme, style sheet and the one script (a citation link opens and flashes its source card).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple
from urllib.parse import urlsplit

import gradio as gr

from index.models import Article
from qa.conversation import Turn
from qa.models import Answer, Citation, Filters
from qa.verify import Claim, split_claims
from qa.written import Draft

HEADING_CHARS = 160  # a question longer than this is shortened where it heads its sources
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
            ("Read", f"{_count(len(answer.hits), 'passage')} from {_count(docs, 'article')}"),
            ("Confidence", f"{answer.confidence:.2f}"), ("Answered in", _ms(total_ms))]
    body = "".join(f"<dt>{text_html(k)}</dt><dd>{text_html(v)}</dd>" for k, v in rows)
    return (f'<details class="nqa-note"><summary>searched {articles:,} articles in {_ms(ms)}</summary>'
            f"<dl>{body}</dl></details>")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


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
    # Other words or filters cannot help a question about a time the corpus does not cover, or one not in English.
    hopeless = answer.signals.get("outside_coverage") or answer.signals.get("not_english")
    tip = "" if hopeless else '<p class="nqa-tip">Try other words, a wider date range or more outlets.</p>'
    return ('<div class="nqa-abstain" role="note"><span class="nqa-icon" aria-hidden="true">∅</span><div>'
            f"<strong>No answer in the corpus</strong><p>{text_html(answer.text)}</p>{tip}</div></div>")


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
    return (f'<div class="nqa-answer">{retrieval_note(answer, articles)}{rewritten(answer)}{short_answer_line(answer)}'
            f'<p>{" ".join(parts)}{pending}</p>{caveat}</div>')


def short_answer_line(answer: Answer) -> str:
    """The short answer on a line of its own, with how sure the answerer is that its sentence holds it."""
    if answer.abstained or not answer.short_answer:
        return ""
    level = "high" if answer.confidence >= 0.8 else "medium" if answer.confidence >= 0.5 else "low"
    tip = "the answerer's estimate that the cited sentence holds the answer"
    return (f'<p class="nqa-short-line"><span class="nqa-label">Answer</span> <strong>{text_html(answer.short_answer)}'
            f'</strong> <span class="nqa-conf nqa-conf-{level}" title="{tip}">{level} confidence '
            f"({answer.confidence:.2f})</span></p>")


def _claim_html(turn: int, claim: Claim, by_n: dict[int, Citation]) -> str:
    links = " ".join(_cite_link(turn, by_n[n]) for n in claim.cites)
    return f'<span class="nqa-sent">{text_html(claim.text)}</span> {links}'


def _dropped_html(claims: Sequence[Claim]) -> str:
    """The written sentences the checker refused, folded, each with its reason."""
    dropped = [c for c in claims if not c.supported]
    if not dropped:
        return ""
    items = "".join(f"<li><s>{text_html(c.text)}</s> <em>{text_html(c.reason)}</em></li>" for c in dropped)
    return (f'<details class="nqa-dropped"><summary>{len(dropped)} written sentence{"s" * (len(dropped) > 1)} '
            f"not shown: not supported by what {'they cite' if len(dropped) > 1 else 'it cites'}</summary>"
            f"<ul>{items}</ul></details>")


def written_html(answer: Answer, turn: int, articles: int, draft: Draft | None = None) -> str:
    """The assistant's message for a written answer: being written (`draft`), shown, or fallen back from."""
    written = answer.written
    if draft is None and (written is None or written.fallback):
        fallback = f'<p class="nqa-fallback" role="note">{text_html(written.fallback)}</p>' if written else ""
        return answer_html(answer, turn, articles).replace('<div class="nqa-answer">', '<div class="nqa-answer">' + fallback, 1)
    claims = draft.claims if draft is not None else written.claims
    sources = draft.sources if draft is not None else written.sources
    by_n = {c.n: c for c in sources}
    parts = [_claim_html(turn, c, by_n) for c in claims if c.supported]
    pending = ""
    if draft is not None:
        tail = split_claims(draft.text)[len(draft.claims):]
        typing = " ".join(text for text, _ in tail)
        pending = f'<span class="nqa-typing" aria-label="writing">{text_html(typing)} …</span>'
    model = written.model if written is not None else "the language model"
    badge = (f'<p class="nqa-badge">Written by {text_html(model)}; each sentence checked against the source it '
             "cites</p>")
    return (f'<div class="nqa-answer nqa-written">{retrieval_note(answer, articles)}{rewritten(answer)}'
            f'<p>{" ".join(parts)} {pending}</p>{badge}{_dropped_html(claims)}</div>')


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


def shown_citations(answer: Answer) -> tuple[Citation, ...]:
    """The citations of what the chat shows: the written answer's when it is shown, else the extractive one's."""
    if answer.written is not None and not answer.written.fallback:
        return answer.written.citations
    return answer.citations


def sources_html(answer: Answer, turn: int, articles: dict[str, Article],
                 citations: Sequence[Citation] | None = None) -> str:
    cited = shown_citations(answer) if citations is None else tuple(citations)
    cards = "".join(source_card(turn, c, articles.get(c.doc_id), cited) for c in cited)
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
        searched = self.answer.query if self.answer.query != self.answer.question else ""
        return Turn(self.answer.question, "" if self.answer.abstained else self.answer.text, top, searched)


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
.nqa-short-line { display: flex; flex-wrap: wrap; gap: 0.2rem 0.5rem; align-items: baseline; }
.nqa-short-line .nqa-label { font-size: 0.75em; font-weight: 600; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--body-text-color-subdued); }
.nqa-conf { font-size: 0.8em; padding: 0 0.45em; border-radius: 999px; background: var(--background-fill-secondary); }
.nqa-conf-high { color: #15803d; }
.nqa-conf-medium { color: #b45309; }
.nqa-conf-low { color: #b91c1c; }
.nqa-short { font-weight: 700; text-decoration: underline; text-decoration-color: #e3a008; text-decoration-thickness: 2px; }
mark.nqa-hl { background: #fff1a8; color: #1f2328; padding: 0; border-radius: 0.2em; }
.nqa-abstain { display: flex; gap: 0.7rem; align-items: flex-start; padding: 0.6rem 0.8rem; margin-top: 0.4rem;
  border-left: 4px solid #d97706; border-radius: 0.4rem; background: rgba(217, 119, 6, 0.08); }
.nqa-abstain .nqa-icon { font-size: 1.5rem; line-height: 1; color: #d97706; }
.nqa-abstain p { margin: 0.2rem 0 0; }
.nqa-abstain .nqa-tip { font-size: 0.85em; color: var(--body-text-color-subdued); }
.nqa-badge, .nqa-fallback { margin: 0.3rem 0 0; font-size: 0.8em; color: var(--body-text-color-subdued); }
.nqa-fallback { padding-left: 0.5rem; border-left: 3px solid #6366f1; }
.nqa-dropped { margin-top: 0.3rem; font-size: 0.85em; color: var(--body-text-color-subdued); }
.nqa-dropped summary { cursor: pointer; }
.nqa-dropped li em { font-style: normal; opacity: 0.85; }
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

"""How well each HTML extractor reads real saved news pages, field by field.

A labelled page is ``NAME.html`` (the page as saved) beside ``NAME.json``: the expected ``text``, ``title``,
``authors`` (a list), ``date`` (YYYY-MM-DD), ``outlet`` and ``url``, each empty when not labelled. No such
set installs here, so `build_page_set` makes one from two public test suites of article extractors, whose
pages are real news pages saved from the web and whose expected outputs were reviewed by their projects:

- the ``tests/data`` folder of the newspaper4k sdist on PyPI (``pip download --no-deps --no-binary :all:
  newspaper4k==0.9.6``; MIT): each page's ``txt/NAME.txt`` and ``metadata/NAME.json`` (title, authors,
  publish_date, meta_site_name, canonical_link); English pages only;
- a checkout of Mozilla Readability (github.com/mozilla/readability, Apache-2.0; it is not on a package
  registry with its tests): ``test/test-pages/NAME/`` ``source.html``, ``expected.html`` (text) and
  ``expected-metadata.json`` (title, byline, publishedTime, siteName); the English news pages in
  `READABILITY_NEWS_PAGES`. Bylines are cut to the names ("By …", dates and job titles removed) and a
  byline that holds no name is not a label; dates the suite leaves out were read by hand (`HAND_DATES`).

Scoring: the text by bag-of-words precision, recall and F1 against the expected text (the measure of the
article-extraction benchmarks); headline, outlet and URL by equality after folding case, punctuation and
spacing; the date by its YYYY-MM-DD; an author when every labelled author's surname is among the
extracted author's words. Each figure counts only the pages labelled for that field.
`newsqa eval --task html-extraction --pages DIR` prints the table.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from index.html_page import WebPage, extract_page, trafilatura_fields
from index.pages import clean_html

READABILITY_NEWS_PAGES = (
    "aclu", "ars-1", "bbc-1", "breitbart", "buzzfeed-1", "citylab-1", "cnet", "cnn", "engadget", "guardian-1",
    "herald-sun-1", "medicalnewstoday", "msn", "nytimes-1", "nytimes-2", "nytimes-3", "nytimes-4", "quanta-1",
    "salon-1", "seattletimes-1", "telegraph", "theverge", "tmz-1", "wapo-1", "wapo-2", "yahoo-1", "yahoo-2",
    "yahoo-3",
)
# Publication dates the suites leave unlabelled, read by hand from each page's markup (its datePublished,
# article:published, visible dateline or /YYYY/MM/DD/ URL, which agree); pages whose markup disagrees
# with itself (yahoo-2: 2016-12-01 UTC, shown as December 2) stay unlabelled.
HAND_DATES = {
    "buzzfeed-1": "2015-04-21", "cnet": "2017-01-18", "herald-sun-1": "2015-03-13", "msn": "2016-11-15",
    "nytimes-2": "2016-07-29", "quanta-1": "2019-05-20", "salon-1": "2015-02-01", "tmz-1": "2015-02-26",
    "wapo-1": "2015-03-18", "wapo-2": "2015-03-18",
}
FIELDS = ("title", "author", "date", "outlet", "url")
_MONTH = re.compile(r"^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)


class LabelledPage(NamedTuple):
    name: str
    html: str
    expected: dict


class FieldScore(NamedTuple):
    correct: int
    labelled: int


class ExtractorFigures(NamedTuple):
    name: str
    text_precision: float
    text_recall: float
    text_f1: float
    fields: dict[str, FieldScore]
    pages_per_second: float


def load_pages(folder: Path) -> list[LabelledPage]:
    """Every ``NAME.html`` of `folder` with its ``NAME.json`` labels."""
    pages = []
    for labels in sorted(folder.glob("*.json")):
        page = labels.with_suffix(".html")
        if page.exists():
            pages.append(LabelledPage(labels.stem, page.read_bytes().decode("utf-8", "replace"),
                                      json.loads(labels.read_text(encoding="utf-8"))))
    if not pages:
        raise ValueError(f"{folder}: no labelled pages (NAME.html beside NAME.json)")
    return pages


def build_page_set(out: Path, newspaper4k: Path | None = None, readability: Path | None = None) -> int:
    """Write labelled pages into `out` from a newspaper4k sdist (.tar.gz or its folder) and a Readability
    checkout; returns how many pages were written."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    if newspaper4k is not None:
        with tempfile.TemporaryDirectory() as scratch:
            root = newspaper4k
            if newspaper4k.is_file():
                with tarfile.open(newspaper4k) as archive:
                    archive.extractall(scratch, filter="data")
                root = next(Path(scratch).iterdir())
            written += _newspaper4k_pages(root / "tests" / "data", out)
    if readability is not None:
        written += _readability_pages(readability / "test" / "test-pages", out)
    return written


def _newspaper4k_pages(data: Path, out: Path) -> int:
    written = 0
    for meta_file in sorted((data / "metadata").glob("*.json")):
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        page, text = data / "html" / f"{meta_file.stem}.html", data / "txt" / f"{meta_file.stem}.txt"
        if (meta.get("language") or meta.get("meta_lang") or "en") != "en" or not page.exists() or not text.exists():
            continue
        expected = {"source": "newspaper4k tests/data", "text": text.read_text(encoding="utf-8"),
                    "title": meta.get("title") or "", "authors": list(meta.get("authors") or []),
                    "date": (meta.get("publish_date") or "")[:10], "outlet": meta.get("meta_site_name") or "",
                    "url": meta.get("canonical_link") or meta.get("url") or ""}
        written += _write(out, f"n4k-{meta_file.stem}", page.read_bytes(), expected)
    return written


def _readability_pages(test_pages: Path, out: Path) -> int:
    written = 0
    for name in READABILITY_NEWS_PAGES:
        folder = test_pages / name
        if not folder.is_dir():
            continue
        meta = json.loads((folder / "expected-metadata.json").read_text(encoding="utf-8"))
        byline = _names(meta.get("byline") or "")
        expected = {"source": "mozilla/readability test/test-pages",
                    "text": _html_text((folder / "expected.html").read_text(encoding="utf-8")),
                    "title": meta.get("title") or "", "authors": [byline] if byline else [],
                    "date": (meta.get("publishedTime") or HAND_DATES.get(name, ""))[:10],
                    "outlet": meta.get("siteName") or "", "url": ""}
        written += _write(out, f"rdb-{name}", (folder / "source.html").read_bytes(), expected)
    return written


def _write(out: Path, name: str, page: bytes, expected: dict) -> int:
    (out / f"{name}.html").write_bytes(page)
    (out / f"{name}.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False), encoding="utf-8")
    return 1


def _html_text(markup: str) -> str:
    blocks = re.split(r"</?(?:p|h[1-6]|li|blockquote|div|br|tr)\b[^>]*>", markup)
    texts = (re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", block))).strip() for block in blocks)
    return "\n\n".join(text for text in texts if text)


def _names(byline: str) -> str:
    """"by Lucas Nolan22 Dec 2016651" -> "Lucas Nolan"; a byline that is a date holds no name."""
    byline = re.sub(r"^\s*by\s+", "", byline.strip(), flags=re.IGNORECASE)
    byline = re.split(r"\d|\n| - |,|\|", byline)[0].strip()
    return "" if not byline or _MONTH.match(byline) else byline


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", (text or "").casefold())


def _folded(text: str) -> str:
    return " ".join(_words(text))


def text_overlap(extracted: str, expected: str) -> tuple[float, float, float]:
    """Bag-of-words precision, recall and F1 of `extracted` against `expected`."""
    got, want = Counter(_words(extracted)), Counter(_words(expected))
    common = sum((got & want).values())
    if not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def field_correct(field: str, extracted: WebPage, expected: dict) -> bool | None:
    """Whether `extracted` has the labelled value of `field`; None when the page has no label for it."""
    if field == "author":
        authors = [_words(name) for name in expected.get("authors") or []]
        authors = [name for name in authors if name]
        if not authors:
            return None
        got = set(_words(extracted.author))
        return all(name[-1] in got for name in authors)
    want = expected.get(field) or ""
    if not want:
        return None
    got = {"title": extracted.title, "date": extracted.date, "outlet": extracted.site, "url": extracted.url}[field]
    if field == "date":
        return got[:10] == want[:10]
    if field == "url":
        return got.rstrip("/") == want.rstrip("/")
    return _folded(got) == _folded(want)


def walker(html: str) -> WebPage:
    """The hand-written walk of `index.pages` alone (no author)."""
    page = clean_html(html)
    return WebPage(title=page.title, text=page.text, date=page.date, url=page.url, site=page.site, author="",
                   captions=page.captions, extractor="walker")


def trafilatura_alone(html: str) -> WebPage:
    """trafilatura's own fields, as the product calls it (no meta-tag preference, no caption filter)."""
    document = trafilatura_fields(html, "")
    return WebPage(title=document.get("title") or "", text=document.get("text") or "", date=document.get("date") or "",
                   url=document.get("url") or "", site=document.get("sitename") or "",
                   author=document.get("author") or "", captions=(), extractor="trafilatura")


EXTRACTORS: dict[str, Callable[[str], WebPage]] = {
    "walker (hand-written)": walker, "trafilatura alone": trafilatura_alone, "newsqa (per field)": extract_page}


def score(name: str, extractor: Callable[[str], WebPage], pages: Sequence[LabelledPage]) -> ExtractorFigures:
    extractor(pages[0].html)  # loads lxml, htmldate and the settings outside the timing
    overlaps, counts = [], {field: [0, 0] for field in FIELDS}
    started = time.perf_counter()
    results = [extractor(page.html) for page in pages]
    seconds = time.perf_counter() - started
    for page, result in zip(pages, results):
        overlaps.append(text_overlap(result.text, page.expected.get("text") or ""))
        for field in FIELDS:
            if (correct := field_correct(field, result, page.expected)) is not None:
                counts[field][0] += correct
                counts[field][1] += 1
    mean = [sum(values) / len(values) for values in zip(*overlaps)]
    return ExtractorFigures(name, *mean, {field: FieldScore(*counts[field]) for field in FIELDS},
                            len(pages) / seconds if seconds else float("inf"))


def dropped_blocks(page: LabelledPage) -> tuple[list[str], int]:
    """Blocks of the page's plain walk (chrome not skipped) that the product's text leaves out, and how many
    blocks the walk has."""
    kept = " ".join(_words(extract_page(page.html).text))  # a block is kept when the text holds its words in order
    everything = [block for block in _html_text(re.sub(r"(?is)<(script|style|noscript)\b.*?</\1>", " ", page.html))
                  .split("\n\n") if len(block) > 2]
    return [block for block in everything if " ".join(_words(block)) not in kept], len(everything)


def run_html_eval(folder: Path) -> str:
    pages = load_pages(folder)
    figures = [score(name, extractor, pages) for name, extractor in EXTRACTORS.items()]
    return report(figures, pages)


def report(figures: Sequence[ExtractorFigures], pages: Sequence[LabelledPage]) -> str:
    sources = Counter(page.expected.get("source", "?") for page in pages)
    lines = [f"{len(pages)} labelled pages: " + ", ".join(f"{n} from {source}" for source, n in sources.items()), "",
             "| extractor | text P | text R | text F1 | " + " | ".join(FIELDS) + " | pages/s |",
             "|---" * (5 + len(FIELDS)) + "|"]
    for figure in figures:
        cells = [f"{figure.fields[f].correct}/{figure.fields[f].labelled}" for f in FIELDS]
        lines.append(f"| {figure.name} | {figure.text_precision:.3f} | {figure.text_recall:.3f} | {figure.text_f1:.3f} | "
                     + " | ".join(cells) + f" | {figure.pages_per_second:.1f} |")
    sample = max(pages, key=lambda page: len(page.expected.get("text") or ""))  # the longest labelled story
    dropped, blocks = dropped_blocks(sample)
    lines += ["", f"Dropped from {sample.name}: {len(dropped)} of its {blocks} text blocks (first 12):"]
    lines += [f"  - {block[:110]}" for block in dropped[:12]]
    return "\n".join(lines)

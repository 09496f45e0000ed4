"""Hostile and broken input files: each is reported with its file (and line), the rest is ingested.

Every case goes through `read_paths` and `NewsIndex.add`, as `newsqa ingest` runs them. An input
that cannot be read becomes a RecordError whose text names the file and, for line formats, the
line; nothing raises, and every good record around it is indexed.
"""

from __future__ import annotations

import json
import random
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from index.readers import RecordError, read_path, read_paths
from index.sentences import split_sentences

GOOD = "Officials in Springfield opened a new bridge on Monday. Traffic moved freely by noon."


def _line(doc_id: object, text: object, **extra: object) -> str:
    return json.dumps({"id": doc_id, "title": f"Title {doc_id}", "text": text, **extra})


def _good_lines(*ids: str) -> list[str]:
    return [_line(i, f"{GOOD} Item {i} was noted.") for i in ids]


@dataclass(frozen=True)
class BadFile:
    name: str
    data: bytes
    problems: dict[str, str]  # location suffix ("" = the file itself, ":3" = line 3) -> words of the reason
    good_ids: tuple[str, ...] = ()  # articles that must still be read from the file
    kept: bool = False  # the problem is a warning: the article itself is read

    def __str__(self) -> str:
        return self.name


def _jsonl(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


BAD_FILES = [
    BadFile("sports/199.txt",  # a BBC page saved as Latin-1
            b"Fran\xe7ois wins in Paris\n\nFran\xe7ois Dupont won the final at the caf\xe9 court on Sunday. "
            b"He called it the best day of his career.\n",
            {"": "not valid UTF-8 (line 1, byte 4); decoded as cp1252 (article kept)"}, ("199",), kept=True),
    BadFile("latin1.jsonl", b"\n".join([_good_lines("l1")[0].encode(), b'{"id": "l2", "text": "caf\xe9 au lait"}',
                                        _good_lines("l3")[0].encode()]),
            {":2": "not valid UTF-8"}, ("l1", "l3")),
    BadFile("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, {"": "binary file"}),
    BadFile("noise.jsonl", bytes(b for b in random.Random(7).randbytes(6000) if b), {"": "binary file"}),
    BadFile("empty.jsonl", b"", {"": "empty file (0 bytes)"}),
    BadFile("empty.txt", b"", {"": "empty file (0 bytes)"}),
    BadFile("latin1.csv", b"id,title,text\nk1,Caf\xe9 news,The caf\xe9 opened on Monday.\nk2,Plain,All plain text here.\n",
            {":2": "not valid UTF-8; decoded as cp1252 (article kept)"}, ("k1", "k2"), kept=True),
    BadFile("no-text-column.csv", b"id,title,body\n1,A,Some body text.\n", {":1": "no 'text' column (columns: id, title, body)"}),
    BadFile("ragged.csv", f'id,title,text\nc1,T,"{GOOD}"\nc2,T\nc3,T,"{GOOD} Three.",extra\nc4,T,"{GOOD} Four."\n'.encode(),
            {":3": "missing or empty 'text'", ":4": "4 fields, header has 3"}, ("c1", "c4")),
    BadFile("malformed.jsonl", _jsonl(
        _good_lines("m1")[0],
        '{"id": "m2", "text": "unterminated',
        "[1, 2, 3]",
        '"just a string"',
        "null",
        '{"id": "m6"}',
        '{"id": "m7", "text": ""}',
        '{"id": "m8", "text": " \\u0000 \\t "}',
        '{"id": "m9", "text": 12345}',
        '{"id": "m10", "text": "ok"} trailing',
        "[" * 100_000,
        '{"id": "m12", "text": "t", "n": ' + "7" * 5000 + "}",
        _good_lines("m13")[0],
    ), {":2": "malformed JSON (Unterminated string", ":3": "expected a JSON object, got list",
        ":4": "expected a JSON object, got str", ":5": "expected a JSON object, got NoneType",
        ":6": "missing or empty 'text'", ":7": "missing or empty 'text'", ":8": "text is empty after cleaning",
        ":9": "missing or empty 'text'", ":10": "malformed JSON (Extra data", ":11": "malformed JSON (maximum recursion",
        ":12": "malformed JSON (Exceeds the limit"}, ("m1", "m13")),
    BadFile("broken.json", b'[{"id": "j1", "text": "fine"},\n {"id": "j2", "text": }]', {":2": "malformed JSON"}),
    BadFile("only-scripts.html", b"<html><head><script>alert(1)</script></head><body><script>x()</script></body></html>",
            {"": "no article text found in the HTML"}),
    BadFile("report.docx", b"PK\x03\x04 not really a document", {"": "unsupported file type '.docx'"}),
]


@pytest.fixture()
def make_index(tmp_path: Path, fake_embedder: HashEmbedder):  # noqa: ANN201
    def make() -> NewsIndex:
        return NewsIndex.open(tmp_path / "index", fake_embedder,
                              config=IndexConfig(model=fake_embedder.name, dim=fake_embedder.dim, max_tokens=40))
    return make


def _write(folder: Path, bad: BadFile) -> Path:
    path = folder / bad.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bad.data)
    return path


def _assert_reported(records: list, path: Path, bad: BadFile) -> None:
    errors = {e.location.removeprefix(str(path)): e for e in records if isinstance(e, RecordError)}
    assert errors.keys() == bad.problems.keys(), [str(e) for e in errors.values()]
    for suffix, words in bad.problems.items():
        assert words in errors[suffix].reason and errors[suffix].kept == bad.kept, str(errors[suffix])
        assert str(errors[suffix]).startswith(f"{path}{suffix}: ")
    assert sorted(a.doc_id for a in records if isinstance(a, Article)) == sorted(bad.good_ids)


@pytest.mark.parametrize("bad", BAD_FILES, ids=str)
def test_bad_file_is_reported_and_the_rest_ingested(bad: BadFile, tmp_path: Path, make_index) -> None:  # noqa: ANN001
    path = _write(tmp_path / "in", bad)
    records = list(read_paths([path]))
    _assert_reported(records, path, bad)
    index = make_index()
    report = index.add(records, show_progress=False)
    assert report.added == len(bad.good_ids) and sorted(index.articles) == sorted(bad.good_ids)
    assert (sum(report.skipped.values()) == len(bad.problems)) != bad.kept
    assert index.check() == []


def test_a_folder_of_bad_files_ingests_everything_good(tmp_path: Path, make_index) -> None:  # noqa: ANN001
    folder = tmp_path / "in"
    for bad in BAD_FILES:
        _write(folder, bad)
    records = list(read_paths([folder, tmp_path / "nowhere.jsonl"]))
    report = make_index().add(records, show_progress=False)
    expected = sorted(i for bad in BAD_FILES for i in bad.good_ids)
    assert report.added == len(expected)
    located = {str(e) for e in report.errors}
    assert f"{tmp_path / 'nowhere.jsonl'}: no such file or folder" in located
    assert len(report.errors) == sum(len(bad.problems) for bad in BAD_FILES if bad.name != "report.docx") + 1  # folders skip .docx
    summary = report.summary()  # the warnings: a Latin-1 page and a Latin-1 CSV row
    assert f"added {len(expected)} articles" in summary and "read with a warning 2: not valid UTF-8" in summary


def test_latin1_page_keeps_its_accents_and_offsets(tmp_path: Path) -> None:
    path = _write(tmp_path, BAD_FILES[0])
    article = next(r for r in read_path(path) if isinstance(r, Article))
    assert article.title == "François wins in Paris"
    assert "François Dupont" in article.text and "café" in article.text
    for s in split_sentences(article.doc_id, article.text):
        assert article.text[s.start : s.end] == s.text


def test_lone_surrogates_and_nul_in_json_are_cleaned_not_fatal(tmp_path: Path, make_index) -> None:  # noqa: ANN001
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join([
        '{"id": "s\\ud800", "source": "Wire\\udfff", "text": "A lone \\ud800 surrogate sat here. Then a second sentence."}',
        '{"id": "nul", "text": "Null\\u0000 bytes\\u0000 vanish. Quietly."}',
    ]), encoding="utf-8")
    records = list(read_path(path))
    assert all(isinstance(r, Article) for r in records), records
    index = make_index()
    assert index.add(records, show_progress=False).added == 2
    stored = index.store.article("s\ufffd")
    assert stored is not None and stored.source == "Wire\ufffd" and "lone \ufffd surrogate" in stored.text
    assert index.store.article("nul").text == "Null bytes vanish. Quietly."


def test_duplicate_ids_the_later_text_wins(tmp_path: Path, make_index) -> None:  # noqa: ANN001
    path = tmp_path / "dups.jsonl"
    path.write_text("\n".join([
        _line("dup", "The first version of the story. It said one thing."),
        _line("other", "A different story entirely. Nothing to do with it."),
        _line("dup", "The second version of the story. It said another thing."),
        _line("copy", "A different story entirely. Nothing to do with it."),  # same text, another id
    ]), encoding="utf-8")
    index = make_index()
    report = index.add(read_path(path), show_progress=False)
    assert sorted(index.articles) == ["dup", "other"]
    assert index.store.article("dup").text.startswith("The second version")
    # "dup" is new to the index: added once, its first version superseded within the input, and said so
    assert (report.added, report.replaced, report.duplicates, report.repeated) == (2, 0, 1, ["dup"])
    assert "given more than once with different texts, the later kept: 1 id(s): dup" in report.summary()
    later = tmp_path / "later.jsonl"
    later.write_text(_line("dup", "The third version of the story. It said a third thing."), encoding="utf-8")
    report = index.add(read_path(later), show_progress=False)
    assert report.replaced == 1 and index.store.article("dup").text.startswith("The third version")
    texts = [index.passage(p.passage_id).text for p in index.passages if p.doc_id == "dup"]
    assert texts and all("first" not in t and "second" not in t for t in texts)
    assert index.check() == []


def test_html_script_text_never_reaches_the_article(tmp_path: Path) -> None:
    html = """<html><head><title>T <script>evil1()</script></title>
    <script>var evil2 = 1;</script><SCRIPT type="text/javascript">EVIL3()</SCRIPT>
    <script type="application/ld+json">{"headline": "evil4"}</script><style>.evil5 {}</style></head>
    <body onload="evil6()"><h1>Storm closes schools</h1>
    <p>Schools in the county closed on Friday <script>document.write('evil7')</script> because of the storm.</p>
    <p>Officials said classes <noscript>evil8</noscript> would resume on Monday.</p>
    <!-- <script>evil9()</script> -->
    <svg><script>evil10()</script></svg><iframe src="x">evil11</iframe>
    <p>Parents were told by text message.</p>
    <script>unclosed evil12()
    <p>evil13 after an unclosed script</p>"""
    path = tmp_path / "storm.html"
    path.write_text(html, encoding="utf-8")
    [article] = [r for r in read_path(path) if isinstance(r, Article)]
    assert article.title == "Storm closes schools"
    assert "evil" not in article.text.lower() and "script" not in article.text.lower(), article.text
    assert article.text.split("\n\n") == [
        "Schools in the county closed on Friday because of the storm.",
        "Officials said classes would resume on Monday.",
        "Parents were told by text message.",
    ]


def test_overlong_jsonl_line_is_refused_without_loading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          make_index) -> None:  # noqa: ANN001
    """A 3 MB line against a 100,000-character limit: refused, read in bounded memory, the next lines kept."""
    monkeypatch.setattr("index.records.MAX_TEXT_CHARS", 100_000)
    path = tmp_path / "huge.jsonl"
    huge = _line("h2", "word " * 600_000) + "\n"  # 3 MB
    with path.open("w", encoding="utf-8") as handle:
        handle.write(_good_lines("h1")[0] + "\n")
        handle.write(huge)
        handle.write(_line("h3", "x" * 150_000) + "\n")  # under the byte limit, over the character limit
        handle.write(_good_lines("h4")[0] + "\n")
    assert path.stat().st_size > 3_000_000
    tracemalloc.start()
    started = time.perf_counter()
    records = list(read_path(path))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    errors = {e.location: e.reason for e in records if isinstance(e, RecordError)}
    assert errors == {
        f"{path}:2": f"line of {len(huge):,} bytes is over the limit of 665,536; skipped",
        f"{path}:3": "text has 150,000 characters, over the limit of 100,000",
    }
    assert peak < 1_500_000, f"reading took {peak:,} bytes of memory"
    assert seconds < 5
    assert make_index().add(records, show_progress=False).added == 2


def test_overlong_csv_line_and_page_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("index.records.MAX_TEXT_CHARS", 10_000)
    table = tmp_path / "wide.csv"
    table.write_text(f'id,text\nw1,"{GOOD}"\nw2,"{"y" * 200_000}"\nw3,"{GOOD} Three."\n', encoding="utf-8")
    records = list(read_path(table))
    assert [a.doc_id for a in records if isinstance(a, Article)] == ["w1"]
    [error] = [e for e in records if isinstance(e, RecordError)]
    assert error.location == f"{table}:3" and "over the limit of 125,536" in error.reason and "rest of the file" in error.reason
    page = tmp_path / "page.txt"
    page.write_text("Headline\n\n" + "A sentence. " * 20_000, encoding="utf-8")
    [error] = list(read_path(page))
    assert isinstance(error, RecordError) and error.location == str(page) and "over the limit of 125,536 bytes" in error.reason

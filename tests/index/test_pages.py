"""Pages: scraped pages and HTML fragments split into headline, section, captions, body and footer."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from index.pages import clean_html, clean_scraped_page, is_caption, is_furniture
from index.readers import read_path

CAPTIONS = [
    "US Rep. Jane Doe (D-MN) (L) talks with the Speaker of the House during a rally on the East Steps of the "
    "US Capitol on March 08, 2019 in Washington, DC. (AFP photo)",
    "Syrian government forces celebrate in the eastern city of Dayr al-Zawr on September 11, 2017 as they press "
    "forward with Russian air cover. (Photo by AFP)",
    "This photo released on Monday, September 4, 2017 by SANA, shows Syrian troops standing on pickup trucks "
    "near Dayr al-Zawr. (Via AP)",
]
FOOTER = ["Press TV’s website can also be accessed at the following alternate addresses:", "Press TV News Roku"]
BODY = [
    "The Syrian army and allied forces have reportedly closed in on the eastern city of al-Mayadin, the main "
    "stronghold of the Daesh terrorist group in the country.",
    "Hezbollah Military Media Center reported Friday that Syrian forces have retaken positions parallel to the "
    "main road connecting al-Mayadin to the provincial capital.",
    "Damascus forces and their allies are only 10 kilometers away from al-Mayadin, added the report.",
    "Syria’s official SANA news agency reported Thursday that army units had engaged Daesh terrorists on the "
    "al-Mayadin road, inflicting heavy losses.",
    "Russia said last month that SDF forces had twice targeted Syrian government positions.",
]
TITLE = "Syrian forces draw close to Daesh-held al-Mayadin in east"

# The layout of a scraped Press TV page: breadcrumb, headline, captions, body (a caption inside it), footer.
SEED_PAGE = "\n\n".join(
    ["News   /   Syria", TITLE, CAPTIONS[0] + "\n" + CAPTIONS[1], *BODY[:3], CAPTIONS[2], *BODY[3:], *FOOTER]
) + "\n"


def test_headline_and_section_are_detected() -> None:
    page = clean_scraped_page(SEED_PAGE)
    assert page.title == TITLE
    assert page.section == "News / Syria"


def test_captions_are_metadata_not_text() -> None:
    page = clean_scraped_page(SEED_PAGE)
    assert page.captions == tuple(CAPTIONS)
    for caption in CAPTIONS:
        assert caption not in page.text
    for marker in ("(AFP photo)", "(Photo by AFP)", "(Via AP)", "pickup trucks"):
        assert marker not in page.text


def test_footer_is_removed_and_body_kept_in_order() -> None:
    page = clean_scraped_page(SEED_PAGE)
    assert page.removed == tuple(FOOTER)
    assert "alternate addresses" not in page.text and "Roku" not in page.text
    assert page.text == "\n\n".join(BODY)
    assert TITLE not in page.text and "News / Syria" not in page.text


def test_page_without_breadcrumb_still_finds_the_headline() -> None:
    page = clean_scraped_page("\n\n".join([TITLE, *BODY[:2]]))
    assert (page.section, page.title) == ("", TITLE)
    assert page.text == "\n\n".join(BODY[:2])


def test_trailing_short_non_prose_lines_are_furniture_but_inner_prose_stays() -> None:
    page = clean_scraped_page("\n\n".join([TITLE, BODY[0], "Share this article", BODY[1], "Tags", "Syria  Daesh"]))
    assert page.text == BODY[0] + "\n\n" + BODY[1]
    assert "Share this article" in page.removed and "Syria Daesh" in page.removed


def test_pipe_breadcrumb_byline_and_a_last_paragraph_without_its_period() -> None:
    last = "The mine will stay closed while inspectors examine the shaft and the company reviews its safety rules"
    page = clean_scraped_page("\n\n".join(["Home | World | Europe", TITLE, "By Jane Doe, Harbor Gazette",
                                            "Published: March 3, 2017", BODY[0], last, "Home | About | Contact"]))
    assert (page.section, page.title) == ("Home / World / Europe", TITLE)
    assert page.text == BODY[0] + "\n\n" + last  # prose that lost its period is not furniture
    assert page.removed == ("By Jane Doe, Harbor Gazette", "Published: March 3, 2017", "Home | About | Contact")
    assert clean_scraped_page("Storm Doris | Ireland\n\n" + BODY[0]).title == "Storm Doris | Ireland"  # one "|"
    assert clean_scraped_page("\n\n".join([TITLE, "By Monday, all were safe.", BODY[0]])).text.startswith("By Monday")


def test_seed_page_indexed_keeps_captions_and_footer_out_of_every_passage(tmp_path: Path) -> None:
    path = tmp_path / "000_syria.txt"
    path.write_text(SEED_PAGE, encoding="utf-8")
    records = list(read_path(path))
    assert len(records) == 1 and isinstance(records[0], Article)
    article = records[0]
    assert article.doc_id == "000_syria" and article.title == TITLE and article.source == "Press TV"
    assert article.metadata["section"] == "News / Syria"
    assert article.metadata["captions"] == CAPTIONS

    embedder = HashEmbedder(dim=32)
    index = NewsIndex.open(tmp_path / "index", embedder, config=IndexConfig(model=embedder.name, dim=32, max_tokens=40))
    index.add(records, show_progress=False)
    stored = index.store.article("000_syria")
    passages = [index.passage(p.passage_id) for p in index.passages]
    assert len(passages) >= 3
    banned = [*CAPTIONS, *FOOTER, "(AFP photo)", "(Photo by AFP)", "(Via AP)", "Roku", "News / Syria"]
    for passage in passages:
        assert passage.text == stored.text[passage.start : passage.end]
        for bad in banned:
            assert bad not in passage.text
    assert any("10 kilometers" in p.text for p in passages)


@pytest.mark.parametrize("line", [
    "Soldiers on patrol. (AFP photo)", "A man walks past. (Photo by AFP)", "Troops near the city. (Via AP)",
    "The scene on Monday (Reuters/File)", "Photo: the minister in Beijing", "Protesters gather (Getty Images).",
])
def test_is_caption(line: str) -> None:
    assert is_caption(line)


@pytest.mark.parametrize("line", [
    "The army said it would press on (the offensive began in June).", BODY[2],
    "He spoke to the AP news agency on Monday.",
])
def test_is_not_caption(line: str) -> None:
    assert not is_caption(line)


def test_is_furniture() -> None:
    assert is_furniture(FOOTER[0])
    assert is_furniture("© 2017 Example Media. All rights reserved.")
    assert not is_furniture(BODY[0])


def test_clean_html_reads_the_headline_and_date_in_an_articles_own_header() -> None:
    html = """<html><head><title>Welcome - Harbor Gazette</title>
    <meta property="og:site_name" content="Harbor Gazette"></head>
    <body><header><h1>Harbor Gazette</h1><nav>Home</nav></header>
    <article><header><h1>Old Harbour Bridge to close for repairs</h1>
    <p>By Jane Doe</p><time datetime="2017-03-03T08:00:00Z">March 3</time></header>
    <p>The Old Harbour Bridge, built in 1931, will close for six months from April.</p></article>
    <footer>Contact us</footer></body></html>"""
    page = clean_html(html)
    assert page.title == "Old Harbour Bridge to close for repairs"
    assert (page.date, page.site) == ("2017-03-03T08:00:00Z", "Harbor Gazette")
    assert page.text.startswith("The Old Harbour Bridge") and "Jane Doe" not in page.text  # the byline is not text
    assert "Contact" not in page.text


def test_footer_tags_and_related_lines_of_any_length_and_an_update_time_are_furniture() -> None:
    page = clean_scraped_page("\n\n".join([TITLE, "Updated 10:42 GMT", BODY[0],
                                            "Tags: Syria, Iraq, Islamic State, Mosul, Raqqa, Russia",
                                            "More on this story: Storm Doris batters the British Isles"]))
    assert page.text == BODY[0] and page.removed[0] == "Updated 10:42 GMT" and len(page.removed) == 3
    prose = clean_scraped_page("\n\n".join([TITLE, "By Sudan's army, the town was retaken", BODY[0]]))
    assert prose.text.startswith("By Sudan's army")  # lowercase words: prose, not a byline


def test_clean_html_keeps_site_chrome_dates_out_and_the_headline_out_of_the_text() -> None:
    html = """<html><head><meta property="og:title" content="Bridge to close | Harbor Gazette"></head><body>
    <header><time datetime="2024-05-01">Today</time></header>
    <article><header><h1>Bridge to close</h1></header><p>By March, prices had doubled.</p></article></body></html>"""
    page = clean_html(html)
    assert page.date == "" and page.text == "By March, prices had doubled."  # no h1 paragraph, no masthead date


def test_clean_html_drops_scripts_chrome_and_separates_captions() -> None:
    html = """<html><head><title>Site | Headline</title>
    <meta property="og:title" content="Storm hits Ireland">
    <meta property="article:published_time" content="2017-02-23T10:00:00Z">
    <meta property="og:url" content="https://www.rte.ie/news/2017/storm">
    <script>var tracking = "do not index me";</script><style>p { color: red }</style></head>
    <body><nav>Home | World</nav><header>Menu</header>
    <h1>Storm hits Ireland</h1>
    <figure><img src="x.jpg"><figcaption>Waves hit the pier in Galway</figcaption></figure>
    <p>Storm Doris brought winds of up to 150 km/h to Ireland on Thursday.</p>
    <p>Thousands of homes lost power &amp; phone lines.</p>
    <aside>Related stories</aside><footer>© 2017 RTÉ. All rights reserved.</footer></body></html>"""
    page = clean_html(html)
    assert page.title == "Storm hits Ireland"
    assert page.date == "2017-02-23T10:00:00Z" and page.url == "https://www.rte.ie/news/2017/storm"
    assert page.text == ("Storm Doris brought winds of up to 150 km/h to Ireland on Thursday.\n\n"
                         "Thousands of homes lost power & phone lines.")
    assert page.captions == ("Waves hit the pier in Galway",)
    for junk in ("tracking", "color", "Home", "Menu", "Related", "rights reserved"):
        assert junk not in page.text

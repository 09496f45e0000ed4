"""Near-copies: MinHash signatures, the LSH index, and an ingest that keeps a republished story as a source."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from eval.near_duplicates import edited_copy, evaluate_detector, labelled_pairs, shared_sentences
from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from index.near_duplicates import MIN_WORDS, NearDuplicateIndex, signature, similarity
from qa.pipeline import QAPipeline
from qa.reader import Reading

STORY = ("Storm Doris brought winds of up to 94 miles per hour to Britain and Ireland on Thursday, closing roads, "
         "cancelling flights and cutting power to tens of thousands of homes. A woman was killed in Wolverhampton "
         "when she was struck by debris from a roof. The Met Office issued an amber warning for much of northern "
         "England and Wales, and Network Rail imposed speed limits on several lines. Engineers worked through the "
         "night to restore power, and the Irish grid operator said 55,000 customers were still cut off by evening.")
# The same wire story as another outlet ran it: a new lead, the last sentence cut, an update inserted.
REPUBLISHED = ("LONDON - Storm Doris brought winds of up to 94 miles per hour to Britain and Ireland on Thursday, "
               "closing roads, cancelling flights and cutting power to tens of thousands of homes. A woman was killed "
               "in Wolverhampton when she was struck by debris from a roof. The Met Office issued an amber warning "
               "for much of northern England and Wales, and Network Rail imposed speed limits on several lines. "
               "Police said a man was also injured in Dublin. Engineers worked through the night to restore power.")
# Another story on the same storm, with the same names and places.
FOLLOW_UP = ("The woman killed by falling debris in Wolverhampton during Storm Doris was named on Friday as a "
             "29-year-old council worker. Her family said she had been walking to a bus stop when part of a roof "
             "came down. The Met Office said the storm had moved over the North Sea, but warned that more wind and "
             "rain would reach Britain and Ireland over the weekend, and Network Rail said most lines had reopened. "
             "The council said it would review the safety of buildings in the town centre.")


class ScriptedReader:
    """Finds `answer` wherever a passage holds it (a stand-in for the trained reader)."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def read_pairs(self, questions: list[str], passages: list[str], breaks: object = None) -> list[Reading]:
        return [Reading(at, at + len(self.answer), 0.95, 0.8, 0.05, 6.0) if (at := p.find(self.answer)) >= 0
                else Reading(0, 0, 0.02, 0.0, 0.9, -6.0) for p in passages]


def article(doc_id: str, text: str, source: str, date: str = "2017-02-23") -> Article:
    return Article(doc_id, "Storm Doris hits Britain and Ireland", text, date=date, source=source,
                   url=f"https://{source.lower().replace(' ', '')}.example/{doc_id}")


@pytest.fixture()
def index(tmp_path: Path, fake_embedder: HashEmbedder) -> NewsIndex:
    return NewsIndex.open(tmp_path / "ix", fake_embedder, config=IndexConfig(model=fake_embedder.name, dim=64))


def test_signatures_tell_a_republished_story_from_another_on_the_same_topic() -> None:
    original, copy, other = signature(STORY), signature(REPUBLISHED), signature(FOLLOW_UP)
    assert original is not None and copy is not None and other is not None
    assert original.dtype == np.uint32 and original.shape == (128,)
    assert similarity(original, signature(STORY)) == 1.0
    assert similarity(original, copy) >= 0.5 > 0.1 > similarity(original, other)
    assert signature(" ".join(["word"] * (MIN_WORDS - 1))) is None  # too short to tell a copy from a template


def test_the_lsh_index_finds_the_most_similar_stored_article_above_its_threshold() -> None:
    near = NearDuplicateIndex(0.5)
    near.add_all([("storm", signature(STORY)), ("follow-up", signature(FOLLOW_UP))])
    found = near.find(signature(REPUBLISHED))
    assert found is not None and found.doc_id == "storm" and found.similarity >= 0.5
    assert near.find(signature(REPUBLISHED), exclude="storm") is None
    near.remove("storm")
    assert "storm" not in near and len(near) == 1 and near.find(signature(REPUBLISHED)) is None
    with pytest.raises(ValueError, match="threshold must be between 0 and 1, got 1.5"):
        NearDuplicateIndex(1.5)
    with pytest.raises(ValueError, match="near_duplicates must be 0 .off. or between 0 and 1, got -0.2"):
        IndexConfig(model="m", dim=4, near_duplicates=-0.2)


def test_a_near_copy_is_kept_as_a_source_of_the_story_not_indexed(index: NewsIndex, fake_embedder: HashEmbedder) -> None:
    report = index.add([article("bbc-1", STORY, "BBC"), article("rte-1", REPUBLISHED, "RTÉ"),
                        article("bbc-2", FOLLOW_UP, "BBC", "2017-02-24")], show_progress=False)
    assert (report.added, report.near_duplicates) == (2, 1)
    assert "skipped 1: near-copy of another article (kept as its alternative source)" in report.summary()
    assert set(index.articles) == {"bbc-1", "bbc-2"} and all(p.doc_id != "rte-1" for p in index.passages)
    copy, = index.store.copies_of(["bbc-1"])["bbc-1"]
    assert (copy.doc_id, copy.source, copy.date, copy.url) == ("rte-1", "RTÉ", "2017-02-23", "https://rté.example/rte-1")
    assert copy.similarity >= 0.5
    listing = {row.doc_id: row.near_copies for row in index.store.listing()}
    assert listing == {"bbc-1": 1, "bbc-2": 0}
    assert index.check() == []

    # Given again unchanged: nothing to do. After reopening, the signatures come back from the store.
    assert index.add([article("rte-1", REPUBLISHED, "RTÉ")], show_progress=False).unchanged == 1
    reopened = NewsIndex.open(index.folder, fake_embedder)
    again = reopened.add([article("dw-1", REPUBLISHED.replace("LONDON - ", "BERLIN - "), "DW")], show_progress=False)
    assert again.near_duplicates == 1 and reopened.store.copy("dw-1").of_id == "bbc-1"  # type: ignore[union-attr]

    # A copy given a text of its own becomes an article; deleting the story deletes its remaining copies.
    own = ("Irish farmers counted the cost of Storm Doris on Friday: fallen trees blocked lanes across Galway and "
           "Mayo, sheds lost their roofs, and the farming association asked the government for an emergency fund. "
           "The agriculture minister said inspectors would visit the worst hit farms next week, and that help "
           "would be decided once the damage had been measured. Insurers said claims were still coming in.")
    changed = reopened.add([article("rte-1", own, "RTÉ")], show_progress=False)
    assert changed.replaced == 1 and "rte-1" in reopened.articles and reopened.store.copy("rte-1") is None
    assert reopened.delete(["bbc-1"]) == ["bbc-1"]
    assert reopened.store.copies_of(["bbc-1"]) == {} and reopened.store.copy("dw-1") is None
    assert reopened.check() == []


def test_an_updated_version_under_the_same_id_replaces_its_passages_and_keeps_its_copies(
        index: NewsIndex) -> None:
    index.add([article("bbc-1", STORY, "BBC"), article("rte-1", REPUBLISHED, "RTÉ")], show_progress=False)
    old_ids = {p.passage_id for p in index.passages}
    updated = STORY.replace("55,000", "40,000") + " The storm was the fourth of the winter to be named."
    report = index.add([article("bbc-1", updated, "BBC")], show_progress=False)
    assert report.replaced == 1 and report.near_duplicates == 0
    assert index.store.article("bbc-1").text == updated  # type: ignore[union-attr]
    new_ids = {p.passage_id for p in index.passages}
    assert not new_ids & old_ids and set(index.vectors.ids().tolist()) == new_ids  # no stale passage or vector
    assert [c.doc_id for c in index.store.copies_of(["bbc-1"])["bbc-1"]] == ["rte-1"]
    assert index.check() == []


def test_detection_off_indexes_every_copy(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    config = IndexConfig(model=fake_embedder.name, dim=64, near_duplicates=0)
    index = NewsIndex.open(tmp_path / "off", fake_embedder, config=config)
    report = index.add([article("bbc-1", STORY, "BBC"), article("rte-1", REPUBLISHED, "RTÉ")], show_progress=False)
    assert report.added == 2 and report.near_duplicates == 0


def test_an_answer_cites_the_story_once_and_lists_where_else_it_ran(index: NewsIndex) -> None:
    index.add([article("bbc-1", STORY, "BBC"), article("rte-1", REPUBLISHED, "RTÉ")], show_progress=False)
    answer = QAPipeline(index, reader=ScriptedReader("55,000 customers")).ask(
        "How many customers were still without power in Ireland after Storm Doris?")
    assert not answer.abstained and {c.doc_id for c in answer.citations} == {"bbc-1"}
    also = answer.to_dict()["citations"][0]["also_published"]
    assert also == [{"article_id": "rte-1", "title": "Storm Doris hits Britain and Ireland", "source": "RTÉ",
                     "date": "2017-02-23", "url": "https://rté.example/rte-1"}]


def test_labelled_pairs_and_the_detectors_figures() -> None:
    rng = random.Random(3)
    copy = edited_copy(STORY, FOLLOW_UP, rng)
    assert copy != STORY and similarity(signature(STORY), signature(copy)) > 0.3  # type: ignore[arg-type]
    assert shared_sentences(STORY, STORY) == 1.0 and shared_sentences(STORY, FOLLOW_UP) == 0.0
    articles = [article("a", STORY, "BBC"), article("b", FOLLOW_UP, "BBC"),
                article("c", REPUBLISHED, "RTÉ"), article("d", FOLLOW_UP.replace("Friday", "Sunday"), "DW")]
    pairs, texts = labelled_pairs(articles, copies=4, seed=1)
    assert sum(p.kind == "edited copy" for p in pairs) == 4 and all(p.copy == (p.kind != "same topic") for p in pairs)
    result = evaluate_detector(pairs, texts)
    assert result["pairs"] == len(pairs) and len(result["cross_validated"]) == 2
    best = max(result["by_threshold"], key=lambda f: f.f1)
    assert 0.0 <= best.precision <= 1.0 and best.recall > 0.5


def test_a_later_version_of_a_stored_story_is_indexed_in_its_place(index: NewsIndex) -> None:
    index.add([article("bbc-1", STORY, "BBC"), article("rte-1", REPUBLISHED, "RTÉ")], show_progress=False)
    later = REPUBLISHED.replace("LONDON - ", "") + " The storm was the fourth of the winter to be named."
    report = index.add([article("bbc-1-update", later, "BBC", "2017-02-24")], show_progress=False)
    assert (report.added, report.superseded, report.near_duplicates) == (1, 1, 0)
    assert "later versions of a stored story 1" in report.summary()
    assert set(index.articles) == {"bbc-1-update"} and {p.doc_id for p in index.passages} == {"bbc-1-update"}
    sources = {c.doc_id: (c.of_id, c.date) for c in index.store.copies_of(["bbc-1-update"])["bbc-1-update"]}
    assert sources == {"rte-1": ("bbc-1-update", "2017-02-23"), "bbc-1": ("bbc-1-update", "2017-02-23")}
    assert index.check() == []


def test_an_index_from_before_near_copies_opens_read_only_and_gains_them_when_written(
        index: NewsIndex, fake_embedder: HashEmbedder) -> None:
    import sqlite3

    index.add([article("bbc-1", STORY, "BBC")], show_progress=False)
    index.close()
    with sqlite3.connect(index.folder / "store.sqlite") as db:  # as an older newsqa left it
        db.executescript("DROP TABLE copies; DROP TABLE signatures;")
    readonly = NewsIndex.open(index.folder, fake_embedder, readonly=True)
    assert readonly.check() == [] and readonly.store.copy("x") is None and readonly.store.copies_of(["bbc-1"]) == {}
    assert [row.near_copies for row in readonly.store.listing()] == [0]
    readonly.close()
    writer = NewsIndex.open(index.folder, fake_embedder)
    report = writer.add([article("rte-1", REPUBLISHED, "RTÉ")], show_progress=False)  # bbc-1 is signed first
    assert report.near_duplicates == 1 and writer.store.copy("rte-1").of_id == "bbc-1"  # type: ignore[union-attr]


def test_an_article_too_short_to_sign_is_noted_so_that_later_runs_do_not_read_it_again(index: NewsIndex) -> None:
    index.add([article("brief", "Storm Doris closed roads on Thursday.", "BBC"), article("bbc-1", STORY, "BBC")],
              show_progress=False)
    assert list(index.store.unsigned_articles()) == []
    assert [doc_id for doc_id, _ in index.store.signatures()] == ["bbc-1"]

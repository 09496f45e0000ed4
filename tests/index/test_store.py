"""The SQLite document store: articles, sentence offsets, passages and vectors in one transaction per batch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.chunking import Chunker
from index.ingest import content_hash
from index.models import Article
from index.sentences import split_sentences
from index.store import DocumentStore

ARTICLES = [
    Article("a1", "Pence breaks tie", "Mike Pence cast the deciding vote. The Senate split 50-50.", date="2017-02-07",
            source="ABC News", url="http://abcnews.go.com/a1", subtitle="Historic vote",
            metadata={"captions": ["Pence (AP)"], "section": "Politics"}),
    Article("a2", "Storm hits Ireland", "Storm Doris hit Ireland. Thousands lost power.", date="2017-02-23", source="RTÉ"),
]


def write(store: DocumentStore, articles: list[Article], replaced: tuple[str, ...] = ()) -> list[int]:
    chunker = Chunker(max_tokens=16, overlap=0)
    sentences = [s for a in articles for s in split_sentences(a.doc_id, a.text)]
    passages = [p for a in articles for p in chunker.chunk(a.text, split_sentences(a.doc_id, a.text))]
    vectors = np.arange(len(passages) * 4, dtype=np.float32).reshape(len(passages), 4)
    return store.write_batch([(a, content_hash(a)) for a in articles], sentences, passages, vectors, replaced=replaced)


def test_round_trip_of_articles_sentences_passages_and_vectors(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "s.sqlite")
    assert store.version == 0 and store.counts() == {"articles": 0, "sentences": 0, "passages": 0}
    ids = write(store, ARTICLES)
    assert store.version == 1
    assert store.counts() == {"articles": 2, "sentences": 4, "passages": len(ids)}
    got = store.article("a1")
    assert got == ARTICLES[0] and got.metadata == ARTICLES[0].metadata and got.subtitle == "Historic vote"
    assert store.article("missing") is None
    assert list(store.articles(["a2", "missing", "a2"])) == ["a2"]
    assert list(store.article_rows()) == [("a1", "Pence breaks tie", "2017-02-07", "ABC News", "Politics"),
                                          ("a2", "Storm hits Ireland", "2017-02-23", "RTÉ", "")]
    text = ARTICLES[0].text
    assert [text[s:e] for s, e in store.sentence_offsets("a1")] == ["Mike Pence cast the deciding vote.", "The Senate split 50-50."]
    rows = list(store.passage_rows())
    assert [r[0] for r in rows] == ids == sorted(ids)
    got_ids, vectors = store.vectors(4)
    assert got_ids.tolist() == ids and vectors.shape == (len(ids), 4) and vectors[1, 0] == 4.0
    sub_ids, sub = store.vectors(4, [ids[-1], ids[0]])
    assert sub_ids.tolist() == [ids[0], ids[-1]] and sub[1, 0] == vectors[-1, 0]


def test_content_hash_lookup_and_replace(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "s.sqlite")
    write(store, ARTICLES)
    digest = content_hash(ARTICLES[1])
    assert store.content_hash("a2") == digest and store.doc_with_hash(digest) == "a2"
    assert store.content_hash("nope") is None and store.doc_with_hash("0" * 40) is None
    old = {r[0] for r in store.passage_rows() if r[1] == "a2"}
    new_a2 = Article("a2", "Storm update", "Power is back for most homes.", date="2017-02-24", source="RTÉ")
    write(store, [new_a2], replaced=("a2",))
    assert store.article("a2").text == new_a2.text and store.version == 2
    assert not old & {r[0] for r in store.passage_rows()}
    assert len(store.sentence_offsets("a2")) == 1


def test_delete_removes_everything_of_an_article(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "s.sqlite")
    ids = write(store, ARTICLES)
    a1_ids = [r[0] for r in store.passage_rows() if r[1] == "a1"]
    removed = store.delete(["a1", "not-there"])
    assert sorted(removed) == sorted(a1_ids)
    assert store.article("a1") is None and store.sentence_offsets("a1") == []
    assert {r[1] for r in store.passage_rows()} == {"a2"}
    assert store.vectors(4)[0].tolist() == [i for i in ids if i not in a1_ids]
    assert store.version == 2


def test_failed_batch_writes_nothing(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "s.sqlite")
    write(store, ARTICLES[:1])
    with pytest.raises(sqlite3.IntegrityError):  # same id again without `replaced`: the primary key refuses it
        write(store, [ARTICLES[1], ARTICLES[0]])
    assert store.counts()["articles"] == 1 and store.article("a2") is None and store.version == 1


def test_readonly_store_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    writer = DocumentStore(path)
    write(writer, ARTICLES)
    writer.set_meta("config", '{"x": 1}')
    writer.close()
    reader = DocumentStore(path, readonly=True)
    assert reader.article("a2") == ARTICLES[1] and reader.get_meta("config") == '{"x": 1}'
    assert reader.get_meta("nothing") is None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.delete(["a1"])

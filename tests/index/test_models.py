"""Article, Sentence and Passage: frozen records that validate what they are given."""

from __future__ import annotations

import dataclasses

import pytest

from index.models import Article, Passage, Sentence


def test_article_requires_an_id_naming_the_bad_value() -> None:
    with pytest.raises(ValueError, match="doc_id.*'  '"):
        Article("  ", "Title", "Some text.")
    with pytest.raises(ValueError, match="doc_id"):
        Article("", "Title", "Some text.")


def test_article_requires_text_and_names_the_article() -> None:
    with pytest.raises(ValueError, match="'x7' has no text"):
        Article("x7", "Title", " \n\t ")


def test_records_are_frozen() -> None:
    article = Article("a", "T", "Text.")
    sentence = Sentence("a", 0, 0, 5, "Text.")
    passage = Passage("a", 0, 0, 5, "Text.", 0, 0, 2)
    for record, name in ((article, "text"), (sentence, "start"), (passage, "passage_id")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, name, 1)


def test_metadata_does_not_take_part_in_equality_or_hashing() -> None:
    one = Article("a", "T", "Text.", metadata={"captions": ["x"]})
    two = Article("a", "T", "Text.", metadata={})
    assert one == two
    assert hash(one) == hash(two)
    assert one != dataclasses.replace(two, text="Other text.")


def test_article_defaults_and_separate_metadata_dicts() -> None:
    one, two = Article("a", "T", "Text."), Article("b", "T", "Text.")
    assert (one.date, one.source, one.url, one.subtitle) == ("", "", "", "")
    one.metadata["k"] = 1
    assert two.metadata == {}


def test_passage_id_is_unassigned_before_storing() -> None:
    assert Passage("a", 0, 0, 5, "Text.", 0, 0, 2).passage_id == -1

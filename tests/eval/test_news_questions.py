"""Questions written by rule from news sentences (eval.news_questions): the `train` extra (spaCy)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from eval.reader_data import Mix, make_examples
from eval.train_reader import TrainConfig, written_news_records
from index.models import Article

pytest.importorskip("spacy", reason="writing news questions needs the `train` extra (make train-deps)")
pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def parser() -> Any:
    from eval.news_questions import load_parser

    try:
        return load_parser()
    except OSError as exc:  # spaCy without its English model
        pytest.skip(f"the `train` extra's spaCy model is missing: {exc}")


def questions_of(parser: Any, sentence: str) -> dict[str, str | None]:
    from eval.news_questions import question_for

    return {entity.text: question_for(entity) for entity in parser(sentence).ents}


def test_the_clause_is_turned_around_its_entity(parser: Any) -> None:
    asked = questions_of(parser, "Police said 200,000 people were evacuated near the Oroville Dam on Sunday.")
    assert asked["200,000"] == "How many people were evacuated near the Oroville Dam on Sunday?"
    assert asked["Sunday"] == "When were 200,000 people evacuated near the Oroville Dam?"
    asked = questions_of(parser, "Turkey launched Operation Euphrates Shield in August 2016 with Syrian rebels.")
    assert asked["Turkey"] == "Who launched Operation Euphrates Shield in August 2016 with Syrian rebels?"
    assert asked["August 2016"] == "When did Turkey launch Operation Euphrates Shield with Syrian rebels?"
    asked = questions_of(parser, "Angela Merkel met Theresa May in Berlin on Tuesday.")
    assert asked["Theresa May"] == "Who did Angela Merkel meet in Berlin on Tuesday?"
    assert asked["Berlin"] == "Where did Angela Merkel meet Theresa May on Tuesday?"
    asked = questions_of(parser, "The US sent 300 troops to Poland on Monday.")  # "US" is a country, not "us"
    assert asked["300"] == "How many troops did the US send to Poland on Monday?"


def test_no_question_where_the_sentence_does_not_assert_its_answer(parser: Any) -> None:
    assert set(questions_of(parser, "The minister did not meet 30 farmers in Leeds.").values()) == {None}
    assert set(questions_of(parser, "We sold 30 cars in Leeds last year.").values()) == {None}
    assert set(questions_of(parser, "The company denied that it paid 30 officials in Kenya last year.").values()) == {None}


def test_a_place_that_belongs_to_a_noun_is_not_asked_as_the_clause_s(parser: Any) -> None:
    asked = questions_of(parser, "Police evacuated residents of towns near the Oroville Dam on Sunday.")
    assert asked["the Oroville Dam"] is None
    assert asked["Sunday"] == "When did police evacuate residents of towns near the Oroville Dam?"


def test_records_carry_the_article_and_the_answer_offset_and_split_by_article(tmp_path: Path, parser: Any) -> None:
    text = ("Rosneft bought the Yugansk unit in December. The sale was forced by Russia. "
            "About {n} workers joined the strike in Moscow on Monday, the union said.")
    articles = [Article(f"bbc-{n}", "", text.format(n=n)) for n in range(300, 340)]
    config = TrainConfig(data=tmp_path, out=tmp_path / "out", news_questions_per_article=1, news_held_out_fraction=0.3,
                         show_progress=False)
    train, held = written_news_records(config, articles, parser)
    assert train and held and 0.1 < len(held) / (len(train) + len(held)) < 0.5
    article_of = {r.qid: r.qid.removeprefix("news-rules-").rsplit("-", 1)[0] for r in train + held}  # <doc_id>-<hash>
    assert not {article_of[r.qid] for r in train} & {article_of[r.qid] for r in held}  # no article on both sides
    for record in train + held:
        (answer, start), = record.answers
        assert record.context[start : start + len(answer)] == answer
        assert record.dataset == "news-rules"
    assert len(set(article_of.values())) == len(article_of) == len(articles)  # one question an article: the cap
    from eval.news_questions import news_questions

    uncapped = list(news_questions(articles[:1], parser, per_article=6, show_progress=False))
    assert len(uncapped) == 2  # one question for each sentence that gives one (the second is too short)
    assert all(not r.question.startswith("When did About") for r in uncapped)  # "About 300 workers" mid-question
    examples = list(make_examples(train[:5], Mix(same_context=1.0, news=0.0), random.Random(1)))
    answers = {r.qid: r.answers[0][0] for r in train[:5]}
    positives = [e for e in examples if e.kind == "positive"]
    assert positives and all(e.passage[a:b] == answers[e.qid] for e in positives for a, b in e.answers)


def test_an_article_without_a_usable_sentence_gives_no_question(parser: Any) -> None:
    from eval.news_questions import news_questions

    articles = [Article("short", "", "Hello. Yes. No."), Article("bare", "", "Markets rose and fell and rose again.")]
    assert list(news_questions(articles, parser, show_progress=False)) == []

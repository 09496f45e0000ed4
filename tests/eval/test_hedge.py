"""Hedged negatives (eval.hedge): the verb that asserts the answer put in a modal; the `train` extra (spaCy)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from eval.reader_data import Mix, QARecord, make_examples

pytest.importorskip("spacy", reason="hedging needs the `train` extra (make train-deps)")
pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def hedger() -> Any:
    from eval.hedge import Hedger

    made = Hedger()
    try:
        made.parser  # noqa: B018 - load it once, or skip
    except OSError as exc:  # spaCy without its English model
        pytest.skip(f"the `train` extra's spaCy model is missing: {exc}")
    return made


def hedged(hedger: Any, question: str, passage: str, answer: str, seed: int = 0) -> str | None:
    made = hedge_pair(hedger, question, passage, answer, seed)
    return None if made is None else made.passage


def hedge_pair(hedger: Any, question: str, passage: str, answer: str, seed: int = 0) -> Any:
    start = passage.index(answer)
    return hedger.hedge(question, passage, ((start, start + len(answer)),), random.Random(seed))


def test_a_past_event_is_told_as_a_possibility(hedger: Any) -> None:
    passage = "The vote was held on Sunday. The State Council declared a three-day period of national mourning."
    for seed in range(8):
        out = hedged(hedger, "Who declared the mourning period?", passage, "The State Council", seed)
        assert out is not None and out != passage
        assert out.startswith("The vote was held on Sunday. The State Council ")  # the other sentence is kept
        assert "declared" not in out and "declare" in out and "The State Council" in out
        assert out.endswith("a three-day period of national mourning.")


def test_a_passive_takes_the_modal_on_its_auxiliary(hedger: Any) -> None:
    out = hedged(hedger, "Why were Galschiot and two others denied entry to Hong Kong?",
                 "Galschiot and two other people were denied entry to Hong Kong due to immigration reasons.",
                 "immigration reasons")
    assert out is not None
    assert " be denied entry" in out and "were denied" not in out


def test_the_question_asked_in_the_same_modal_finds_the_answer_again(hedger: Any) -> None:
    from eval.hedge import SIMPLE_MODALS

    passage = "Rescue work went on. The Red Cross flew 557 tents and 2,500 quilts to the region."
    asked = {}
    for seed in range(12):
        made = hedge_pair(hedger, "How many quilts were flown to the region?", passage, "2,500", seed)
        assert made is not None
        (start, end), = made.answers
        assert made.passage[start:end] == "2,500"  # offsets moved with the edit before them
        if made.question is not None:
            modal = made.question.split()[3]  # "How many quilts <modal> be flown to the region?"
            assert modal in SIMPLE_MODALS and f"{modal} fly" in made.passage
            assert made.question == f"How many quilts {modal} be flown to the region?"
            asked[modal] = made.question
    assert asked  # simple modals are asked about; the planned-to phrases are not
    made = hedge_pair(hedger, "Where was Alfred North Whitehead born?",
                      "Alfred North Whitehead was born in Ramsgate, Kent, England, in 1861.", "Ramsgate")
    assert made is not None and made.question is not None
    assert made.question.startswith("Where ") and made.question.endswith(" Alfred North Whitehead be born?")


def test_no_negative_when_the_question_asks_about_plans(hedger: Any) -> None:
    passage = "The Red Cross flew 2,500 quilts to the region."
    assert hedged(hedger, "How many quilts did the Red Cross plan to fly?", passage, "2,500") is None
    assert hedged(hedger, "How many quilts would the Red Cross fly?", passage, "2,500") is None


def test_no_negative_when_the_verb_is_not_the_one_asked_about(hedger: Any) -> None:
    # "held" is the sentence's verb, but the question asks what the capital is: hedging the event would not
    # make Kuala Lumpur any less the capital.
    passage = "The event was held in the capital city, Kuala Lumpur."
    assert hedged(hedger, "What is the capital city of Malaysia?", passage, "Kuala Lumpur") is None


def test_a_state_is_not_hedged(hedger: Any) -> None:
    assert hedged(hedger, "What is Barbershop music?", "Barbershop music is an American art form.",
                  "an American art form") is None


def test_make_examples_adds_a_hedged_negative_that_keeps_the_answer_words(hedger: Any) -> None:
    context = "The Red Cross Society of China flew 557 tents and 2,500 quilts to the region on Monday."
    record = QARecord("q1", "test", "How many quilts were flown to the region?", context,
                      (("2,500", context.index("2,500")),))
    examples = list(make_examples([record], Mix(same_context=0.0, news=0.0, hedged=1.0), random.Random(1),
                                  hedger=hedger))
    kinds = [e.kind for e in examples]
    assert kinds == ["positive", "hedged"]
    paired = []
    for seed in range(10):
        paired += [e for e in make_examples([record], Mix(same_context=0.0, news=0.0, hedged=1.0, hedged_asked=1.0),
                                            random.Random(seed), hedger=hedger) if e.kind == "hedged_asked"]
    assert paired and all(e.passage[e.answers[0][0]:e.answers[0][1]] == "2,500" for e in paired)
    negative = examples[1]
    assert negative.answers == () and "2,500" in negative.passage and negative.passage != context
    without = list(make_examples([record], Mix(same_context=0.0, news=0.0, hedged=0.0), random.Random(1),
                                 hedger=hedger))
    assert [e.kind for e in without] == ["positive"]


def test_the_shares_are_probabilities() -> None:
    with pytest.raises(ValueError, match="hedged_asked must be a probability in \\[0, 1\\], got 1.5"):
        Mix(hedged=1.0, hedged_asked=1.5)
    with pytest.raises(ValueError, match="hedged must be"):
        Mix(hedged=-0.1)

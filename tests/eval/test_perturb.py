"""Swapped-detail negatives: one mention the passage holds becomes one of the same kind it does not hold."""

from __future__ import annotations

import random

import pytest

from eval.perturb import Perturber

QUESTIONS = ["Which Russian city hosted the Arctic forum in 2017?", "How many people were evacuated near Oroville Dam?",
             "When did Tim Farron resign as leader?", "Who visited Beijing in 1998 with Angela Merkel?"]
PASSAGE = "The Arctic forum was hosted in 2017 by the Russian city of Arkhangelsk, officials said."


def test_a_detail_the_passage_holds_is_swapped_for_one_it_does_not() -> None:
    perturber = Perturber(QUESTIONS)
    rng = random.Random(3)
    question = QUESTIONS[0]
    changed = {perturber.perturb(question, PASSAGE, rng) for _ in range(40)}
    changed.discard(None)
    assert changed and question not in changed
    for text in changed:
        removed = set(question.rstrip("?").split()) - set(text.rstrip("?").split())
        assert removed, text
        assert all(word.strip("?").lower() in PASSAGE.lower() for word in removed)  # what went was in the passage


def test_nothing_to_swap_gives_none() -> None:
    perturber = Perturber(["Who won?"])
    assert perturber.perturb("Who won?", PASSAGE, random.Random(0)) is None
    with pytest.raises(ValueError, match="name_share"):
        Perturber([], name_share=2.0)

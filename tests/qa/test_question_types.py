"""Question typing: which word decides, and which head noun gives the kind after which/what."""

import pytest

from qa.question_types import question_type


@pytest.mark.parametrize(("question", "kind"), [
    ("Who cast the vote?", "who"), ("When did the storm hit?", "when"), ("How many homes lost power?", "how_many"),
    ("Where did Merkel speak?", "where"), ("Why did exports rise?", "why"), ("What did Trump sign?", "what"),
    ("In which city did Merkel speak?", "where"), ("What year was it?", "when"), ("How did the fire start?", "how"),
    ("By how much did exports rise?", "how_many"), ("Whose idea was it?", "who"),
    ("Roughly how many people were arrested?", "how_many"), ("The storm hit when?", "when"),
    ("Once the rebels disarm, which group will still fight?", "who"),
    ("According to the report, how long will repairs take?", "how_many"),
    ("How  many\ndied?", "how_many"), ("Which...city?", "where"),
])
def test_the_question_word_decides(question: str, kind: str) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize("question", [
    "Did the minister resign when the scandal broke?",  # a yes/no question: "when" opens a clause
    "Did the WHO declare a pandemic?",
    "Storm Doris hits Ireland",  # a headline asks for a story
    "", "?",
])
def test_without_an_opening_question_word_the_kind_is_what(question: str) -> None:
    assert question_type(question) == "what"


@pytest.mark.parametrize(("question", "kind"), [
    # the head noun of the phrase after which/what, however many modifiers come before it
    ("Which Kenyan High Court judge blocked the plan?", "who"),
    ("Which former Tennessee teacher was accused?", "who"),
    ("What is the name of the officer who died?", "who"),
    ("What kind of company sued?", "who"),
    ("What is the budget of the mission?", "how_many"),
    ("What yearly freight volume will the railway handle?", "how_many"),
    ("In which western Mosul neighbourhood were bodies found?", "where"),
    ("Which countries signed the accord?", "where"),
    ("By what deadline must the union reply?", "when"),
    ("What caused the bridge to fall?", "why"),
    ("What was the reason for the delay?", "why"),
    # the last known noun before the verb is the head: a whip is a person, not a majority
    ("Which House Majority Whip claimed victory?", "who"),
    # ... unless a possessive names the owner asked about
    ("Which company's shares fell?", "who"),
    ("Which city's mayor resigned?", "where"),
    # the phrase ends at a preposition or a clause: "of the party", "when Turkey…" ask nothing
    ("Which vice-minister of the party resigned?", "who"),
    ("Which German newspaper did he work for when Turkey arrested him?", "who"),
    ("What office was he running for when he spoke?", "what"),
    ("What did the official who resigned say?", "what"),
])
def test_which_and_what_take_the_kind_of_their_head_noun(question: str, kind: str) -> None:
    assert question_type(question) == kind

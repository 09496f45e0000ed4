import pytest

from qa.question_types import question_type


@pytest.mark.parametrize(("question", "kind"), [
    ("Who cast the vote?", "who"), ("When did the storm hit?", "when"), ("How many homes lost power?", "how_many"),
    ("Where did Merkel speak?", "where"), ("Why did exports rise?", "why"), ("What did Trump sign?", "what"),
    ("In which city did Merkel speak?", "where"), ("What year was it?", "when"), ("How did the fire start?", "how"),
    ("By how much did exports rise?", "how_many"), ("Whose idea was it?", "who"),
])
def test_question_word_decides(question: str, kind: str) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(("question", "kind"), [
    # the head noun of the phrase after which/what, however many modifiers come before it
    ("Which Kenyan High Court judge blocked the plan?", "who"),
    ("Which former Tennessee teacher was accused?", "who"),
    ("Which criminal lawyer's report cleared the police?", "who"),
    ("What is the name of the officer who died?", "who"),
    ("What is the budget of the mission?", "how_many"),
    ("What yearly freight volume will the railway handle?", "how_many"),
    ("In which western Mosul neighbourhood were bodies found?", "where"),
    ("Which countries signed the accord?", "where"),
    ("By what deadline must the union reply?", "when"),
    ("What caused the bridge to fall?", "why"),
    # the last known noun before the verb is the head: a whip is a person, not a majority
    ("Which House Majority Whip claimed victory?", "who"),
    # the phrase ends at a preposition or a clause: "of the party", "when Turkey…" ask nothing
    ("Which vice-minister of the party resigned?", "who"),
    ("Which German newspaper did he work for when Turkey arrested him?", "who"),
    ("What office was he running for when he spoke?", "what"),
    ("What did the official who resigned say?", "what"),
])
def test_which_and_what_take_the_kind_of_their_head_noun(question: str, kind: str) -> None:
    assert question_type(question) == kind

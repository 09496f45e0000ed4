"""The checker of written answers: each sentence against the sources it cites, and only those."""

from __future__ import annotations

import pytest

from qa.models import Citation
from qa.verify import check, numbers, split_claims, verify


def source(n: int, sentence: str, outlet: str = "ABC News", date: str = "2017-02-07") -> Citation:
    return Citation(n=n, doc_id=f"a{n}", title="t", source=outlet, date=date, url="", sentence=sentence, start=0,
                    end=len(sentence), passage_id=n, passage_start=0, passage_end=len(sentence), score=1.0)


SOURCES = [
    source(1, "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos as education secretary."),
    source(2, "The Senate had split 50-50 on the nomination."),
    source(3, "Storm Doris brought winds of up to 150 kilometres per hour to Ireland on Thursday.", "RTÉ", "2017-02-23"),
]


def test_split_claims_takes_marks_before_and_after_the_period() -> None:
    assert split_claims("Pence cast the vote [1]. The Senate split 50-50. [2] Both happened [1, 2].") == [
        ("Pence cast the vote.", (1,)), ("The Senate split 50-50.", (2,)), ("Both happened.", (1, 2))]


@pytest.mark.parametrize("written", [
    "Mike Pence cast the tie-breaking vote [1].",
    "Pence confirmed DeVos on February 7, 2017 [1].",  # the date the cited article was published under
    "According to ABC News, the Senate had split 50-50 [2].",
    "Storm Doris brought winds of up to 150 kilometres per hour [3].",
    "Vice President Mike Pence cast a tie-breaking vote, and the Senate had split 50-50 [1][2].",
])
def test_faithful_sentences_are_supported(written: str) -> None:
    (claim,) = verify(written, SOURCES)
    assert claim.supported, claim.reason


@pytest.mark.parametrize(("written", "reason"), [
    ("Mike Pence cast the tie-breaking vote.", "cites no source"),
    ("Mike Pence cast the tie-breaking vote [9].", "[9], which was not among the sources"),
    ("The Senate had split 51-49 on the nomination [2].", "number 51"),
    ("Storm Doris brought winds of up to 190 kilometres per hour [3].", "number 190"),
    ("Vice President Joe Biden cast a tie-breaking vote [1].", "“Joe”"),
    ("Storm Doris brought winds to Scotland [3].", "“Scotland”"),
    ("Mike Pence cast a tie-breaking vote on Tuesday [3].", "“Mike”"),  # a citation swapped
    ("Pence resigned in protest after the scandal over pipelines [1].", "words are in [1]"),
])
def test_corrupted_sentences_are_caught_with_a_reason(written: str, reason: str) -> None:
    (claim,) = verify(written, SOURCES)
    assert not claim.supported and reason in claim.reason


def test_a_claim_is_checked_against_what_it_cites_only() -> None:
    assert check("The Senate had split 50-50.", (2,), SOURCES).supported
    assert not check("The Senate had split 50-50.", (1,), SOURCES).supported


def test_numbers_are_normalised() -> None:
    assert numbers("1,000 people, three ships and 07 days") == {"1000", "3", "7"}


def test_a_copied_source_label_is_not_part_of_the_claim() -> None:
    assert split_claims("(ABC News, 2017-02-07) Pence cast the vote [1]. (ABC News, 2017-02-07)") == [
        ("Pence cast the vote.", (1,))]

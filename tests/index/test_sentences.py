"""Sentence splitting: abbreviations, decimals, quotes, the demo corpus's '"?' quirk, paragraphs, exact offsets."""

from __future__ import annotations

import itertools

import pytest

from index.models import Article
from index.sentences import MAX_SENTENCE_CHARS, sentence_spans, split_sentences


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences("d", text)]


def assert_offsets(text: str) -> None:
    sentences = split_sentences("d", text)
    previous_end = 0
    for n, s in enumerate(sentences):
        assert s.index == n and s.doc_id == "d"
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
        assert s.start >= previous_end
        between = text[previous_end : s.start].strip()
        assert between in ("", "-"), f"text lost between sentences: {between!r}"  # only a stray separator hyphen
        previous_end = s.end
    assert not text[previous_end:].strip()


@pytest.mark.parametrize(("text", "expected"), [
    ("Sen. Elizabeth Warren spoke first. Mr. Smith replied.",
     ["Sen. Elizabeth Warren spoke first.", "Mr. Smith replied."]),
    ("The U.S. Senate voted 51-50. Dr. Jones left.", ["The U.S. Senate voted 51-50.", "Dr. Jones left."]),
    ("Sen. Chris Van Hollen, D-Md., said his office got calls. It rang all day.",
     ["Sen. Chris Van Hollen, D-Md., said his office got calls.", "It rang all day."]),
    ("Sen. Elizabeth Warren (D-Mass.) said so. Others agreed.",
     ["Sen. Elizabeth Warren (D-Mass.) said so.", "Others agreed."]),
    ("Two Republicans, Sens. Susan Collins and Lisa Murkowski, said no. The vote was tied.",
     ["Two Republicans, Sens. Susan Collins and Lisa Murkowski, said no.", "The vote was tied."]),
    ("George W. Bush and J.K. Rowling met. They talked.", ["George W. Bush and J.K. Rowling met.", "They talked."]),
    ("The meeting is on Jan. 5 at 10 a.m. in Berlin. It was moved.",
     ["The meeting is on Jan. 5 at 10 a.m. in Berlin.", "It was moved."]),
])
def test_abbreviations_and_initials_do_not_end_sentences(text: str, expected: list[str]) -> None:
    assert texts(text) == expected
    assert_offsets(text)


def test_number_abbreviation_only_before_a_number() -> None:
    assert texts("He is ranked No. 5 in the world. Next.") == ["He is ranked No. 5 in the world.", "Next."]
    assert texts("She urged them to vote no. DeVos won anyway.") == ["She urged them to vote no.", "DeVos won anyway."]


def test_decimals_and_numbers() -> None:
    text = "Exports rose 7.9 percent to $3.5 billion. Imports jumped 16.7 percent. 2017 was a record year."
    assert texts(text) == ["Exports rose 7.9 percent to $3.5 billion.", "Imports jumped 16.7 percent.",
                           "2017 was a record year."]


def test_quotes_end_with_their_sentence() -> None:
    text = '"We will not close the borders." Merkel said it twice. She asked: "Why now?" Nobody answered.'
    assert texts(text) == ['"We will not close the borders."', "Merkel said it twice.", 'She asked: "Why now?"',
                           "Nobody answered."]
    text = "“It is hard to imagine a worse choice,” Warren said. ‘Never,’ he said."
    assert texts(text) == ["“It is hard to imagine a worse choice,” Warren said.", "‘Never,’ he said."]


def test_question_inside_quote_followed_by_lowercase_does_not_split() -> None:
    assert texts('"Why now?" he asked. Then he left.') == ['"Why now?" he asked.', "Then he left."]


def test_demo_corpus_glued_closing_quote() -> None:
    """The demo corpus writes a closing quote as '"?' glued to the next sentence: 'grizzlies."?DeVos'."""
    text = ('She said they might be needed to defend against "potential grizzlies."?DeVos\' nomination drew '
            'negative reactions. "It is hard to imagine a worse choice,"?Sen. Elizabeth Warren said.')
    got = texts(text)
    assert got == ['She said they might be needed to defend against "potential grizzlies."?',
                   "DeVos' nomination drew negative reactions.",
                   '"It is hard to imagine a worse choice,"?Sen. Elizabeth Warren said.']
    assert_offsets(text)


def test_demo_corpus_hyphen_separators_and_glued_quotes() -> None:
    """Sentences separated by a stray hyphen ('title.- The book') or glued at a closing quote ('most."Guthrie')."""
    text = ('She revealed the title.- The book is called "Princesses Wear Pants," she said. It is set for Feb. 23.-Until '
            'then, you wait. It matters most."Guthrie and Oppenheim agreed. He spoke on Donald Trump."?"I think we '
            'have a chance," he said.')
    assert texts(text) == [
        "She revealed the title.", 'The book is called "Princesses Wear Pants," she said.', "It is set for Feb. 23.",
        "Until then, you wait.", 'It matters most."', "Guthrie and Oppenheim agreed.", 'He spoke on Donald Trump."?',
        '"I think we have a chance," he said.']
    assert_offsets(text)


def test_hyphens_after_abbreviations_and_inside_words_are_not_boundaries() -> None:
    text = "The U.S.-Mexico border is long. The U.S.-led coalition and the Sen.-elect met at 10 a.m.-ish."
    assert texts(text) == ["The U.S.-Mexico border is long.", "The U.S.-led coalition and the Sen.-elect met at 10 a.m.-ish."]


def test_glued_quote_inside_a_word_is_not_a_boundary() -> None:
    text = 'The Senate voted on DeVos"?highly contentious nomination today. It passed.'
    assert texts(text) == ['The Senate voted on DeVos"?highly contentious nomination today.', "It passed."]


def test_paragraph_breaks_end_sentences_even_without_punctuation() -> None:
    text = "US using civilians as human shields\n\nThe Russian military said so.\nA second line"
    assert texts(text) == ["US using civilians as human shields", "The Russian military said so.", "A second line"]
    assert_offsets(text)


def test_lowercase_after_period_is_not_a_boundary() -> None:
    assert texts("The figure was approx. three times higher. Then it fell.") == [
        "The figure was approx. three times higher.", "Then it fell."]
    assert texts("He visited e.g. Berlin and Paris.") == ["He visited e.g. Berlin and Paris."]


def test_empty_and_blank_text() -> None:
    assert sentence_spans("") == []
    assert sentence_spans(" \n\n \t") == []
    assert texts("No terminal punctuation") == ["No terminal punctuation"]


@pytest.mark.parametrize("text", [
    "  Leading space. Trailing space.  ",
    "One!!! Two?! Three… Four.",
    "A.\n\n\nB.\n \nC.",
    "Ends with quote.\" Next (in brackets.) More.",
    "…",
    "\"?\"?\"?",
    "Mr. Mr. Mr.",
    "x" * 50 + ". " + "Y" * 50 + ".",
])
def test_offsets_invariant_on_odd_text(text: str) -> None:
    assert_offsets(text)


def test_offsets_invariant_on_demo_articles(demo_records: list) -> None:
    articles = [r for r in itertools.islice(demo_records, 400) if isinstance(r, Article)]
    assert len(articles) > 350
    total = 0
    for article in articles:
        assert_offsets(article.text)
        total += len(split_sentences(article.doc_id, article.text))
    assert total > 10 * len(articles)


def test_a_table_flattened_into_one_run_on_sentence_is_cut_into_readable_pieces() -> None:
    row = "MELBOURNE, AUSTRALIA September, 2014 TARGET: Two police officers wounded in knife attack ATTACKER: A 406 stories "
    table = (row * 40).rstrip() + "."
    text = "Attacks since 2014. " + table + " The end."
    spans = sentence_spans(text)
    assert spans[0] == (0, 19) and text[spans[-1][0] : spans[-1][1]] == "The end."
    pieces = [text[a:b] for a, b in spans[1:-1]]
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces) and len(pieces) >= 8
    assert all(p == p.strip() and not p.startswith((",", ":")) for p in pieces)
    assert "".join(pieces).replace(" ", "") == table.replace(" ", "")  # nothing lost between pieces
    prose = "A long but ordinary sentence, " + "with clause after clause, " * 15 + "ends here."
    assert len(prose) < MAX_SENTENCE_CHARS and sentence_spans(prose) == [(0, len(prose))]

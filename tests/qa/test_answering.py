"""The extractive answerer's sentence choice, each technique shown on a small case."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from qa.answering import _TYPE_PATTERNS, AnswerConfig, _best_type_span
from qa.pipeline import QAPipeline
from qa.retrieval import RetrievalConfig, query_terms

# One story: four sentences repeat its subject, one holds what was done (and the answer).
LEAVE = Article(
    "buhari-leave", "Buhari on medical leave",
    "Nigerian President Muhammadu Buhari flew to London on medical leave in January. "
    "Nigerian officials said President Muhammadu Buhari was resting in London. "
    "Buhari handed power to his deputy, Yemi Osinbajo, before he left. "
    "Nigerian newspapers asked when President Muhammadu Buhari would return. "
    "President Muhammadu Buhari's Nigerian critics said the country was adrift.",
    date="2017-02-01", source="Newswire",
)
STORM = Article("storm", "Storm Doris", "Storm Doris hit Ireland with strong winds. Power was cut to homes.",
                date="2017-02-23", source="Weather Desk")


def index_of(tmp_path: Path, fake_embedder: HashEmbedder, *articles: Article) -> NewsIndex:
    """The articles, each a single passage."""
    index = NewsIndex.open(tmp_path / "index", fake_embedder,
                           config=IndexConfig(model=fake_embedder.name, dim=64, max_tokens=200))
    index.add(list(articles), show_progress=False)
    return index


@pytest.fixture()
def story_index(tmp_path: Path, fake_embedder: HashEmbedder) -> NewsIndex:
    return index_of(tmp_path, fake_embedder, LEAVE, STORM)


def first_sentence(index: NewsIndex, question: str, **config: float) -> str:
    answer = QAPipeline(index, answering=AnswerConfig(threshold=0.0, max_sentences=1, **config)).ask(question)
    return answer.citations[0].sentence


def test_words_repeated_across_the_candidates_weigh_less_than_the_asked_predicate(story_index: NewsIndex) -> None:
    """Both kinds of sentence hold three of the question's words; the subject's are in every candidate."""
    question = "What was handed to the deputy by President Muhammadu Buhari?"
    predicate = "Buhari handed power to his deputy, Yemi Osinbajo, before he left."
    assert first_sentence(story_index, question, local_weight=0.0) != predicate  # a tie, left to sentence order
    assert first_sentence(story_index, question) == predicate  # the default weighs rarity among the candidates


CAUSE = ("The church rejected the dean as bishop this month. "
         "Church leaders rejected the dean because he was in a civil partnership.")
CAUSE_QUESTION = "Why did the church reject the dean as bishop?"


@pytest.mark.parametrize(("text", "question", "marker"), [
    # "When": the sentence with a date beats one holding more of the question's words but no date.
    ("Buhari returned to Abuja on March 10 after seven weeks away. "
     "Nigerian newspapers had asked when Buhari would return to Abuja from his leave.",
     "When did Buhari return to Abuja from his leave?", "March 10"),
    # "Why": the sentence with "because ..." beats one holding more of the question's words but no cause.
    (CAUSE, CAUSE_QUESTION, "because"),
    # "Which … judge": the head noun asks for a person, so the sentence naming one wins.
    ("The High Court blocked the plan on Thursday. Judge John Mativo said the camp plan was illegal.",
     "Which Kenyan High Court judge blocked the plan to close the camp?", "Mativo"),
])
def test_a_sentence_holding_the_asked_for_kind_is_preferred(tmp_path: Path, fake_embedder: HashEmbedder,
                                                            text: str, question: str, marker: str) -> None:
    index = index_of(tmp_path, fake_embedder, Article("story", "A story", text, date="2017-03-20", source="Newswire"),
                     STORM)
    assert marker in first_sentence(index, question)
    assert marker not in first_sentence(index, question, type_weight=0.0)


def test_a_why_question_shows_the_stated_cause_as_its_short_answer(tmp_path: Path,
                                                                    fake_embedder: HashEmbedder) -> None:
    index = index_of(tmp_path, fake_embedder, Article("bishop", "Church passes over dean", CAUSE,
                                                      date="2017-03-20", source="Newswire"), STORM)
    answer = QAPipeline(index, answering=AnswerConfig(threshold=0.0)).ask(CAUSE_QUESTION)
    assert answer.short_answer == "because he was in a civil partnership"


def test_local_weight_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="local_weight must be >= 0, got -1"):
        AnswerConfig(local_weight=-1)


def test_a_question_about_an_outcome_the_evidence_never_states_loses_confidence(
        tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    index = index_of(tmp_path, fake_embedder, LEAVE, Article(
        "runoff", "Macron wins", "Emmanuel Macron won the French run-off with 66 percent of the vote. "
        "Marine Le Pen conceded defeat.", date="2017-03-30", source="Newswire"))
    pipeline = QAPipeline(index, answering=AnswerConfig(threshold=0.0))

    def unmet(question: str) -> float:
        return pipeline.ask(question).signals["unmet_outcome"]

    assert unmet("What was the final result of Buhari's medical leave in London?") == 1.0  # the story, no outcome
    assert unmet("Who won the French run-off?") == 0.0  # the outcome is stated
    assert unmet("Who did Buhari hand power to before his medical leave?") == 0.0  # not an outcome question
    question = "What was the final result of Buhari's medical leave in London?"
    weights = AnswerConfig().confidence_weights
    blind = QAPipeline(index, answering=AnswerConfig(threshold=0.0, confidence_weights=(*weights[:-1], 0.0)))
    assert pipeline.ask(question).confidence < blind.ask(question).confidence - 0.2


def test_an_article_deleted_after_a_reader_opened_is_not_cited(tiny_index: NewsIndex) -> None:
    reader = QAPipeline(NewsIndex.open(tiny_index.folder, tiny_index.embedder, readonly=True))
    question = "How close have Syrian government forces come to al-Mayadin?"
    assert reader.ask(question).hits[0].doc_id == "a2"
    tiny_index.delete(["a2"])  # `newsqa delete` while `newsqa serve` runs on its own view
    answer = reader.ask(question)
    assert answer.hits[0].doc_id == "a2"  # the reader's view still holds it
    assert all(c.doc_id != "a2" for c in answer.citations)


def test_why_answer_span_ends_at_a_word_boundary() -> None:
    sentence = ("The spillway was damaged because heavy rains forced officials to open the gates, threatening "
                "about 200,000 people living downstream.")
    spans = [m.group() for m in _TYPE_PATTERNS["why"].finditer(sentence)]
    assert spans == ["because heavy rains forced officials to open the gates, threatening about 200,000"]


def test_a_question_far_from_every_passage_is_declined_whatever_words_it_shares(tiny_index: NewsIndex) -> None:
    question = "How close have Syrian government forces come to al-Mayadin?"
    answered = QAPipeline(tiny_index, answering=AnswerConfig(threshold=0.0)).ask(question)
    assert not answered.abstained and 0.0 < answered.signals["dense"] < 0.99
    floor = AnswerConfig(threshold=0.0, min_dense=answered.signals["dense"] + 0.01)
    declined = QAPipeline(tiny_index, answering=floor).ask(question)
    assert declined.abstained and declined.confidence == 0.0  # same evidence, too far in meaning
    assert declined.signals["dense"] == answered.signals["dense"]
    lexical_only = QAPipeline(tiny_index, RetrievalConfig(mode="bm25"), floor).ask(question)
    assert not lexical_only.abstained  # without a query vector there is no cosine to hold against the floor
    with pytest.raises(ValueError, match="min_dense must be a cosine in"):
        AnswerConfig(min_dense=1.5)


def test_the_short_answer_is_not_the_questions_own_subject_nor_a_name_read_as_a_month() -> None:
    def short(question: str, qtype: str, sentence: str) -> str | None:
        weights = {t: 1.0 for t in query_terms(question)}
        span = _best_type_span(_TYPE_PATTERNS[qtype], sentence, qtype, weights)  # type: ignore[arg-type]
        return sentence[span[0] : span[1]] if span else None

    vote = "The Senate confirmed Betsy DeVos after Vice President Mike Pence cast a tie-breaking vote."
    assert short("Who cast the tie-breaking vote for DeVos?", "who", vote) == "Vice President Mike Pence"
    assert short("Which vice president cast the vote?", "who", vote) == "Mike Pence"  # the shared title trimmed
    signed = "U.S. President Donald Trump signed the order."
    assert short("Which president signed the order?", "who", signed) == "Donald Trump"  # after the last shared word
    assert short("Who confirmed Betsy DeVos?", "who", "Betsy DeVos was confirmed on Tuesday.") is None
    brexit = "Theresa May said Article 50 would be triggered by March 31."
    assert short("When will Article 50 be triggered?", "when", brexit) == "March 31"
    assert short("When will Article 50 be triggered?", "when", "Theresa May will trigger Article 50.") is None
    assert short("When did the law take effect?", "when", "In May the law took effect.") == "May"  # "In" is no name
    # a quantity as the article gives it: its qualifier and its range, and never a bare year
    assert short("How many were blacklisted?", "how_many", "The EU blacklisted more than 150 people.") == \
        "more than 150 people"
    assert short("How far away was the gun?", "how_many", "The gun was 3 to 6 inches away.") == "3 to 6 inches"
    assert short("How many groups were there?", "how_many", "In 2016 there were 101 groups.") == "101"
    # a place named after what it is, and never a month
    assert short("Where did Juncker float the idea?", "where", "He spoke in the Belgian city of Leuven.") == "Leuven"
    assert short("Where is the festival held?", "where", "It opens in April in Indio.") == "Indio"

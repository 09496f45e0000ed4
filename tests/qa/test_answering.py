"""The reader-based answerer: spans, citations, confidence and declines, on small inline corpora."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from qa.answering import (DEFAULT_WEIGHTS, FEATURES, AnswerConfig, ExtractiveAnswerer, agrees, balanced_quotes,
                          logistic)
from qa.pipeline import QAPipeline
from qa.reader import Reading
from qa.retrieval import RetrievalConfig

STORM = Article("storm", "Storm Doris", "Storm Doris hit Ireland with strong winds. Power was cut to 55,000 homes.",
                date="2017-02-23", source="Weather Desk")
LEAVE = Article(
    "buhari-leave", "Buhari on medical leave",
    "Nigerian President Muhammadu Buhari flew to London on medical leave in January. "
    "Buhari handed power to his deputy, Yemi Osinbajo, before he left. "
    "Nigerian newspapers asked when President Muhammadu Buhari would return.",
    date="2017-02-01", source="Newswire",
)


def index_of(tmp_path: Path, fake_embedder: HashEmbedder, *articles: Article, max_tokens: int = 200) -> NewsIndex:
    index = NewsIndex.open(tmp_path / "index", fake_embedder,
                           config=IndexConfig(model=fake_embedder.name, dim=64, max_tokens=max_tokens))
    index.add(list(articles), show_progress=False)
    return index


class ScriptedReader:
    """Reads every pair as told: the span of `answer` where the passage holds it, else no answer."""

    def __init__(self, answer: str, answerable: float = 0.9, span_logit: float = 5.0) -> None:
        self.answer, self.answerable, self.span_logit = answer, answerable, span_logit
        self.calls: list[list[str]] = []

    def read_pairs(self, questions: list[str], passages: list[str],
                   breaks: Sequence[Sequence[int]] | None = None) -> list[Reading]:
        self.calls.append(list(questions))
        out = []
        for passage in passages:
            at = passage.find(self.answer)
            if at < 0:
                out.append(Reading(0, 0, 0.02, 0.0, 0.9, -6.0))
            else:
                out.append(Reading(at, at + len(self.answer), self.answerable, 0.8, 0.05, self.span_logit))
        return out


def test_the_short_answer_is_the_readers_span_and_its_sentence_the_citation(tmp_path: Path,
                                                                            fake_embedder: HashEmbedder) -> None:
    index = index_of(tmp_path, fake_embedder, LEAVE, STORM)
    pipeline = QAPipeline(index, reader=ScriptedReader("Yemi Osinbajo"))
    answer = pipeline.ask("Who did Buhari hand power to?")
    assert not answer.abstained
    assert answer.short_answer == "Yemi Osinbajo"
    citation = answer.citations[0]
    article = index.store.article(citation.doc_id)
    assert article is not None and article.text[citation.start : citation.end] == citation.sentence
    assert citation.sentence == "Buhari handed power to his deputy, Yemi Osinbajo, before he left."
    assert citation.answer_span is not None
    assert article.text[citation.answer_span[0] : citation.answer_span[1]] == "Yemi Osinbajo"
    assert answer.text == f"{citation.sentence} [1]"
    assert set(answer.signals) == {*FEATURES, "confidence", "later_period"}


def test_a_span_across_two_sentences_cites_both_and_marks_its_part_in_each(tmp_path: Path,
                                                                           fake_embedder: HashEmbedder) -> None:
    index = index_of(tmp_path, fake_embedder, STORM)
    answer = QAPipeline(index, reader=ScriptedReader("winds. Power")).ask("What did Storm Doris bring?")
    assert [c.n for c in answer.citations] == [1, 2]
    spans = [STORM.text[c.answer_span[0] : c.answer_span[1]] for c in answer.citations if c.answer_span]
    assert spans == ["winds.", "Power"]


def test_no_passage_with_an_answer_is_declined(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    index = index_of(tmp_path, fake_embedder, LEAVE, STORM)
    answer = QAPipeline(index, reader=ScriptedReader("not in any passage")).ask("Who won the cricket world cup?")
    assert answer.abstained and not answer.citations and answer.short_answer == ""
    assert answer.confidence < AnswerConfig().threshold
    assert answer.signals["answerable"] == pytest.approx(0.02)  # the features say why


def test_the_readers_question_is_the_follow_up_rewrite(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    from qa.conversation import Turn

    reader = ScriptedReader("Yemi Osinbajo")
    index = index_of(tmp_path, fake_embedder, LEAVE, STORM)
    answer = QAPipeline(index, reader=reader).ask(
        "Who did he hand power to?", history=[Turn("Where did Muhammadu Buhari go on medical leave?", "London [1]")])
    assert "Buhari" in answer.query and reader.calls[-1][0] == answer.query


def test_an_off_topic_passage_is_declined_by_the_dense_floor(tiny_index: NewsIndex) -> None:
    question = "How close have Syrian government forces come to al-Mayadin?"
    reader = ScriptedReader("10 kilometers", span_logit=-1.0)  # a span, scored under "no answer here"
    answered = QAPipeline(tiny_index, reader=reader).ask(question)
    assert not answered.abstained and answered.short_answer == "10 kilometers"
    floor = AnswerConfig(min_dense=answered.signals["dense"] + 0.01)
    declined = QAPipeline(tiny_index, answering=floor, reader=reader).ask(question)
    assert declined.abstained and declined.confidence == 0.0
    assert declined.signals["dense"] == answered.signals["dense"]
    lexical_only = QAPipeline(tiny_index, RetrievalConfig(mode="bm25"), floor, reader=reader).ask(question)
    assert not lexical_only.abstained  # without a query vector there is no cosine to hold against the floor
    sure = QAPipeline(tiny_index, answering=floor, reader=ScriptedReader("10 kilometers")).ask(question)
    assert not sure.abstained  # under the floor, but the reader's span beats "no answer": the sentence names it


def test_a_second_citation_comes_from_another_sentence_that_passes_the_threshold(
        tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    endings = ("in Cork", "in Galway")
    reports = [Article(f"wire-{n}", "Power cuts", f"Report {n} said one thing. Power was cut to 55,000 homes {end}.",
                       date="2017-02-23", source="Newswire") for n, end in enumerate(endings)]
    index = index_of(tmp_path, fake_embedder, *reports)
    answer = QAPipeline(index, reader=ScriptedReader("55,000 homes")).ask("How many homes lost power?")
    assert [c.n for c in answer.citations] == [1, 2]
    assert {c.doc_id for c in answer.citations} == {"wire-0", "wire-1"}
    assert all(c.answer_span for c in answer.citations)  # both give the same answer: both marked
    one = QAPipeline(index, answering=AnswerConfig(max_sentences=1), reader=ScriptedReader("55,000 homes"))
    assert len(one.ask("How many homes lost power?").citations) == 1


def test_the_same_sentence_in_two_articles_is_cited_once(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    """A wire story run by two outlets: its sentence twice, [1] and [2], would add nothing."""
    copies = [Article(f"wire-{n}", "Power cuts", f"Report {n} said one thing. Power was cut to 55,000 homes.",
                      date="2017-02-23", source="Newswire") for n in range(2)]
    index = index_of(tmp_path, fake_embedder, *copies)
    answer = QAPipeline(index, reader=ScriptedReader("55,000 homes")).ask("How many homes lost power?")
    assert [c.sentence for c in answer.citations] == ["Power was cut to 55,000 homes."]


def test_a_companion_citation_that_gives_another_answer_is_cited_unmarked(
        tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    class TwoAnswers(ScriptedReader):  # "55,000 homes" in one report, "40,000 homes" in the other
        def read_pairs(self, questions, passages, breaks=None):  # noqa: ANN001, ANN202
            out = []
            for passage in passages:
                for answer, answerable in (("55,000 homes", 0.95), ("40,000 homes", 0.9)):
                    if (at := passage.find(answer)) >= 0:
                        out.append(Reading(at, at + len(answer), answerable, 0.8, 0.05, 5.0))
                        break
                else:
                    out.append(Reading(0, 0, 0.02, 0.0, 0.9, -6.0))
            return out

    reports = [Article("wire-0", "Power cuts", "Power was cut to 55,000 homes in Cork.", date="2017-02-23"),
               Article("wire-1", "Power cuts", "Power was cut to 40,000 homes in Galway.", date="2017-02-23")]
    answer = QAPipeline(index_of(tmp_path, fake_embedder, *reports), reader=TwoAnswers("")).ask(
        "How many homes lost power?")
    assert answer.short_answer == "55,000 homes" and len(answer.citations) == 2
    first, second = answer.citations
    assert first.answer_span and second.answer_span is None  # one answer marked, not two that disagree


def test_a_span_does_not_break_a_quotation(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    quoted = Article("quote", "May on Brexit", 'Theresa May said "no deal is better than a bad deal" on Tuesday.',
                     date="2017-01-17", source="Newswire")
    index = index_of(tmp_path, fake_embedder, quoted)
    answer = QAPipeline(index, reader=ScriptedReader('"no deal is better than a bad deal')).ask(
        "What did Theresa May say about a deal?")
    assert answer.short_answer == "no deal is better than a bad deal"
    start, end = answer.citations[0].answer_span
    assert quoted.text[start:end] == "no deal is better than a bad deal"
    assert balanced_quotes(quoted.text, start - 1, end + 1) == (start - 1, end + 1)  # a whole quotation is kept
    for text in ('"Yes," and then "no deal', 'He is 6\'2"', '" '):  # paired marks, an inch mark, a mark alone: kept
        assert balanced_quotes(text, 0, len(text)) == (0, len(text))


@pytest.mark.parametrize(("short", "other", "same"), [
    ("200,000", "nearly 200,000", True), ("John Rayne Rivello", "Mr Rivello", True), ("the HSE", "HSE", True),
    ("four", "20", False), ("Patriots", "Atlanta Falcons", False), ("guilty", "not guilty", False),
    ("5 percent", "0.5 percent", False), ("1,000 homes", "1,000,000 homes", False), ("40,000", "60,000", False),
    ("Syria and Yemen", "Yemen and Syria", False), ("", "x", False),
])
def test_two_short_answers_agree_when_one_says_the_others_words_in_a_row(short: str, other: str, same: bool) -> None:
    assert agrees(short, other) is same and agrees(other, short) is same


def test_confidence_weights_default_to_the_readers_and_are_validated(tiny_index: NewsIndex) -> None:
    answerer = ExtractiveAnswerer(tiny_index, reader=ScriptedReader("x"))
    assert answerer.weights == DEFAULT_WEIGHTS  # a reader that ships none: the answerability head alone
    features = dict.fromkeys(FEATURES, 0.0) | {"answerable": 0.9}
    assert logistic(DEFAULT_WEIGHTS, features) > 0.9 > 0.1 > logistic(DEFAULT_WEIGHTS, features | {"answerable": 0.1})
    with pytest.raises(ValueError, match="confidence_weights needs 6 numbers, got 2"):
        AnswerConfig(confidence_weights=(1.0, 2.0))
    with pytest.raises(ValueError, match="min_dense must be a cosine in"):
        AnswerConfig(min_dense=1.5)


def test_an_article_deleted_after_a_reader_opened_is_not_cited(tiny_index: NewsIndex) -> None:
    reader = QAPipeline(NewsIndex.open(tiny_index.folder, tiny_index.embedder, readonly=True),
                        reader=ScriptedReader("10 kilometers"))
    question = "How close have Syrian government forces come to al-Mayadin?"
    assert reader.ask(question).hits[0].doc_id == "a2"
    tiny_index.delete(["a2"])  # `newsqa delete` while `newsqa serve` runs on its own view
    answer = reader.ask(question)
    assert answer.hits[0].doc_id == "a2"  # the reader's view still holds it
    assert all(c.doc_id != "a2" for c in answer.citations)


def test_a_question_about_a_time_after_the_corpus_needs_a_sentence_that_names_that_time(
        tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    plan = Article("plan", "Dam repairs", "The dam repair will cost $5 billion, officials said on Monday.",
                   date="2017-02-20", source="Newswire")
    index = index_of(tmp_path, fake_embedder, plan, STORM)
    reader = ScriptedReader("$5 billion")
    later = "How much did the dam repair cost in 2019?"
    assert QAPipeline(index, reader=reader).ask(later).abstained  # the sentence never speaks of 2019
    lenient = QAPipeline(index, answering=AnswerConfig(later_needs_mention=False), reader=reader).ask(later)
    assert not lenient.abstained and lenient.note  # answered, with the caveat that the sources predate it
    dated = Article("plan", "Dam repairs", "The dam repair will cost $5 billion by 2019, officials said on Monday.",
                    date="2017-02-20", source="Newswire")
    index.add([dated], show_progress=False)
    answer = QAPipeline(index, reader=reader).ask(later)
    assert not answer.abstained and "by 2019" in answer.citations[0].sentence


def test_an_article_written_before_the_time_asked_about_answers_only_by_naming_it(
        tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    preview = Article("preview", "Run-off ahead", "Macron won 24 percent in the first round and faces Le Pen next.",
                      date="2017-04-24", source="Newswire")
    later_news = Article("budget", "Budget talks", "Budget talks resumed in Brussels on Monday.",
                         date="2017-05-22", source="Newswire")  # the corpus runs past the day asked about
    index = index_of(tmp_path, fake_embedder, preview, later_news)
    question = "What share of the vote did Macron win in the May 7, 2017 run-off?"
    reader = ScriptedReader("24 percent")
    answer = QAPipeline(index, reader=reader).ask(question)
    assert answer.abstained and answer.signals["later_period"] == 0.0  # within the corpus, after the preview
    assert not QAPipeline(index, answering=AnswerConfig(later_needs_mention=False), reader=reader).ask(question).abstained
    assert not QAPipeline(index, reader=reader).ask(question, use_time=False).abstained  # times not read
    named = Article("preview", "Run-off ahead", "Macron won 24 percent in the first round before the May 7 run-off.",
                    date="2017-04-24", source="Newswire")
    index.add([named], show_progress=False)
    assert not QAPipeline(index, reader=reader).ask(question).abstained  # it speaks of that time
    result = Article("result", "Macron wins", "Macron won 66 percent of the vote on Sunday.", date="2017-05-07",
                     source="Newswire")  # written that day (or the evening before): no need to name it
    index.add([result], show_progress=False)
    answer = QAPipeline(index, reader=ScriptedReader("66 percent")).ask(question)
    assert not answer.abstained and answer.short_answer == "66 percent"

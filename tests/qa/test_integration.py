"""End to end with the real model: the first 300 demo articles, a scraped page, hundreds of checked citations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.embedding import SentenceTransformerEmbedder
from index.indexer import NewsIndex
from index.models import Article
from index.readers import read_path
from qa.models import Answer
from qa.pipeline import QAPipeline
from ui.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(demo_index_300: NewsIndex) -> QAPipeline:
    return QAPipeline(demo_index_300)


def citation_problems(index: NewsIndex, answer: Answer) -> list[str]:
    """Every way a citation can fail to point at exactly its sentence."""
    problems = []
    for c in answer.citations:
        article = index.store.article(c.doc_id)
        where = f"{answer.question!r} [{c.n}] {c.doc_id}:{c.start}-{c.end}"
        if article is None:
            problems.append(f"{where}: article missing")
            continue
        if article.text[c.start : c.end] != c.sentence:
            problems.append(f"{where}: text[start:end] != sentence")
        if not c.passage_start <= c.start < c.end <= c.passage_end:
            problems.append(f"{where}: outside its passage {c.passage_start}-{c.passage_end}")
        if (c.start, c.end) not in set(index.store.sentence_offsets(c.doc_id)):
            problems.append(f"{where}: not a stored sentence")
        if (c.title, c.source, c.date) != (article.title, article.source, article.date):
            problems.append(f"{where}: article fields differ")
    return problems


def test_devos_tie_breaking_vote(pipeline: QAPipeline, demo_index_300: NewsIndex) -> None:
    answer = pipeline.ask("Who cast the tie-breaking vote that confirmed Betsy DeVos as education secretary?")
    assert not answer.abstained, answer.text
    cited = [c for c in answer.citations if c.source == "ABC News" and "Pence" in c.sentence]
    assert cited, [(c.source, c.sentence) for c in answer.citations]
    assert "tie" in cited[0].sentence
    assert citation_problems(demo_index_300, answer) == []


def generated_questions(index: NewsIndex, limit: int = 300) -> list[tuple[str, str]]:
    """(question, doc_id): one question per article (its headline, or words of a middle sentence, in turn),
    then the other kind, until `limit`."""
    first, second = [], []
    for n, (doc_id, info) in enumerate(index.articles.items()):
        sentences = index.sentences(index.store.article(doc_id))
        words = re.findall(r"[\w'-]+", sentences[len(sentences) // 2].text)[:12]
        kinds = [(f"What happened: {info.title}?", doc_id)] if info.title else []
        kinds.insert(n % 2, ("What do we know about " + " ".join(words) + "?", doc_id))
        first.append(kinds[0])
        second += kinds[1:]
    return (first + second)[:limit]


def test_every_citation_points_at_exactly_its_sentence(pipeline: QAPipeline, demo_index_300: NewsIndex,
                                                       record_property: pytest.RecordProperty) -> None:
    questions = generated_questions(demo_index_300)
    assert len(questions) == 300
    problems: list[str] = []
    answered = citations = found = 0
    for question, doc_id in questions:
        answer = pipeline.ask(question)
        problems += citation_problems(demo_index_300, answer)
        answered += not answer.abstained
        citations += len(answer.citations)
        found += any(h.doc_id == doc_id for h in answer.hits)
        assert answer.abstained == (not answer.citations)
    figures = f"{answered}/300 answered, {citations} citations checked, source article retrieved for {found}/300"
    print(figures)
    record_property("citation_check", figures)
    assert problems == []
    assert citations >= 150  # enough answers for the check to mean something
    assert found >= 0.8 * len(questions)


SEED_LIKE_PAGE = """News   /   Syria

Syrian forces draw close to Daesh-held al-Mayadin in east

Syrian government forces celebrate in the eastern city of Dayr al-Zawr on September 11, 2017. (Photo by AFP)

The Syrian army and allied forces have reportedly closed in on the eastern city of al-Mayadin, the current main stronghold of the Daesh terrorist group in the country.

Hezbollah Military Media Center reported Friday that Syrian forces have retaken control of heights parallel to the main road connecting al-Mayadin to the provincial capital.

Damascus forces and their allies are only 10 kilometers away from al-Mayadin, added the report.

Russia said last month that SDF forces had twice targeted Syrian government positions amid Dayr al-Zawr operations.

This photo released on Monday by SANA shows Syrian troops standing on pickup trucks near Dayr al-Zawr. (Via AP)

Press TV’s website can also be accessed at the following alternate addresses:

Press TV News Roku
"""


def test_scraped_page_answers_with_the_distance_sentence(tmp_path: Path, real_embedder: SentenceTransformerEmbedder,
                                                          tiny_articles: list[Article]) -> None:
    page = tmp_path / "000_syria.txt"
    page.write_text(SEED_LIKE_PAGE, encoding="utf-8")
    index = NewsIndex.open(tmp_path / "ix", real_embedder)
    distractors = [a for a in tiny_articles if a.doc_id != "a2"]  # a2 also reports the distance
    report = index.add([*read_path(page), *distractors], show_progress=False)
    assert report.added == 1 + len(distractors) and not report.errors
    answer = QAPipeline(index).ask("How close have Syrian government forces come to al-Mayadin?")
    assert not answer.abstained, answer.text
    cited = [c for c in answer.citations if "10 kilometers" in c.sentence]
    assert cited, [c.sentence for c in answer.citations]
    assert (cited[0].doc_id, cited[0].source) == ("000_syria", "Press TV")
    assert cited[0].title == "Syrian forces draw close to Daesh-held al-Mayadin in east"
    assert citation_problems(index, answer) == []
    for c in answer.citations:
        assert "(Photo by AFP)" not in c.sentence and "Roku" not in c.sentence


@pytest.mark.parametrize("question", ["Tell me a joke", "How do I reset my password?"])
def test_questions_off_the_corpus_topics_are_declined_by_the_products_settings(
        demo_index_300: NewsIndex, question: str) -> None:
    product = QAPipeline(demo_index_300, answering=Settings().answer_config())
    answer = product.ask(question)
    assert answer.abstained, answer.signals
    assert not product.ask("Who cast the tie-breaking vote that confirmed Betsy DeVos?").abstained

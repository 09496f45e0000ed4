"""The answer confidence's training data: held-out QA questions asked of an index of news and their paragraphs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eval.fit_confidence import article_title, confidence_index, fit_confidence, paragraph_articles, simulate
from eval.reader_data import QARecord
from index.embedding import HashEmbedder
from index.models import Article
from qa.answering import FEATURES
from qa.reader import CONFIDENCE_FILE, Reading

PARAGRAPHS = [
    "The Harbor Bridge was opened by Queen Victoria in 1894. It crosses the river at Marlow.",
    "The Harbor Bridge was painted green in 1920 by the Marlow council. The council paid 400 pounds.",
    "Traffic on the Harbor Bridge was limited to buses in 1990. Cars use the ferry since then.",
    "The Marlow ferry carries 300 cars a day. It was bought from a Dutch yard.",
]
NEWS = [Article("n1", "Bridge closed", "A bridge in Ohio was closed on Monday after a crack was found."),
        Article("n2", "Harbor strike", "Dock workers at the harbor went on strike over pay."),
        Article("n3", "Exports rise", "China's exports rose 7.9 percent in January, customs data showed.")]


def record(qid: str, question: str, paragraph: int, answer: str | None) -> QARecord:
    context = PARAGRAPHS[paragraph]
    return QARecord(qid, "squad1.1", question, context, ((answer, context.index(answer)),) if answer else ())


PAINTED = record("squad1.1-train-Harbor_Bridge-p1-q0", "When was the Harbor Bridge painted green?", 1, "1920")
KNOWN = [record(f"squad1.1-train-Harbor_Bridge-p{i}-q9", "Q?", i, None) for i in range(len(PARAGRAPHS))]


class FirstWordReader:
    """Marks the first word of every passage, with a middling answerability: the features, not the reader, matter."""

    def __init__(self) -> None:
        self.read: list[tuple[str, str]] = []

    def read_pairs(self, questions: list[str], passages: list[str],
                   breaks: Sequence[Sequence[int]] | None = None) -> list[Reading]:
        self.read.extend(zip(questions, passages))
        return [Reading(0, p.index(" "), 0.5, 0.3, 0.1, 1.0) for p in passages]


def test_a_paragraph_joins_its_neighbours_in_one_article_of_its_title() -> None:
    assert article_title(PAINTED) == "Harbor_Bridge" and article_title(record("5725b", "Q?", 0, None)) is None
    articles, owner = paragraph_articles([PAINTED], KNOWN)
    article, = articles
    assert article.title == "Harbor Bridge" and owner[PAINTED.qid] == article.doc_id
    assert article.text == "\n\n".join(PARAGRAPHS)  # two neighbours on each side of paragraph 1 (0 has one)
    untitled = record("5725b", "When was the bridge painted?", 1, "1920")
    articles, owner = paragraph_articles([untitled], KNOWN)
    assert [a.text for a in articles] == [PARAGRAPHS[1]] and owner["5725b"] == articles[0].doc_id


def test_questions_are_asked_of_the_index_and_once_more_without_their_own_paragraph(tmp_path: Path) -> None:
    articles, owner = paragraph_articles([PAINTED], KNOWN)
    index = confidence_index(tmp_path / "fit", HashEmbedder(dim=32), articles, NEWS, max_tokens=20, show_progress=False)
    reader = FirstWordReader()
    data = simulate([PAINTED], index, owner, reader, passages=6, not_in_corpus=1.0, show_progress=False)
    assert data.features.shape[1] == len(FEATURES) and data.answerable.tolist() == [True, False]
    first = [p for (_, p), q in zip(reader.read, data.question) if q == 0]
    again = [p for (_, p), q in zip(reader.read, data.question) if q == 1]
    assert any("painted green" in p for p in first)  # retrieval found the answering paragraph
    assert again and not any("painted green" in p or "1920" in p for p in again)  # left out the second time
    assert any("Harbor Bridge" in p for p in again)  # the rest of its article stays: on topic, no answer
    assert np.all(data.labels[data.question == 1] == 0)
    # The first word of "The Harbor Bridge was painted green in 1920" is the span: its sentence holds the answer.
    assert data.labels[data.question == 0].max() == 1.0
    index.close()


def test_the_fit_writes_weights_for_every_feature(tmp_path: Path) -> None:
    records = [PAINTED, record("squad1.1-train-Harbor_Bridge-p3-q0", "How many cars does the Marlow ferry carry?", 3,
                               "300 cars"),
               record("squad1.1-train-Harbor_Bridge-p0-q0", "Who opened the Harbor Bridge?", 0, "Queen Victoria"),
               record("squad1.1-train-Harbor_Bridge-p2-q1", "Who closed the Harbor Bridge to lorries?", 2, None)]
    articles, owner = paragraph_articles(records, KNOWN)
    index = confidence_index(tmp_path / "fit", HashEmbedder(dim=32), articles, NEWS, max_tokens=20, show_progress=False)
    result = fit_confidence(records, index, owner, FirstWordReader(), tmp_path / "out", passages=4, show_progress=False)
    assert result["features"] == list(FEATURES) and len(result["weights"]) == len(FEATURES) + 1
    assert result["unanswerable_questions"] >= 1 and result["answerable_questions"] == 3
    assert (tmp_path / "out" / CONFIDENCE_FILE).is_file()
    index.close()

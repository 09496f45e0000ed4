"""The answer confidence's training data: candidates made from held-out QA questions as the product makes them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eval.fit_confidence import simulate
from eval.reader_data import PassagePool, QARecord
from index.chunking import Chunker
from index.embedding import HashEmbedder
from index.models import Article
from qa.answering import FEATURES
from qa.reader import Reading

ARTICLE = [
    "The Harbor Bridge was opened by Queen Victoria in 1894. It crosses the river at Marlow.",
    "The Harbor Bridge was painted green in 1920 by the Marlow council. The council paid 400 pounds.",
    "Traffic on the Harbor Bridge was limited to buses in 1990. Cars use the ferry since then.",
]
NEWS = [Article("n1", "Bridge closed", "A bridge in Ohio was closed on Monday after a crack was found."),
        Article("n2", "Harbor strike", "Dock workers at the harbor went on strike over pay.")]


class FirstWordReader:
    """Marks the first word of every passage, with a middling answerability: the features, not the reader, matter."""

    def __init__(self) -> None:
        self.read: list[tuple[str, str]] = []

    def read_pairs(self, questions: list[str], passages: list[str],
                   breaks: Sequence[Sequence[int]] | None = None) -> list[Reading]:
        self.read.extend(zip(questions, passages))
        return [Reading(0, p.index(" "), 0.5, 0.3, 0.1, 1.0) for p in passages]


def test_related_contexts_join_the_candidates_and_stand_in_for_a_missing_story() -> None:
    record = QARecord("q", "tiny", "When was the Harbor Bridge painted green?", ARTICLE[1],
                      (("1920", ARTICLE[1].index("1920")),))
    news = PassagePool.of_articles(NEWS, Chunker(100))
    reader = FirstWordReader()
    plain = simulate([record], reader, HashEmbedder(dim=32), news, not_in_corpus=1.0, show_progress=False)
    asked = [p for _, p in reader.read]
    assert ARTICLE[0] not in asked and ARTICLE[2] not in asked  # news alone beside its own paragraph
    reader = FirstWordReader()
    data = simulate([record], reader, HashEmbedder(dim=32), news, not_in_corpus=1.0, show_progress=False,
                    related=PassagePool.of_contexts(ARTICLE, Chunker(100, overlap=1)), related_passages=2)
    assert data.features.shape[1] == len(FEATURES) and len(plain.answerable) == len(data.answerable) == 2
    own_case = [p for q, p in reader.read[: int((data.question == 0).sum())]]
    assert ARTICLE[1] in own_case and ARTICLE[0] in own_case and ARTICLE[2] in own_case
    missing = [p for p, q in zip(reader.read, data.question) if q == 1]
    assert {ARTICLE[0], ARTICLE[2]} <= {p for _, p in missing} and ARTICLE[1] not in {p for _, p in missing}
    assert data.answerable.tolist() == [True, False]  # the repeat without its paragraph has no answer to find
    assert np.all(data.labels[data.question == 1] == 0)

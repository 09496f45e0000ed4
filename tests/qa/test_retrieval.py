"""Hybrid retrieval: dense and BM25 candidates fused; filters restrict both sides; single-side baselines."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.indexer import IndexConfig, NewsIndex
from index.models import Article
from qa.models import Filters
from qa.retrieval import FusionWeights, HybridRetriever, RetrievalConfig, holds, is_question, query_terms, top_rows

# A fake "semantic" embedder: words map to topics, so "weather" is near a storm report without sharing a word
# with it (dense finds it, BM25 cannot), while rare names ("al-Mayadin") mean nothing to it (only BM25 finds them).
TOPICS = {
    "weather": {"weather", "storm", "winds", "wind", "rain", "flooding"},
    "politics": {"vote", "senate", "nominee", "nomination", "election", "order", "policy"},
    "war": {"army", "forces", "troops", "militants", "shelled"},
    "economy": {"exports", "imports", "trade", "economy", "percent"},
    "migration": {"refugee", "refugees", "borders", "asylum", "migrants"},
}


class TopicEmbedder:
    name, dim = "topics-6", 6

    def encode(self, texts: list[str], *, batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for col, vocabulary in enumerate(TOPICS.values()):
                out[row, col] = sum(w in vocabulary for w in words)
            if not out[row].any():
                out[row, -1] = 1.0  # no topic at all: orthogonal to every passage that has one
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture()
def topic_index(tmp_path: Path, tiny_articles: list[Article]) -> NewsIndex:
    embedder = TopicEmbedder()
    config = IndexConfig(model=embedder.name, dim=embedder.dim, max_tokens=40, title_in_index=False)
    index = NewsIndex.open(tmp_path / "ix", embedder, config=config)
    index.add(tiny_articles, show_progress=False)
    return index


def docs(result) -> list[str]:  # noqa: ANN001
    return [h.doc_id for h in result.hits]


def test_query_only_dense_finds_comes_back_from_hybrid(topic_index: NewsIndex) -> None:
    query = "bad weather"
    assert HybridRetriever(topic_index, RetrievalConfig(mode="bm25")).retrieve(query).hits == []
    dense = HybridRetriever(topic_index, RetrievalConfig(mode="dense")).retrieve(query)
    assert docs(dense)[0] == "a3" and dense.hits[0].dense_score > 0.5
    hybrid = HybridRetriever(topic_index).retrieve(query, k=3)
    assert docs(hybrid)[0] == "a3" and hybrid.hits[0].bm25_score == 0


def test_query_only_bm25_finds_comes_back_from_hybrid(topic_index: NewsIndex) -> None:
    query = "al-Mayadin Zawr"
    dense = HybridRetriever(topic_index, RetrievalConfig(mode="dense")).retrieve(query)
    assert all(h.dense_score == pytest.approx(0, abs=1e-6) for h in dense.hits)  # dense has no idea
    bm25 = HybridRetriever(topic_index, RetrievalConfig(mode="bm25")).retrieve(query)
    assert set(docs(bm25)) == {"a2"}
    hybrid = HybridRetriever(topic_index).retrieve(query, k=3)
    assert docs(hybrid)[0] == "a2" and hybrid.hits[0].bm25_score > 0


def test_hybrid_fuses_both_sides_in_one_ranking(topic_index: NewsIndex) -> None:
    query = "weather near al-Mayadin"
    hybrid = HybridRetriever(topic_index).retrieve(query, k=2)
    assert set(docs(hybrid)) == {"a2", "a3"}
    by_doc = {h.doc_id: h for h in hybrid.hits}
    assert by_doc["a3"].dense_score > 0.5 and by_doc["a3"].bm25_score == 0
    assert by_doc["a2"].bm25_score > 0
    bm25 = HybridRetriever(topic_index, RetrievalConfig(mode="bm25")).retrieve(query, k=2)
    assert "a3" not in docs(bm25)  # each side alone misses one of them
    dense = HybridRetriever(topic_index, RetrievalConfig(mode="dense")).retrieve(query, k=20)
    assert docs(dense)[0] == "a3" and all(h.dense_score == pytest.approx(0, abs=1e-6) for h in dense.hits if h.doc_id == "a2")


def test_modes_are_single_side_baselines(tiny_index: NewsIndex) -> None:
    query = "Senate vote to confirm DeVos"
    bm25 = HybridRetriever(tiny_index, RetrievalConfig(mode="bm25")).retrieve(query, k=20)
    assert bm25.hits and all(h.dense_score == 0 and h.bm25_score > 0 for h in bm25.hits)
    assert [h.bm25_score for h in bm25.hits] == sorted((h.bm25_score for h in bm25.hits), reverse=True)
    dense = HybridRetriever(tiny_index, RetrievalConfig(mode="dense")).retrieve(query, k=20)
    assert len(dense.hits) == len(tiny_index.passages)  # every passage has a vector
    assert all(h.bm25_score == 0 for h in dense.hits)
    assert [h.dense_score for h in dense.hits] == sorted((h.dense_score for h in dense.hits), reverse=True)
    hybrid = HybridRetriever(tiny_index).retrieve(query, k=20)
    assert [h.score for h in hybrid.hits] == sorted((h.score for h in hybrid.hits), reverse=True)
    assert bm25.hits[0].doc_id == dense.hits[0].doc_id == hybrid.hits[0].doc_id == "a1"
    assert hybrid.query == query and hybrid.seconds >= 0


def test_k_limits_hits_and_hits_describe_their_passage(tiny_index: NewsIndex) -> None:
    result = HybridRetriever(tiny_index).retrieve("storm Ireland power", k=2)
    assert len(result.hits) == 2
    hit = result.hits[0]
    article = tiny_index.store.article(hit.doc_id)
    assert (hit.doc_id, hit.title, hit.source, hit.date) == ("a3", article.title, "RTÉ", "2017-02-23")
    assert article.text[hit.start : hit.end] == tiny_index.passage(hit.passage_id).text


def test_date_range_filter_restricts_hits(tiny_index: NewsIndex) -> None:
    retriever = HybridRetriever(tiny_index)
    filters = Filters(date_from="2017-02-01", date_to="2017-02-28")
    for mode in ("hybrid", "dense", "bm25"):
        result = HybridRetriever(tiny_index, RetrievalConfig(mode=mode)).retrieve(
            "Syrian army al-Mayadin Senate vote storm", k=20, filters=filters)
        assert result.hits, mode
        assert {h.doc_id for h in result.hits} <= {"a1", "a3", "a4"}, mode
        assert result.filters == filters
    only_from = retriever.retrieve("vote storm army order", k=20, filters=Filters(date_from="2017-03-01"))
    assert {h.doc_id for h in only_from.hits} == {"a2"}
    only_to = retriever.retrieve("vote storm army order", k=20, filters=Filters(date_to="2017-01-31"))
    assert {h.doc_id for h in only_to.hits} <= {"a5", "a6"} and only_to.hits


def test_source_filter_restricts_hits(tiny_index: NewsIndex) -> None:
    retriever = HybridRetriever(tiny_index)
    result = retriever.retrieve("Pence tie-breaking vote DeVos", k=20, filters=Filters(sources=("DW", "CNN")))
    assert result.hits and {h.source for h in result.hits} <= {"DW", "CNN"}
    assert retriever.retrieve("vote", k=20, filters=Filters(sources=())).hits == []
    both = retriever.retrieve("storm", k=20, filters=Filters("2017-02-01", "2017-02-28", ("RTÉ",)))
    assert {h.doc_id for h in both.hits} == {"a3"}


def test_category_filter_restricts_hits_and_survives_reopening(tmp_path: Path, fake_embedder) -> None:  # noqa: ANN001
    articles = [
        Article("s1", "Chelsea sack Mutu", "Chelsea have sacked Adrian Mutu after he failed a drugs test.",
                source="BBC News", metadata={"category": "sport"}),
        Article("b1", "Chelsea stadium deal", "Chelsea signed a stadium naming deal worth 50 million pounds.",
                source="BBC News", metadata={"category": " business "}),
        Article("n1", "Chelsea flower show", "Chelsea hosted the flower show on Tuesday.", source="BBC News",
                metadata={"section": "life", "category": 7}),
    ]
    index = NewsIndex.open(tmp_path / "ix", fake_embedder, config=IndexConfig(model=fake_embedder.name, dim=64))
    index.add(articles, show_progress=False)
    assert {d: a.category for d, a in index.articles.items()} == {"s1": "sport", "b1": "business", "n1": "life"}
    reopened = NewsIndex.open(tmp_path / "ix", fake_embedder, readonly=True)
    assert {d: a.category for d, a in reopened.articles.items()} == {"s1": "sport", "b1": "business", "n1": "life"}
    retriever = HybridRetriever(reopened)
    assert set(docs(retriever.retrieve("Chelsea", k=10))) == {"s1", "b1", "n1"}
    assert set(docs(retriever.retrieve("Chelsea", k=10, filters=Filters(categories=("sport", "life"))))) == {"s1", "n1"}
    assert docs(retriever.retrieve("Chelsea", k=10, filters=Filters(categories=("tech",)))) == []
    assert Filters(categories=("sport",)).merged(Filters(date_from="2017-01-01")).categories == ("sport",)


def test_undated_articles_are_left_out_by_date_filters(tmp_path: Path, fake_embedder) -> None:  # noqa: ANN001
    index = NewsIndex.open(tmp_path / "ix", fake_embedder, config=IndexConfig(model=fake_embedder.name, dim=64))
    index.add([Article("u", "Undated storm", "A storm hit the coast."),
               Article("d", "Dated storm", "A storm hit the hills.", date="2017-02-02")], show_progress=False)
    result = HybridRetriever(index).retrieve("storm", filters=Filters(date_from="2017-01-01"))
    assert [h.doc_id for h in result.hits] == ["d"]
    assert {h.doc_id for h in HybridRetriever(index).retrieve("storm").hits} == {"u", "d"}


def test_empty_index_returns_no_hits(tmp_path: Path, fake_embedder) -> None:  # noqa: ANN001
    index = NewsIndex.open(tmp_path / "ix", fake_embedder)
    assert HybridRetriever(index).retrieve("anything").hits == []


@pytest.mark.parametrize(("query", "asks"), [
    ("How did the storm flood the coast?", True), ("what happened in Geneva", True),
    ("Is this the road to a more stable future?", True), ("Tell me about the Oroville Dam", True),
    ("Storm floods the coast", False), ("Oroville dam evacuation", False), ("Howard Schultz steps down", False),
])
def test_is_question_tells_questions_from_headlines_and_keywords(query: str, asks: bool) -> None:
    assert is_question(query) is asks


def test_a_headline_finds_the_story_and_its_lead_where_a_question_finds_the_fullest_passage(tmp_path: Path) -> None:
    story = ("Storm floods the coast. Officials counted the damage on Monday. The mayor thanked the volunteers "
             "who came. Schools reopened later in the week. The storm flooding of the coast cost millions, the "
             "insurers said.")
    other = "Trade talks resumed in Geneva. Exports fell by four percent. A coast storm delayed one ship carrying imports."
    embedder = TopicEmbedder()
    index = NewsIndex.open(tmp_path / "ix", embedder, config=IndexConfig(
        model=embedder.name, dim=embedder.dim, max_tokens=16, title_in_index=False))
    index.add([Article("story", "", story, "2017-02-01", "X"), Article("other", "", other, "2017-02-02", "Y")],
              show_progress=False)
    retriever = HybridRetriever(index)

    headline = retriever.retrieve("Storm floods the coast", k=10)
    assert (headline.hits[0].doc_id, headline.hits[0].start) == ("story", 0)  # the lead
    assert docs(headline) == ["story"] * 5 + ["other"] * 2  # the story's weaker passages share its best match

    question = retriever.retrieve("How did the storm flood the coast?", k=10)
    assert (question.hits[0].doc_id, question.hits[0].start) == ("story", story.index("The storm flooding"))
    assert docs(question)[2] == "other"  # a passage is judged on its own evidence


def test_a_headline_prefers_the_article_whose_whole_text_tells_its_story(tmp_path: Path) -> None:
    """Whole-article BM25: the headline's words spread over one article's paragraphs outweigh one passage
    of another article that names them all in passing."""
    spread = ("Engineers met early on Monday. The work went on all day long. They inspected the Oroville dam "
              "closely. Oroville had seen rain for weeks, and Oroville residents worried. The spillway cracked under "
              "the water. The spillway was closed, then the spillway wall failed. Evacuation orders went out at dusk. "
              "The evacuation took hours, and a second evacuation followed.")
    passing = ("Officials in the north met on Monday. They spoke of Oroville, a spillway and an evacuation drill. "
               "The meeting ran late into the night. Reporters waited outside the hall. Nobody took questions "
               "afterwards. The officials left by car. Rain fell on the hall all evening. The roads were quiet. "
               "Shops closed early. The night was cold.")
    embedder = TopicEmbedder()  # no topic words: every passage is the same vector, so only lexical evidence differs
    index = NewsIndex.open(tmp_path / "ix", embedder, config=IndexConfig(
        model=embedder.name, dim=embedder.dim, max_tokens=16, title_in_index=False))
    index.add([Article("spread", "", spread, "2017-02-01", "X"), Article("passing", "", passing, "2017-02-02", "Y")],
              show_progress=False)
    config = RetrievalConfig()
    without = replace(config, statement=replace(config.statement, article_bm25=0.0))

    assert config.statement.article_bm25 > 0
    assert docs(HybridRetriever(index, without).retrieve("Oroville spillway evacuation"))[0] == "passing"
    assert docs(HybridRetriever(index, config).retrieve("Oroville spillway evacuation"))[0] == "spread"
    # questions keep to passage evidence: the signal is for headlines and keywords only
    assert config.question.article_bm25 == 0.0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mode": "sparse"}, "mode must be 'hybrid', 'dense' or 'bm25', got 'sparse'"),
    ({"candidates": 0}, "candidates must be >= 1, got 0"),
    ({"period_weight": -1}, "period_weight must be >= 0, got -1"),
])
def test_config_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetrievalConfig(**kwargs)
    with pytest.raises(ValueError, match="lead weight must be >= 0, got -0.5"):
        FusionWeights(lead=-0.5)


def test_filters_validation_and_merging() -> None:
    with pytest.raises(ValueError, match="date_from must be an ISO date YYYY-MM-DD, got '7 Feb'"):
        Filters(date_from="7 Feb")
    with pytest.raises(ValueError, match="date_from 2017-03-01 is after date_to 2017-02-01"):
        Filters("2017-03-01", "2017-02-01")
    assert not Filters().active and Filters(sources=()).active
    merged = Filters("2017-01-01", "2017-03-31", ("CNN",)).merged(Filters("2017-02-01", "2017-02-28"))
    assert merged == Filters("2017-02-01", "2017-02-28", ("CNN",))
    apart = Filters("2017-01-01", "2017-01-31").merged(Filters("2017-03-01", "2017-03-10"))
    assert apart == Filters("2017-03-01", "2017-03-10")  # no overlap: the question's period is used


def test_top_rows_are_the_best_positive_scores_in_order_with_ties_by_row() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, 500).astype(np.float32)  # many ties, many zeros
    for n in (1, 7, 80, 499, 1000):
        expected = sorted(np.flatnonzero(scores > 0), key=lambda row: (-scores[row], row))[:n]
        assert top_rows(scores, n).tolist() == expected
    assert top_rows(np.zeros(5, dtype=np.float32), 3).size == 0


def test_holds_is_membership_in_a_sorted_list() -> None:
    members = np.array([2, 5, 9, 40])
    assert holds(members, np.array([0, 2, 3, 40, 41, 9])).tolist() == [False, True, False, True, False, True]
    assert holds(np.zeros(0, dtype=np.int64), np.array([1, 2])).tolist() == [False, False]


def test_term_coverage_matches_the_posting_lists_after_articles_are_replaced(tmp_path: Path, fake_embedder,  # noqa: ANN001
                                                                            tiny_articles: list[Article]) -> None:
    index = NewsIndex.open(tmp_path / "ix", fake_embedder, config=IndexConfig(model=fake_embedder.name, dim=fake_embedder.dim, max_tokens=20))
    index.add(tiny_articles, show_progress=False)
    first = tiny_articles[0]  # replaced: its passages get new rows at the end, away from the rest
    index.add([replace(first, text=first.text + " Officials said the storm moved north on Tuesday.")],
              show_progress=False)
    retriever = HybridRetriever(index)
    terms = query_terms("What did officials say about the storm and the vote on Tuesday?")
    rows = np.arange(len(index.passages))
    passage_cov, article_cov = retriever._term_coverage(terms, rows)
    bm25, doc_of = index.bm25, np.array([index.passages[row].doc_id for row in rows])
    weights = {t: bm25.idf(t) for t in terms}
    total = sum(weights.values())
    for row in rows:
        in_passage = sum(w for t, w in weights.items() if row in set(bm25.rows_with(t).tolist()))
        in_article = sum(w for t, w in weights.items() if doc_of[row] in set(doc_of[bm25.rows_with(t)]))
        assert passage_cov[row] == pytest.approx(in_passage / total)
        assert article_cov[row] == pytest.approx(in_article / total)
    assert doc_of[-1] == first.doc_id and (article_cov > passage_cov).any() and article_cov.min() < article_cov.max()
    for term in terms:
        posting = bm25.rows_with(term)
        assert (np.diff(posting) > 0).all()  # ascending, as the binary search needs

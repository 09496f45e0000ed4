"""The shipped reader: it loads offline from qa/reader_weights, reads spans, and answers the seed page's questions."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from index.embedding import HashEmbedder, SentenceTransformerEmbedder
from index.indexer import NewsIndex
from index.readers import RecordError, read_path
from qa.pipeline import QAPipeline
from qa.reader import CONFIDENCE_FILE, SHIPPED_READER, Reader, shared_reader
from qa.reader_model import READER_FILE, WEIGHTS_FILE, featurize, token_span

SEED_PAGE = Path(__file__).resolve().parents[1] / "data" / "seed_press_tv_al_mayadin.txt"


@pytest.fixture(scope="session")
def reader() -> Reader:
    return shared_reader()


def test_the_shipped_folder_is_small_and_complete() -> None:
    for name in (WEIGHTS_FILE, READER_FILE, CONFIDENCE_FILE, "config.json", "tokenizer.json", "README.md"):
        assert (SHIPPED_READER / name).is_file(), name
    assert (SHIPPED_READER / WEIGHTS_FILE).stat().st_size <= 50 * 2**20


def test_the_shipped_reader_finds_the_span_and_tells_an_answering_passage_from_one_that_is_not(reader: Reader) -> None:
    question = "How far are Syrian government forces from al-Mayadin?"
    answering = "Damascus forces and their allies are only 10 kilometers away from al-Mayadin, added the report."
    unrelated = "China's exports rose 7.9 percent in January from a year earlier, customs data showed."
    hit, miss = reader.read_pairs([question, question], [answering, unrelated])
    assert "10 kilometers" in answering[hit.start : hit.end]
    assert hit.answerable > 0.5 > miss.answerable
    assert hit.span_logit > miss.span_logit


def test_featurize_marks_the_passage_and_maps_character_spans_to_tokens(reader: Reader) -> None:
    reader.load()
    passage = "Storm Doris brought winds of 150 km/h to Ireland."
    features = featurize(reader._tokenizer, ["How strong were the winds?"], [passage], 64)
    context = features.tensors["context_mask"][0]
    assert context[0] == 1 and context.sum() < features.tensors["attention_mask"][0].sum()  # [CLS] + passage only
    start = passage.index("150")
    first, last = token_span(features.offsets[0], start, start + len("150 km/h"))
    assert passage[features.offsets[0][first][0] : features.offsets[0][last][1]] == "150 km/h"
    assert token_span(features.offsets[0], len(passage) + 5, len(passage) + 9) is None


def test_reading_runs_in_bfloat16_where_the_cpu_has_it_and_agrees_with_float32() -> None:
    question = ["Who is the spokesman for the Russian military?"]
    passage = ["Major General Igor Konashenkov, the spokesman for the Russian military, said the camp is home to "
               "some 60,000 people."]
    fp32 = Reader(precision="float32").read_pairs(question, passage)[0]
    bf16 = Reader(precision="bfloat16").read_pairs(question, passage)[0]
    assert passage[0][fp32.start : fp32.end] == passage[0][bf16.start : bf16.end]
    assert abs(fp32.answerable - bf16.answerable) < 0.1
    assert torch.get_num_threads() >= 1


def test_the_loaded_reader_casts_its_linear_weights_once_and_reads_as_autocast_does() -> None:
    """Loaded for reading, the Linear layers are stored in bfloat16; the readings are those of autocast over the
    float32 weights (as training evaluates its model in memory)."""
    from index.embedding import packaged_model_path
    from qa.reader_model import load_reader

    question = ["How far are Syrian government forces from al-Mayadin?"] * 2
    passages = ["Damascus forces and their allies are only 10 kilometers away from al-Mayadin, added the report.",
                "China's exports rose 7.9 percent in January from a year earlier, customs data showed."]
    loaded = Reader(precision="bfloat16")
    readings = loaded.read_pairs(question, passages)
    assert loaded._autocast and loaded._model.span.weight.dtype == torch.bfloat16
    model, tokenizer, info = load_reader(SHIPPED_READER, packaged_model_path())
    in_memory = Reader(precision="bfloat16")
    in_memory.set_model(model, tokenizer, int(info["max_length"]))
    assert model.span.weight.dtype == torch.float32
    assert in_memory.read_pairs(question, passages) == readings


def test_a_missing_reader_folder_is_named() -> None:
    with pytest.raises(FileNotFoundError, match="nowhere is not a reader folder"):
        Reader(Path("nowhere")).load()


@pytest.mark.slow
@pytest.mark.parametrize(("question", "expected"), [
    ("How close have Syrian government forces come to al-Mayadin?", "10 kilometers"),
    ("Who is the spokesman for the Russian military?", "Igor Konashenkov"),
    ("How many people live in the Rukban camp?", "60,000"),
])
def test_the_seed_page_questions_are_answered_with_the_sentence_that_holds_the_answer(
        tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder,
        question: str, expected: str) -> None:
    """Found by a new user on the page the product was specified from (`newsqa ingest` of that page alone)."""
    folder = tmp_path_factory.getbasetemp() / "seed-index"
    if not folder.exists():
        index = NewsIndex.open(folder, real_embedder)
        index.add(read_path(SEED_PAGE), show_progress=False)
        index.close()
    pipeline = QAPipeline(NewsIndex.open(folder, real_embedder, readonly=True))
    from ui.settings import Settings

    pipeline.answerer.config = Settings().answer_config()  # the product's settings (its min_dense floor)
    answer = pipeline.ask(question)
    assert not answer.abstained, answer.signals
    assert expected in answer.short_answer
    assert expected in answer.citations[0].sentence


def test_fake_embedder_index_answers_with_the_real_reader(tiny_index: NewsIndex, fake_embedder: HashEmbedder) -> None:
    answer = QAPipeline(tiny_index).ask("How much did China's exports rise in January?")
    assert not answer.abstained and "7.9 percent" in answer.short_answer
    assert answer.citations[0].doc_id == "a4"


@pytest.mark.slow
def test_the_oroville_evacuation_short_answer_is_the_number_of_people(
        tmp_path: Path, real_embedder: SentenceTransformerEmbedder, demo_records: list) -> None:
    """The demo chat once marked "about 00" (from "00:30 GMT") as how many people were evacuated."""
    stories = [r for r in demo_records if not isinstance(r, RecordError) and "Oroville" in r.text]
    index = NewsIndex.open(tmp_path / "index", real_embedder)
    index.add(stories, show_progress=False)
    answer = QAPipeline(index).ask("How many people were evacuated near the Oroville Dam?")
    assert not answer.abstained
    assert any(n in answer.short_answer for n in ("200,000", "180,000", "160,000", "200K")), answer.short_answer
    for citation in answer.citations:
        if citation.answer_span:
            article = index.store.article(citation.doc_id)
            marked = article.text[citation.answer_span[0] : citation.answer_span[1]]
            assert "GMT" not in marked and marked.strip() != "00"


def test_a_span_stays_inside_one_sentence_when_the_breaks_are_given(reader: Reader) -> None:
    question = "Which company did Time Warner say it owns 8% of?"
    passage = ("Its profits were buoyed by one-off gains which offset a profit dip at Warner Bros, and less users for "
               "AOL.\n\nTime Warner said on Friday that it now owns 8% of search-engine Google.")
    breaks = [passage.index("Time Warner said")]
    free, bounded = reader.read_pairs([question] * 2, [passage] * 2, [[], breaks])
    assert bounded.start >= breaks[0] or bounded.end <= breaks[0]  # never across the break
    assert "Google" in passage[bounded.start : bounded.end]
    assert free.answerable == bounded.answerable  # the break only narrows the spans searched
    with pytest.raises(ValueError, match="sentence breaks for 2 passages"):
        reader.read_pairs([question] * 2, [passage] * 2, [breaks])

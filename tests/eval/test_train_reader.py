"""The reader's training code, proven on a tiny inline data set: examples, a short run, the folder it writes."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tiny_qa import QA_NEWS as NEWS, write_qa_records as write_records
from eval.reader_data import (Mix, PassagePool, QARecord, ReaderExample, is_held_out, make_examples, read_qa_records,
                              sample_by_type, without_answer)
from eval.reader_step import batches, shared_span_loss, wise_average
from eval.train_reader import TrainConfig, refit_confidence, split_records, train
from index.chunking import Chunker
from index.embedding import HashEmbedder, packaged_model_path
from index.models import Article
from qa.answering import FEATURES
from qa.reader import CONFIDENCE_FILE, Reader
from qa.reader_model import SHARED_EMBEDDINGS, load_reader


def test_records_are_checked_against_their_offsets(tmp_path: Path) -> None:
    records = list(read_qa_records(write_records(tmp_path / "data", copies=1)))
    assert len(records) == 7 and sum(not r.answerable for r in records) == 1
    bad = tmp_path / "bad"
    bad.mkdir()
    with gzip.open(bad / "x.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "1", "question": "q", "context": "abc", "answers": [{"text": "b", "start": 0}]}))
    with pytest.raises(ValueError, match=r"x.jsonl.gz:1: answer 'b' is not at offset 0"):
        list(read_qa_records(bad))


def test_examples_are_product_sized_passages_with_answers_moved_into_them() -> None:
    context = " ".join(f"Sentence number {i} says little about anything at all." for i in range(30))
    context += " The bridge was opened by Queen Victoria in 1894."
    record = QARecord("q", "tiny", "Who opened the bridge?", context, (("Queen Victoria", context.index("Queen")),))
    examples = list(make_examples([record], Mix(same_context=1.0, news=1.0), random.Random(0),
                                  PassagePool.of_articles(NEWS, Chunker(100))))
    kinds = [e.kind for e in examples]
    assert kinds[:2] == ["positive", "same_context"]
    positive = examples[0]
    (start, end), = positive.answers
    assert positive.passage[start:end] == "Queen Victoria"
    assert Chunker(100).count_tokens(positive.passage) <= 100 and len(positive.passage) < len(context)
    assert all(not e.answers and "Queen Victoria" not in e.passage for e in examples[1:])


ARTICLE = [  # three paragraphs of one story: the names recur, each answer is in one paragraph
    "The Harbor Bridge was opened by Queen Victoria in 1894. It crosses the river at Marlow.",
    "The Harbor Bridge was painted green in 1920 by the Marlow council. The council paid 400 pounds.",
    "Traffic on the Harbor Bridge was limited to buses in 1990. Cars use the ferry since then.",
]


def test_the_context_pool_ranks_the_rest_of_the_article_first() -> None:
    pool = PassagePool.of_contexts([*ARTICLE, ARTICLE[0]], Chunker(100, overlap=1))
    assert len(pool.texts) == 3 and pool.texts == ARTICLE  # a context repeated on its questions is pooled once
    top = pool.top("Who opened the Harbor Bridge in Marlow?", 3)
    assert top[0] == ARTICLE[0] and set(top) == set(ARTICLE)
    assert pool.top("Which volcano erupted?") == []  # nothing shares a term: no negative, rather than a random one
    with pytest.raises(ValueError, match="no passages"):
        PassagePool([])


def test_related_negatives_are_other_contexts_without_the_answer() -> None:
    pool = PassagePool.of_contexts(ARTICLE, Chunker(100, overlap=1))
    record = QARecord("q", "tiny", "When was the Harbor Bridge painted green?", ARTICLE[1],
                      (("1920", ARTICLE[1].index("1920")),))
    examples = list(make_examples([record], Mix(same_context=0.0, news=0.0, related=1.0), random.Random(0),
                                  related=pool))
    assert [e.kind for e in examples] == ["positive", "related"]
    negative = examples[1]
    assert negative.passage in (ARTICLE[0], ARTICLE[2]) and not negative.answers
    context = "Queen Victoria opened the Harbor Bridge with a silver key."
    holder = QARecord("h", "tiny", "Who opened the Harbor Bridge?", context, (("Queen Victoria", 0),))
    for seed in range(8):
        kinds = {e.kind: e for e in make_examples([holder], Mix(same_context=0.0, news=0.0, related=1.0),
                                                  random.Random(seed), related=pool)}
        assert kinds["related"].passage in (ARTICLE[1], ARTICLE[2])  # ARTICLE[0] names the answer: never a negative


def test_a_deleted_negative_is_the_positive_passage_without_the_answers_sentence() -> None:
    context = ("The Harbor Bridge in Marlow was painted green. The council of Marlow chose the colour. "
               "The work was done in 1920. It cost 400 pounds.")
    record = QARecord("q", "tiny", "When was the Harbor Bridge in Marlow painted green?", context,
                      (("1920", context.index("1920")),))
    examples = list(make_examples([record], Mix(same_context=0.0, news=0.0, deleted=1.0), random.Random(0)))
    assert [e.kind for e in examples] == ["positive", "deleted"]
    negative = examples[1]
    assert negative.passage == ("The Harbor Bridge in Marlow was painted green. The council of Marlow chose the "
                                "colour. It cost 400 pounds.") and not negative.answers
    # The answer's sentence holds question terms the rest lacks: the pair would teach "few of the question's words,
    # no answer" (a passage that paraphrases the question would be rejected), so it gives no negative.
    telling = ("The bridge was opened by the queen. Painting began later. The Harbor Bridge in Marlow was painted green "
               "in 1920. It cost 400 pounds.")
    told = QARecord("t", "tiny", record.question, telling, (("1920", telling.index("1920")),))
    assert [e.kind for e in make_examples([told], Mix(same_context=0.0, news=0.0, deleted=1.0), random.Random(0))] \
        == ["positive"]
    assert without_answer("The bridge opened in 1894. It is green.", ((22, 26),)) is None  # one sentence left: none
    named_twice = "The bridge opened in 1894. In 1894 it was new. It is green. It is long."
    twice = QARecord("w", "tiny", "When did the bridge open?", named_twice, (("1894", named_twice.index("1894")),))
    assert [e.kind for e in make_examples([twice], Mix(same_context=0.0, news=0.0, deleted=1.0), random.Random(0))] \
        == ["positive"]  # the answer is still in the rest: not a negative
    with pytest.raises(ValueError, match="deleted must be a probability in \\[0, 1\\], got 2"):
        Mix(deleted=2)


def test_the_held_out_split_is_by_context() -> None:
    assert is_held_out("same text", 0.5) == is_held_out("same text", 0.5)
    shares = sum(is_held_out(f"context {i}", 0.2) for i in range(2000)) / 2000
    assert 0.15 < shares < 0.25


def _typed_records(whats: int, whys: int) -> list[QARecord]:
    return ([QARecord(f"w{i}", "t", f"What is thing {i}?", f"Context {i}.", (("x", 0),)) for i in range(whats)]
            + [QARecord(f"y{i}", "t", f"Why did thing {i} fall?", f"Cause {i}.", (("x", 0),)) for i in range(whys)])


def test_type_temperature_evens_out_the_question_types() -> None:
    records = _typed_records(9000, 1000)
    shares = []
    for temperature in (1.0, 2.0, 50.0):
        drawn = sample_by_type(records, 1000, temperature, random.Random(3))
        assert len(drawn) == len({r.qid for r in drawn}) == 1000  # without replacement
        shares.append(sum(r.qid.startswith("y") for r in drawn) / 1000)
    # The data's own mix (10% why); its square root (sqrt 1000 / (sqrt 9000 + sqrt 1000) = 25% at first, less as the
    # "why" questions are used up); nearly even (50% at first).
    assert 0.07 < shares[0] < 0.13
    assert 0.20 < shares[1] < 0.27
    assert 0.38 < shares[2] < 0.50
    # A type that runs out leaves its share to the others.
    assert len(sample_by_type(_typed_records(50, 5), 40, 50.0, random.Random(3))) == 40
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        sample_by_type(records, 10, 0, random.Random(3))


def test_the_training_sample_keeps_the_unanswerable_and_tempers_the_answerable(tmp_path: Path) -> None:
    folder = write_records(tmp_path / "qa", copies=60)
    plain, _ = split_records(TrainConfig(data=folder, out=tmp_path, questions=200, held_out_fraction=0.01))
    tempered, _ = split_records(TrainConfig(data=folder, out=tmp_path, questions=200, held_out_fraction=0.01,
                                            type_temperature=4.0))
    for sample in (plain, tempered):
        assert len(sample) == 200
        assert sum(not r.answerable for r in sample) == sum(not r.answerable
                                                            for r in read_qa_records(folder)
                                                            if not is_held_out(r.context, 0.01))
    # FACTS asks two "where" questions and one of each other type: tempering draws fewer "where", more of the rest.
    rare = ("When", "How tall", "Who discovered")
    assert (sum(r.question.startswith(rare) for r in tempered if r.answerable)
            > sum(r.question.startswith(rare) for r in plain if r.answerable))


@pytest.mark.slow
def test_a_tiny_training_run_learns_and_writes_a_loadable_reader(tmp_path: Path) -> None:
    data = write_records(tmp_path / "data", copies=6)
    config = TrainConfig(data=data, out=tmp_path / "reader", questions=40, held_out_fraction=0.25, held_out_questions=6,
                         confidence_questions=6, epochs=6, batch_size=8, learning_rate=3e-4, checkpoint_every=5,
                         eval_every=5, log_every=5, mix=Mix(related=0.5), shared_norm=0.5,
                         show_progress=False)
    result = train(config, NEWS, HashEmbedder(dim=32), log=lambda _: None)
    assert result["train_examples"]["related"] > 0  # other contexts' passages without the answer, as negatives
    curve = json.loads((config.out / "training.json").read_text())["curve"]
    assert curve[-1]["loss"] < curve[0]["loss"]  # it learns
    assert 0.0 <= result["held_out"]["f1"] <= 1.0 and result["steps"] == result["planned_steps"]
    weights = json.loads((config.out / CONFIDENCE_FILE).read_text())["weights"]
    assert len(weights) == len(FEATURES) + 1
    reader = Reader(config.out)
    assert reader.confidence_weights() == tuple(weights)
    passage = "Penicillin was discovered by Alexander Fleming in London."
    reading, = reader.read_pairs(["Who discovered penicillin?"], [passage])
    assert 0 <= reading.start <= reading.end <= len(passage) and 0.0 <= reading.answerable <= 1.0
    assert (config.out / "checkpoint" / "model.safetensors").is_file()
    # The confidence alone, fitted again for the same reader on the same held-out questions: the same weights.
    refit = replace(config, init=config.out, out=tmp_path / "refit")
    refitted = refit_confidence(refit, NEWS, HashEmbedder(dim=32), log=lambda _: None)["weights"]
    assert refitted == pytest.approx(weights, abs=0.01)  # the saved reader is float16: readings move a little
    assert not (tmp_path / "refit" / "model.safetensors").exists()
    # Continued from it with --wise 0.5: the weights written lie halfway between the start and the fine-tuned ones.
    wise = replace(config, init=config.out, out=tmp_path / "wise", epochs=2, wise=0.5)
    continued = train(wise, log=lambda _: None)
    assert continued["wise"] == 0.5 and set(continued["fine_tuned_held_out"]) == set(continued["held_out"])
    start, _, _ = load_reader(config.out, packaged_model_path())
    tuned, _, _ = load_reader(wise.out, packaged_model_path())
    moved = [name for name, w in tuned.state_dict().items() if not torch.equal(w, start.state_dict()[name])]
    assert moved and SHARED_EMBEDDINGS not in moved  # trained weights moved; the frozen embeddings did not
    stale = json.loads((config.out / CONFIDENCE_FILE).read_text())
    (config.out / CONFIDENCE_FILE).write_text(json.dumps({**stale, "features": stale["features"][:-1]}))
    with pytest.raises(ValueError, match="--confidence-only"):
        Reader(config.out).confidence_weights()  # weights of other features are refused, not misapplied


def test_wise_average_lies_between_the_readers_and_keeps_the_frozen_embeddings() -> None:
    start = {"w": torch.tensor([0.0, 1.0]), SHARED_EMBEDDINGS: torch.tensor([0.1234567])}
    tuned = {"w": torch.tensor([1.0, 3.0]), SHARED_EMBEDDINGS: torch.tensor([9.0])}
    averaged = wise_average(start, tuned, 0.25)
    assert averaged["w"].tolist() == [0.25, 1.5]
    assert averaged[SHARED_EMBEDDINGS].tolist() == start[SHARED_EMBEDDINGS].tolist()
    with pytest.raises(ValueError, match="differ in their weights"):
        wise_average(start, {"w": tuned["w"]}, 0.5)


def test_shared_normalisation_weighs_the_answer_against_the_other_passages_of_its_question() -> None:
    # Rows 0-1 are one question (row 0 answers at tokens 3-4), row 2 another question's lone passage.
    labels = {"start": torch.tensor([3, 0, 0]), "end": torch.tensor([4, 0, 0]),
              "answerable": torch.tensor([1.0, 0.0, 0.0]), "group": torch.tensor([0, 0, 1])}
    flat = torch.zeros(3, 6)
    assert float(shared_span_loss(flat, flat, labels)) == pytest.approx(torch.log(torch.tensor(10.0)).item())  # 2 x 5
    start, end = flat.clone(), flat.clone()
    start[0, 3] = end[0, 4] = 12.0
    assert float(shared_span_loss(start, end, labels)) < 1e-3  # the answer stands out across both passages
    start[1, 2] = end[1, 2] = 14.0  # the other passage's span scores higher than the answer: a loss again
    assert float(shared_span_loss(start, end, labels)) > 1.0
    start[0, 0] = end[0, 0] = 50.0  # [CLS] ("no answer here") is no part of it
    assert float(shared_span_loss(start, end, labels)) > 1.0
    lone = {**labels, "group": torch.tensor([0, 1, 2])}
    assert float(shared_span_loss(start, end, lone)) == 0.0  # no question has two passages


def test_batches_can_keep_each_questions_passages_together() -> None:
    examples = [ReaderExample(f"q{i // 3}", "p" * (i % 5 + 1), (), "positive", f"id{i // 3}") for i in range(60)]
    random.Random(3).shuffle(examples)
    kept = batches(examples, 8, random.Random(4), keep_questions=True)
    assert sorted(e.qid for b in kept for e in b) == sorted(e.qid for e in examples)  # every example, once
    for batch in kept:
        assert all(sum(e.qid == qid for e in batch) == 3 for qid in {e.qid for e in batch})
    assert sum(len(b) < 8 for b in kept) <= 1  # whole questions fill each batch; one pool leaves one remainder
    loose = batches(examples, 8, random.Random(4))
    assert all(len(b) <= 8 for b in loose)


def test_config_refuses_bad_values(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        TrainConfig(data=tmp_path / "nowhere", out=tmp_path)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        TrainConfig(data=tmp_path, out=tmp_path, batch_size=0)
    with pytest.raises(ValueError, match="held_out_fraction must be in"):
        TrainConfig(data=tmp_path, out=tmp_path, held_out_fraction=1.0)
    with pytest.raises(ValueError, match="news_questions_per_article must be >= 0, got -1"):
        TrainConfig(data=tmp_path, out=tmp_path, news_questions_per_article=-1)
    with pytest.raises(ValueError, match="news_held_out_fraction must be in"):
        TrainConfig(data=tmp_path, out=tmp_path, news_held_out_fraction=0.0)
    with pytest.raises(ValueError, match=r"wise must be in \[0, 1\), got 1.0"):
        TrainConfig(data=tmp_path, out=tmp_path, wise=1.0)
    with pytest.raises(ValueError, match="it needs init"):
        TrainConfig(data=tmp_path, out=tmp_path, wise=0.5)
    with pytest.raises(ValueError, match="type_temperature must be > 0, got -1"):
        TrainConfig(data=tmp_path, out=tmp_path, type_temperature=-1)


def test_news_questions_need_the_articles_to_write_them_from(tmp_path: Path) -> None:
    config = TrainConfig(data=tmp_path, out=tmp_path / "out", news_questions_per_article=2, show_progress=False)
    with pytest.raises(ValueError, match="needs the articles to write them from"):
        train(config)

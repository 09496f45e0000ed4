"""The soup of readers: the uniform average of their weights, scored and given a confidence like a trained reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from tiny_qa import QA_NEWS as NEWS, write_qa_records as write_records
from eval.reader_soup import average_weights, make_soup
from eval.train_reader import TrainConfig
from index.embedding import HashEmbedder, packaged_model_path
from qa.reader import CONFIDENCE_FILE, Reader
from qa.reader_model import READER_FILE, SHARED_EMBEDDINGS, from_encoder, load_reader, save_reader


def test_average_weights_is_the_mean_and_refuses_readers_that_differ() -> None:
    one = {"w": torch.tensor([0.0, 1.0]), "b": torch.tensor([2.0])}
    two = {"w": torch.tensor([1.0, 3.0]), "b": torch.tensor([4.0])}
    three = {"w": torch.tensor([2.0, 5.0]), "b": torch.tensor([0.0])}
    averaged = average_weights([one, two, three])
    assert averaged["w"].tolist() == [1.0, 3.0] and averaged["b"].tolist() == [2.0]
    with pytest.raises(ValueError, match="at least two readers, got 1"):
        average_weights([one])
    with pytest.raises(ValueError, match=r"reader 2 differs from reader 1 in its weights: \['b'\]"):
        average_weights([one, {"w": two["w"]}])
    with pytest.raises(ValueError, match=r"reader 2 differs from reader 1 in the shape of \['w'\]"):
        average_weights([one, {**two, "w": torch.zeros(3)}])


@pytest.mark.slow
def test_a_soup_of_two_readers_is_their_average_scored_and_given_a_confidence(tmp_path: Path) -> None:
    base = packaged_model_path()
    folders = []
    for seed in (1, 2):  # two readers from the same encoder whose heads (and so weights) differ
        torch.manual_seed(seed)
        model = from_encoder(base)
        with torch.no_grad():
            model.encoder.encoder.layer[0].output.dense.bias.add_(0.01 * seed)
        folder = tmp_path / f"reader-{seed}"
        save_reader(model, AutoTokenizer.from_pretrained(base, local_files_only=True), folder,
                    {"max_length": 192, "base_model": "test", "train_config": {"seed": seed}, "step": 1}, base)
        folders.append(folder)
    config = TrainConfig(data=write_records(tmp_path / "data", copies=6), out=tmp_path / "soup", questions=40,
                         held_out_fraction=0.25, held_out_questions=6, confidence_questions=6, show_progress=False)
    result = make_soup(config, folders, NEWS, HashEmbedder(dim=32), log=lambda _: None)
    states = [load_reader(f, base)[0].state_dict() for f in folders]
    soup = load_reader(config.out, base)[0].state_dict()
    bias = "encoder.encoder.layer.0.output.dense.bias"
    expected = ((states[0][bias] + states[1][bias]) / 2).half().float()
    assert torch.equal(soup[bias], expected) and not torch.equal(soup[bias], states[0][bias])
    assert torch.equal(soup[SHARED_EMBEDDINGS], states[0][SHARED_EMBEDDINGS])  # the frozen embeddings stay the base's
    info = json.loads((config.out / READER_FILE).read_text())
    assert [i["seed"] for i in info["soup_of"]] == [1, 2] and info["held_out"] == result["held_out"]
    assert 0.0 <= result["held_out"]["f1"] <= 1.0 and result["held_out"]["answerable_passages"] > 0
    training = json.loads((config.out / "training.json").read_text())
    assert training["held_out"] == result["held_out"] and "confidence" in training
    assert len(Reader(config.out).confidence_weights() or ()) == len(result["confidence"]["weights"])
    assert (config.out / CONFIDENCE_FILE).is_file()


def test_a_soup_refuses_a_folder_that_is_no_reader(tmp_path: Path) -> None:
    config = TrainConfig(data=write_records(tmp_path / "data", copies=1), out=tmp_path / "soup", show_progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"--soup .*empty is not a reader folder \(no reader.json\)"):
        make_soup(config, [tmp_path / "empty", tmp_path / "empty"], log=lambda _: None)

"""A soup of readers (`newsqa train-reader --soup DIR DIR ...`): the uniform average of their weights.

Readers fine-tuned from the same encoder, with other seeds or samples of the training data, end close
enough in weight space that their average is itself a reader, and often a better one than each
(Wortsman et al. 2022, "Model soups"): it reads like an ensemble of them at the cost of one. The soup is
scored on the held-out split and its answer confidence fitted as a training run with the same settings
would do (`eval.train_reader`), so its figures sit beside those of the readers it was made of.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from eval.reader_data import PassagePool
from eval.train_reader import (TrainConfig, evaluate_reader, fit_reader_confidence, held_out_examples, split_records,
                               write_json)
from index.chunking import Chunker
from index.embedding import Embedder, packaged_model_path
from index.models import Article
from qa.reader import Reader
from qa.reader_model import READER_FILE, load_reader, save_reader


def average_weights(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The uniform average of readers' weights, in float32."""
    if len(states) < 2:
        raise ValueError(f"a soup needs at least two readers, got {len(states)}")
    for i, state in enumerate(states[1:], start=2):
        if state.keys() != states[0].keys():
            raise ValueError(f"reader {i} differs from reader 1 in its weights: "
                             f"{sorted(state.keys() ^ states[0].keys())[:5]}")
        shapes = [k for k in state if state[k].shape != states[0][k].shape]
        if shapes:
            raise ValueError(f"reader {i} differs from reader 1 in the shape of {shapes[:5]}")
    return {k: sum(s[k].float() for s in states) / len(states) for k in states[0]}


def make_soup(config: TrainConfig, folders: Sequence[Path], news_articles: list[Article] | None = None,
              embedder: Embedder | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Average the readers in `folders` into `config.out`, score the soup on the held-out split and (with news articles
    and an embedder) fit its answer confidence; returns the figures written to `config.out/training.json`."""
    base = config.base_model or packaged_model_path()
    ingredients = []
    for folder in folders:
        if not (folder / READER_FILE).is_file():
            raise FileNotFoundError(f"--soup {folder} is not a reader folder (no {READER_FILE})")
        ingredients.append(load_reader(folder, base))
    configs = [model.config.to_dict() for model, _, _ in ingredients]
    for folder, other in zip(folders[1:], configs[1:]):
        if other != configs[0]:
            changed = sorted(k for k in other.keys() | configs[0].keys() if other.get(k) != configs[0].get(k))
            raise ValueError(f"--soup {folder} has another network than {folders[0]}: {changed[:5]}")
    model, tokenizer, first = ingredients[0]
    model.load_state_dict(average_weights([m.state_dict() for m, _, _ in ingredients]))
    model.eval()
    made_of = [{"folder": str(folder), "seed": info.get("train_config", {}).get("seed"), "step": info.get("step"),
                "held_out": info.get("held_out")} for folder, (_, _, info) in zip(folders, ingredients)]
    settings = {"max_length": first.get("max_length", config.max_length), "base_model": first.get("base_model"),
                "soup_of": made_of}
    save_reader(model, tokenizer, config.out, settings, base)
    reader = Reader(config.out, base_model_dir=base)  # the soup as saved (float16), as the product will read it
    _, held_records = split_records(config)
    news = PassagePool.of_articles(news_articles, Chunker(config.mix.max_tokens)) if news_articles else None
    figures = evaluate_reader(reader, held_out_examples(config, held_records, news))
    info_path = config.out / READER_FILE
    info_path.write_text(json.dumps({**json.loads(info_path.read_text(encoding="utf-8")), "held_out": figures},
                                    indent=2) + "\n", encoding="utf-8")
    result: dict[str, Any] = {"soup_of": made_of, "held_out": figures}
    log(f"soup of {len(folders)} readers, held-out: {json.dumps(figures)}")
    if news_articles and embedder is not None:
        result["confidence"] = fit_reader_confidence(config, reader, held_records, news_articles, embedder)
        log(f"confidence: {json.dumps(result['confidence'])}")
    write_json(config.out / "training.json", result)
    return result

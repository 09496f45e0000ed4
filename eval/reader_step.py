"""One step of the reader's training (eval.train_reader): batches, their targets, the loss, the schedule.

- `batches`: examples of similar length together (less padding), a question's passages kept side by side for
  shared normalisation;
- `targets`: the tokenised batch and its labels (the answer's start and end token, or [CLS] for no answer);
- `loss_of`: span cross-entropy + answerability binary cross-entropy (+ the shared-normalisation term);
- `Schedule`: linear warm-up and decay, whose end a time budget may move;
- `wise_average`: the weight-space average of two readers (WiSE-FT).
"""

from __future__ import annotations

import math
import random
from typing import Any

import torch

from eval.reader_data import ReaderExample
from qa.reader_model import SHARED_EMBEDDINGS, ReaderModel, featurize, token_span


def batches(examples: list[ReaderExample], batch_size: int, rng: random.Random,
            keep_questions: bool = False) -> list[list[ReaderExample]]:
    """Batches of similar length (less padding), in random order: pools of 50 batches sorted by length.

    `keep_questions`: the passages of one question (the examples of one `qid`) stay in one batch, which then holds
    at least `batch_size` examples (shared normalisation needs them side by side)."""
    groups: list[list[ReaderExample]] = []
    where: dict[str, int] = {}
    for example in examples:
        if keep_questions and example.qid:
            if example.qid in where:
                groups[where[example.qid]].append(example)
                continue
            where[example.qid] = len(groups)
        groups.append([example])
    pool = 50 * batch_size
    out: list[list[ReaderExample]] = []
    i = 0
    while i < len(groups):
        chunk, size = [], 0
        while i < len(groups) and size < pool:
            chunk.append(groups[i])
            size += len(groups[i])
            i += 1
        chunk.sort(key=lambda g: max(len(e.question) + len(e.passage) for e in g))
        batch: list[ReaderExample] = []
        for group in chunk:
            batch.extend(group)
            if len(batch) >= batch_size:
                out.append(batch)
                batch = []
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def targets(tokenizer: Any, batch: list[ReaderExample], max_length: int) -> tuple[dict[str, torch.Tensor], ...]:
    """Features and labels: start/end token of the first answer that survives truncation, else [CLS] (0)."""
    features = featurize(tokenizer, [e.question for e in batch], [e.passage for e in batch], max_length)
    starts, ends, answerable = [], [], []
    for example, offsets in zip(batch, features.offsets):
        span = next((s for a, b in example.answers if (s := token_span(offsets, a, b)) is not None), None)
        starts.append(span[0] if span else 0)
        ends.append(span[1] if span else 0)
        answerable.append(1.0 if span else 0.0)
    group_of: dict[str, int] = {}
    groups = [group_of.setdefault(e.qid, len(group_of)) if e.qid else -1 - i for i, e in enumerate(batch)]
    labels = {"start": torch.tensor(starts), "end": torch.tensor(ends), "answerable": torch.tensor(answerable),
              "group": torch.tensor(groups)}
    return features.tensors, labels


def loss_of(model: ReaderModel, tensors: dict[str, torch.Tensor], labels: dict[str, torch.Tensor],
            autocast: bool, shared_norm: float = 0.0) -> torch.Tensor:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        out = model(**tensors)
    span = (torch.nn.functional.cross_entropy(out.start_logits, labels["start"])
            + torch.nn.functional.cross_entropy(out.end_logits, labels["end"])) / 2
    answerable = torch.nn.functional.binary_cross_entropy_with_logits(out.answerable_logits, labels["answerable"])
    if shared_norm > 0:
        span = span + shared_norm * shared_span_loss(out.start_logits, out.end_logits, labels)
    return span + answerable


def shared_span_loss(start_logits: torch.Tensor, end_logits: torch.Tensor,
                     labels: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of the answer's start and end over the passage tokens of all passages of its question.

    Only questions with one answering passage and at least one other passage in the batch count; the [CLS]
    positions ("no answer here") are left out, so this compares spans across passages and nothing else.
    """
    start, end = start_logits.float().clone(), end_logits.float().clone()
    start[:, 0] = end[:, 0] = -1e4
    width = start.shape[1]
    answering = labels["answerable"] > 0
    terms = []
    for group in labels["group"].unique():
        rows = (labels["group"] == group).nonzero().flatten()
        positives = rows[answering[rows]]
        if len(rows) < 2 or len(positives) != 1:
            continue
        at = int((rows == positives[0]).nonzero()[0, 0]) * width
        target_start = torch.tensor([at + int(labels["start"][positives[0]])])
        target_end = torch.tensor([at + int(labels["end"][positives[0]])])
        terms.append((torch.nn.functional.cross_entropy(start[rows].reshape(1, -1), target_start)
                      + torch.nn.functional.cross_entropy(end[rows].reshape(1, -1), target_end)) / 2)
    return torch.stack(terms).mean() if terms else start.new_zeros(())


class Schedule:
    """Linear warm-up then linear decay to 0 at `total` (which a time budget may shorten once)."""

    def __init__(self, total: int, warmup: float) -> None:
        self.total = total
        self.warmup_steps = max(1, math.ceil(total * warmup))

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        return max(0.0, (self.total - step) / max(1, self.total - self.warmup_steps))


def wise_average(start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor],
                 alpha: float) -> dict[str, torch.Tensor]:
    """(1 - alpha) x `start` + alpha x `tuned`, in float32, each tuned weight first rounded to float16 as the reader
    folder stores it (so averaging two saved folders gives the same bits as averaging at the end of a run)."""
    if start.keys() != tuned.keys():
        raise ValueError(f"the readers differ in their weights: {sorted(start.keys() ^ tuned.keys())[:5]}")
    return {k: start[k].float() if k == SHARED_EMBEDDINGS  # frozen, and read from the base model, not stored
            else (1 - alpha) * start[k].float() + alpha * tuned[k].detach().to(torch.float16).float() for k in start}

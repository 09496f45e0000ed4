"""The reader: finds the answer span in each passage, and how likely the passage answers at all.

`Reader` loads a reader folder (the shipped one by default, `qa/reader_weights/`) on first use, on the
CPU, offline, and runs it under bfloat16 autocast where the CPU has native bfloat16 (as the encoder
does). `read_pairs` returns, per (question, passage) pair, the best span in the passage's characters
and the scores that rank and gate it. Given where the passage's sentences start, a span never runs from
one sentence into the next: a short answer is a phrase of one sentence, and the citation is that sentence.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Protocol

SHIPPED_READER = Path(__file__).resolve().parent / "reader_weights"
CONFIDENCE_FILE = "confidence.json"  # the answer confidence's weights, fitted on held-out training data


class Reading(NamedTuple):
    """What the reader makes of one passage. Offsets are into the passage text; start == end when it found none."""

    start: int
    end: int
    answerable: float  # probability from the answerability head that the passage answers the question
    span_prob: float  # start prob x end prob of the best span (the [CLS] pair excluded)
    null_prob: float  # start prob x end prob of the [CLS] pair: "no answer here"
    span_logit: float  # start logit + end logit of the best span, minus those of [CLS]


class PassageReader(Protocol):
    """Anything that reads (question, passage) pairs: the trained reader, or a fake in tests."""

    def read_pairs(self, questions: list[str], passages: list[str],
                   breaks: Sequence[Sequence[int]] | None = None) -> list[Reading]: ...


class Reader:
    """The trained extractive reader, loaded lazily from `folder` (thread-safe)."""

    def __init__(self, folder: Path | str = SHIPPED_READER, base_model_dir: str | None = None,
                 precision: str = "auto", max_answer_tokens: int = 30, batch_size: int = 16) -> None:
        from index.embedding import resolve_precision

        self.folder = Path(folder)
        resolve_precision(precision, "cpu", False)  # validate now, resolve when the model loads
        if max_answer_tokens < 1 or batch_size < 1:
            raise ValueError(f"max_answer_tokens and batch_size must be >= 1, got {max_answer_tokens}, {batch_size}")
        self.requested_precision = precision
        self.base_model_dir = base_model_dir
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size
        self._model: Any = None
        self._tokenizer: Any = None
        self._max_length = 192
        self._autocast = False
        self._lock = threading.Lock()
        self._confidence: tuple[float, ...] | None = None
        self._tokenizer_lock = threading.Lock()  # a fast tokenizer's padding state is not safe across threads

    def confidence_weights(self) -> tuple[float, ...] | None:
        """Bias and weights of the answer confidence shipped with this reader (None when it has none)."""
        if self._confidence is None:  # read once: this is asked on every question
            path = self.folder / CONFIDENCE_FILE
            self._confidence = ()
            if path.is_file():
                from qa.answering import FEATURES

                fitted = json.loads(path.read_text(encoding="utf-8"))
                if tuple(fitted.get("features", ())) != FEATURES:
                    raise ValueError(f"{path} weighs the features {fitted.get('features')}, the answerer computes "
                                     f"{list(FEATURES)}: refit it with `newsqa train-reader --confidence-only "
                                     f"--init {self.folder} --out {self.folder} --data DIR`")
                self._confidence = tuple(float(w) for w in fitted["weights"])
        return self._confidence or None

    def set_model(self, model: Any, tokenizer: Any, max_length: int) -> None:
        """Read with a model in memory (training evaluates the model it is training this way)."""
        from index.embedding import cpu_has_native_bf16, resolve_precision

        self._model, self._tokenizer, self._max_length = model, tokenizer, max_length
        self._autocast = resolve_precision(self.requested_precision, "cpu", cpu_has_native_bf16()) == "bfloat16"

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from index.embedding import linear_weights_to_bfloat16, packaged_model_path
            from qa.reader_model import load_reader

            model, tokenizer, info = load_reader(self.folder, self.base_model_dir or packaged_model_path())
            self.set_model(model, tokenizer, int(info.get("max_length", 192)))
            if self._autocast:  # a model of its own, for reading only: cast its Linear weights once
                linear_weights_to_bfloat16(model)

    def read_pairs(self, questions: list[str], passages: list[str],
                   breaks: Sequence[Sequence[int]] | None = None) -> list[Reading]:
        """The best span of each pair; `breaks[i]`, when given, are the character offsets in `passages[i]` where a
        sentence starts (sorted), and no span crosses one."""
        if len(questions) != len(passages) or (breaks is not None and len(breaks) != len(passages)):
            raise ValueError(f"{len(questions)} questions and {len(breaks) if breaks is not None else 'no'} sentence "
                             f"breaks for {len(passages)} passages")
        if self._model is None:
            self.load()
        readings: list[Reading] = []
        for i in range(0, len(passages), self.batch_size):
            chunk = slice(i, i + self.batch_size)
            readings.extend(self._read_batch(questions[chunk], passages[chunk],
                                             breaks[chunk] if breaks is not None else None))
        return readings

    def _read_batch(self, questions: list[str], passages: list[str],
                    breaks: Sequence[Sequence[int]] | None) -> list[Reading]:
        import torch

        from qa.reader_model import featurize

        with self._tokenizer_lock:
            features = featurize(self._tokenizer, questions, passages, self._max_length)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._autocast):
            out = self._model(**features.tensors)
        start, end = out.start_logits.float(), out.end_logits.float()
        start_p, end_p = start.softmax(-1), end.softmax(-1)
        answerable = out.answerable_logits.float().sigmoid()
        n = start.shape[1]
        band = torch.ones(n, n, dtype=torch.bool).triu().tril(self.max_answer_tokens - 1)
        band[0, :] = False  # [CLS] is the no-answer pair, scored apart
        band[:, 0] = False
        readings = []
        for row, offsets in enumerate(features.offsets):
            allowed = band
            if breaks is not None and breaks[row]:
                cuts = list(breaks[row])  # token k lies in sentence bisect_right(cuts, its first character)
                sentence = torch.tensor([bisect_right(cuts, o[0]) if o is not None else -1 for o in offsets])
                allowed = band & (sentence[:, None] == sentence[None, :])
            pair = (start[row][:, None] + end[row][None, :]).masked_fill(~allowed, float("-inf"))
            best = int(pair.argmax())
            i, j = divmod(best, n)
            null = float(start[row, 0] + end[row, 0])
            if offsets[i] is None or offsets[j] is None or not torch.isfinite(pair[i, j]):
                readings.append(Reading(0, 0, float(answerable[row]), 0.0, float(start_p[row, 0] * end_p[row, 0]),
                                        float("-inf")))
                continue
            readings.append(Reading(offsets[i][0], offsets[j][1], float(answerable[row]),
                                    float(start_p[row, i] * end_p[row, j]), float(start_p[row, 0] * end_p[row, 0]),
                                    float(pair[i, j]) - null))
        return readings


@lru_cache(maxsize=4)
def shared_reader(folder: Path | str = SHIPPED_READER, precision: str = "auto") -> Reader:
    """One Reader per folder and precision for the whole process: pipelines over several indexes share its weights."""
    return Reader(Path(folder), precision=precision)

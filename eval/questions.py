"""Question files for the benchmark and load test: JSONL with a "question" field on each line."""

from __future__ import annotations

import json
from pathlib import Path


def read_questions(path: Path) -> list[str]:
    """The "question" of every line of a JSONL file; a bad line is refused naming the file and line."""
    questions = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                question = json.loads(line)["question"]
                if not isinstance(question, str) or not question.strip():
                    raise ValueError(f"expected a non-empty string, got {question!r}")
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: no usable \"question\" field ({exc})") from exc
            questions.append(question)
    if not questions:
        raise ValueError(f"{path} holds no questions")
    return questions

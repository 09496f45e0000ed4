"""Question files: the evaluation's (qid, question, gold article, answer, evidence, type) and the benchmark's and
load test's (a "question" field on each line)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    article_id: str | None  # the gold article; None when the corpus cannot answer
    answer: str | None
    evidence: str | None
    type: str

    @property
    def gold(self) -> frozenset[str]:
        return frozenset({self.article_id}) if self.article_id else frozenset()


def _optional_str(obj: dict[str, Any], name: str, location: str) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)):
        raise ValueError(f"{location}: '{name}' must be a string or null, got {value!r}")
    return str(value)


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    """Questions from a JSONL file; a malformed line raises ValueError naming file and line."""
    questions: list[Question] = []
    seen: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            location = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{location}: malformed JSON ({exc.msg} at column {exc.colno})") from exc
            if not isinstance(obj, dict):
                raise ValueError(f"{location}: expected a JSON object, got {type(obj).__name__}")
            qid, text = _optional_str(obj, "qid", location), _optional_str(obj, "question", location)
            if not qid or not text:
                raise ValueError(f"{location}: 'qid' and 'question' must be non-empty strings")
            if qid in seen:
                raise ValueError(f"{location}: qid {qid!r} already used at {seen[qid]}")
            seen[qid] = location
            article_id = _optional_str(obj, "article_id", location)
            kind = _optional_str(obj, "type", location) or ("unanswerable" if article_id is None else "other")
            questions.append(Question(qid, text, article_id, _optional_str(obj, "answer", location),
                                      _optional_str(obj, "evidence", location), kind))
            if limit is not None and len(questions) >= limit:
                break
    if not questions:
        raise ValueError(f"{path} holds no questions")
    return questions

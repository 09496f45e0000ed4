"""Settings: one object, built at the edge from a TOML file and NEWSQA_* environment variables.

Precedence (last wins): defaults, the TOML file (`newsqa.toml` in the working folder, or the
file named by NEWSQA_CONFIG / --config), then NEWSQA_<FIELD> variables (e.g. NEWSQA_INDEX_DIR,
NEWSQA_PORT), then command-line flags. The library below `ui/` never reads the environment.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from index.embedding import PACKAGED_MODEL, PRECISIONS
from qa.answering import AnswerConfig
from qa.llm import LLMConfig
from qa.retrieval import FusionWeights, RetrievalConfig

ENV_PREFIX = "NEWSQA_"
DEFAULT_CONFIG_FILE = "newsqa.toml"


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("data/index")
    cache_dir: Path = Path("data/cache")
    model: str = PACKAGED_MODEL
    precision: str = "auto"  # encoder passes: "auto" (bfloat16 where the CPU has it natively), "float32", "bfloat16"
    k: int = 10
    candidates: int = 100
    dense_weight: float = FusionWeights.dense  # in the rerank of questions
    bm25_weight: float = FusionWeights.bm25
    threshold: float = AnswerConfig.threshold
    # all-MiniLM-L6-v2 scores unrelated texts low: "Tell me a joke" 0.16-0.26 and "Who wrote Hamlet?" 0.10 to the
    # passage of the sentence they would cite on the demo corpus. Evidence under the floor is declined unless the
    # reader finds the answer in it (its span beats "no answer"): the seed page's "Who is the spokesman for the
    # Russian military?" cites a passage at 0.28 whose sentence names him.
    min_dense: float = 0.3
    reader: str = ""  # the reader folder; "" is the one shipped in qa/reader_weights
    passages: int = AnswerConfig.passages
    max_sentences: int = AnswerConfig.max_sentences
    max_question_chars: int = 2000
    max_tokens: int = 100
    overlap: int = 1
    ingest_engine: str = "local"  # "local" (one process) or "ray" (Ray Data stages; the `ray` extra)
    ray_address: str = ""  # the Ray cluster the ray engine joins; "" starts a local Ray for the run
    vector_index: str = "auto"  # FAISS index kind: "auto" by passage count, or "flat", "ivf", "hnsw" (next write rebuilds)
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:password" turns on the web chat's login
    time_mode: str = "prefer"  # a period named in a question: "prefer" its articles, or "filter" to them
    concurrency: int = 16  # questions the web app answers at once (their query encodings share passes)
    compute_threads: int = 1  # threads one question's encoder pass and vector search use when serving (0: all)
    # A language model for written answers (`--llm`): any /v1/chat/completions server. The key is never shown.
    llm_url: str = ""  # e.g. http://127.0.0.1:8080/v1 (llama.cpp, Ollama, vLLM) or a hosted API's base URL
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = 30.0  # seconds for the whole reply; past it the extractive answer is shown
    llm_max_tokens: int = 400
    llm_temperature: float = 0.0
    llm_min_support: float = 0.6  # share of a written sentence's words its cited sentences must hold
    llm_sources: int = 4  # numbered source sentences the model is shown

    def __post_init__(self) -> None:
        for name in ("k", "candidates", "passages", "max_sentences", "port", "concurrency", "llm_sources"):
            if getattr(self, name) < 1:
                raise ValueError(f"setting {name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("overlap", "dense_weight", "bm25_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"setting {name} must be >= 0, got {getattr(self, name)!r}")
        if self.compute_threads < 0:
            raise ValueError(f"setting compute_threads must be >= 0, got {self.compute_threads!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"setting threshold must be in [0, 1], got {self.threshold!r}")
        if not -1.0 <= self.min_dense <= 1.0:
            raise ValueError(f"setting min_dense must be a cosine in [-1, 1], got {self.min_dense!r}")
        if self.max_tokens < 16:
            raise ValueError(f"setting max_tokens must be >= 16, got {self.max_tokens!r}")
        if self.ingest_engine not in ("local", "ray"):
            raise ValueError(f"setting ingest_engine must be 'local' or 'ray', got {self.ingest_engine!r}")
        if self.vector_index not in ("auto", "flat", "ivf", "hnsw"):
            raise ValueError(f"setting vector_index must be auto, flat, ivf or hnsw, got {self.vector_index!r}")
        if self.time_mode not in ("prefer", "filter"):
            raise ValueError(f"setting time_mode must be 'prefer' or 'filter', got {self.time_mode!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"setting precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not 0.0 <= self.llm_min_support <= 1.0:
            raise ValueError(f"setting llm_min_support must be in [0, 1], got {self.llm_min_support!r}")
        if self.llm_url:
            self.llm_config()  # validates the URL, timeout, token and temperature limits
        if self.auth and ":" not in self.auth:
            raise ValueError("setting auth must look like 'user:password'")

    def retrieval_config(self, mode: str = "hybrid") -> RetrievalConfig:
        return RetrievalConfig(mode=mode, candidates=self.candidates,
                               question=FusionWeights(dense=self.dense_weight, bm25=self.bm25_weight))

    def answer_config(self) -> AnswerConfig:
        return AnswerConfig(threshold=self.threshold, passages=self.passages, max_sentences=self.max_sentences,
                            min_dense=self.min_dense, reader=self.reader)

    def llm_config(self) -> LLMConfig:
        if not self.llm_url:
            raise ValueError("no language model is set: give its base URL as llm_url (NEWSQA_LLM_URL, e.g. "
                             "http://127.0.0.1:8080/v1 for a llama.cpp server)")
        return LLMConfig(self.llm_url, self.llm_model, self.llm_api_key, self.llm_timeout, self.llm_max_tokens,
                         self.llm_temperature)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced; None values are ignored (flags not given)."""
        return replace(self, **{k: _coerce(k, v) for k, v in overrides.items() if v is not None})


_TYPES = {f.name: f.type for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    if name not in _TYPES:
        raise ValueError(f"unknown setting {name!r} (known: {', '.join(sorted(_TYPES))})")
    kind = _TYPES[name]
    try:
        if kind == "Path":
            return Path(value).expanduser()
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"setting {name} expects {kind}, got {value!r}") from exc


def load_settings(config_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from defaults, then a TOML file, then NEWSQA_* variables of `environ`."""
    environ = os.environ if environ is None else environ
    path = config_file or (Path(environ[ENV_PREFIX + "CONFIG"]) if ENV_PREFIX + "CONFIG" in environ else None)
    values: dict[str, Any] = {}
    if path is None and Path(DEFAULT_CONFIG_FILE).exists():
        path = Path(DEFAULT_CONFIG_FILE)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"cannot read settings file {path}: {exc}") from exc
        table = data.get("newsqa", data)
        values.update({k: _coerce(k, v) for k, v in table.items()})
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            name = key[len(ENV_PREFIX):].lower()
            name = {"index": "index_dir"}.get(name, name)
            if name in _TYPES:
                values[name] = _coerce(name, value)
            else:  # a misspelt variable would otherwise change nothing, silently
                print(f"warning: {key} is not a newsqa setting and is ignored (settings: {', '.join(sorted(_TYPES))})",
                      file=sys.stderr)
    return Settings(**values)

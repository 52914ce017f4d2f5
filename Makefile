# kplate: two commands from a fresh clone, `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench lint install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kplate generate
	$(BIN)/kplate samples

# pytest-xdist spreads the tests over TEST_WORKERS processes: most tests use one core, so
# two workers nearly halve the wall time on CI's two cores (slow suite: 231 s, 395 s alone).
TEST_WORKERS ?= 2

# The Dask tests run in a pytest process of their own: importing dask.distributed leaves
# process-wide state (threads) under which a later forked worker pool of generate's hung
# (test_a_worker_failing_mid_run_stops_the_run, three times in the full suite).
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --ignore=tests/test_dask_run.py
	$(BIN)/python -m pytest tests/test_dask_run.py

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m slow --ignore=tests/test_dask_run.py

# An editable install writes no bytecode, and PYTHONDONTWRITEBYTECODE stops Python from
# caching it: compile once, so that no timed run pays for compiling kplate's modules.
bench: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

clean:
	rm -rf $(VENV) kplate-out kplate-samples build dist src/*.egg-info

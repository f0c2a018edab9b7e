# carbon254: `make run` serves the demo on http://localhost:8000, `make test` runs the suite.
# Both bootstrap .venv with the machine's python3; nothing needs installing by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT   ?= 8000

.PHONY: run test lint format bench bench-quick venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,dev]'
	@rm -f $(VENV)/.installed-* && touch $@

run: venv
	$(VENV)/bin/carbon254 demo load --if-empty
	$(VENV)/bin/carbon254 serve --port $(PORT)

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: venv
	$(PY) bench/store_bench.py $(BENCH_ARGS)

bench-quick: venv
	$(PY) bench/store_bench.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

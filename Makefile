# carbon254: `make run` serves the demo on http://localhost:8000, `make test` runs the suite.
# Both bootstrap .venv with the machine's python3; nothing needs installing by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT   ?= 8000

.PHONY: run test lint format bench bench-quick bench-ingest bench-ingest-quick bench-api bench-api-quick bench-sdk bench-sdk-quick venv clean airflow-venv airflow-constraints

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# The demo serves without authentication (CARBON254_AUTH=off, logged loudly at start).
run: venv
	$(VENV)/bin/carbon254 demo load --if-empty
	CARBON254_AUTH=$${CARBON254_AUTH:-off} \
		$(VENV)/bin/carbon254 serve --port $(PORT) $(if $(filter 1,$(SCHEDULER)),,--no-scheduler)

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

# Ingestion: PJM Data Miner pages -> parse -> validate -> DuckDB, vs raw insert and gridstatus.
bench-ingest: venv
	$(PY) bench/ingest_bench.py $(BENCH_ARGS)

bench-ingest-quick: venv
	$(PY) bench/ingest_bench.py --quick

# API: node-day requests at 200 req/s against a real uvicorn server (Redis and in-process
# cache; Redis on 127.0.0.1:6379, or BENCH_ARGS="--backends memory"), Arrow vs JSON decode.
bench-api: venv
	$(PY) bench/api_bench.py $(BENCH_ARGS)

bench-api-quick: venv
	$(PY) bench/api_bench.py --quick $(BENCH_ARGS)

# SDK: one node-month of 5-minute prices through carbon254.Client, Arrow vs JSON end to end.
bench-sdk: venv
	$(PY) bench/sdk_bench.py $(BENCH_ARGS)

bench-sdk-quick: venv
	$(PY) bench/sdk_bench.py --quick

# Airflow lives in its own environment (its FastAPI pin conflicts with ours): see docs/airflow.md.
# Rebuilt only when its requirements, constraints or pyproject.toml change.
AF_VENV  := .venv-airflow
AF_REQ   := deploy/airflow/requirements.txt deploy/airflow/constraints.txt pyproject.toml
AF_STAMP := $(AF_VENV)/.installed-$(shell cat $(AF_REQ) | cksum | cut -d' ' -f1)

airflow-venv: $(AF_STAMP)

$(AF_STAMP): $(AF_REQ)
	@test -x $(AF_VENV)/bin/python || $(PYTHON) -m venv $(AF_VENV)
	$(AF_VENV)/bin/python -m pip install --quiet -r deploy/airflow/requirements.txt \
		-c deploy/airflow/constraints.txt
	$(AF_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(AF_VENV)/bin/python -c 'import airflow.sdk, carbon254.store'
	@rm -f $(AF_VENV)/.installed-* && touch $@

# After editing requirements.txt: resolve it afresh and record every version it got.
airflow-constraints:
	rm -rf $(AF_VENV)-freeze && $(PYTHON) -m venv $(AF_VENV)-freeze
	$(AF_VENV)-freeze/bin/python -m pip install --quiet -r deploy/airflow/requirements.txt
	{ sed -n '1,2p' deploy/airflow/constraints.txt; $(AF_VENV)-freeze/bin/python -m pip freeze; } \
		> deploy/airflow/constraints.tmp && mv deploy/airflow/constraints.tmp deploy/airflow/constraints.txt
	rm -rf $(AF_VENV)-freeze

clean:
	rm -rf $(VENV) $(AF_VENV) .pytest_cache .ruff_cache

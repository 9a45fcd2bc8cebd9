# avatar-node: `make demo` runs the demo, `make test` runs the tests; each sets itself up first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-fast lint bench schema web clean

setup: $(STAMP)

# torch is pinned to the release the parity tests and benchmarks were checked with (a CPU wheel
# from PyPI); see README "GPU" for CUDA builds.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[frontends,demo,metrics,test,dev]"
	$(PY) -m pip install --quiet --no-deps "rhasspy-hermes==0.6.2"
	touch $(STAMP)

demo: setup
	$(PY) -m avatar_node demo $(DEMO_ARGS)

test: setup
	$(PY) -m pytest -ra $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -ra tests/unit

lint: setup
	$(VENV)/bin/ruff check avatar_node tests bench
	$(VENV)/bin/mypy avatar_node

bench: setup
	$(PY) bench/tts.py
	$(PY) bench/lipsync.py

schema: setup
	$(PY) -m avatar_node schema --out schemas

# Rebuild the vendored mqtt.js of the kiosk page (committed, so installs work offline).
web:
	cd web && npm ci --no-audit --no-fund && npm run build

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts

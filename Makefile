# avatar-node: `make demo` runs the demo, `make test` runs the tests; each sets itself up first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup debs-test debs-demo demo test test-fast lint bench schema web clean

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

# Debian packages: the tests need a real broker and a browser (the kiosk e2e tests); the demo
# prefers Debian's mosquitto and falls back to its embedded broker (amqtt) without it. As root
# they are installed with apt-get, otherwise the target stops at once with the command to run.
TEST_DEBS := mosquitto chromium
DEMO_DEBS := mosquitto

debs-test:
	scripts/ensure-debs $(TEST_DEBS)

debs-demo:
	scripts/ensure-debs --optional $(DEMO_DEBS)

# Debian packages first (a missing one stops at once), then the venv.
demo: debs-demo setup
	$(PY) -m avatar_node demo $(DEMO_ARGS)

test: debs-test setup
	$(PY) -m pytest -ra $(PYTEST_ARGS)

test-fast: debs-test setup
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

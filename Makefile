# The README's commands. Everything is installed pinned, from the package registries only.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
AZURITE := node_modules/.bin/azurite

.PHONY: install test lint bench run clean

install: $(VENV)/.installed $(AZURITE)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The suite starts its own Azurite, sandbox and devhost on free ports and stops them at the end.
# pytest exits 5 when it collected nothing: that is a failure here, never a pass.
test: install
	$(PY) -m pytest

# Azurite (data under .azurite/), the sandbox on 7080 and devhost on 7071; Ctrl-C stops all three.
run: install
	$(PY) scripts/run_local.py

# Benchmarks write JSON to bench/results/ and summarise in bench/README.md.
bench: install
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) bench/engine.py
	$(PY) bench/host.py

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) node_modules .azurite .devhost

# The README's commands. Everything is installed pinned, from the package registries only.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
AZURITE := node_modules/.bin/azurite

.PHONY: install test lint bench bench-soak run replay clean chromium

install: $(VENV)/.installed $(AZURITE)

# The dashboard's browser tests drive Debian's chromium (Playwright never downloads a browser here).
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && echo "Installing chromium (apt-get)" && \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "chromium is required for the dashboard's browser tests: apt-get install chromium"; exit 1; }

# constraints.txt pins the transitive packages too, so a fresh clone installs what CI proved.
# devhost is a package of its own (devhost/pyproject.toml), installed editable: the `devhost` command runs this
# folder's code, and `python -m devhost` from the repository root stays the same code.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt devhost/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || { echo "Creating the virtual environment in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the pinned Python packages into $(VENV) (requirements-dev.txt; about 30 s the first time)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@echo "Installing devhost from ./devhost, editable, with the devhost command"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ./devhost -c constraints.txt
	@touch $@

$(AZURITE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20 with npm is required for Azurite (npm not found)"; exit 1; }
	@echo "Installing Azurite from package-lock.json into node_modules (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Lint first (a gate that is not enforced rots), then the suite, which starts its own Azurite, sandbox
# and devhost on free ports and stops them at the end. pytest exits 5 when it collected nothing: that is
# a failure here, never a pass.
test: lint chromium
	$(PY) -m pytest

# Azurite (data under .azurite/, ports 10000-10002), the sandbox on 7080 and devhost on 7071; Ctrl-C stops
# all three. Ports move with DEVHOST_PORT, SANDBOX_PORT, AZURITE_BLOB_PORT/QUEUE_PORT/TABLE_PORT.
run: install
	$(PY) scripts/run_local.py

# Benchmarks write JSON to bench/results/ (summarised in bench/README.md). They get a venv of their own:
# the durabletask peer is installed for the benchmark only, never beside the code under test.
BENCH_PY := .venv-bench/bin/python

.venv-bench/.installed: requirements.txt requirements-dev.txt constraints.txt bench/requirements.txt
	test -x $(BENCH_PY) || $(PYTHON) -m venv .venv-bench
	$(BENCH_PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r bench/requirements.txt \
		-c constraints.txt
	touch $@

# 8 min 6 s on 2 quiet cores (2026-12-04; more under load): one dashboard run, booking.py and parked.py with smaller
# counts than their defaults (bench/README.md). The soak and the full parked counts: bench-soak.
bench: .venv-bench/.installed $(AZURITE)
	$(BENCH_PY) bench/engine.py
	$(BENCH_PY) bench/host.py
	$(BENCH_PY) bench/replay.py
	$(BENCH_PY) bench/dashboard.py --runs 1
	$(BENCH_PY) bench/breaker.py
	$(BENCH_PY) bench/booking.py --sequential 10 --waves 1
	$(BENCH_PY) bench/parked.py --bookings 100 --idle 30
	$(BENCH_PY) bench/parked.py --memory --bookings 1000 --idle 30 --no-pay

# The long runs: the 20-minute soak, then the issue's full parked counts (1,000 on Azurite, 10,000 on the
# memory store); each takes 10-30 minutes on 2 loaded cores.
bench-soak: .venv-bench/.installed $(AZURITE)
	$(BENCH_PY) bench/soak.py
	$(BENCH_PY) bench/parked.py --bookings 1000
	$(BENCH_PY) bench/parked.py --memory --bookings 10000 --idle 30 --no-pay

# The replay gate: the recorded booking histories against the orchestrators as they are now (also part
# of `make test`). HISTORIES= another folder of `devhost history export` files.
HISTORIES ?= tests/orchestrators/corpus/histories
replay: install
	$(PY) -m devhost replay $(HISTORIES)

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .venv-bench node_modules .azurite .devhost devhost/*.egg-info devhost/build

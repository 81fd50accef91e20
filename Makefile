# The two commands a newcomer runs (see README.md): `make run` and `make test`.
PYTHON ?= python3
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install install-dev browser run test lint conformance bench

install:
	$(PYTHON) -m pip install -q -r requirements.txt

install-dev:
	$(PYTHON) -m pip install -q -r requirements-dev.txt

# Debian's Chromium for the real-browser test (playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

run: install
	STREAMLIT_BROWSER_GATHER_USAGE_STATS=false $(PYTHON) -m streamlit run app.py --server.port $(PORT)

lint:
	$(PYTHON) -m ruff check .

test: install-dev browser lint
	$(PYTHON) -m pytest

# RudderStack's own outputs (tests/conformance/, 425 cases), in process and through the command line.
conformance: install-dev
	$(PYTHON) -m pytest -q tests/test_conformance.py

bench: install-dev
	$(PYTHON) benchmarks/bench_transform.py
	$(PYTHON) benchmarks/bench_send.py
	$(PYTHON) benchmarks/bench_app.py

# The two commands a newcomer runs (see README.md): `make run` and `make test`.
#
# Both work in a project virtualenv, .venv, made from the first python3 (3.11 or newer) on PATH:
# Debian's own /usr/bin/python3 (PEP 668 forbids installing into it, so we never do), pyenv or conda.
# Packages are installed again only when requirements*.txt change: a stamp file named after a hash
# of their content says what .venv holds. pip keeps its download cache, so a rebuild is quick.

PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
PORT ?= 8501
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# pyproject.toml too: the project itself is installed into .venv (editable), so its command line,
# .venv/bin/freshsales-mapper, follows the checkout and is made again when its entry points change.
RUN_HASH := $(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
DEV_HASH := $(shell cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)
RUN_STAMP := $(VENV)/.installed-run-$(RUN_HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(DEV_HASH)

.PHONY: install install-dev venv browser run test lint conformance bench clean-venv which-python

venv: $(PY)

# A venv needs the venv module and ensurepip; Debian ships them apart, as python3-venv (or python3.X-venv).
$(PY):
	@[ -n "$(PYTHON)" ] || { echo "make: no python3 of version 3.11 or newer on PATH (set PYTHON=...)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "make: $(PYTHON) is $$($(PYTHON) --version 2>&1); 3.11 or newer is needed" >&2; exit 1; }
	@if ! $(PYTHON) -m venv $(VENV) >/dev/null 2>&1; then \
		rm -rf $(VENV); \
		echo "make: $(PYTHON) cannot create a virtualenv; installing python3-venv with apt-get"; \
		command -v apt-get >/dev/null 2>&1 || { echo "make: install the venv module for $(PYTHON) and retry" >&2; exit 1; }; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv \
			"python$$($(PYTHON) -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"; \
		$(PYTHON) -m venv $(VENV); \
	fi
	@echo "make: created $(VENV) with $$($(PY) --version)"

$(RUN_STAMP): | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-run-* && touch $@

$(DEV_STAMP): | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-dev-* $(VENV)/.installed-run-* && touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

install-dev: $(DEV_STAMP)

# Debian's Chromium for the real-browser test (playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT)

lint: install-dev
	$(PY) -m ruff check .

test: install-dev browser lint
	$(PY) -m pytest

# RudderStack's own outputs (tests/conformance/, 425 cases), in process and through the command line.
conformance: install-dev
	$(PY) -m pytest -q tests/test_conformance.py

bench: install-dev
	$(PY) benchmarks/bench_transform.py
	$(PY) benchmarks/bench_send.py
	$(PY) benchmarks/bench_app.py
	$(PY) benchmarks/bench_emulator.py
	$(PY) benchmarks/bench_bombs.py

clean-venv:
	rm -rf $(VENV)

# The interpreter .venv is (or would be) made from.
which-python:
	@echo $(PYTHON)

# Two commands on a fresh machine with only Python 3:
#   make book   set up .venv with the pinned requirements, execute every chapter, render _build/html
#               (incremental: only what changed runs again; `make book FORCE=1` re-executes everything)
#   make test   set up the same way, then run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: book test setup bench clean

book: $(STAMP)
	$(PY) -m rlbits build $(if $(FORCE),--force)

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m rlbits bench

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

clean:
	rm -rf _build

# epigex: two commands on a fresh clone — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-slow test-docker lint typecheck pytest bench features-doc clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# An editable install finds the package after sys.path is searched, so a folder named epigex in the working
# directory (the clone's own parent, say) would shadow it as a namespace package; a .pth that puts the source tree
# on sys.path lets the real package win. SOURCE_PTH writes it.
SOURCE_PTH = $(BIN)/python -c 'import pathlib, sysconfig; \
	pathlib.Path(sysconfig.get_path("purelib"), "epigex-source.pth").write_text(str(pathlib.Path.cwd()) + "\n")'

$(STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(SOURCE_PTH)
	touch $@

$(DEV_STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	$(SOURCE_PTH)
	touch $(STAMP) $@

demo: $(STAMP)
	$(BIN)/epigex demo

test: $(DEV_STAMP) lint typecheck pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy epigex

pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -m slow

test-docker: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -m docker tests/test_docker.py

bench: $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.train
	$(BIN)/python -m bench.serve

features-doc: $(STAMP)
	$(BIN)/epigex features --markdown > docs/FEATURES.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Each target does its own set-up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint check bench clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sanliang chat --db $${SANLIANG_DB:-sanliang-demo.db}

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

test: lint
	$(BIN)/sanliang check
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/sanliang check --warnings

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet jieba
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/telegram_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache sanliang-demo.db*

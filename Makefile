# Each target does its own set-up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint check bench clean install web browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sanliang chat --db $${SANLIANG_DB:-sanliang-demo.db}

# The web chat on http://127.0.0.1:8080/ (open it on a phone through a reverse proxy).
web: $(STAMP)
	$(BIN)/sanliang web --db $${SANLIANG_DB:-sanliang-demo.db}

# Debian's Chromium and fonts for the browser tests (Playwright's own download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk" || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

test: lint browser
	$(BIN)/sanliang check
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/sanliang check --warnings

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet jieba
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/telegram_load.py
	$(BIN)/python bench/web_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache sanliang-demo.db* web-screenshots

# Each target does its own set-up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Exact versions with hashes: requirements.lock for running, requirements-dev.lock adds
# the test and build tools. Regenerate both with `make lock` after editing the
# dependencies in pyproject.toml (docs/HACKING.md).
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_VERSION := 0.13.9
UV       := $(VENV)/uv/bin/uv
COMPILE  := $(UV) pip compile pyproject.toml --generate-hashes --universal \
	--python-version 3.11 --quiet \
	--custom-compile-command "make lock"

.PHONY: demo test lint typecheck check content-check bench clean install lock audit wheel wheel-check units \
	web browser postgres system-packages bytecode

# Without pip of its own (ensurepip costs ~6 s of CPU): the locked pip comes with the
# locked wheels (requirements-dev.lock, for pip-audit), installed by uv below.
$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)

# uv installs the locked wheels (hashes required) in ~2 s where pip takes ~40 s; it is
# itself pinned and kept in its own venv, which `make lock` also uses.
$(UV): | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/uv && $(VENV)/uv/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): $(DEV_LOCK) pyproject.toml setup.py | $(BIN)/python $(UV)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes --no-deps -r $(DEV_LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	@$(UV) pip check --python $(BIN)/python >/dev/null 2>&1 || { $(UV) pip check --python $(BIN)/python; \
	  echo "The lock does not match pyproject.toml: run 'make lock'."; exit 1; }
	touch $(STAMP)

install: $(STAMP)

lock: | $(UV)
	$(COMPILE) --extra test -o $(DEV_LOCK)
	$(COMPILE) --constraint $(DEV_LOCK) -o $(LOCK)

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

# PostgreSQL's server binaries for the tests on the second backend (tests/pg_support.py
# starts a throwaway cluster on 127.0.0.1 and stops it). Debian's package, when missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    postgresql >/dev/null; }

# Both, one after the other (apt-get holds dpkg's lock), so that make -j can run them
# beside the other checks.
system-packages:
	@$(MAKE) --no-print-directory browser && $(MAKE) --no-print-directory postgres

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench deploy
	$(BIN)/ruff format --check bot tests bench deploy

# Known vulnerabilities in the locked versions (pip-audit). A finding fails the build;
# advisory data that cannot be reached is reported, not failed (deploy/audit.py).
audit: $(STAMP)
	$(BIN)/python deploy/audit.py $(LOCK)

# mypy over bot/ (settings and their reasons in pyproject.toml): zero errors.
typecheck: $(STAMP)
	$(BIN)/mypy

# Skipped when nothing it reads changed since it last passed here (the stamp holds a hash
# of those files); always run in CI (CI=true) and on a fresh clone.
WHEEL_STAMP := $(VENV)/.wheel-checked
wheel-check: $(STAMP)
	@key="$$(find bot policy_texts intents templates deploy setup.py pyproject.toml \
	  requirements.lock -type f -not -path '*/__pycache__/*' -not -path 'bot/_content/*' \
	  | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"; \
	if [ -z "$$CI" ] && [ "$$(cat $(WHEEL_STAMP) 2>/dev/null)" = "$$key" ]; then \
	  echo "wheel: unchanged since the last passing check (rm $(WHEEL_STAMP) to force)"; \
	else rm -f $(WHEEL_STAMP) && deploy/wheel-check.sh $(BIN)/python && echo "$$key" > $(WHEEL_STAMP); fi

units:
	deploy/verify-units.sh

# Bytecode for bot/ and the tests, written once, also where the environment sets
# PYTHONDONTWRITEBYTECODE (which stops writing, not reading): every xdist worker then
# reads the tests pytest has already assertion-rewritten, and every sanliang process the
# suite starts reads bot/ compiled, instead of each compiling it all again.
# (A collection error is not reported here: the suite reports it.)
bytecode: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m compileall -qq bot tests bench deploy
	-@PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest --collect-only -qq >/dev/null 2>&1

# The install, then the checks before the suite (the content's among them), side by side
# (each one's output shown as it ends; the system packages are installed meanwhile).
# The suite runs on TEST_WORKERS processes (pytest-xdist; most tests wait on
# subprocesses, servers and the browser, so more workers than cores pay), and the
# wheel check runs beside it; its output is shown when both are done. The tests on
# PostgreSQL are required here (tests/pg_support.py starts a throwaway cluster).
TEST_WORKERS ?= 4
test:
	@$(MAKE) --no-print-directory -j4 --output-sync=target \
	  system-packages lint typecheck audit bytecode content-check
	@$(MAKE) --no-print-directory wheel-check > $(VENV)/wheel-check.log 2>&1 & wheel=$$!; \
	SANLIANG_REQUIRE_PG=1 $(BIN)/python -m pytest -n $(TEST_WORKERS); tests=$$?; \
	wait $$wheel; checked=$$?; cat $(VENV)/wheel-check.log; \
	[ $$tests -eq 0 ] && [ $$checked -eq 0 ]

check: $(STAMP)
	$(BIN)/sanliang check --warnings

# The content's errors only (make test, beside the other checks).
content-check: $(STAMP)
	$(BIN)/sanliang check

# The wheel an operator installs (README, Deployment), in dist/.
wheel: $(STAMP)
	rm -rf build && $(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist . && rm -rf build
	@ls dist/sanliang-*.whl

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet jieba
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/scope.py
	$(BIN)/python bench/telegram_load.py
	$(BIN)/python bench/web_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache sanliang-demo.db* build dist web-screenshots
	find bot tests bench deploy -name __pycache__ -type d -prune -exec rm -rf {} +

# The two commands of the README: `make run` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-cnnlab
EXTRAS ?= torch,keras,lab,cluster,dev

.PHONY: install run test lint unit browser clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cnnlab run --open

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

unit: $(STAMP)
	$(BIN)/python -m pytest

# Headless Chromium for the browser tests (Debian's package), installed when missing and
# apt-get can run (root, Debian, online); otherwise those tests skip (and fail under CI=true).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	    && echo "installing Debian's chromium for the browser tests" \
	    && apt-get update -qq >/dev/null 2>&1 \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; \
	  then :; \
	  else echo "chromium is missing and cannot be installed here: the browser tests will be skipped; install Debian's chromium, or run 'make browser' as root, to enable them"; \
	  fi; }

test: $(STAMP) browser lint unit

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache

# The two commands of the README: `make run` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-cnnlab
EXTRAS ?= torch,keras,lab,cluster,dev
# The NumPy-only install: cnnlab without any extra, plus the two test libraries.
CORE_VENV  ?= .venv-core
CORE_STAMP := $(CORE_VENV)/.installed-cnnlab

.PHONY: install run test lint unit core browser clean

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

$(CORE_STAMP): pyproject.toml constraints.txt
	test -x $(CORE_VENV)/bin/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install --quiet -c constraints.txt -e . pytest hypothesis
	touch $(CORE_STAMP)

# The suite without torch, Keras or any other extra: what needs one skips with its reason
# (tests/optional_extras.py, tests/torch_oracle.py); everything else must pass. The trainings
# marked slow ran in `make unit` already.
core: $(CORE_STAMP)
	$(CORE_VENV)/bin/python -m pytest -m "not slow" -p no:cacheprovider

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
	rm -rf $(VENV) $(CORE_VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache

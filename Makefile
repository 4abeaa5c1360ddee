# `make run` and `make test` each do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SHARED ?= ../shared
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install models init bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

# The face models are pinned in models/manifest.toml and installed from a directory
# (../shared/models on these machines); without it the face engine stays unavailable.
models: install
	@if [ -d "$(SHARED)/models" ]; then \
		$(BIN)/idp models install --from "$(SHARED)/models"; \
	else \
		echo "note: $(SHARED)/models not found; face models not installed (idp models install --from DIR)"; \
	fi

init: install models
	$(BIN)/idp init

# A newcomer's first run: demo mode (demo service platform, demo licence authority, visitor
# face enrolment) on the embedded defaults.  Production runs `idp serve` without IDP_DEMO.
run: install models
	$(BIN)/idp demo --host $(HOST) --port $(PORT)

test: install models
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install models
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache

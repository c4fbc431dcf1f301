# Resilient Pipelines: `make lab` to learn, `make test` to check everything.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBMAKE_CELL_TIMEOUT ?= 120

export PREFECT_SERVER_ANALYTICS_ENABLED := false
# Prefect server settings (SQLite write batching, start-up timeout) are applied where a
# server starts: conftest.py (tests), the CLI (`make run`), binder/start (`make lab`) and
# benchmarks/run.py (`make bench`).

.PHONY: install lab run test lint format strip bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP) ## create .venv (if missing) and install everything

lab: install ## JupyterLab on notebooks/, simulator + Prefect server running (UI: launcher, "Prefect UI")
	PATH="$(CURDIR)/$(BIN):$$PATH" binder/start jupyter lab --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

run: install ## run the finished pipeline (bundled simulator unless GITHUB_API_URL is set)
	$(BIN)/python -m github_stars

lint: install ## ruff on code and notebooks; notebooks must have no outputs
	$(BIN)/ruff check src tests benchmarks notebooks conftest.py

test: install lint ## every test: unit, simulator, pipeline, CLI and the notebooks (nbmake)
	$(BIN)/python -m pytest tests notebooks --nbmake --nbmake-timeout=$(NBMAKE_CELL_TIMEOUT)

format: install
	$(BIN)/ruff format src tests benchmarks conftest.py

bench: install ## benchmark against the simulator -> benchmarks/results (BENCH_ARGS=--quick)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

strip: install ## remove notebook outputs before committing
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

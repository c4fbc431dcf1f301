# Resilient Pipelines: `make lab` to learn, `make test` to check everything.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBMAKE_CELL_TIMEOUT ?= 120

export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install lab run test lint format strip bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP) ## create .venv (if missing) and install everything

lab: install ## open JupyterLab on notebooks/
	$(BIN)/jupyter lab --notebook-dir=notebooks

run: install ## run the finished pipeline (bundled simulator unless GITHUB_API_URL is set)
	$(BIN)/python -m github_stars

lint: install ## ruff on code and notebooks; notebooks must have no outputs
	$(BIN)/ruff check src tests benchmarks notebooks conftest.py

test: install lint ## every test: unit, simulator, pipeline, CLI and the notebooks (nbmake)
	$(BIN)/python -m pytest tests notebooks --nbmake --nbmake-timeout=$(NBMAKE_CELL_TIMEOUT)

format: install
	$(BIN)/ruff format src tests benchmarks conftest.py

strip: install ## remove notebook outputs before committing
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

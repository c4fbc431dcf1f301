# Resilient Pipelines: `make lab` to learn, `make test` to check everything.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBMAKE_CELL_TIMEOUT ?= 120
# pytest-xdist workers, each with a Prefect server and a simulator of its own (conftest.py).
# One more worker than cores fills the time tests spend waiting; the lessons run one after
# another on one worker at normal priority, the rest niced (why: docs/decisions.md).
TEST_WORKERS ?= 3

# Every server (Prefect on SQLite or PostgreSQL, the simulator) is started or reused by one
# module, src/github_stars/servers/, with Prefect's process settings from
# src/github_stars/settings.py: the CLI, binder/start (`make lab`, `make book`), `make server`,
# conftest.py (tests) and the benchmarks.

.PHONY: help lock install lab server server-stop run test lint format strip bench book clean

# What is installed is requirements.lock: every package, transitive ones included, pinned
# (`make lock` resolves it from requirements-book.txt = requirements.txt + Jupyter Book, which
# hold the direct pins; tests/test_lock.py keeps them in step). uv installs it (faster than pip,
# docs/decisions.md); it lives in .venv, installed by pip. --compile-bytecode as pip does:
# every process would otherwise compile the pipeline's imports again.
UV_VERSION := 0.13.9
LOCK := requirements.lock
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r $(LOCK)
	touch $(STAMP)

lock: ## resolve requirements.lock again from requirements*.txt (after changing a pin)
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv==$(UV_VERSION); }
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements-book.txt --output-file $(LOCK)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:[^#]*## /\t/' | expand -t 14

install: $(STAMP) ## create .venv (if missing) and install everything

lab: install ## JupyterLab on notebooks/, simulator + Prefect server running (UI: launcher, "Prefect UI")
	PATH="$(CURDIR)/$(BIN):$$PATH" binder/start jupyter lab --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

server: install ## the lab's Prefect server (UI: http://127.0.0.1:4200/prefect-ui/) and simulator, in the background
	$(BIN)/python -m github_stars server start

server-stop: install ## stop what `make server` started
	$(BIN)/python -m github_stars server stop

run: install ## run the finished pipeline (bundled simulator unless GITHUB_API_URL is set; fast after `make server`)
	$(BIN)/python -m github_stars

lint: install ## ruff on code and notebooks; the layering contract (import-linter)
	$(BIN)/ruff check src tests benchmarks notebooks conftest.py
	$(BIN)/ruff format --check src tests benchmarks notebooks conftest.py
	$(BIN)/lint-imports

test: install lint ## every test: unit, simulator, pipeline, CLI and the notebooks (nbmake)
	$(BIN)/python -m pytest tests notebooks --nbmake --nbmake-timeout=$(NBMAKE_CELL_TIMEOUT) \
		-n $(TEST_WORKERS) --dist loadgroup

format: install ## ruff format on code and notebooks
	$(BIN)/ruff format src tests benchmarks notebooks conftest.py

# One question per run, each side by side in one process (benchmarks/README.md): BENCH=features
# (what each feature buys), scale (SQLite vs PostgreSQL, Dask), startup (`make run`) or
# backfill (the backfill beside the daily run).
BENCH ?= features
bench: install ## measure against the simulator -> benchmarks/results (BENCH=features|scale|startup|backfill, BENCH_ARGS=--quick)
	$(BIN)/python -m benchmarks.$(BENCH) $(BENCH_ARGS)

# The book: every lesson executed against one simulator and one Prefect server (binder/start,
# free ports unless BOOK_PREFECT_PORT / BOOK_SIMULATOR_PORT are given; a fresh PREFECT_HOME),
# rendered to book/_build/html. GITHUB_STARS_BOOK_BUILD=1: each "Watch it in the Prefect UI"
# section shows a screenshot of that lesson's run, taken by headless Chromium (/usr/bin/chromium)
# from that server's UI. Fails on any cell error (a screenshot that fails is one) or Sphinx
# warning (-W; a failed cell is only a warning without it), then if a page shows a traceback, a
# machine path or a UI section without its screenshot (tests/test_book.py, on the output).
# The last line printed is the path of the built index.html.
FREE_PORT = $(BIN)/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
book: install ## execute every lesson and render the book -> book/_build/html/index.html
	rm -rf book/_build  # a failed build's kept state would skip executing the lessons next time
	env -u GITHUB_API_URL -u GITHUB_TOKEN -u PREFECT_API_URL -u MPLBACKEND \
		PATH="$(CURDIR)/$(BIN):$$PATH" PREFECT_HOME="$(CURDIR)/book/_build/prefect-home" \
		PREFECT_SERVER_API_PORT="$(or $(BOOK_PREFECT_PORT),$$($(FREE_PORT)))" \
		GITHUB_STARS_SIMULATOR_PORT="$(or $(BOOK_SIMULATOR_PORT),$$($(FREE_PORT)))" \
		GITHUB_STARS_BOOK_BUILD=1 \
		binder/start jupyter-book build book -W -n --keep-going
	$(BIN)/python -m pytest tests/test_book.py --noconftest -p no:cacheprovider -q \
		-k test_the_built_book
	@echo "$(CURDIR)/book/_build/html/index.html"

strip: install ## remove notebook outputs before committing
	$(BIN)/nbstripout notebooks/*.ipynb

clean: ## remove .venv, caches and the built book
	rm -rf $(VENV) .pytest_cache .ruff_cache book/_build

# reclearn — build the book, run the tests, run the benchmarks.
#   make book    execute every chapter from a clean cache and build _build/html
#   make test    lint, format check and pytest (browser tests too once _build/html exists)
#   make lab     JupyterLab on 127.0.0.1: chapters/*.md as notebooks, .venv kernel
#   make chromium  install Debian's chromium and chromium-driver (apt-get) when missing
#   make java    install Debian's Java 17 runtime (apt-get) for Spark when missing
#   make bench   reclearn bench mf, ranking, cold-start, scale (+ mf, ranking --tuned)
#   make tune    reclearn tune every model, same budget: benchmarks/tuned/<dataset>/*.json
#   make student write the student edition (book, notebooks, package, data) to _build/student
#   make grade SUBMISSIONS=dir   grade dir offline: grades.csv, LMS export, feedback/, similarity
#   make grade-demo  time make grade on 40 planted submissions: assignments/grading-time.csv
#   make screenshots  every page of _build/html at 1280 and 390 px into _build/screenshots

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Quieter TensorFlow, one-line progress in the static HTML.
BOOK_ENV := TF_CPP_MIN_LOG_LEVEL=2 RECLEARN_PLAIN_PROGRESS=1

.PHONY: help venv book test test-slow lint format bench tune assignments student grade \
	grade-demo clean distclean chromium java kernel lab screenshots

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install -e . --no-deps
	touch $@

venv: $(STAMP)  ## create .venv and install the pinned stack

# Chapters execute while Sphinx reads them: BOOK_JOBS reading processes at once
# (_ext/build_book.py), TEST_JOBS pytest workers (pytest-xdist).
BOOK_JOBS ?= 4
TEST_JOBS ?= 2

book: $(STAMP) java  ## execute every chapter (clean cache) and build _build/html
	rm -rf _build
	$(BOOK_ENV) BOOK_JOBS=$(BOOK_JOBS) $(BIN)/python _ext/build_book.py build . -W -n
	@echo "Open _build/html/index.html"

test: $(STAMP)  ## ruff (package and chapters), then every test but the slow tier
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tests/chapter_ruff.py check
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadgroup -m "not slow"

# The slow tier (marker `slow`): every chapter at small size in both backends, whole
# grading runs, benchmarks end to end, Spark and DDP. CI runs it after `make test`.
test-slow: $(STAMP)  ## the slow tier: chapters executed, grading, Spark, DDP
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadgroup -m slow --durations=15

# JupyterLab with the repository's settings (.jupyter/: Jupytext's contents manager, so
# chapters/*.md open as notebooks; 127.0.0.1 only; no browser opened, the URL with its
# token printed). The kernel keeps the name python3 that every chapter asks for.
# Extra options: make lab LAB_ARGS="--port=8890".
LAB_ARGS ?=

kernel: $(STAMP)  ## register the .venv Python as the Jupyter kernel "reclearn (.venv)"
	$(BIN)/python -m ipykernel install --sys-prefix \
	  --name python3 --display-name "reclearn (.venv)"

lab: kernel  ## JupyterLab at the repository root: run every chapter cell by cell
	TF_CPP_MIN_LOG_LEVEL=2 JUPYTER_CONFIG_PATH="$(CURDIR)/.jupyter" \
	  $(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
	  $$(test "$$(id -u)" != 0 || echo --allow-root) $(LAB_ARGS)

# The browser tests (tests/test_browser.py) use the distribution's Chromium, never a
# browser downloaded by a test tool. Needs root (or sudo) the first time.
chromium:  ## install chromium + chromium-driver with apt-get if /usr/bin/chromium is missing
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; fi

screenshots: $(STAMP)  ## PNG of every page of _build/html at 1280 and 390 px: _build/screenshots
	$(BIN)/python tests/screenshots.py

java:  ## install openjdk-17-jre-headless with apt-get if no java is found (Spark, spark-als)
	@if command -v java >/dev/null; then java -version 2>&1 | head -1; \
	else SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless; fi

lint: $(STAMP)  ## ruff check only
	$(BIN)/ruff check .

format: $(STAMP)  ## rewrite code with ruff (fix + format), chapters' code cells too
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/python tests/chapter_ruff.py format

# Default options first, then mf and ranking again with the options of make tune
# (benchmarks/tuned/), side by side in benchmarks/results/*-tuned.*.
bench: $(STAMP)  ## run the benchmarks (reclearn bench ...), update README.md
	status=0; for benchmark in mf ranking cold-start scale; do \
	  $(BOOK_ENV) $(BIN)/reclearn bench $$benchmark || status=1; done; \
	for benchmark in mf ranking; do \
	  $(BOOK_ENV) $(BIN)/reclearn bench $$benchmark --tuned || status=1; done; exit $$status

# Every model gets the same budget on validation data (reclearn tune --help): TUNE_TRIALS
# trials, or TUNE_TIMEOUT seconds per study when that comes first (slow neural and SVD++
# studies); deep models once per backend. E.g. make tune TUNE_TRIALS=10 TUNE_MODELS=ease.
TUNE_TRIALS ?= 20
TUNE_TIMEOUT ?= 600
TUNE_DATASET ?= ml-latest-small
TUNE_MODELS ?= surprise-svd surprise-svdpp surprise-knnbaseline itemknn ease als \
	markov sequence-knn content-tfidf
TUNE_DEEP ?= mf neuralcf bpr-mf gmf mlp neumf gru4rec sasrec content-cnn content-bag hybrid
TUNE_BACKENDS ?= torch tf
TUNE := $(BOOK_ENV) $(BIN)/reclearn tune --dataset $(TUNE_DATASET) --trials $(TUNE_TRIALS) \
	--timeout $(TUNE_TIMEOUT)

tune: $(STAMP)  ## tune every model with TUNE_TRIALS trials: benchmarks/tuned/<dataset>/
	for model in $(TUNE_MODELS); do $(TUNE) $$model; done
	for model in $(TUNE_DEEP); do for backend in $(TUNE_BACKENDS); do \
	  $(TUNE) $$model --backend $$backend; done; done

# Classroom (see chapters/teaching.md): Otter Grader, offline, no Docker.
SUBMISSIONS ?=
JOBS ?= 1

assignments: $(STAMP)  ## build autograder zips and student notebooks in _build/assignments
	$(BIN)/python assignments/classroom.py assign

student: $(STAMP)  ## student kit in _build/student: book without solutions, notebooks, package, how-to
	$(BOOK_ENV) $(BIN)/python assignments/classroom.py student

grade: $(STAMP)  ## grade SUBMISSIONS=dir (JOBS=2 for two at once); writes dir/grades.csv and reports
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir [JOBS=2]" >&2; exit 2; }
	$(BOOK_ENV) $(BIN)/python assignments/classroom.py grade "$(SUBMISSIONS)" --jobs $(JOBS)

# 40 planted submissions (references, correct variants, mistakes, gaming, hangs), graded
# DEMO_JOBS at once; the wall time goes to the record the teacher's guide shows.
DEMO_JOBS ?= 2

grade-demo: $(STAMP)  ## time grading 40 planted submissions: assignments/grading-time.csv
	$(BOOK_ENV) $(BIN)/python assignments/classroom.py demo _build/grade-demo \
	  --count 40 --jobs $(DEMO_JOBS)

clean:  ## remove build outputs and caches (keeps .venv)
	rm -rf _build .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
	find . -path ./$(VENV) -prune -o -name '*.egg-info' -type d -print0 | xargs -0 rm -rf

distclean: clean  ## also remove .venv
	rm -rf $(VENV)

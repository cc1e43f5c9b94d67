# One-command entry points (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)
# Snakemake applies the workflow profile profiles/default (-> workflow/profiles/default) by itself.
SNAKEMAKE := $(BIN)/snakemake

.PHONY: setup study dry-run report test test-slow lint benchmarks clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,hardware]'
	touch $@

setup: $(VENV)/.installed

study: $(VENV)/.installed
	$(SNAKEMAKE) --cores $(CORES)
	$(SNAKEMAKE) --report results/report.html

dry-run: $(VENV)/.installed
	$(SNAKEMAKE) --cores $(CORES) --dry-run

report: $(VENV)/.installed
	$(SNAKEMAKE) --report results/report.html

test: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow" --durations=15

test-slow: $(VENV)/.installed
	$(BIN)/python -m pytest -m slow --durations=15

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow

clean:
	rm -rf .snakemake results/targets results/models results/eval results/tables results/figures results/report.html logs benchmarks/workflow

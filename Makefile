# One-command entry points (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup study report test test-slow lint benchmarks clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,hardware]'
	touch $@

setup: $(VENV)/.installed

study: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/report.html

report: $(VENV)/.installed
	$(BIN)/snakemake --report results/report.html

test: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow"

test-slow: $(VENV)/.installed
	$(BIN)/python -m pytest -m slow

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow

clean:
	rm -rf .snakemake results/targets results/models results/eval results/tables results/figures results/report.html logs benchmarks/workflow

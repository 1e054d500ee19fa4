# Two commands set everything up on a fresh machine with Python 3.11+:
#   make demo   -> creates .venv, installs custseg, segments built-in demo data into demo/
#   make test   -> creates .venv, installs custseg with its test tools, runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/custseg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(BIN)/custseg

demo: $(BIN)/custseg
	$(BIN)/custseg demo --out demo/

test: $(BIN)/custseg
	# Two test workers on two cores: one BLAS/OpenMP thread each avoids oversubscription.
	# loadgroup keeps the Spark tests on one worker (one SparkSession for the run).
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(BIN)/custseg
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: $(BIN)/custseg
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) demo build *.egg-info

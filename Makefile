# The two commands of the README: `make test` and `make benchmark`.
# Each creates .venv when missing and reinstalls when pyproject.toml is newer than the install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test benchmark lint speed clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

benchmark: $(STAMP)
	$(BIN)/python -m conformal benchmark --seeds 3 --out benchmarks/results/latest --overwrite

lint: $(STAMP)
	$(BIN)/ruff check conformal tests benchmarks
	$(BIN)/ruff format --check conformal tests benchmarks
	$(BIN)/mypy

speed: $(STAMP)
	$(BIN)/python benchmarks/speed_split.py
	$(BIN)/python benchmarks/speed_weighted.py
	$(BIN)/python benchmarks/speed_cross.py
	$(BIN)/python benchmarks/speed_classification.py
	$(BIN)/python benchmarks/speed_predictive.py
	$(BIN)/python benchmarks/speed_covariate_shift.py
	$(BIN)/python benchmarks/speed_weighted_cv.py
	$(BIN)/python benchmarks/speed_enbpi.py
	$(BIN)/python benchmarks/speed_batch.py
	$(BIN)/python benchmarks/speed_risk.py
	$(BIN)/python benchmarks/speed_quantile_forest.py
	$(BIN)/python benchmarks/speed_isotonic.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

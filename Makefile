# The README's two commands. Each sets itself up (idempotently) before it runs.
#   make demo   set up, then run the main job
#   make test   set up, then lint, type-check and run the whole test suite

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mixkit-installed
# every distribution in the repo, installed editable
DISTS  := $(sort $(dir $(wildcard packages/*/pyproject.toml integrations/*/pyproject.toml apps/*/pyproject.toml)))
PIP_INSTALL := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: setup system-deps demo evaluate papers docs test test-fast lint typecheck pytest bench clean

setup: $(STAMP) system-deps

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python constraints.txt requirements-dev.txt $(addsuffix pyproject.toml,$(DISTS))
	$(PIP_INSTALL) -r requirements-dev.txt $(addprefix -e ,$(DISTS))
	touch $(STAMP)

system-deps:
	@bash scripts/install_system_deps.sh

demo: setup
	$(VENV)/bin/mixkit-bench run --profile quick --out outputs/bench

# the standard profile: clean, label-noise and over-training settings, more seeds (< 1 h, 2 cores)
evaluate: setup
	$(VENV)/bin/mixkit-bench run --profile standard --out outputs/standard

papers: setup
	$(VENV)/bin/mixkit-bench papers --out outputs/papers

# the documentation site into site/ (mkdocs.yml; a warning is an error). NO_MKDOCS_2_WARNING
# silences mkdocs-material's notice about its successor.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	# strict, with the settings of pyproject.toml ([tool.mypy])
	$(VENV)/bin/mypy packages/core/src integrations/pyg/src integrations/audio/src \
		integrations/transformers/src integrations/lightning/src integrations/sklearn/src \
		apps/bench/src scripts

# Each distribution's tests run in a venv that holds only what it declares (its dependencies and
# its `test` dependency group: scripts/isolated_pytest.py); tests/ spans packages and runs in the
# development venv.
pytest: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup tests
	for dist in $(DISTS); do $(PY) scripts/isolated_pytest.py $$dist -n 2 --dist loadgroup || exit 1; done

# the edit loop: no examples, trainings, multi-process or packaging tests (< 2 minutes)
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow" -q

test: setup lint typecheck pytest

bench: $(STAMP)
	cd benchmarks && for script in bench_*.py; do ../$(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .venv-isolated .pytest_cache .mypy_cache .ruff_cache .hypothesis

# All set-up lives here: a fresh machine needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-slow lint bench bench-compare clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/matching demo

test: install
	$(PY) -m pytest -m "not slow" -q

test-slow: install
	$(PY) -m pytest -m slow -q || [ $$? -eq 5 ]  # 5: no slow test selected

lint: install
	$(VENV)/bin/ruff check matching tests benchmarks

bench: install
	$(PY) benchmarks/normalize.py
	$(PY) benchmarks/realtime.py

# Side by side with Splink, recordlinkage and custmatch (the `bench` extra); writes benchmarks/RESULTS.md.
bench-compare: install
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m pip install --quiet 'pandas>=3'  # recordlinkage declares pandas<3 but runs on 3; our numbers are on 3
	$(PY) benchmarks/compare.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# fieldcheck: every target creates the virtual environment it needs on its own.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= device,host,test
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: demo test lint bench lock clean help

help:
	@echo "make demo   - bench demo: simulated GPS on a pty -> device daemon (embedded defaults)"
	@echo "make test   - lint, types, import contracts and the whole test suite"
	@echo "make bench  - benchmarks, printed as a table with ratios against the issue baselines"
	@echo "make lock   - re-resolve and pin requirements/constraints.txt"

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e ".[$(EXTRAS)]"
	touch $@

demo: $(STAMP)
	$(PY) -m host_tools.bench.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict firmware/core firmware/services
	$(VENV)/bin/lint-imports

test: lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) -m host_tools.bench.benchmarks

# Re-resolve every extra in a scratch venv and pin the result (run after changing pyproject.toml).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet ".[device,host,test]"
	.venv-lock/bin/pip freeze --exclude fieldcheck | sort > requirements/constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

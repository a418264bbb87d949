# fieldcheck: every target creates the virtual environment it needs on its own.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= device,host,test
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: demo test lint bench lock clean help models bench-models locale browser aarch64-tools aarch64-proof

help:
	@echo "make demo   - bench demo: simulated GPS on a pty -> device daemon (embedded defaults)"
	@echo "make test   - lint, types, import contracts and the whole test suite"
	@echo "make bench  - benchmarks, printed as a table with ratios against the issue baselines"
	@echo "make lock   - re-resolve and pin requirements/constraints.txt"
	@echo "make locale - extract the wearer's message ids, update and compile the catalogues"
	@echo "make models - rebuild models/ (detector, int8 embedder, manifest) in .venv-build"
	@echo "make bench-models - float32 embedder twin in .cache/models/ for face bench (not shipped)"
	@echo "make aarch64-proof - the bundle installed into an arm64 root, faces verified under qemu"

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
	$(VENV)/bin/mypy --strict fieldcheck_protocol firmware/core firmware/services
	$(VENV)/bin/lint-imports
	$(PY) hardware/typecheck_mcu.py

test: lint browser aarch64-tools
	$(VENV)/bin/pytest

# The operator pages' browser tests drive Debian's chromium through Playwright (which never
# downloads a browser here). Installed from Debian where this runs as root; else they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: no chromium, so the browser tests skip (apt-get install chromium)"; fi; }

# The aarch64 proof (tests/host_tools/aarch64, `make aarch64-proof`) builds an arm64 root with
# debootstrap and runs it under qemu-user-static: installed from Debian where this runs as root.
aarch64-tools:
	@command -v debootstrap >/dev/null 2>&1 && command -v qemu-aarch64-static >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing debootstrap and qemu-user-static for the aarch64 proof"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap qemu-user-static >/dev/null; \
	  else echo "note: no debootstrap/qemu-user-static, so the aarch64 proof skips"; fi; }

# The bundle built for aarch64, installed into a cached arm64 bookworm root by the unit's own
# installer, and a face verified on an emulated Cortex-A53 (cold ~3.5 min, warm ~2 min).
aarch64-proof: $(STAMP) aarch64-tools
	$(VENV)/bin/python -m host_tools.aarch64

# The wearer's texts: ids from firmware/ into the template, merged into each language, compiled.
# The .mo files are checked in (a few KB each) so a unit needs no Babel and no build step.
locale: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ --no-default-keywords --add-comments=TRANSLATORS: \
		--no-location --sort-output --project fieldcheck --copyright-holder fieldcheck \
		-o firmware/locale/fieldcheck.pot firmware
	$(VENV)/bin/pybabel update -D fieldcheck -i firmware/locale/fieldcheck.pot -d firmware/locale \
		--width 100 --ignore-pot-creation-date -N
	$(VENV)/bin/pybabel compile -D fieldcheck -d firmware/locale --statistics

bench: $(STAMP)
	$(PY) -m host_tools.bench.benchmarks

# Re-resolve every extra in a scratch venv and pin the result (run after changing pyproject.toml).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet ".[device,host,test]"
	.venv-lock/bin/pip freeze --exclude fieldcheck | sort > requirements/constraints.txt
	rm -rf .venv-lock

# Rebuild models/ in a separate venv: TensorFlow is build-only and never enters .venv or a device.
BUILD_VENV ?= .venv-build
models:
	test -x $(BUILD_VENV)/bin/python || $(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BUILD_VENV)/bin/python -m pip install --quiet -c models/build-constraints.txt -e ".[build]"
	$(BUILD_VENV)/bin/python -m models.fetch_detector
	$(BUILD_VENV)/bin/python -m models.fetch_landmarks
	TF_CPP_MIN_LOG_LEVEL=2 $(BUILD_VENV)/bin/python -m models.build_embedder
	$(MAKE) $(STAMP)
	$(PY) -m models.build_known_answer  # the self-test's known answer, with the device runtime

# Float32 twin of the embedder, only for `fieldcheck-device face bench` (int8 vs float): written to
# the build cache, never to models/ or a device. `make models` writes it too.
FLOAT_EMBEDDER := .cache/models/face_embedder_float32.tflite
bench-models: $(FLOAT_EMBEDDER)
$(FLOAT_EMBEDDER): models/build_float.py models/tf_network.py models/resnet.py models/dlib_reader.py
	test -x $(BUILD_VENV)/bin/python || $(PYTHON) -m venv $(BUILD_VENV)
	@$(BUILD_VENV)/bin/python -c "import tensorflow, dlib, ai_edge_litert" 2>/dev/null || { \
	  echo "installing TensorFlow into $(BUILD_VENV): minutes the first time"; \
	  $(BUILD_VENV)/bin/python -m pip install -c models/build-constraints.txt -e ".[build]"; }
	TF_CPP_MIN_LOG_LEVEL=2 $(BUILD_VENV)/bin/python -m models.build_float

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

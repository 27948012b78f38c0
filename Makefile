# Two commands for a new machine (see README): `make demo` runs the main job, `make test` the tests.
PYTHON ?= python3
PIP = $(PYTHON) -m pip
TOOLKIT = $(PYTHON) -m toolkit

.PHONY: install install-dev demo test test-slow benchmark lint

install:
	$(PIP) install -q -e .

# torch: take an installed one if present; otherwise 2.13.0 (on this project's machines a local CPU build).
install-dev:
	$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e '.[dev,transformer,tune,spark,serve]'
	@# tests/tracking/test_serving_ui.py drives the MLflow UI in Debian's headless Chromium; without it that test skips
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
		|| echo "chromium could not be installed: the MLflow UI test will be skipped"; fi

demo: install
	$(TOOLKIT) prepare --config configs/topic_tfidf.yaml
	$(TOOLKIT) train --config configs/topic_tfidf.yaml
	$(TOOLKIT) train --config configs/stance_tfidf.yaml
	$(TOOLKIT) evaluate --data data/processed/sample-topic
	$(TOOLKIT) evaluate --data data/processed/sample-stance
	$(TOOLKIT) predict data/examples/*.txt
	@echo
	@echo "Every run is in the local MLflow store (mlruns.db + mlruns/). Look at them with:"
	@echo "  mlflow ui --backend-store-uri sqlite:///mlruns.db    # then open http://127.0.0.1:5000"

# Everything but the benchmarks and GPU tests (CI, < 8 min on 2 cores). Plain `pytest` is the quick inner
# loop: pyproject's addopts leave out the slow tests too.
test: install-dev
	$(PYTHON) -m pytest -m "not benchmark and not gpu"

test-slow: install-dev
	$(PYTHON) -m pytest -m "slow and not benchmark and not gpu"

lint:
	$(PYTHON) -m ruff check toolkit tests experiments

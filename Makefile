# Set-up and entry points. `make test` and `make run` set up everything they need first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# make run's trials, and its sitting: no trial starts after SEARCH_TIMEOUT seconds (2 h 50 min; the
# longest trial measured took 529 s), so one `make run` takes at most about 3 hours here and the
# next continues the study. 50 trials with the first rung at epoch 7 took 2 h 24 min in two sittings
# (2026-12-04, alone; docs/results.md#the-search-sitting-by-sitting); at epoch 5 they took 3 h 32 min
# on 2026-12-03, a day the machine ran about 1.7x slower.
TRIALS ?= 50
SEARCH_TIMEOUT ?= 10200
DEBIAN_FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
CHROMIUM ?= /usr/bin/chromium

.PHONY: setup data postgres slurm lint test test-fast test-deps smoke run headline headline-gpu bench results

setup: $(VENV)/.installed data

# torch and torchvision pinned exactly: these two install from the machine's disk.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet torch==2.14.1 torchvision==0.29.1
	$(PIP) install --quiet -e ".[test,postgres]"
	touch $@

# Debian's package where apt exists and no copy of the data is found.
data:
	@if [ -n "$$FMNIST_DIR" ] || [ -d data/FashionMNIST/raw ] || [ -f $(DEBIAN_FMNIST) ]; then \
		echo "Fashion-MNIST: found"; \
	elif command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	else \
		echo "Fashion-MNIST not found and no apt-get: run with --download on a machine with internet"; \
	fi

# The browser tests drive Debian's chromium through chromium-driver; without them they are skipped.
test-deps:
	@if [ -x $(CHROMIUM) ] && command -v chromedriver >/dev/null; then \
		:; \
	elif ! command -v apt-get >/dev/null; then \
		echo "Chromium not found and no apt-get: the browser tests will be skipped"; \
	else \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
		echo "installing Debian's chromium and chromium-driver for the browser tests"; \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver >/dev/null; } || echo "could not install Chromium: the browser tests will be skipped"; \
	fi

# PostgreSQL for the storage tests, as root where apt-get exists: installs Debian's postgresql if
# missing, starts its cluster (listening on 127.0.0.1) with max_connections 200 (the load test's
# 64 workers hold about 2 each) and creates the user optuna (password optuna) and the database
# optuna_test.  Idempotent.  Elsewhere, or with SNN_TEST_POSTGRES_URL set, it does
# nothing and the tests that need PostgreSQL say why they skip.
postgres:
	@if [ -z "$$SNN_TEST_POSTGRES_URL" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then ( \
		cd /tmp && \
		{ ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
			echo "PostgreSQL: installing Debian's postgresql" && apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; } && \
		v=$$(ls /usr/lib/postgresql | sort -V | tail -n 1) && \
		{ [ -f /etc/postgresql/$$v/main/postgresql.conf ] || pg_createcluster $$v main >/dev/null; } && \
		{ pg_ctlcluster $$v main status >/dev/null 2>&1 || pg_ctlcluster $$v main start; } && \
		{ [ "$$(su postgres -c "psql -tAc 'SHOW max_connections'")" -ge 200 ] || { \
			su postgres -c "psql -qc 'ALTER SYSTEM SET max_connections = 200'" && pg_ctlcluster $$v main restart; }; } && \
		{ su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'optuna'\"" | grep -q 1 || \
			su postgres -c "psql -qc \"CREATE USER optuna WITH PASSWORD 'optuna'\""; } && \
		{ su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'optuna_test'\"" | grep -q 1 || \
			su postgres -c "createdb -O optuna optuna_test"; } && \
		echo "PostgreSQL $$v: running on 127.0.0.1:5432, database optuna_test" \
	) || echo "PostgreSQL: set-up failed; the tests that need it will skip"; fi

# SLURM for the cluster tests, as root where apt-get exists: Debian's slurm-wlm and munge, installed if
# missing. The tests start their own one-node cluster (tests/cluster/test_slurm.py); elsewhere they skip
# and say why.
slurm:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v slurmctld >/dev/null; then \
		echo "SLURM: installing Debian's slurm-wlm and munge for the cluster tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; } \
			|| echo "SLURM: set-up failed; the cluster tests will skip"; \
	fi

# lint-imports checks the layers of pyproject.toml ([tool.importlinter]; docs/architecture.md);
# ruff the style and mypy the types of search/ and models/, all configured in pyproject.toml.
lint: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# What CI runs (.ci/run): the linters, then the whole suite.
test: setup test-deps postgres slurm lint
	$(PY) -m pytest

# The edit-run loop: the tests not marked slow (no command run end to end, no browser, no workers).
test-fast: setup
	$(PY) -m pytest -m "not slow" -q

# The smoke test of README: search, retrain and report end to end at the smallest budget that
# still trains, on a scratch storage: studies/smoke.db, study 'smoke', results in studies/smoke/.
# The 7 thesis recipes and 3 searched trials of 1 epoch on 300 training images, validated on 200;
# the best retrained for 1 epoch on 300 images and tested once on all 10,000; the report.
# Every `make smoke` starts afresh: it deletes what the last one wrote first (and nothing else).
# 58 s here with little else running (2026-12-08); 212 s while other jobs kept both cores busy.
SMOKE := --storage sqlite:///studies/smoke.db --study smoke
SMOKE_TRIALS ?= 10
smoke: setup
	rm -rf studies/smoke.db studies/smoke
	$(PY) -m search.run $(SMOKE) --trials $(SMOKE_TRIALS) --epochs 1 --train-size 300 --val-size 200 --seed 0
	$(PY) -m search.final $(SMOKE) --epochs 1 --train-size 300
	$(PY) -m search.report $(SMOKE)

run: setup
	$(PY) -m search.run --trials $(TRIALS) --timeout $(SEARCH_TIMEOUT)

# docs/results.md's headline: the search (make run's, at SEARCH_EPOCHS epochs a trial, without its
# sitting limit: the retrain starts once the study holds all its trials), then its 3
# best searched configurations beside the thesis's seven recipes retrained on all 60,000 training
# images under a budget and seeds fixed before the test set is read, then 3 confirming seeds for the
# best searched configuration and the best thesis recipe by those test means (--confirm), then the
# HTML report. Every step resumes where a stop left it: run the same command again.
# REUSE=FOLDER reads the seeds an earlier retrain of the same networks recorded there instead of
# training them again (search.final --reuse; e.g. REUSE=docs/data/headline/final for the thesis
# recipes on a CPU; docs/retrain.md#reusing-earlier-retrains---reuse-folder).
STUDY ?= fmnist-snn
REUSE ?=
SEARCH_EPOCHS ?= 10
RETRAIN_EPOCHS ?= 30
RETRAIN_SEEDS ?= 3
CONFIRM_SEEDS ?= 3
SEARCH_WORKERS ?= 1
headline: setup
	$(PY) -m search.run --study $(STUDY) --trials $(TRIALS) --epochs $(SEARCH_EPOCHS) --workers $(SEARCH_WORKERS)
	$(PY) -m search.final --study $(STUDY) --thesis --top 3 --seeds $(RETRAIN_SEEDS) --epochs $(RETRAIN_EPOCHS) \
		--confirm $(CONFIRM_SEEDS) $(if $(REUSE),--reuse $(REUSE))
	$(PY) -m search.report --study $(STUDY)

# The same at a budget for a GPU: trials as long as the thesis's 30 epochs, so that what pays only
# over a long schedule (augmentation) can rank first, and 50-epoch retrains. About 220 million
# training images, more than a day on this project's 2-core machine. Four search workers share
# the GPU: on one H200 four trials ran at once as fast as one alone (docs/performance.md); the
# whole run's speed and accuracy are unmeasured (docs/results.md#on-a-gpu).
headline-gpu:
	$(MAKE) headline STUDY=fmnist-snn-gpu TRIALS=100 SEARCH_EPOCHS=30 RETRAIN_EPOCHS=50 SEARCH_WORKERS=4

bench: setup
	$(PY) -m search.bench

# docs/results.md: a study with the default space, then the top 3 searched configurations and the
# seven thesis recipes retrained under one protocol, and the HTML report with the forest plot.
# The defaults are the budget measured on a 2-core CPU; on a GPU use e.g.
#   make results RESULTS_EPOCHS=30 RESULTS_TRIALS=100 RESULTS_TRAIN_SIZE=50000 RESULTS_SEEDS=5
RESULTS_STUDY ?= results
RESULTS_TRIALS ?= 24
RESULTS_EPOCHS ?= 3
RESULTS_TRAIN_SIZE ?= 10000
RESULTS_SEEDS ?= 3
results: setup
	$(PY) -m search.run --study $(RESULTS_STUDY) --trials $(RESULTS_TRIALS) --epochs $(RESULTS_EPOCHS) \
		--train-size $(RESULTS_TRAIN_SIZE) --seed 0
	$(PY) -m search.final --study $(RESULTS_STUDY) --top 3 --thesis --seeds $(RESULTS_SEEDS)
	$(PY) -m search.report --study $(RESULTS_STUDY)

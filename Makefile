# Set-up and entry points. `make test` and `make run` set up everything they need first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TRIALS ?= 100
DEBIAN_FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
CHROMIUM ?= /usr/bin/chromium

.PHONY: setup data test test-deps run bench

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

test: setup test-deps
	$(PY) -m pytest

run: setup
	$(PY) -m search.run --trials $(TRIALS)

bench: setup
	$(PY) -m search.bench

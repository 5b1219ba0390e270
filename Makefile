# Set-up is idempotent: the venv is (re)built only when pyproject.toml or constraints.txt change.
PYTHON ?= python3
VENV := .venv
PIP := $(VENV)/bin/python -m pip
STAMP := $(VENV)/.eagle-installed

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test test-deps lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	@# 'import torchvision' beside the CPU torch wheel, in any program run with the venv (eagle/torchvision_hook.py)
	echo "import eagle.torchvision_hook as h; h.install()" > "$$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/eagle-torchvision.pth"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/eagle demo --output-dir eagle-demo

# The ssh-device tests start a real OpenSSH server on 127.0.0.1.
test-deps:
	@test -x /usr/sbin/sshd || command -v sshd >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openssh-server openssh-client >/dev/null; }

# Quality gates first (lint, format, types), then the whole test suite.
test: setup test-deps lint
	$(VENV)/bin/python -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) eagle-demo build src/*.egg-info

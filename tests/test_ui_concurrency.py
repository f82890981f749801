"""The real chat app under a hung LLM endpoint: other sessions' questions are still answered.

Driven through gradio_client against the launched app (the same /ask API the browser uses).
Out of scope: rendering (see test_ui) and the deadline logic itself (see test_backends_llama).
"""

from __future__ import annotations

import socket
import time

import pytest
from fakes import HungEndpoint

from assistant import ui
from assistant.api import Assistant
from assistant.config import LLMSettings, Settings

pytestmark = pytest.mark.slow

QUESTION = "How does Stable-SPAM stabilise 4-bit training?"


def wait_until(condition, what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def ask(url: str, question: str, backend: str):
    """One user's question, from a session of its own (its own client)."""
    from gradio_client import Client

    # inputs of /ask after the State ones: question, chat, listing, year, backend, model, k, strict
    return Client(url, verbose=False).submit(
        question, [], "All", "All", backend, "gpt-4o-mini", 1, False, api_name="/ask"
    )


def last_message(job) -> str:
    content = job.result()[1][-1]["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def test_extractive_question_is_answered_while_others_wait_on_a_hung_endpoint(seed_index_dir, embedder):
    hung = HungEndpoint()
    settings = Settings(
        llm=LLMSettings(
            backend="openai", base_url=hung.url, retries=0, max_concurrent=2, first_token_timeout=300.0, timeout=600.0
        )
    )
    demo = ui.launch(
        Assistant(index_dir=seed_index_dir, settings=settings, embedder=embedder),
        port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
    )
    try:
        waiting = [ask(demo.local_url, f"{QUESTION} ({i})", "openai") for i in range(5)]  # more than the old 4 slots
        wait_until(lambda: len(hung.accepted) == 2, "both LLM slots to be taken by the hung endpoint")
        answered = last_message(ask(demo.local_url, QUESTION, "extractive"))
        assert "extractive" in answered and 'class="cite"' in answered
        assert not any(job.done() for job in waiting)  # the hung ones are still waiting, not ahead in a queue
        hung.close()  # the endpoint goes away: every waiting question falls back
        for job in waiting:
            assert "openai backend failed" in last_message(job)
    finally:
        hung.close()
        demo.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

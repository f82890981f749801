"""`assistant serve` as its clients meet it: the openai client at /v1, plain HTTP at /api, MCP at /mcp, the UI at /.

A real server process (the CLI) on a free port over a copy of the seed index, with an API key; a second,
in-process server over a hung LLM endpoint for the concurrency test. Pure steps (the conversation, the key
check's paths, the stream's chunks) are tested table-driven.
Out of scope: the MCP tools' content (see test_mcp), the UI's rendering (see test_ui).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
from fakes import HungEndpoint, stop

from assistant.errors import AssistantError
from assistant.ports import free_port
from assistant.records import Answer, Citation, Hit, Sentence
from assistant.server import BearerKey, ChatMessage, check_api_access, conversation, stream_chunks

KEY = "test-key-123"


# ---- pure steps -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "messages, question, history",
    [
        ([("user", "What is DANCE?")], "What is DANCE?", []),
        (
            [("system", "be brief"), ("user", "What is DANCE?"), ("assistant", "A method [1]."), ("user", "Who?")],
            "Who?",
            [{"role": "user", "content": "What is DANCE?"}, {"role": "assistant", "content": "A method [1]."}],
        ),
    ],
)
def test_conversation__the_last_user_message_is_the_question(messages, question, history):
    assert conversation([ChatMessage(role=r, content=c) for r, c in messages]) == (question, history)


@pytest.mark.parametrize("messages", [[], [("user", "  ")], [("user", "q"), ("assistant", "a")], [("system", "x")]])
def test_conversation__without_a_user_question_is_refused(messages):
    with pytest.raises(AssistantError, match="last message"):
        conversation([ChatMessage(role=r, content=c) for r, c in messages])


def test_chat_message__text_parts_are_joined():
    parts = [
        {"type": "text", "text": "What is"},
        {"type": "image_url", "image_url": {}},
        {"type": "text", "text": "it?"},
    ]
    assert ChatMessage(role="user", content=parts).text() == "What is it?"


@pytest.mark.parametrize(
    "path, guarded",
    [
        ("/v1/models", True),
        ("/v1", True),
        ("/api/search", True),
        ("/mcp", True),
        ("/api/docs", False),
        ("/api/openapi.json", False),
        ("/", False),
        ("/gradio_api/info", False),
        ("/v10", False),
        ("/apiary", False),
    ],
)
def test_bearer_key__guards_the_api_paths_only(path, guarded):
    assert BearerKey(None, key="k")._guarded(path) is guarded


@pytest.mark.parametrize(
    "host, key, refused", [("127.0.0.1", None, False), ("0.0.0.0", None, True), ("0.0.0.0", "k", False)]
)
def test_check_api_access__beyond_loopback_needs_a_key(host, key, refused):
    if refused:
        with pytest.raises(AssistantError, match="--api-key"):
            check_api_access(host, key)
    else:
        check_api_access(host, key)


def test_stream_chunks__deltas_then_references_then_done():
    answer = Answer(
        question="q",
        text="DANCE co-optimizes data and network [1].",
        citations=[Citation(1, "p1", "DANCE", ["We propose DANCE."])],
        sources=[Hit("p1", "DANCE", "We propose DANCE.", 1.0, 1, metadata={"year": 2024})],
        sentences=[Sentence("DANCE co-optimizes data and network.", [1], "supported")],
        backend="extractive",
    )
    events = list(stream_chunks(iter(["DANCE co-optimizes", " data and network [1].", answer]), "id1", 0))
    assert events[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text.startswith("DANCE co-optimizes data and network [1].\n\n## References")
    assert "[1] (2024). *DANCE*." in text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["answer"]["references"][0]["paper_id"] == "p1"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_stream_chunks__an_error_ends_the_stream_with_an_error_event():
    def parts():
        yield "Some"
        raise AssistantError("the openai backend failed: connection refused")

    events = list(stream_chunks(parts(), "id1", 0))
    assert events[-1] == "data: [DONE]\n\n"
    assert json.loads(events[-2].removeprefix("data: "))["error"]["message"].startswith("the openai backend failed")


# ---- a real server ------------------------------------------------------------------------------
def wait_for(url: str, process: subprocess.Popen, log: Path, limit: float = 180.0) -> None:
    deadline = time.monotonic() + limit
    while True:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"server not answering after {limit:.0f} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def served(seed_index_dir, tmp_path_factory):
    """`assistant serve --api-key KEY` on a free port over a copy of the seed index; yields its base URL."""
    folder = tmp_path_factory.mktemp("serve")
    index = shutil.copytree(seed_index_dir, folder / "index")
    port, log = free_port(), folder / "serve.log"
    command = [sys.executable, "-m", "assistant.cli", "--index-dir", str(index), "serve", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen([*command, "--api-key", KEY], stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/api/docs", process, log)
        yield url
    finally:
        stop(process)


def headers(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.slow
def test_openai_client__gets_a_cited_answer(served):
    client = openai.OpenAI(base_url=f"{served}/v1", api_key=KEY, max_retries=0)
    assert [m.id for m in client.models.list()] == ["assistant"]
    reply = client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "What is DANCE?"}])
    content = reply.choices[0].message.content
    assert "DANCE" in content and "[1]" in content and "## References" in content
    answer = reply.model_extra["answer"]
    assert not answer["abstained"] and "DANCE" in answer["references"][0]["title"]
    assert {s["verdict"] for s in answer["sentences"]} <= {"supported", "unsupported", "uncited", "listing"}
    assert any(s["verdict"] == "supported" for s in answer["sentences"])


@pytest.mark.slow
def test_openai_client__streams_the_same_answer(served):
    client = openai.OpenAI(base_url=f"{served}/v1", api_key=KEY, max_retries=0)
    messages = [{"role": "user", "content": "What is DANCE?"}]
    plain = client.chat.completions.create(model="assistant", messages=messages).choices[0].message.content
    chunks = list(client.chat.completions.create(model="assistant", messages=messages, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3  # delivered in pieces, not in one block
    assert streamed.split("## References")[1] == plain.split("## References")[1]
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["answer"]["references"]


@pytest.mark.slow
def test_openai_client__a_wrong_key_is_an_authentication_error(served):
    for key in ("wrong", ""):
        client = openai.OpenAI(base_url=f"{served}/v1", api_key=key or "x", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "What is DANCE?"}])


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/v1/models", None),
        ("GET", "/api/search?q=backdoor", None),
        ("POST", "/api/ask", {"question": "What is DANCE?"}),
        ("GET", "/api/papers", None),
        ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    ],
)
def test_api_routes__need_the_key(served, method, path, body):
    for given in ({}, headers("wrong"), {"Authorization": KEY}):  # none, wrong, not a bearer
        response = httpx.request(method, served + path, json=body, headers=given, timeout=60)
        assert response.status_code == 401, (given, response.text)


@pytest.mark.slow
def test_rest_api__search_papers_paper_ask_check(served):
    get = lambda path, **params: httpx.get(served + path, params=params, headers=headers(), timeout=120)  # noqa: E731
    hits = get("/api/search", q="4-bit training stability", k=3).json()["hits"]
    assert len(hits) == 3 and "Stable-SPAM" in hits[0]["title"]
    listed = get("/api/papers", limit=5).json()
    assert listed["total"] == 218 and len(listed["papers"]) == 5
    assert get("/api/papers", query="Stable-SPAM", limit=0).json()["total"] == 1
    paper = get(f"/api/papers/{hits[0]['paper_id']}").json()
    assert paper["title"] == hits[0]["title"] and len(paper["abstract"]) > 300
    missing = get("/api/papers/p-none")
    assert missing.status_code == 404 and "no paper" in missing.json()["detail"]
    post = lambda path, body: httpx.post(served + path, json=body, headers=headers(), timeout=120)  # noqa: E731
    answer = post("/api/ask", {"question": "How does Stable-SPAM stabilise 4-bit training?", "k": 5}).json()
    assert not answer["abstained"] and any("Stable-SPAM" in r["title"] for r in answer["references"])
    filtered = post("/api/ask", {"question": "What is DANCE?", "filters": {"year": 1999}}).json()
    assert filtered["abstained"]
    check = post("/api/check", {"claim": "Stable-SPAM stabilizes gradient norms in 4-bit LLM training", "k": 3}).json()
    assert check["supported"] and check["papers"][0]["label"] == "supports"
    assert "Stable-SPAM" in check["papers"][0]["title"] and check["summary"].startswith("supported by 1")
    bad = post("/api/ask", {"question": " "})
    assert bad.status_code == 400 and "empty" in bad.json()["error"]["message"]
    refused = post("/api/ingest", {"path": "/etc/passwd"})
    assert refused.status_code == 403 and "--allow-ingest" in refused.json()["detail"]


@pytest.mark.slow
def test_ui_and_api_description_are_served_without_the_key(served):
    page = httpx.get(served + "/", timeout=60)
    assert page.status_code == 200 and "gradio" in page.text.lower()
    spec = httpx.get(served + "/api/openapi.json", timeout=60).json()
    assert {"/api/ask", "/api/search", "/v1/chat/completions"} <= set(spec["paths"])


@pytest.mark.slow
def test_serve__refuses_a_public_address_without_a_key(seed_index_dir):
    command = [sys.executable, "-m", "assistant.cli", "--index-dir", str(seed_index_dir), "serve", "--host", "0.0.0.0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--api-key" in done.stderr, done.stderr


# ---- many clients, one hung endpoint ------------------------------------------------------------
@pytest.mark.slow
def test_api__answers_while_an_llm_endpoint_hangs_and_under_20_concurrent_clients(seed_index_dir, embedder):
    import uvicorn

    from assistant.api import Assistant
    from assistant.config import LLMSettings, Settings
    from assistant.server import build_server
    from assistant.tools import Toolbox

    hung = HungEndpoint()
    settings = Settings(
        llm=LLMSettings(
            backend="openai", base_url=hung.url, retries=0, max_concurrent=2, first_token_timeout=300.0, timeout=600.0
        )
    )
    app = build_server(Toolbox(Assistant(index_dir=seed_index_dir, settings=settings, embedder=embedder)), ui=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}/api/ask"
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline, "in-process server did not start"
            time.sleep(0.1)
        results: dict[int, httpx.Response] = {}

        def ask(i: int, backend: str) -> None:
            body = {"question": f"How does Stable-SPAM stabilise 4-bit training? ({i})", "backend": backend}
            results[i] = httpx.post(url, json=body, timeout=600)

        waiting = [threading.Thread(target=ask, args=(i, "openai")) for i in range(5)]
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 120
        while len(hung.accepted) < 2:
            assert time.monotonic() < deadline, "the hung endpoint never took both LLM slots"
            time.sleep(0.1)
        clients = [threading.Thread(target=ask, args=(100 + i, "extractive")) for i in range(20)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=600)
        answered = [results[100 + i] for i in range(20)]
        assert [r.status_code for r in answered] == [200] * 20
        assert all(r.json()["backend"] == "extractive" and r.json()["references"] for r in answered)
        assert not any(i in results for i in range(5))  # the hung ones still wait, behind nobody
        hung.close()  # the endpoint goes away: every waiting question falls back to a cited extractive answer
        for thread in waiting:
            thread.join(timeout=600)
        assert all("openai backend failed" in " ".join(results[i].json()["notes"]) for i in range(5))
    finally:
        hung.close()
        server.should_exit = True


@pytest.mark.slow
def test_mcp_at_slash_mcp__answers_with_the_key(served):
    import asyncio

    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async def session():
        http = create_mcp_http_client(headers=headers())
        async with Client(streamable_http_client(f"{served}/mcp", http_client=http), read_timeout_seconds=300) as c:
            return {t.name for t in (await c.list_tools()).tools}, await c.call_tool(
                "ask", {"question": "What is DANCE?"}
            )

    tools, answer = asyncio.run(session())
    assert "ask" in tools and "ingest_file" not in tools
    assert not answer.is_error and "DANCE" in answer.structured_content["references"][0]["title"]

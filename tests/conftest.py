"""Shared fixtures: an isolated environment per test, one embedding model, one seed index, one Chroma server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import stop

from assistant.api import Assistant
from assistant.config import OFFLINE_ENVIRONMENT, Settings
from assistant.embeddings import make_embedder
from assistant.ports import free_port

DROPPED = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "CHROMA_PORT")
# OpenVINO's compiled-model cache writes 60 MB per folder: off in tests, where each test has its own cache folder
FIXED = {**OFFLINE_ENVIRONMENT, "ASSISTANT_PROGRESS": "false", "ASSISTANT_EMBEDDING__COMPILE_CACHE": "false"}


def isolate_environment(mp: pytest.MonkeyPatch, index_dir: Path) -> None:
    """No key, endpoint, Chroma server or ASSISTANT_* setting leaks in from the machine."""
    for name in list(os.environ):
        if name in DROPPED or name.startswith("ASSISTANT_"):
            mp.delenv(name)
    for name, value in FIXED.items():
        mp.setenv(name, value)
    mp.setenv("ASSISTANT_INDEX_DIR", str(index_dir))
    mp.setenv("ASSISTANT_CACHE_DIR", str(index_dir.parent / "cache"))


@pytest.fixture(scope="session", autouse=True)
def _session_environment(tmp_path_factory):
    # Session fixtures (the seed index, the server) are built before any per-test isolation runs.
    with pytest.MonkeyPatch.context() as mp:
        isolate_environment(mp, tmp_path_factory.mktemp("session-default-index"))
        yield


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    isolate_environment(monkeypatch, tmp_path / "index")


@pytest.fixture(scope="session")
def embedder():
    """The default embedder (the bundled int8 all-MiniLM-L6-v2 in OpenVINO), loaded once for the whole session."""
    model = make_embedder(Settings())
    assert model.dimension == 384  # loads the weights here, once
    return model


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory, embedder) -> Path:
    """An index of the bundled seed listings, built once; copy it (fresh_index_copy) before changing it."""
    path = tmp_path_factory.mktemp("seed") / "index"
    Assistant(index_dir=path, embedder=embedder)
    return path


@pytest.fixture(scope="session")
def seed_assistant(seed_index_dir, embedder) -> Assistant:
    """An Assistant over the seed index; read-only use."""
    return Assistant(index_dir=seed_index_dir, embedder=embedder)


@pytest.fixture
def fresh_index_copy(seed_index_dir, tmp_path) -> Path:
    """A private copy of the seed index for tests that change an index."""
    return Path(shutil.copytree(seed_index_dir, tmp_path / "seed-copy"))


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on a free local port; yields (host, port)."""
    import chromadb
    from chromadb.config import Settings as ChromaConfig

    executable = Path(sys.executable).parent / "chroma"
    assert executable.exists(), f"no chroma executable next to {sys.executable}"
    data, host, port = tmp_path_factory.mktemp("chroma-server"), "127.0.0.1", free_port()
    log_path = data / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(executable), "run", "--path", str(data / "db"), "--host", host, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline, last_error = time.monotonic() + 60, None
        while True:
            if server.poll() is not None:
                pytest.fail(f"chroma server exited with {server.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                chromadb.HttpClient(host=host, port=port, settings=ChromaConfig(anonymized_telemetry=False)).heartbeat()
                break
            except Exception as err:  # not up yet
                last_error = err
            if time.monotonic() > deadline:
                pytest.fail(
                    f"chroma server on {host}:{port} not answering after 60 s ({last_error!r}):\n"
                    f"{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.25)
        yield host, port
    finally:
        stop(server)

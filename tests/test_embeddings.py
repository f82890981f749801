"""The OpenAI-compatible embedder against a tiny local /v1/embeddings server: batches, order, concurrency."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embeddings import HashingEmbedder, OpenAIEmbedder, endpoint_urls, make_embedder
from assistant.errors import EmbeddingError


class EmbeddingServer(ThreadingHTTPServer):
    """Answers /v1/embeddings with one-hot-ish vectors derived from each input's number; counts requests in flight."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), EmbeddingHandler)
        self.lock, self.in_flight, self.most_in_flight, self.batches, self.fail = threading.Lock(), 0, 0, [], False
        self.kinds: list[str | None] = []  # the input_type of each request

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class EmbeddingHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with server.lock:
            server.in_flight += 1
            server.most_in_flight = max(server.most_in_flight, server.in_flight)
            server.batches.append(len(body["input"]))
            server.kinds.append(body.get("input_type"))
        time.sleep(0.05)  # long enough for concurrent batches to overlap
        with server.lock:
            server.in_flight -= 1
        if server.fail:
            self.send_response(400)
            payload = {"error": {"message": "bad input", "type": "invalid_request_error"}}
        else:
            self.send_response(200)
            data = [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": [float(len(text) if not text[-1].isdigit() else int(text.split()[-1])), 1.0],
                }
                for i, text in enumerate(body["input"])
            ]
            payload = {
                "object": "list",
                "data": list(reversed(data)),
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        raw = json.dumps(payload).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server():
    srv = EmbeddingServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("concurrency, most", [(1, 1), (4, 4)], ids=["one-at-a-time", "four-in-flight"])
def test_openai_embedder__sends_batches_concurrently_and_keeps_input_order(server, concurrency, most):
    embedder = OpenAIEmbedder("test-model", server.url, batch_size=8, concurrency=concurrency)
    texts = [f"text {i}" for i in range(64)]
    vectors = embedder.embed(texts)
    expected = np.array([[i, 1.0] for i in range(64)], dtype=np.float32)
    assert np.allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True))
    assert sorted(server.batches) == [8] * 8 and server.most_in_flight == most


def test_openai_embedder__endpoint_error_is_an_embedding_error(server):
    server.fail = True
    with pytest.raises(EmbeddingError, match="embeddings endpoint failed: BadRequestError"):
        OpenAIEmbedder("test-model", server.url, batch_size=8, concurrency=2).embed([f"t {i}" for i in range(20)])


def test_make_embedder__openai_provider_takes_concurrency_from_settings(server):
    settings = Settings(embedding={"provider": "openai", "model": "m", "base_url": server.url, "concurrency": 3})
    embedder = make_embedder(settings)
    assert (embedder.concurrency, embedder.dimension) == (3, 2)


@pytest.mark.parametrize(
    "texts, same",
    [
        (["alpha beta", "beta alpha"], True),
        (["alpha beta", "gamma delta"], False),
    ],
    ids=["same-words-same-vector", "other-words-other-vector"],
)
def test_hashing_embedder__vectors_follow_the_words(texts, same):
    a, b = HashingEmbedder(dimension=64).embed(texts)
    assert np.isclose(np.linalg.norm(a), 1.0) and np.allclose(a, b) is same


@pytest.mark.parametrize(
    "given, urls",
    [
        (None, []),
        ("http://a:1/v1", ["http://a:1/v1"]),
        ("http://a:1/v1, http://b:2/v1,", ["http://a:1/v1", "http://b:2/v1"]),
        (["http://a:1/v1", " "], ["http://a:1/v1"]),
    ],
)
def test_endpoint_urls__one_or_several(given, urls):
    assert endpoint_urls(given) == urls


def test_openai_embedder__shares_batches_between_endpoints_in_input_order():
    servers = [EmbeddingServer(), EmbeddingServer()]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        embedder = OpenAIEmbedder("m", ",".join(s.url for s in servers), batch_size=8, concurrency=2)
        seen: list[int] = []
        vectors = embedder.embed([f"text {i}" for i in range(64)], progress=seen.append)
        expected = np.array([[i, 1.0] for i in range(64)], dtype=np.float32)
        assert np.allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True))
        assert [len(s.batches) for s in servers] == [4, 4] and embedder.batches_sent == [4, 4]
        assert seen == sorted(seen) and seen[-1] == 64 and len(seen) == 8
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()


@pytest.mark.parametrize("input_types, kinds", [(False, [None, None]), (True, ["passage", "query"])])
def test_openai_embedder__says_passage_or_query_only_when_asked(server, input_types, kinds):
    embedder = OpenAIEmbedder("m", server.url, input_types=input_types)
    embedder.embed(["text 1"])
    embedder.embed_query("text 2")
    assert server.kinds == kinds

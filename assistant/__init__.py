"""assistant: cited question answering over collections of research-paper abstracts."""

from .config import Settings, use_offline_environment

use_offline_environment()  # before chromadb, transformers or gradio are imported by the modules below

from .api import Assistant  # noqa: E402
from .errors import AssistantError, BackendError, CorpusError, IndexMismatchError  # noqa: E402
from .records import Answer, Citation, Hit, IngestSummary, Paper, Sentence  # noqa: E402
from .retrieve import Filters  # noqa: E402

__all__ = [
    "Assistant",
    "AssistantError",
    "Answer",
    "BackendError",
    "Citation",
    "CorpusError",
    "Filters",
    "Hit",
    "IndexMismatchError",
    "IngestSummary",
    "Paper",
    "Sentence",
    "Settings",
]

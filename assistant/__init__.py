"""assistant: cited question answering over collections of research-paper abstracts."""

from .api import Assistant
from .config import Settings
from .errors import AssistantError, BackendError, CorpusError, IndexMismatchError
from .records import Answer, Citation, Hit, IngestSummary, Paper, Sentence
from .retrieve import Filters

__all__ = ["Assistant", "AssistantError", "Answer", "BackendError", "Citation", "CorpusError", "Filters", "Hit", "IndexMismatchError", "IngestSummary", "Paper", "Sentence", "Settings"]

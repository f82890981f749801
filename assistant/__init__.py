"""assistant: cited question answering over collections of research-paper abstracts."""

from .api import Assistant
from .config import Settings
from .formats import CorpusError
from .index import IndexMismatchError
from .records import Hit, IngestSummary, Paper
from .retrieve import Filters

__all__ = ["Assistant", "CorpusError", "Filters", "Hit", "IndexMismatchError", "IngestSummary", "Paper", "Settings"]

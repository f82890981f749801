"""The errors a user can cause or meet, each with a message meant to be shown as it is.

Out of scope: internal bugs, which stay ordinary exceptions with tracebacks.
"""

from __future__ import annotations

from pathlib import Path


class AssistantError(Exception):
    """Base of every error shown to users as one clear line."""


class CorpusError(AssistantError, ValueError):
    """A file that cannot be read as papers; the message names the file and line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        where = f"{Path(path).name}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line


class IndexMismatchError(AssistantError):
    """The index on disk was built with other settings than the ones in use."""


class EmbeddingError(AssistantError):
    """The embedding model could not be loaded or reached."""


class BackendError(AssistantError):
    """The answering backend failed (unreachable, timed out, refused, or a broken stream)."""


USER_ERRORS = (AssistantError, ValueError, FileNotFoundError)

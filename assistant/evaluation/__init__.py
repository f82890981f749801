"""Evaluation of the answering chain: `run` answers a question set and scores it, `judges` decide support,
`metrics` computes the figures, `report` writes and reads report files, `cli` is `assistant eval`.

Out of scope: answering (see `assistant.answer`); nothing here is imported by the core package.
"""

from .judges import LLMJudge, OfflineJudge, calibrate, make_judge
from .report import Report
from .run import run

__all__ = ["LLMJudge", "OfflineJudge", "Report", "calibrate", "make_judge", "run"]

"""What an evaluation run reads and writes, checked before the first question is answered.

The fixed question set and the claim set ship inside the package (`assistant/data/eval/`, whose
source in the repository is `eval/`), so `assistant eval` runs from any folder. Every input (question
set, claim set, judge endpoint, output folder) is checked up front; a problem raises `EvalInputError`
with a sentence naming what is missing and how to give it. Out of scope: answering and scoring (see `run`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..config import PACKAGE_DIR
from ..errors import AssistantError

BUNDLED_EVAL = PACKAGE_DIR / "data" / "eval"
BUNDLED_QUESTIONS = BUNDLED_EVAL / "questions.jsonl"
BUNDLED_CLAIMS = BUNDLED_EVAL / "claims.jsonl"
QUESTION_KEYS = {"id", "type", "question"}
CLAIM_KEYS = {"claim", "paper_id", "label", "split"}


class EvalInputError(AssistantError):
    """An input of an evaluation run is missing or unreadable; the message says which and how to give it."""


@dataclass
class EvalInputs:
    """The checked inputs of one run: the questions themselves, the claim set's path, the output folder."""

    questions_path: Path
    questions: list[dict]
    claims_path: Path | None
    out_dir: Path | None


def describe_sets() -> str:
    """The sets `assistant eval` can run and where each comes from (for --help)."""
    return (
        f"Sets:\n"
        f"  question set  {_count(BUNDLED_QUESTIONS)} questions about the bundled corpus, shipped with the package\n"
        f"                ({BUNDLED_QUESTIONS}); another with --questions FILE (JSON Lines: id, type, question, ...)\n"
        f"  claim set     {_count(BUNDLED_CLAIMS)} labelled (claim, paper) pairs the judge is calibrated on, shipped\n"
        f"                with the package ({BUNDLED_CLAIMS}); another with --claims FILE, none with --no-claims\n"
        f"  PubMedQA      `assistant eval pubmedqa`: answerability on PubMedQA's questions (each asked with its paper\n"
        f"                indexed and taken out), read from --datasets DIR (default: ../shared/datasets), never copied\n"
        f"Results go to --out DIR (default: ./eval-results/<backend>); an interrupted run resumes from there."
    )


def _count(path: Path) -> str:
    try:
        return str(sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()))
    except OSError:
        return "no"


def read_jsonl(path: Path, what: str, option: str, keys: set[str]) -> list[dict]:
    """The records of a JSON Lines set, or EvalInputError naming the file, the line and the option to give."""
    if not path.is_file():
        raise EvalInputError(f"the {what} {path} does not exist; give an existing file with {option}")
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 may sit inside a string
    except (OSError, UnicodeDecodeError) as err:
        raise EvalInputError(
            f"the {what} {path} cannot be read ({type(err).__name__}); give a UTF-8 JSON Lines file with {option}"
        ) from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise EvalInputError(
                f"{path.name}, line {number}: not a JSON object; the {what} is JSON Lines, one object per line"
            ) from None
        missing = keys - set(row) if isinstance(row, dict) else keys
        if missing:
            raise EvalInputError(
                f"{path.name}, line {number}: the {what} needs {', '.join(sorted(missing))} on every line"
            )
        rows.append(row)
    if not rows:
        raise EvalInputError(f"the {what} {path} is empty; give one with {option}")
    return rows


def writable_folder(out_dir: Path) -> Path:
    """`out_dir`, created if needed, once it is known to be writable; EvalInputError otherwise."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise EvalInputError(
            f"cannot create the results folder {out_dir} ({err.strerror}); give another with --out DIR"
        ) from None
    if not out_dir.is_dir() or not os.access(out_dir, os.W_OK):
        raise EvalInputError(f"cannot write to the results folder {out_dir}; give another with --out DIR")
    return out_dir


def check_inputs(
    questions_path: Path | str, claims_path: Path | str | None, out_dir: Path | str | None, limit: int | None = None
) -> EvalInputs:
    """Read and check every input of a run before any question is answered."""
    questions_path = Path(questions_path)
    questions = read_jsonl(questions_path, "question set", "--questions FILE", QUESTION_KEYS)
    ids = [q["id"] for q in questions]
    if len(set(ids)) < len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise EvalInputError(f"{questions_path.name}: the id {twice!r} is given to two questions; each needs its own")
    if claims_path is not None:
        read_jsonl(Path(claims_path), "claim set", "--claims FILE (or --no-claims)", CLAIM_KEYS)
    folder = writable_folder(Path(out_dir)) if out_dir is not None else None
    return EvalInputs(
        questions_path,
        questions[:limit] if limit else questions,
        Path(claims_path) if claims_path is not None else None,
        folder,
    )


def check_endpoint(judge) -> None:
    """For an LLM judge: its endpoint answers a models listing within seconds, else EvalInputError."""
    client = getattr(getattr(judge, "backend", None), "client", None)
    if client is None:
        return
    try:
        client.with_options(timeout=10.0, max_retries=0).models.list()
    except Exception as err:  # any failure to reach the endpoint: connection, auth, timeout
        raise EvalInputError(
            f"the LLM judge's endpoint {getattr(client, 'base_url', '')} does not answer "
            f"({type(err).__name__}); start it, or give another with --judge-base-url URL, "
            f"or use --judge offline"
        ) from None

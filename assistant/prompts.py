"""Prompt files, loaded by name and filled with named placeholders.

The files live in the repository's top-level `prompts/` folder; `assistant/prompt_files` links to it,
so they ship inside the installed package as package data and are read with `importlib.resources`:
an installed wheel finds them from any folder. A missing or unknown placeholder is an error, so a
prompt and the code filling it cannot drift apart silently. Out of scope: choosing what goes into
a prompt (see `answer`).
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

CANNOT_ANSWER = "I cannot answer this from the indexed papers."


class PromptError(KeyError):
    """A prompt file is missing, or was filled with missing or unknown variables."""


def folder():
    """The shipped prompt folder (a Traversable: a real folder, or a member of a zip)."""
    return resources.files("assistant") / "prompt_files"


@cache
def template(name: str) -> str:
    path = folder() / f"{name}.txt"
    if not path.is_file():
        raise PromptError(f"no prompt file {name}.txt shipped with assistant")
    return path.read_text(encoding="utf-8")


def variables(name: str) -> set[str]:
    """The placeholders a prompt file names. Example: variables("condense") == {"history", "question"}"""
    return {field for _, field, _, _ in string.Formatter().parse(template(name)) if field}


def render(name: str, **values) -> str:
    """Fill prompt `name`; every placeholder must be given, and nothing else."""
    wanted = variables(name)
    missing, unknown = wanted - set(values), set(values) - wanted
    if missing or unknown:
        raise PromptError(f"prompt {name!r}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return template(name).format(**values)


def example_sentences(name: str = "answer") -> set[str]:
    """The sentences of a prompt's worked example (its "Answer:" lines), simplified: an answer must never repeat one.

    Example: "the quillfeather glaze dried on fences in two hours instead of six" in example_sentences()
    """
    from .citations import parse_markers, split_sentences
    from .text import simplify

    lines = [line.removeprefix("Answer:") for line in template(name).splitlines() if line.startswith("Answer:")]
    return {simplify(parse_markers(s)[0]) for line in lines for s in split_sentences(line) if len(s.split()) > 3}


def available() -> list[str]:
    return sorted(p.name.removesuffix(".txt") for p in folder().iterdir() if p.name.endswith(".txt"))

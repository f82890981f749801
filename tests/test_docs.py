"""The front door and the manual: README size and set-up commands, links that resolve, commands that exist, a
configuration page generated from the code, and the MkDocs site built with no warning.

Out of scope: what the commands do (the other test files run them).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINK_RE = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
COMMAND_RE = re.compile(r"(?:^|[\s`/])assistant(?:\s+--[\w-]+(?:\s+(?!--)[^\s-][^\s]*)?)*\s+([a-z]+)(?:\s+([a-z]+))?")


def slug(heading: str) -> str:
    """The anchor MkDocs (and GitHub) give a heading. Example: slug("Answerability in any field") == "answerability-in-any-field" """
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return re.sub(r"\s+", "-", text)


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def subcommands(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    """Each command with its own subcommands (eval: compare, table, …; models: list, pull)."""
    found: dict[str, set[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                nested = subcommands(child)
                found[name] = set().union(*nested.values(), nested) if nested else set()
    return found


def test_readme__a_front_door():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "make chat" in text and "make test" in text and "](docs/chat.png)" in text
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_relative_links_resolve(path):
    for target in LINK_RE.findall(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.exists(), f"{path.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{path.name}: no heading #{anchor} in {resolved.name}"


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_every_command_named_exists(path):
    commands = subcommands(build_parser())
    for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
        for command, action in COMMAND_RE.findall(block):
            assert command in commands, f"{path.name}: `assistant {command}` is no command"
            if commands[command] and action and not action.startswith("-"):
                assert action in commands[command] or command == "eval", f"{path.name}: `assistant {command} {action}`"


def test_configuration_page_is_generated_from_the_code():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_reference.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "ASSISTANT_VERIFY__CLAIM_MODEL" in (DOCS / "configuration.md").read_text()


def test_manual_builds_with_no_warning(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr
    pages = {p.stem for p in PAGES}
    assert {
        "getting-started",
        "library",
        "asking",
        "connecting",
        "evaluation",
        "speed",
        "configuration",
        "security",
    } <= pages
    assert all((tmp_path / "site" / (p if p == "index" else f"{p}/index")).with_suffix(".html").exists() for p in pages)

"""Write the manual's configuration reference (docs/configuration.md) from the `Settings` fields' descriptions.

Usage: python scripts/settings_reference.py [--check]
`make docs` runs it before building the site; `--check` exits 1 when the committed page is stale
(tests/test_docs.py runs that), so the reference always says what the code reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402

from assistant.config import Settings  # noqa: E402

PAGE = ROOT / "docs" / "configuration.md"
INTRO = """# Configuration reference

One `Settings` object (`assistant/config.py`) holds every setting. Each can be set by an environment
variable, `ASSISTANT_` then the field's path with `__` between levels (`ASSISTANT_RETRIEVAL__K=8`,
`ASSISTANT_LLM__BACKEND=openai`), or in Python with `settings_with({"retrieval": {"k": 8}})`. The
OpenAI client's own `OPENAI_BASE_URL` and `OPENAI_API_KEY` are read too, and a Chroma server is chosen
with `CHROMA_HOST` / `CHROMA_PORT`. The index stores a manifest (embedding model, dimension, chunking,
corpus fingerprint); opening it with other embedding settings is refused with the command to rebuild
(`assistant ingest --rebuild FILES`).

This page is generated from the fields' descriptions by `scripts/settings_reference.py`.
"""


def cell(value) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, Path) and value.is_absolute() and value.is_relative_to(ROOT):
        # Package files are shown where the package has them, not where this clone happens to be.
        text = f"(package) {value.relative_to(ROOT).as_posix()}"
    return text.replace("|", "\\|").replace("\n", " ")


def rows(model: type[BaseModel], prefix: str) -> list[str]:
    lines = []
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            continue
        default = field.default if field.default_factory is None else "(computed)"
        variable = f"ASSISTANT_{prefix}{name}".upper()
        lines.append(f"| `{variable}` | `{cell(default)}` | {cell(field.description)} |")
    return lines


def render() -> str:
    out = [INTRO, "## General", "", "| variable | default | what it does |", "|---|---|---|"]
    out += rows(Settings, "")
    for name, field in Settings.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out += ["", f"## `{name}`: {cell(field.description)}", ""]
            out += ["| variable | default | what it does |", "|---|---|---|"]
            out += rows(kind, f"{name}__")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/configuration.md is stale")
    args = parser.parse_args()
    page = render()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            sys.exit("docs/configuration.md is stale: run python scripts/settings_reference.py")
        return
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

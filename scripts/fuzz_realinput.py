"""Read every real export in ../shared/datasets/realinput, plain and mutated, and print what each reader did.

Usage: python scripts/fuzz_realinput.py [DATASETS_DIR]
Prints one row per (file, mutation): papers read, records skipped, or the refusal / crash. Ends with
the counts of crashes (any exception that is not the project's own CorpusError) and refusals.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mutations import MUTATIONS  # noqa: E402

from assistant.errors import CorpusError  # noqa: E402
from assistant.formats import Problems, iter_papers  # noqa: E402


def read(path: Path) -> tuple[str, int, str]:
    problems = Problems()
    try:
        papers = list(iter_papers(path, problems))
    except CorpusError as err:
        return "refused", 0, str(err)[:110]
    except Exception as err:  # noqa: BLE001 - a crash is what this script counts
        return "CRASH", 0, f"{type(err).__name__}: {err}"[:110]
    return "read", len(papers), f"{problems.skipped} skipped, {problems.repaired} repaired"


def main() -> int:
    root = (
        Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "datasets")
        / "realinput"
    )
    expected = json.loads((root / "expected.json").read_text())
    counts = {"read": 0, "refused": 0, "CRASH": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(expected):
            data = (root / name).read_bytes()
            for mutation, damage in {"none": lambda d: d, **MUTATIONS}.items():
                path = Path(tmp) / name
                path.write_bytes(damage(data))
                outcome, papers, detail = read(path)
                counts[outcome] += mutation != "none"
                flag = "" if mutation != "none" or papers == expected[name] else f" (expected {expected[name]})"
                print(f"{name:40} {mutation:16} {outcome:8} {papers:4}{flag}  {detail}")
    print(f"mutated files: {counts['read']} read, {counts['refused']} refused, {counts['CRASH']} crashes")
    return 1 if counts["CRASH"] else 0


if __name__ == "__main__":
    sys.exit(main())

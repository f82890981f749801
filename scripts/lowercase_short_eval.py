"""Ask the test split of eval/short_questions.jsonl in lower case, as people often type; print how many are answered.

Usage: python scripts/lowercase_short_eval.py [--split test] [--index-dir DIR]
Answerable: not abstained and citing the paper that introduces the method; unanswerable: abstained.
Extractive backend. Out of scope: the as-written questions (eval/short_eval.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.api import Assistant

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--index-dir", type=Path, help="index folder (default: settings, ./index)")
    args = parser.parse_args()
    rows = [
        json.loads(line) for line in (ROOT / "eval" / "short_questions.jsonl").read_text().splitlines() if line.strip()
    ]
    assistant = Assistant(index_dir=args.index_dir)
    right: dict[str, list[bool]] = {"answerable": [], "unanswerable": []}
    for row in (r for r in rows if r["split"] == args.split):
        answer = assistant.ask(row["question"].lower(), backend="extractive")
        if row["type"] == "unanswerable":
            right["unanswerable"].append(answer.abstained)
        else:
            cited = {c.paper_id for c in answer.citations}
            right["answerable"].append(not answer.abstained and set(row["paper_ids"]) <= cited)
    for kind, values in right.items():
        print(f"{kind}: {sum(values)}/{len(values)} = {sum(values) / len(values):.3f}")


if __name__ == "__main__":
    main()

"""Merge evaluation reports of shards of one question file (run in parallel) into one report.

Usage: python scripts/merge_eval_shards.py QUESTIONS OUT SHARD_DIR [SHARD_DIR ...]
Rows are put back in the order of QUESTIONS, metrics re-aggregated (same bootstrap), seconds summed.
Example (the local Qwen row, three shards of lines 1,4,7…; 2,5,8…; 3,6,9… of the subset):
  python scripts/merge_eval_shards.py eval/questions-local-subset.jsonl eval/results/local-qwen2.5-coder-0.5b \
      /tmp/w13/shard0-out /tmp/w13/shard1-out /tmp/w13/shard2-out
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.evaluation.metrics import aggregate
from assistant.evaluation.report import Report


def merge(questions: Path, shard_dirs: list[Path]) -> Report:
    shards = [json.loads((d / "report.json").read_text(encoding="utf-8")) for d in shard_dirs]
    order = [json.loads(line)["id"] for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = sorted((r for s in shards for r in s["questions"]), key=lambda r: order.index(r["id"]))
    overall, per_type = aggregate(rows)
    meta = dict(shards[0]["meta"])
    joined = lambda key: ", ".join(sorted({v for s in shards for v in s["meta"][key].split(", ") if v}))  # noqa: E731
    meta.update(
        questions_path=str(questions),
        questions=len(rows),
        model=joined("model"),
        backend=joined("backend"),
        seconds={k: round(sum(s["meta"]["seconds"][k] for s in shards), 1) for k in meta["seconds"]},
        run=f"{len(shards)} processes in parallel, each on every {len(shards)}th question with its own "
        "llama.cpp server; seconds are summed over them",
    )
    return Report(meta, overall, per_type, shards[0]["calibration"], rows)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    merge(Path(sys.argv[1]), [Path(p) for p in sys.argv[3:]]).write(Path(sys.argv[2]))
    print(f"merged report: {sys.argv[2]}/report.md")

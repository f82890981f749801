"""Calibrate the abstention threshold on eval/questions.jsonl.

Usage: python eval/calibrate_abstention.py
Prints, for each candidate threshold on the best hit's dense similarity, the share of
unanswerable questions that abstain and of answerable ones that do, and the chosen value
(highest unanswerable recall with at most 5% answerable abstentions, midpoint of the gap).
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.api import Assistant

ROOT = Path(__file__).resolve().parent.parent


def best_similarity(assistant: Assistant, row: dict) -> float:
    previous = [m["content"] for m in row.get("history", []) if m["role"] == "user"]
    query = f"{previous[-1]} {row['question']}" if previous else row["question"]
    hits = assistant.search(query, k=assistant.settings.retrieval.k)
    return max((h.dense_similarity or 0.0) for h in hits) if hits else 0.0


def main() -> None:
    assistant = Assistant(index_dir=ROOT / "index")
    rows = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines() if line.strip()]
    scored = [(best_similarity(assistant, r), r["type"] == "unanswerable", r["id"]) for r in rows]
    unans = sorted(s for s, u, _ in scored if u)
    ans = sorted(s for s, u, _ in scored if not u)
    print(f"unanswerable best similarity: {[round(s, 3) for s in unans]}")
    print(f"answerable lowest 10: {[round(s, 3) for s in ans[:10]]}")
    best = None
    for t in [x / 100 for x in range(15, 60)]:
        recall = sum(s < t for s in unans) / len(unans)
        false = sum(s < t for s in ans) / len(ans)
        if false <= 0.05 and (best is None or recall > best[1]):
            best = (t, recall, false)
    print(f"chosen threshold {best[0]:.2f}: unanswerable abstain {best[1]:.2f}, answerable abstain {best[2]:.2f}")


if __name__ == "__main__":
    main()

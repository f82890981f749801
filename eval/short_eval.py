"""Score short questions (eval/short_questions.jsonl) and false abstention on eval/questions.jsonl.

Usage:
    python eval/short_eval.py --split test --out eval/results/short        # the figures in the README
    python eval/short_eval.py --calibrate                                  # sweep the abstention knobs on dev only
Answered-and-cited: the answer does not abstain and cites the paper that introduces the named
method (for "X vs Y", both papers). Unanswerable: the answer abstains. False abstention: an
answerable question of eval/questions.jsonl (any type) that abstains.
Out of scope: the full evaluation harness (see `assistant eval`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.abstain import CollectionTerms
from assistant.answerability import decide
from assistant.api import Assistant

ROOT = Path(__file__).resolve().parent.parent


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def question_of(row: dict) -> str:
    previous = [m["content"] for m in row.get("history", []) if m["role"] == "user"]
    return f"{previous[-1]} {row['question']}" if previous else row["question"]


def score(assistant: Assistant, split: str) -> dict:
    """Answer every short question of a split and every answerable question of eval/questions.jsonl."""
    short = [r for r in rows(ROOT / "eval" / "short_questions.jsonl") if r["split"] == split]
    results = []
    for row in short:
        answer = assistant.ask(row["question"], backend="extractive")
        cited = {c.paper_id for c in answer.citations}
        ok = (
            answer.abstained
            if row["type"] == "unanswerable"
            else (not answer.abstained and set(row["paper_ids"]) <= cited)
        )
        results.append(
            {
                "id": row["id"],
                "type": row["type"],
                "question": row["question"],
                "ok": ok,
                "abstained": answer.abstained,
                "cited": sorted(cited),
                "notes": answer.notes,
            }
        )
    answerable = [r for r in rows(ROOT / "eval" / "questions.jsonl") if r["type"] != "unanswerable"]
    false_abstentions = []
    for row in answerable:
        answer = assistant.ask(row["question"], history=row.get("history") or None, backend="extractive")
        if answer.abstained:
            false_abstentions.append({"id": row["id"], "question": row["question"], "notes": answer.notes})

    def share(kind: str) -> float:
        group = [r["ok"] for r in results if r["type"] in kind.split("|")]
        return round(sum(group) / len(group), 3) if group else 0.0

    return {
        "split": split,
        "n_short": sum(r["type"] == "short" for r in results),
        "n_pairs": sum(r["type"] == "short_pair" for r in results),
        "n_unanswerable": sum(r["type"] == "unanswerable" for r in results),
        "answered_citing_gold": share("short|short_pair"),
        "answered_citing_gold_single": share("short"),
        "answered_citing_gold_pairs": share("short_pair"),
        "unanswerable_abstained": share("unanswerable"),
        "false_abstention_questions": round(len(false_abstentions) / len(answerable), 3),
        "n_answerable_questions": len(answerable),
        "false_abstentions": false_abstentions,
        "failures": [r for r in results if not r["ok"]],
    }


def calibrate(assistant: Assistant) -> None:
    """Abstention decisions on the dev split (and eval/questions.jsonl) for each setting of the knobs."""
    terms = CollectionTerms(assistant.papers())
    dev = [r for r in rows(ROOT / "eval" / "short_questions.jsonl") if r["split"] == "dev"]
    hits = {r["id"]: assistant.search(question_of(r), k=assistant.settings.retrieval.k) for r in dev}
    for max_papers in (1, 2, 3, 5, 8):  # the answer/abstain threshold itself is fitted by eval/fit_answerability.py
        ok_answer = [
            not decide(r["question"], hits[r["id"]], terms, max_papers_per_name=max_papers).abstain
            for r in dev
            if r["type"] != "unanswerable"
        ]
        ok_abstain = [
            decide(r["question"], hits[r["id"]], terms, max_papers_per_name=max_papers).abstain
            for r in dev
            if r["type"] == "unanswerable"
        ]
        print(
            f"max papers per name {max_papers}: answerable answered {sum(ok_answer) / len(ok_answer):.3f}, "
            f"unanswerable abstained {sum(ok_abstain) / len(ok_abstain):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--out", type=Path, help="folder for report.json (default: print only)")
    parser.add_argument("--calibrate", action="store_true", help="sweep the abstention knobs on the dev split")
    parser.add_argument("--index-dir", type=Path, help="index folder (default: settings, ./index)")
    args = parser.parse_args()
    assistant = Assistant(index_dir=args.index_dir)
    if args.calibrate:
        calibrate(assistant)
        return
    report = score(assistant, args.split)
    summary = {k: v for k, v in report.items() if not isinstance(v, list)}
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

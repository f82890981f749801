"""Evaluation on a public data set of another field: PubMedQA answerability, with papers really taken out.

The test questions are split in two halves, A and B. Index A holds every PubMedQA abstract but the
papers of half A's questions; index B, all but half B's. Each question is asked twice: on the index
holding its paper (answerable: does the answer cite it? does it abstain?) and on the index without it
(unanswerable: does it abstain?). The data are read from where they are (`--datasets DIR`, by default
settings.evaluation.datasets_dir, ../shared/datasets), never copied; the indexes go to the cache folder.
Out of scope: fitting anything (see eval/fit_answerability.py): this only scores.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from .inputs import EvalInputError, read_jsonl, writable_folder

PUBLISHED_PUBMEDQA = (
    "BioBERT 68.1% accuracy (52.7 macro-F1), a single human annotator 78.0%, majority class 55.2% (Jin et al., 2019)"
)


def pubmedqa_inputs(datasets_dir: Path, split: str) -> tuple[Path, list[dict]]:
    folder = Path(datasets_dir) / "pubmedqa"
    papers = folder / "papers.jsonl"
    if not papers.is_file():
        raise EvalInputError(
            f"PubMedQA is not in {folder} (no papers.jsonl); give the folder holding pubmedqa/ with --datasets DIR"
        )
    questions = read_jsonl(
        folder / "questions.jsonl", "PubMedQA question set", "--datasets DIR", {"id", "question", "gold_id", "split"}
    )
    chosen = [q for q in questions if q["split"] == split]
    if not chosen:
        raise EvalInputError(f"PubMedQA has no questions in the split {split!r}; use --split test or --split dev")
    return papers, chosen


def _index_without(papers_file: Path, removed: set[str], cache: Path, embedder, settings, name: str = "pubmedqa"):
    """An assistant over the abstracts of `papers_file` but those whose id is in `removed`, built once."""
    from ..api import Assistant

    rows = [json.loads(line) for line in papers_file.read_text(encoding="utf-8").split("\n") if line.strip()]
    kept = [r for r in rows if r["id"] not in removed]
    key = hashlib.sha256(json.dumps([sorted(removed), settings.index_fingerprint()]).encode()).hexdigest()[:12]
    folder = cache / f"{name}-{key}"
    assistant = Assistant(index_dir=folder / "index", settings=settings, corpus=None, embedder=embedder)
    if not assistant.papers():
        folder.mkdir(parents=True, exist_ok=True)
        source = folder / "papers.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        assistant.ingest([source])
    return assistant


def pubmedqa_answerability(
    settings,
    datasets_dir: Path,
    split: str = "test",
    out_dir: Path | None = None,
    limit: int | None = None,
    embedder=None,
    backend: str = "extractive",
) -> dict:
    """Ask every question with and without its paper; returns (and writes) the report."""
    papers_file, questions = pubmedqa_inputs(datasets_dir, split)
    questions = questions[:limit] if limit else questions
    out_dir = writable_folder(out_dir) if out_dir is not None else None
    cache = Path(settings.cache_dir) / "datasets"
    cache.mkdir(parents=True, exist_ok=True)
    halves = [questions[0::2], questions[1::2]]
    indexes = [_index_without(papers_file, {q["gold_id"] for q in half}, cache, embedder, settings) for half in halves]
    rows, started = [], time.perf_counter()
    for number, half in enumerate(halves):
        without, holding = indexes[number], indexes[1 - number]
        ids = {(p.external_id or p.key): p.paper_id for p in holding.papers()}
        for q in half:
            present = holding.ask(q["question"], backend=backend)
            absent = without.ask(q["question"], backend=backend)
            rows.append(
                {
                    "id": q["id"],
                    "question": q["question"],
                    "final_decision": q.get("final_decision"),
                    "present": {
                        "abstained": present.abstained,
                        "cites_paper": ids[q["gold_id"]] in {c.paper_id for c in present.citations},
                        "finding": present.finding,
                        "answer": present.text,
                    },
                    "absent": {"abstained": absent.abstained, "answer": absent.text, "notes": absent.notes},
                }
            )
    report = {
        "meta": {
            "data_set": "PubMedQA (PQA-L)",
            "split": split,
            "questions": len(rows),
            "backend": backend,
            "construction": "two indexes, each without the papers of half the questions; every question "
            "asked on the index holding its paper and on the one without it",
            "seconds": round(time.perf_counter() - started, 1),
        },
        "overall": summarise(rows),
        "questions": rows,
    }
    if out_dir is not None:
        (out_dir / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
        (out_dir / "report.md").write_text(markdown(report), encoding="utf-8")
    return report


def summarise(rows: list[dict]) -> dict:
    n = len(rows) or 1
    return {
        "paper_indexed_cites_it": round(sum(r["present"]["cites_paper"] for r in rows) / n, 4),
        "paper_indexed_abstains": round(sum(r["present"]["abstained"] for r in rows) / n, 4),
        "paper_not_indexed_abstains": round(sum(r["absent"]["abstained"] for r in rows) / n, 4),
        **finding_scores([(r["present"].get("finding"), r.get("final_decision")) for r in rows]),
    }


def finding_scores(pairs: list[tuple[str | None, str | None]]) -> dict:
    """PubMedQA's own measures of (finding, authors' answer) pairs: accuracy and macro-F1 over yes / no / maybe
    (mixed and unclear read as maybe; no finding, abstaining included, as maybe too), how often a finding is
    given at all, and reversals (yes where the authors say no, or the reverse).

    Example: finding_scores([("yes", "yes"), ("no", "yes")])["accuracy"] == 0.5
    """
    from ..finding import PUBMEDQA

    pairs = [(f, gold) for f, gold in pairs if gold in ("yes", "no", "maybe")]
    if not pairs:
        return {}
    said = [(PUBMEDQA.get(f or "", "maybe"), gold) for f, gold in pairs]
    f1s = []
    for label in ("yes", "no", "maybe"):
        tp = sum(p == label and g == label for p, g in said)
        precision = tp / max(1, sum(p == label for p, _ in said))
        recall = tp / max(1, sum(g == label for _, g in said))
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    n = len(said)
    return {
        "finding_given": round(sum(f is not None for f, _ in pairs) / n, 4),
        "finding_accuracy": round(sum(p == g for p, g in said) / n, 4),
        "finding_macro_f1": round(sum(f1s) / 3, 4),
        "finding_reversals": round(sum({p, g} == {"yes", "no"} for p, g in said) / n, 4),
    }


def markdown(report: dict) -> str:
    meta, overall = report["meta"], report["overall"]
    lines = [
        f"# {meta['data_set']}: answerability, {meta['split']} split, {meta['backend']} backend",
        "",
        f"{meta['questions']} questions; {meta['construction']}.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| question's paper indexed: the answer cites it | {overall['paper_indexed_cites_it']:.3f} |",
        f"| question's paper indexed: abstains | {overall['paper_indexed_abstains']:.3f} |",
        f"| question's paper not indexed: abstains | {overall['paper_not_indexed_abstains']:.3f} |",
    ]
    if "finding_accuracy" in overall:
        lines += [
            f"| question's paper indexed: a yes/no finding is given | {overall['finding_given']:.3f} |",
            f"| finding accuracy against the authors' yes/no/maybe | {overall['finding_accuracy']:.3f} |",
            f"| finding macro-F1 | {overall['finding_macro_f1']:.3f} |",
            f"| reversals (yes for no, or no for yes) | {overall['finding_reversals']:.3f} |",
            "",
            f"Published (PubMedQA test, reasoning-required setting): {PUBLISHED_PUBMEDQA}.",
        ]
    lines += [
        "",
        "## Answered although the paper is not indexed (first 10)",
        "",
    ]
    wrong = [r for r in report["questions"] if not r["absent"]["abstained"]][:10]
    lines += [f"- {r['question']} → {r['absent']['answer'][:200]}" for r in wrong] or ["none"]
    return "\n".join(lines) + "\n"

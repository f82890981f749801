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


def _index_without(papers_file: Path, removed: set[str], cache: Path, embedder, settings):
    """An assistant over the abstracts of `papers_file` but those whose id is in `removed`, built once."""
    from ..api import Assistant

    rows = [json.loads(line) for line in papers_file.read_text(encoding="utf-8").split("\n") if line.strip()]
    kept = [r for r in rows if r["id"] not in removed]
    key = hashlib.sha256(json.dumps([sorted(removed), settings.index_fingerprint()]).encode()).hexdigest()[:12]
    folder = cache / f"pubmedqa-{key}"
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
                    "present": {
                        "abstained": present.abstained,
                        "cites_paper": ids[q["gold_id"]] in {c.paper_id for c in present.citations},
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
        "",
        "## Answered although the paper is not indexed (first 10)",
        "",
    ]
    wrong = [r for r in report["questions"] if not r["absent"]["abstained"]][:10]
    lines += [f"- {r['question']} → {r['absent']['answer'][:200]}" for r in wrong] or ["none"]
    return "\n".join(lines) + "\n"

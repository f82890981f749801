"""One evaluation run: answer every question, score each answer, aggregate, optionally write the report.

Per question: retrieval (hit@k, recall@k, MRR, nDCG@10), faithfulness, ALCE citation recall and
precision, citation-gold rate, key-fact recall, abstention, latency and tokens.
Out of scope: the metrics themselves (see `metrics`), judging (see `judges`), report files (see `report`).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from ..catalogue import listing_display_name
from ..text import render_math
from .inputs import check_endpoint, check_inputs
from .judges import calibrate
from .metrics import (
    KS,
    METRICS,
    RESAMPLES,
    SEED,
    aggregate,
    citation_scores,
    faithfulness,
    hit_at_k,
    key_fact_recall,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)
from .report import Report


def retrieval_query(question: dict) -> str:
    """The query retrieval is scored with: the question, preceded by the previous user turn for follow-ups."""
    previous = [m["content"] for m in question.get("history") or [] if m.get("role") == "user"]
    return f"{previous[-1]} {question['question']}" if previous else question["question"]


# ---- one question --------------------------------------------------------------------------------
def paper_record(paper) -> str:
    """What a citation points at: the paper's record in one line (title, date, authors, organisation,
    listings), a blank line, then its abstract. Metadata answers cite the first part, text answers the abstract."""
    count = paper.authors_count or len(paper.authors)
    facts = [
        f"dated {paper.date}" if paper.date else "",
        f"{count} author{'s' if count != 1 else ''}" if count else "",
        f"from {paper.organisation}" if paper.organisation else "",
        "in " + " and ".join(listing_display_name(s.listing, getattr(s, "listing_title", None)) for s in paper.sources),
    ]
    return f"“{paper.title}”: " + ", ".join(f for f in facts if f) + f".\n\n{paper.abstract}"


def score_question(
    question: dict, answer, ranked: list[str], judge, papers: dict, records: dict[str, str] | None = None
) -> dict:
    """One row of the report: the answer, what was retrieved, every metric, and the failures.

    `papers` maps paper_id -> Paper; `records` (paper_id -> paper_record text) is a cache of what citations point at.
    """
    records = records if records is not None else {}
    for c in answer.citations:
        if c.paper_id not in records and c.paper_id in papers:
            records[c.paper_id] = paper_record(papers[c.paper_id])
    gold = set(question.get("paper_ids") or [])
    answerable = question["type"] != "unanswerable"
    metrics: dict = dict.fromkeys(METRICS)
    if gold:
        for k in KS:
            metrics[f"hit@{k}"], metrics[f"recall@{k}"] = hit_at_k(ranked, gold, k), recall_at_k(ranked, gold, k)
        metrics["mrr"], metrics["ndcg@10"] = reciprocal_rank(ranked, gold), ndcg_at_k(ranked, gold)
    metrics["abstained"] = float(answer.abstained)
    if not answer.abstained:
        metrics.update(support_metrics(answer, judge, papers, records))
    if answerable:
        metrics["citation_gold"] = float(any(c.paper_id in gold for c in answer.citations))
        prose = " ".join(s.text for s in answer.sentences) or answer.text  # without [n] markers, which are numbers too
        metrics["key_fact_recall"] = key_fact_recall(question.get("key_facts") or [], "" if answer.abstained else prose)
    row = {
        "id": question["id"],
        "type": question["type"],
        "question": question["question"],
        "query": retrieval_query(question),
        "answer": answer.text,
        "abstained": answer.abstained,
        "backend": answer.backend,
        "model": answer.model,
        "gold": sorted(gold),
        "retrieved": ranked,
        "cited": [c.paper_id for c in answer.citations],
        "metrics": metrics,
        "citations": [{"number": c.number, "paper_id": c.paper_id, "evidence": c.evidence} for c in answer.citations],
        "sentences": [{"text": s.text, "citations": s.citations} for s in answer.sentences],
        "latency_ms": answer.timings_ms.get("total"),
        "tokens": dict(answer.tokens),
        "notes": list(answer.notes),
    }
    row["failures"] = failures(row)
    return row


def support_metrics(answer, judge, papers: dict, records: dict[str, str]) -> dict:
    """Faithfulness, ALCE citation recall and precision, and whether every evidence string is verbatim."""
    cited = {c.number: records.get(c.paper_id, "") for c in answer.citations}
    # A sentence about the collection itself ("12 indexed papers match:"), citing nothing, is counted from the
    # index, not read in an abstract: it is no claim for the support judge.
    # Likewise a yes/no answer's finding sentence ("Yes: the findings quoted here support it."), stated from the claim
    # check of the quoted sentences that follow, which are judged themselves.
    judged = [s for s in answer.sentences if not (s.verdict in ("listing", "finding") and not s.citations)]
    if answer.sentences and not judged:  # nothing but counts: no claim to score
        return dict.fromkeys(
            ("faithfulness", "fully_supported", "citation_recall", "citation_precision", "evidence_verbatim")
        )
    claims = [s.text for s in judged]
    judge.prepare(claims)
    share, full = faithfulness(claims, list(cited.values()), judge.supports)
    pairs = [(s.text, [cited[n] for n in s.citations if n in cited]) for s in judged]
    recall, precision = citation_scores(pairs, judge.supports)
    verbatim = (
        float(
            all(  # a passage of the abstract as written, or as answers show it (inline math rendered)
                c.paper_id in papers
                and (e in papers[c.paper_id].abstract or e in render_math(papers[c.paper_id].abstract))
                for c in answer.citations
                for e in c.evidence
            )
        )
        if answer.citations
        else None
    )
    return {
        "faithfulness": share,
        "fully_supported": float(full),
        "citation_recall": recall,
        "citation_precision": precision,
        "evidence_verbatim": verbatim,
    }


def failures(row: dict) -> list[str]:
    """Why a question counts as failed; empty when it passed every check."""
    m, unanswerable = row["metrics"], row["type"] == "unanswerable"
    checks = [
        (unanswerable and not row["abstained"], "answered an unanswerable question"),
        (not unanswerable and row["abstained"], "abstained on an answerable question"),
        (m["recall@5"] is not None and m["recall@5"] < 1, "a gold paper is missing from the top 5"),
        (m["citation_gold"] == 0 and not row["abstained"], "no citation to a gold paper"),
        (m["fully_supported"] == 0, "not every claim is supported by the cited sources"),
        (m["citation_recall"] is not None and m["citation_recall"] < 1, "a sentence is not supported by its citations"),
        (m["key_fact_recall"] is not None and m["key_fact_recall"] < 0.5, "fewer than half the key facts found"),
        (m["evidence_verbatim"] == 0, "an evidence string is not verbatim in its abstract"),
    ]
    return [reason for failed, reason in checks if failed]


# ---- the run ------------------------------------------------------------------------------------
def run(
    assistant,
    judge,
    questions_path: Path | str,
    backend: str | None = None,
    out_dir: Path | str | None = None,
    limit: int | None = None,
    claims_path: Path | str | None = None,
    cache_dir: Path | str | None = None,
    resume: bool = True,
) -> Report:
    """Answer every question with `assistant`, score the answers with `judge`, optionally write the report.

    `assistant` is anything with `ask`, `search`, `papers` and `settings` (an `Assistant`); `judge` is a judge
    object (see `judges.make_judge`). With `claims_path`, the judge is calibrated on that claim set, the result
    cached in `cache_dir` (None: not cached). Every input is checked before the first question (`inputs`).
    With `out_dir`, each scored question is kept in `out_dir/partial.jsonl` as it finishes, so a run that
    was interrupted resumes where it stopped (`resume=False` starts again); the file goes once the report is written.
    """
    started = time.perf_counter()
    inputs = check_inputs(questions_path, claims_path, out_dir, limit)
    check_endpoint(judge)
    papers = {p.paper_id: p for p in assistant.papers()}
    partial = (
        Partial(inputs.out_dir, run_key(assistant, inputs.questions, judge, backend, papers), resume)
        if inputs.out_dir
        else None
    )
    rows, seconds = answer_and_score(assistant, inputs.questions, judge, papers, backend, partial)
    overall, per_type = aggregate(rows)
    t = time.perf_counter()
    abstracts = {pid: p.abstract for pid, p in papers.items()}
    result = calibrate(judge, inputs.claims_path, abstracts, cache_dir=cache_dir) if inputs.claims_path else {}
    seconds["calibration"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    meta = run_meta(assistant, questions_path, rows, judge, seconds)
    if partial is not None and partial.resumed:
        meta["resumed"] = partial.resumed
    report = Report(meta, overall, per_type, result, rows)
    if inputs.out_dir is not None:
        report.write(inputs.out_dir)
    if partial is not None:
        partial.finish()
    return report


def run_key(assistant, questions: list[dict], judge, backend: str | None, papers: dict) -> str:
    """What must match for a partial run to be resumed: the questions, backend, model, judge and the papers."""
    blob = json.dumps([questions, backend, assistant.settings.llm.model, judge.name, sorted(papers)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Partial:
    """The scored questions of an unfinished run, one JSON line each after a header with the run's key."""

    NAME = "partial.jsonl"

    def __init__(self, out_dir: Path, key: str, resume: bool = True):
        self.path, self.key, self.rows = out_dir / self.NAME, key, {}
        if resume and self.path.is_file():
            lines = [line for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
            header = _json_or_none(lines[0]) if lines else None
            if header == {"key": key}:
                for line in lines[1:]:
                    row = _json_or_none(line)  # a line cut by the interruption is answered again
                    if isinstance(row, dict) and "id" in row:
                        self.rows[row["id"]] = row
        self.resumed = len(self.rows)
        with self.path.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps({"key": key}) + "\n")
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in self.rows.values())

    def add(self, row: dict) -> None:
        self.rows[row["id"]] = row
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


def _json_or_none(line: str):
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def answer_and_score(
    assistant, questions: list[dict], judge, papers: dict, backend: str | None, partial: Partial | None = None
) -> tuple[list[dict], dict]:
    """One report row per question, and the seconds spent answering, retrieving and judging.

    Questions already scored in `partial` are not answered again; each new row is added to it as it is scored.
    """
    from tqdm import tqdm

    records: dict[str, str] = {}
    done = dict(partial.rows) if partial is not None else {}
    rows, seconds = [], dict.fromkeys(["answer", "retrieval", "judge", "calibration"], 0.0)
    todo = [q for q in questions if q["id"] not in done]
    bar = tqdm(
        total=len(questions),
        initial=len(questions) - len(todo),
        desc="evaluating",
        unit="question",
        disable=not assistant.settings.progress,
    )
    with bar:
        for question in todo:
            t = time.perf_counter()
            answer = assistant.ask(question["question"], history=question.get("history") or None, backend=backend)
            seconds["answer"] += time.perf_counter() - t
            t = time.perf_counter()
            ranked = [h.paper_id for h in assistant.search(retrieval_query(question), k=max(KS))]
            seconds["retrieval"] += time.perf_counter() - t
            t = time.perf_counter()
            row = score_question(question, answer, ranked, judge, papers, records)
            seconds["judge"] += time.perf_counter() - t
            if partial is not None:
                partial.add(row)
            done[row["id"]] = row
            bar.update(1)
    rows = [done[q["id"]] for q in questions]
    return rows, seconds


def run_meta(assistant, questions_path: Path | str, rows: list[dict], judge, seconds: dict) -> dict:
    """What a run used: questions, backend and model, judge, retrieval settings, how claims and sources are read, time."""
    path, here = Path(questions_path).resolve(), Path.cwd().resolve()
    shown = path.relative_to(here) if path.is_relative_to(here) else path
    return {
        "questions_path": str(shown),
        "questions": len(rows),
        "backend": ", ".join(sorted({r["backend"] for r in rows})),
        "model": ", ".join(sorted({r["model"] for r in rows if r["model"]})),
        "judge": judge.name,
        "judge_description": judge.description,
        "retrieval_mode": assistant.settings.retrieval.mode,
        "retrieval_k": assistant.settings.retrieval.k,
        "papers": len(assistant.papers()),
        "bootstrap": {"resamples": RESAMPLES, "seed": SEED},
        "claims": "one claim per answer sentence",
        "sources": "a citation points at the paper's record (title, date, authors, listings) and abstract",
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }

"""Evaluation of the answering chain on `eval/questions.jsonl`.

Per question: retrieval (hit@k, recall@k, MRR, nDCG@10), faithfulness, ALCE citation recall and
precision, citation-gold rate, key-fact recall, abstention, latency and tokens; aggregated per
question type with bootstrap 95% intervals. Claims are answer sentences, one claim per sentence.
Out of scope: judging support and matching key facts (see `judges`), command-line parsing (see `evaluation_cli`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .catalogue import listing_display_name
from .judges import CACHE_DIR, EVAL_DIR, calibrate, key_fact_recall, load_jsonl, make_judge

QUESTIONS_PATH = EVAL_DIR / "questions.jsonl"
KS = (1, 5, 10)
SEED, RESAMPLES = 0, 1000
# Per-question metrics: key -> label, in report order. None means "does not apply to this question".
METRICS = {
    **{f"hit@{k}": f"hit@{k}" for k in KS}, **{f"recall@{k}": f"recall@{k}" for k in KS},
    "mrr": "MRR@10", "ndcg@10": "nDCG@10",
    "faithfulness": "faithfulness (supported claims)", "fully_supported": "fully supported answers",
    "citation_recall": "citation recall (ALCE)", "citation_precision": "citation precision (ALCE)",
    "citation_gold": "citation-gold rate", "key_fact_recall": "correctness (key-fact recall)",
    "evidence_verbatim": "evidence verbatim in abstract", "abstained": "abstained",
}


# ---- retrieval ---------------------------------------------------------------------------------
def hit_at_k(ranked: list[str], gold: set[str], k: int) -> float:
    """1.0 when any gold paper is in the top k. Example: hit_at_k(["a", "b"], {"b"}, 1) == 0.0"""
    return float(bool(set(ranked[:k]) & gold))


def recall_at_k(ranked: list[str], gold: set[str], k: int) -> float:
    """Share of gold papers in the top k. Example: recall_at_k(["a", "b", "c"], {"a", "c", "d"}, 2) == 1/3"""
    return len(set(ranked[:k]) & gold) / len(gold) if gold else 0.0


def reciprocal_rank(ranked: list[str], gold: set[str], k: int = 10) -> float:
    """1 / rank of the first gold paper in the top k, else 0. Example: (["a", "b"], {"b"}) -> 0.5"""
    return next((1.0 / rank for rank, pid in enumerate(ranked[:k], 1) if pid in gold), 0.0)


def ndcg_at_k(ranked: list[str], gold: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG. Example: ndcg_at_k(["x", "g"], {"g"}, 10) == 1 / log2(3)"""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, pid in enumerate(ranked[:k], 1) if pid in gold)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


def retrieval_query(question: dict) -> str:
    """The query retrieval is scored with: the question, preceded by the previous user turn for follow-ups."""
    previous = [m["content"] for m in question.get("history") or [] if m.get("role") == "user"]
    return f"{previous[-1]} {question['question']}" if previous else question["question"]


# ---- support -----------------------------------------------------------------------------------
def citation_scores(sentences: list[tuple[str, list[str]]], supports) -> tuple[float, float]:
    """ALCE citation (recall, precision) of one answer, as in Gao et al. (2023).

    `sentences` holds (claim, texts of the sources it cites); `supports(claim, sources) -> bool`.
    A sentence is recalled when its cited sources together support it. A citation is precise when
    its sentence is recalled, unless it supports nothing on its own while the sentence's other
    citations still support the sentence. Precision is 0 for an answer without citations.
    """
    recalled = precise = cited = 0
    for claim, sources in sentences:
        joint = bool(sources) and supports(claim, sources)
        recalled += joint
        cited += len(sources)
        if joint and len(sources) > 1:
            precise += sum(supports(claim, [s]) or not supports(claim, sources[:i] + sources[i + 1:])
                           for i, s in enumerate(sources))
        elif joint:
            precise += 1
    return (recalled / len(sentences) if sentences else 0.0), (precise / cited if cited else 0.0)


def faithfulness(claims: list[str], sources: list[str], supports) -> tuple[float, bool]:
    """(share of claims supported by the sources the answer cites, whether all of them are)."""
    if not claims:
        return 0.0, False
    supported = sum(bool(sources) and supports(c, sources) for c in claims)
    return supported / len(claims), supported == len(claims)


# ---- abstention and aggregation -----------------------------------------------------------------
def abstention_scores(pairs: list[tuple[bool, bool]]) -> dict:
    """Precision, recall, F1 of abstaining (positive = abstained, class = unanswerable), and the
    abstention rate on answerable questions; `pairs` holds (abstained, unanswerable). 0 when undefined."""
    tp = sum(a and u for a, u in pairs)
    fp = sum(a and not u for a, u in pairs)
    fn = sum(u and not a for a, u in pairs)
    answerable = sum(not u for _, u in pairs)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"abstention_precision": precision, "abstention_recall": recall, "abstention_f1": f1,
            "abstention_rate_answerable": fp / answerable if answerable else 0.0}


def bootstrap_ci(items: list, statistic=None, resamples: int = RESAMPLES, seed: int = SEED,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` (default: the mean) over resampled `items`."""
    if not items:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(items), size=(resamples, len(items)))
    if statistic is None:
        values = np.asarray(items, dtype=float)[draws].mean(axis=1)
    else:
        values = np.array([statistic([items[i] for i in row]) for row in draws])
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def summary(values: list[float], resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """Mean, bootstrap interval and count of the values that apply (None values are left out)."""
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return {"value": None, "low": None, "high": None, "n": 0}
    low, high = bootstrap_ci(kept, resamples=resamples, seed=seed)
    return {"value": round(float(np.mean(kept)), 4), "low": round(low, 4), "high": round(high, 4), "n": len(kept)}


def aggregate(rows: list[dict], resamples: int = RESAMPLES, seed: int = SEED) -> tuple[dict, dict]:
    """(overall, per type) summaries of the per-question rows."""
    overall = {key: summary([r["metrics"][key] for r in rows], resamples, seed) for key in METRICS}
    pairs = [(r["abstained"], r["type"] == "unanswerable") for r in rows]
    for key, value in abstention_scores(pairs).items():
        low, high = bootstrap_ci(pairs, lambda sample, key=key: abstention_scores(sample)[key], resamples, seed)
        overall[key] = {"value": round(value, 4), "low": round(low, 4), "high": round(high, 4), "n": len(pairs)}
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    for q in (50, 95):
        overall[f"latency_p{q}_ms"] = {"value": round(float(np.percentile(latencies, q)), 1) if latencies else None,
                                       "n": len(latencies)}
    for part in ("prompt", "completion"):
        overall[f"tokens_{part}"] = summary([r["tokens"].get(part, 0) for r in rows], resamples, seed)
    types = sorted({r["type"] for r in rows})
    per_type = {t: {key: summary([r["metrics"][key] for r in rows if r["type"] == t], resamples, seed) for key in METRICS}
                for t in types}
    return overall, per_type


# ---- one question --------------------------------------------------------------------------------
def paper_record(paper) -> str:
    """What a citation points at: the paper's record in one line (title, date, authors, organisation,
    listings), a blank line, then its abstract. Metadata answers cite the first part, text answers the abstract."""
    count = paper.authors_count or len(paper.authors)
    facts = [f"dated {paper.date}" if paper.date else "", f"{count} author{'s' if count != 1 else ''}" if count else "",
             f"from {paper.organisation}" if paper.organisation else "",
             "in " + " and ".join(listing_display_name(s.listing, getattr(s, "listing_title", None)) for s in paper.sources)]
    return f"“{paper.title}”: " + ", ".join(f for f in facts if f) + f".\n\n{paper.abstract}"


def score_question(question: dict, answer, ranked: list[str], judge, papers: dict, records: dict[str, str] | None = None) -> dict:
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
    row = {"id": question["id"], "type": question["type"], "question": question["question"],
           "query": retrieval_query(question), "answer": answer.text, "abstained": answer.abstained,
           "backend": answer.backend, "model": answer.model, "gold": sorted(gold), "retrieved": ranked,
           "cited": [c.paper_id for c in answer.citations], "metrics": metrics,
           "citations": [{"number": c.number, "paper_id": c.paper_id, "evidence": c.evidence} for c in answer.citations],
           "sentences": [{"text": s.text, "citations": s.citations} for s in answer.sentences],
           "latency_ms": answer.timings_ms.get("total"), "tokens": dict(answer.tokens), "notes": list(answer.notes)}
    row["failures"] = failures(row)
    return row


def support_metrics(answer, judge, papers: dict, records: dict[str, str]) -> dict:
    """Faithfulness, ALCE citation recall and precision, and whether every evidence string is verbatim."""
    cited = {c.number: records.get(c.paper_id, "") for c in answer.citations}
    claims = [s.text for s in answer.sentences]
    judge.prepare(claims)
    share, full = faithfulness(claims, list(cited.values()), judge.supports)
    pairs = [(s.text, [cited[n] for n in s.citations if n in cited]) for s in answer.sentences]
    recall, precision = citation_scores(pairs, judge.supports)
    verbatim = (float(all(c.paper_id in papers and e in papers[c.paper_id].abstract for c in answer.citations for e in c.evidence))
                if answer.citations else None)
    return {"faithfulness": share, "fully_supported": float(full), "citation_recall": recall,
            "citation_precision": precision, "evidence_verbatim": verbatim}


def failures(row: dict) -> list[str]:
    """Why a question counts as failed; empty when it passed every check."""
    m, unanswerable = row["metrics"], row["type"] == "unanswerable"
    checks = [(unanswerable and not row["abstained"], "answered an unanswerable question"),
              (not unanswerable and row["abstained"], "abstained on an answerable question"),
              (m["recall@5"] is not None and m["recall@5"] < 1, "a gold paper is missing from the top 5"),
              (m["citation_gold"] == 0 and not row["abstained"], "no citation to a gold paper"),
              (m["fully_supported"] == 0, "not every claim is supported by the cited sources"),
              (m["citation_recall"] is not None and m["citation_recall"] < 1, "a sentence is not supported by its citations"),
              (m["key_fact_recall"] is not None and m["key_fact_recall"] < 0.5, "fewer than half the key facts found"),
              (m["evidence_verbatim"] == 0, "an evidence string is not verbatim in its abstract")]
    return [reason for failed, reason in checks if failed]


# ---- the run ------------------------------------------------------------------------------------
@dataclass
class Report:
    """One evaluation run: settings, overall and per-type metrics, calibration, per-question rows."""

    meta: dict
    overall: dict
    per_type: dict
    calibration: dict
    questions: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"meta": self.meta, "overall": self.overall, "per_type": self.per_type,
                "calibration": self.calibration, "questions": self.questions}

    def write(self, out_dir: Path | str) -> list[Path]:
        """report.json, report.md and the two plots in `out_dir`; returns the paths written."""
        return write_report(self, Path(out_dir))


def load_questions(path: Path | str | None = None, limit: int | None = None) -> list[dict]:
    questions = load_jsonl(path or QUESTIONS_PATH)
    return questions[:limit] if limit else questions


def run(assistant, questions_path: Path | str | None = None, backend: str | None = None, judge="offline",
        out_dir: Path | str | None = None, limit: int | None = None, calibration: bool = True,
        cache_dir: Path | str | None = CACHE_DIR) -> Report:
    """Answer every question with `assistant`, score the answers with `judge`, optionally write the report.

    `judge` is 'offline', 'llm' or a judge object; the judge's calibration is cached in `cache_dir` (None: not cached).
    """
    from tqdm import tqdm

    started = time.perf_counter()
    if isinstance(judge, str):
        verifier = getattr(assistant.chain, "verifier", None) if judge == "offline" else None
        judge = make_judge(judge, assistant.settings, embedder=assistant.index.embedder, verifier=verifier)
    questions = load_questions(questions_path, limit)
    papers = {p.paper_id: p for p in assistant.papers()}
    records: dict[str, str] = {}
    rows, seconds = [], dict.fromkeys(["answer", "retrieval", "judge", "calibration"], 0.0)
    for question in tqdm(questions, desc="evaluating", unit="question", disable=not assistant.settings.progress):
        t = time.perf_counter()
        answer = assistant.ask(question["question"], history=question.get("history") or None, backend=backend)
        seconds["answer"] += time.perf_counter() - t
        t = time.perf_counter()
        ranked = [h.paper_id for h in assistant.search(retrieval_query(question), k=max(KS))]
        seconds["retrieval"] += time.perf_counter() - t
        t = time.perf_counter()
        rows.append(score_question(question, answer, ranked, judge, papers, records))
        seconds["judge"] += time.perf_counter() - t
    overall, per_type = aggregate(rows)
    t = time.perf_counter()
    result = calibrate(judge, abstracts={pid: p.abstract for pid, p in papers.items()}, cache_dir=cache_dir) if calibration else {}
    seconds["calibration"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    meta = run_meta(assistant, questions_path, rows, judge, seconds)
    report = Report(meta, overall, per_type, result, rows)
    if out_dir is not None:
        report.write(out_dir)
    return report


def run_meta(assistant, questions_path, rows: list[dict], judge, seconds: dict) -> dict:
    """What a run used: questions, backend and model, judge, retrieval settings, how claims and sources are read, time."""
    path = Path(questions_path or QUESTIONS_PATH).resolve()
    shown = path.relative_to(EVAL_DIR.parent) if path.is_relative_to(EVAL_DIR.parent) else path
    return {"questions_path": str(shown), "questions": len(rows),
            "backend": ", ".join(sorted({r["backend"] for r in rows})),
            "model": ", ".join(sorted({r["model"] for r in rows if r["model"]})),
            "judge": judge.name, "judge_description": judge.description, "retrieval_mode": assistant.settings.retrieval.mode,
            "retrieval_k": assistant.settings.retrieval.k, "papers": len(assistant.papers()),
            "bootstrap": {"resamples": RESAMPLES, "seed": SEED}, "claims": "one claim per answer sentence",
            "sources": "a citation points at the paper's record (title, date, authors, listings) and abstract",
            "seconds": {k: round(v, 1) for k, v in seconds.items()}}


# ---- report files --------------------------------------------------------------------------------
TYPE_COLUMNS = ["recall@5", "mrr", "faithfulness", "citation_recall", "citation_precision", "citation_gold",
                "key_fact_recall", "abstained"]
DEFINITIONS = """\
- Retrieval: `Assistant.search(query, k=10)`; the query is the question, preceded by the previous user turn for follow-ups.
- Claims are answer sentences (one claim per sentence). A citation points at the cited paper's record (title, date, authors, listings) and abstract.
- Faithfulness: share of an answer's claims supported by the sources the answer cites (all of them together); fully supported: all are.
- Citation recall / precision (ALCE, Gao et al. 2023): a sentence is recalled when its cited sources together support it; a citation is precise when its sentence is recalled, unless it supports nothing alone while the sentence's other citations still do.
- Citation-gold rate: share of answerable questions whose answer cites at least one gold paper (abstentions count as misses).
- Correctness: key-fact recall; a fact is found when its normalised text (lower case, hyphens as spaces, punctuation dropped) occurs in the answer, or when all its numbers and at least 80% of its stemmed content words do. Abstentions score 0.
- Abstention: abstaining is the positive prediction, unanswerable the positive class; undefined ratios are 0.
"""
PLOT_METRICS = ["recall@5", "faithfulness", "citation_recall", "citation_gold", "key_fact_recall", "abstained"]


def _cell(m: dict) -> str:
    if m.get("value") is None:
        return "—"
    return f"{m['value']:.3f} [{m['low']:.3f}, {m['high']:.3f}]"


def report_markdown(report: Report) -> str:
    """The report as Markdown: overall, per type with intervals, calibration, failed questions."""
    from .judges import calibration_markdown

    meta = report.meta
    lines = ["# Evaluation report", "",
             f"{meta['questions']} questions from `{meta['questions_path']}`; backend {meta['backend']}"
             f"{' (' + meta['model'] + ')' if meta['model'] else ''}; {meta['retrieval_mode']} retrieval over {meta['papers']} papers; "
             f"judge `{meta['judge']}` ({meta['judge_description']}); claims: {meta['claims']}; sources: {meta['sources']}; "
             f"95% intervals: percentile bootstrap, {meta['bootstrap']['resamples']} resamples, seed {meta['bootstrap']['seed']}; "
             f"{meta['seconds']['total']} s (answering {meta['seconds']['answer']} s).", "", "## Overall", "", "| metric | value | 95% CI | n |", "|---|---:|---:|---:|"]
    labels = {**METRICS, "abstention_precision": "abstention precision", "abstention_recall": "abstention recall",
              "abstention_f1": "abstention F1", "abstention_rate_answerable": "abstention rate on answerable",
              "latency_p50_ms": "latency p50 (ms)", "latency_p95_ms": "latency p95 (ms)",
              "tokens_prompt": "prompt tokens per answer", "tokens_completion": "completion tokens per answer"}
    for key, m in report.overall.items():
        interval = f"[{m['low']:.3f}, {m['high']:.3f}]" if m.get("low") is not None else ""
        value = "—" if m["value"] is None else (f"{m['value']:.3f}" if m.get("low") is not None else f"{m['value']}")
        lines.append(f"| {labels.get(key, key)} | {value} | {interval} | {m['n']} |")
    lines += ["", "## Per question type (value [95% CI])", "",
              "| type | n | " + " | ".join(METRICS[k] for k in TYPE_COLUMNS) + " |", "|---|---:|" + "---|" * len(TYPE_COLUMNS)]
    for qtype, metrics in report.per_type.items():
        n = sum(r["type"] == qtype for r in report.questions)
        lines.append(f"| {qtype} | {n} | " + " | ".join(_cell(metrics[k]) for k in TYPE_COLUMNS) + " |")
    lines += ["", "## Definitions", "", DEFINITIONS.rstrip()]
    if report.calibration:
        lines += ["", "## Judge calibration (eval/claims.jsonl; test is held out, dev was used for tuning)", "",
                  calibration_markdown(report.calibration)]
    failed = [r for r in report.questions if r["failures"]]
    lines += ["", f"## Failures ({len(failed)} of {len(report.questions)} questions)", ""]
    lines += [f"- **{r['id']}** ({r['type']}): {'; '.join(r['failures'])}. _{r['question']}_" for r in failed]
    return "\n".join(lines) + "\n"


def write_plots(report: Report, out_dir: Path) -> list[Path]:
    """scores_by_type.png (bars with 95% CI error bars) and latency.png (histogram)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name, draw in (("scores_by_type.png", _plot_scores), ("latency.png", _plot_latency)):
        fig = draw(report, plt)
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        paths.append(out_dir / name)
    return paths


def _plot_scores(report: Report, plt):
    types = list(report.per_type)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(PLOT_METRICS)
    for i, key in enumerate(PLOT_METRICS):
        cells = [report.per_type[t][key] for t in types]
        values = [c["value"] if c["value"] is not None else np.nan for c in cells]
        errors = [[v - c["low"] if c["value"] is not None else 0 for v, c in zip(values, cells)],
                  [c["high"] - v if c["value"] is not None else 0 for v, c in zip(values, cells)]]
        ax.bar(np.arange(len(types)) + (i - (len(PLOT_METRICS) - 1) / 2) * width, values, width, yerr=errors,
               capsize=2, label=METRICS[key])
    ax.set_xticks(np.arange(len(types)), types)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (95% bootstrap CI)")
    ax.set_title(f"Scores per question type — {report.meta['backend']}, judge {report.meta['judge']}")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    return fig


def _plot_latency(report: Report, plt):
    fig, ax = plt.subplots(figsize=(7, 4))
    latencies = [max(r["latency_ms"], 1.0) for r in report.questions if r["latency_ms"] is not None]
    bins = np.logspace(0, np.log10(max(latencies, default=10) * 1.1), 30)  # log scale: cold starts are 10-100x slower
    ax.hist(latencies, bins=bins, color="#4c72b0")
    ax.set_xscale("log")
    ax.set_xlabel("answer latency (ms, timings_ms total; log scale)")
    ax.set_ylabel("questions")
    ax.set_title(f"Latency — p50 {report.overall['latency_p50_ms']['value']} ms, p95 {report.overall['latency_p95_ms']['value']} ms")
    return fig


def write_report(report: Report, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    (out_dir / "report.md").write_text(report_markdown(report), encoding="utf-8")
    return [out_dir / "report.json", out_dir / "report.md", *write_plots(report, out_dir)]

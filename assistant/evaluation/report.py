"""Report text and files of evaluation runs: report.md, report.json, plots, calibration tables, run tables.

Out of scope: computing the figures (see `run`, `metrics`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .metrics import METRICS


@dataclass
class Report:
    """One evaluation run: settings, overall and per-type metrics, calibration, per-question rows."""

    meta: dict
    overall: dict
    per_type: dict
    calibration: dict
    questions: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "meta": self.meta,
            "overall": self.overall,
            "per_type": self.per_type,
            "calibration": self.calibration,
            "questions": self.questions,
        }

    def write(self, out_dir: Path | str) -> list[Path]:
        """report.json, report.md and the two plots in `out_dir`; returns the paths written."""
        return write_report(self, Path(out_dir))


COMPARED = [
    "hit@5",
    "recall@5",
    "recall@10",
    "mrr",
    "ndcg@10",
    "faithfulness",
    "fully_supported",
    "citation_recall",
    "citation_precision",
    "citation_gold",
    "key_fact_recall",
    "abstention_precision",
    "abstention_recall",
    "abstention_f1",
    "abstention_rate_answerable",
    "latency_p50_ms",
    "latency_p95_ms",
    "tokens_prompt",
    "tokens_completion",
]

TABLE_COLUMNS = [
    ("recall@5", "recall@5"),
    ("mrr", "MRR"),
    ("ndcg@10", "nDCG@10"),
    ("faithfulness", "faithful claims"),
    ("fully_supported", "fully supported"),
    ("citation_recall", "citation recall"),
    ("citation_precision", "citation precision"),
    ("citation_gold", "cites a gold paper"),
    ("key_fact_recall", "key-fact recall"),
    ("abstention_precision", "abstention precision"),
    ("abstention_recall", "abstention recall"),
    ("abstention_rate_answerable", "abstains on answerable"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p95_ms", "p95 ms"),
    ("tokens_completion", "tokens out"),
]


TYPE_COLUMNS = [
    "recall@5",
    "mrr",
    "faithfulness",
    "citation_recall",
    "citation_precision",
    "citation_gold",
    "key_fact_recall",
    "abstained",
]
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
    meta = report.meta
    lines = [
        "# Evaluation report",
        "",
        f"{meta['questions']} questions from `{meta['questions_path']}`; backend {meta['backend']}"
        f"{' (' + meta['model'] + ')' if meta['model'] else ''}; {meta['retrieval_mode']} retrieval over {meta['papers']} papers; "
        f"judge `{meta['judge']}` ({meta['judge_description']}); claims: {meta['claims']}; sources: {meta['sources']}; "
        f"95% intervals: percentile bootstrap, {meta['bootstrap']['resamples']} resamples, seed {meta['bootstrap']['seed']}; "
        f"{meta['seconds']['total']} s (answering {meta['seconds']['answer']} s).",
        "",
        "## Overall",
        "",
        "| metric | value | 95% CI | n |",
        "|---|---:|---:|---:|",
    ]
    labels = {
        **METRICS,
        "abstention_precision": "abstention precision",
        "abstention_recall": "abstention recall",
        "abstention_f1": "abstention F1",
        "abstention_rate_answerable": "abstention rate on answerable",
        "latency_p50_ms": "latency p50 (ms)",
        "latency_p95_ms": "latency p95 (ms)",
        "tokens_prompt": "prompt tokens per answer",
        "tokens_completion": "completion tokens per answer",
    }
    for key, m in report.overall.items():
        interval = f"[{m['low']:.3f}, {m['high']:.3f}]" if m.get("low") is not None else ""
        value = "—" if m["value"] is None else (f"{m['value']:.3f}" if m.get("low") is not None else f"{m['value']}")
        lines.append(f"| {labels.get(key, key)} | {value} | {interval} | {m['n']} |")
    lines += [
        "",
        "## Per question type (value [95% CI])",
        "",
        "| type | n | " + " | ".join(METRICS[k] for k in TYPE_COLUMNS) + " |",
        "|---|---:|" + "---|" * len(TYPE_COLUMNS),
    ]
    for qtype, metrics in report.per_type.items():
        n = sum(r["type"] == qtype for r in report.questions)
        lines.append(f"| {qtype} | {n} | " + " | ".join(_cell(metrics[k]) for k in TYPE_COLUMNS) + " |")
    lines += ["", "## Definitions", "", DEFINITIONS.rstrip()]
    if report.calibration:
        lines += [
            "",
            "## Judge calibration (eval/claims.jsonl; test is held out, dev was used for tuning)",
            "",
            calibration_markdown(report.calibration),
        ]
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
        errors = [
            [v - c["low"] if c["value"] is not None else 0 for v, c in zip(values, cells)],
            [c["high"] - v if c["value"] is not None else 0 for v, c in zip(values, cells)],
        ]
        ax.bar(
            np.arange(len(types)) + (i - (len(PLOT_METRICS) - 1) / 2) * width,
            values,
            width,
            yerr=errors,
            capsize=2,
            label=METRICS[key],
        )
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
    ax.set_title(
        f"Latency — p50 {report.overall['latency_p50_ms']['value']} ms, p95 {report.overall['latency_p95_ms']['value']} ms"
    )
    return fig


def write_report(report: Report, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    (out_dir / "report.md").write_text(report_markdown(report), encoding="utf-8")
    return [out_dir / "report.json", out_dir / "report.md", *write_plots(report, out_dir)]


def calibration_markdown(result: dict) -> str:
    """The calibration result as two Markdown tables (per split, then accuracy per kind of claim)."""
    lines = [
        f"Judge: `{result['judge']}` ({result['description']})",
        "",
        "| split | n | accuracy | balanced accuracy | Cohen's kappa |",
        "|---|---:|---:|---:|---:|",
    ]
    for split, m in result["splits"].items():
        lines.append(f"| {split} | {m['n']} | {m['accuracy']:.3f} | {m['balanced_accuracy']:.3f} | {m['kappa']:.3f} |")
    splits = list(result["splits"])
    lines += ["", "| kind | " + " | ".join(f"{s} accuracy (n)" for s in splits) + " |", "|---|" + "---:|" * len(splits)]
    for kind, by_split in result["per_kind"].items():
        cells = [f"{by_split[s]['accuracy']:.3f} ({by_split[s]['n']})" if s in by_split else "—" for s in splits]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    if result.get("skipped"):
        lines += ["", f"{result['skipped']} claim(s) skipped: their paper is not in the collection."]
    return "\n".join(lines)


def load_report(path: Path) -> dict:
    path = path / "report.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation report at {path}; run `assistant eval --out DIR` first")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not an evaluation report (not JSON: {err})") from None
    if not isinstance(report, dict) or not {"meta", "overall"} <= set(report):
        raise ValueError(f'{path} is not an evaluation report (no "meta" and "overall")')
    return report


def overall_table(runs: dict[str, dict]) -> str:
    """Overall metrics of one or more runs side by side; with two runs, a delta column (B − A)."""
    names = list(runs)
    header = ["metric", *[n or "value" for n in names]] + (["delta"] if len(names) == 2 else [])
    rows = [header]
    for key in COMPARED:
        values = [runs[n].get(key, {}).get("value") for n in names]
        cells = ["—" if v is None else f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}" for v in values]
        if len(names) == 2:
            a, b = values
            cells.append(
                "—" if a is None or b is None else f"{b - a:+.3f}" if max(abs(a), abs(b)) < 10 else f"{b - a:+.1f}"
            )
        rows.append([key, *cells])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows
    )


def markdown_table(reports: list[dict]) -> str:
    """One row per run: backend, model, judge, questions, then TABLE_COLUMNS (values; latencies in whole ms)."""
    header = ["backend", "model", "judge", "questions"] + [label for _, label in TABLE_COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 4 + "---:|" * len(TABLE_COLUMNS)]
    for report in reports:
        meta, overall = report["meta"], report["overall"]
        cells = [meta["backend"], meta.get("model") or "—", f"`{meta['judge']}`", str(meta["questions"])]
        for key, _ in TABLE_COLUMNS:
            value = overall.get(key, {}).get("value")
            cells.append(
                "—" if value is None else f"{value:.0f}" if key.startswith(("latency", "tokens")) else f"{value:.3f}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

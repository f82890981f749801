"""The `assistant eval` command: run the evaluation (default), compare two runs, tabulate runs, verify pairs,
calibrate judges.

Out of scope: any logic of its own; it calls `evaluation` and `judges` as a Python user would.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import BACKENDS

COMPARED = ["hit@5", "recall@5", "recall@10", "mrr", "ndcg@10", "faithfulness", "fully_supported", "citation_recall",
            "citation_precision", "citation_gold", "key_fact_recall", "abstention_precision", "abstention_recall",
            "abstention_f1", "abstention_rate_answerable", "latency_p50_ms", "latency_p95_ms", "tokens_prompt",
            "tokens_completion"]

TABLE_COLUMNS = [("recall@5", "recall@5"), ("mrr", "MRR"), ("ndcg@10", "nDCG@10"), ("faithfulness", "faithful claims"),
                 ("fully_supported", "fully supported"), ("citation_recall", "citation recall"),
                 ("citation_precision", "citation precision"), ("citation_gold", "cites a gold paper"),
                 ("key_fact_recall", "key-fact recall"), ("abstention_precision", "abstention precision"),
                 ("abstention_recall", "abstention recall"), ("abstention_rate_answerable", "abstains on answerable"),
                 ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"), ("tokens_completion", "tokens out")]


def add_judge_options(parser: argparse.ArgumentParser, defaults: bool = True) -> None:
    # Subcommands repeat these without defaults, so `eval --judge llm calibrate` keeps the parent's value.
    default = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    parser.add_argument("--judge", choices=["offline", "llm"], default=default("offline"),
                        help="support judge: the offline verifier (default) or an OpenAI-compatible LLM")
    parser.add_argument("--judge-model", default=default(None), help="model for the LLM judge (default: settings.llm.model)")
    parser.add_argument("--judge-base-url", default=default(None),
                        help="endpoint for the LLM judge (default: settings.llm.base_url / OPENAI_BASE_URL)")


def add_eval_parser(sub) -> None:
    """`eval` with run options, and the subcommands `compare`, `verify` and `calibrate`."""
    parser = sub.add_parser("eval", help="run the evaluation suite (or: eval compare | verify | calibrate)",
                            description="Without a subcommand, answer the question set and write a report.")
    parser.add_argument("--backend", choices=BACKENDS, help="answering backend (default: auto)")
    parser.add_argument("--model", help="model name for the openai backend")
    parser.add_argument("--questions", type=Path, help="question set (default: eval/questions.jsonl)")
    parser.add_argument("--out", type=Path, help="report folder (default: eval/results/<backend>)")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    add_judge_options(parser)
    commands = parser.add_subparsers(dest="eval_command", metavar="SUBCOMMAND")
    compare = commands.add_parser("compare", help="side-by-side overall metrics of two runs, with deltas")
    compare.add_argument("run_a", type=Path, help="report folder (or report.json) of run A")
    compare.add_argument("run_b", type=Path, help="report folder (or report.json) of run B")
    table = commands.add_parser("table", help="one markdown row per run (backend, model) with the main metrics")
    table.add_argument("runs", type=Path, nargs="+", help="report folders (or report.json files)")
    verify = commands.add_parser("verify", help="judge {claim, source} pairs from a JSONL file; one JSON line each")
    verify.add_argument("pairs", type=Path, help="JSONL file with a claim and a source per line")
    add_judge_options(verify, defaults=False)
    calibrate = commands.add_parser("calibrate", help="a judge's agreement with the labelled claims")
    calibrate.add_argument("--claims", type=Path, help="claim set (default: eval/claims.jsonl)")
    add_judge_options(calibrate, defaults=False)


def run_eval_command(args) -> int:
    command = getattr(args, "eval_command", None) or "run"
    commands = {"run": cmd_run, "compare": cmd_compare, "table": cmd_table, "verify": cmd_verify, "calibrate": cmd_calibrate}
    return commands[command](args)


def make_judge_from(args, **kwargs):
    from .config import Settings
    from .judges import make_judge

    return make_judge(args.judge, Settings(), model=args.judge_model, base_url=args.judge_base_url, **kwargs)


def cmd_run(args) -> int:
    from .backends import resolve_backend
    from .cli import make_assistant
    from .evaluation import run

    assistant = make_assistant(args)
    backend = resolve_backend(assistant.settings, args.backend)
    judge = "offline" if args.judge == "offline" else make_judge_from(args)
    out = args.out or Path("eval") / "results" / backend
    report = run(assistant, questions_path=args.questions, backend=backend, judge=judge, out_dir=out, limit=args.limit)
    print(overall_table({"": report.overall}))
    print(f"report: {out / 'report.md'}")
    return 0


def load_report(path: Path) -> dict:
    path = path / "report.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation report at {path}; run `assistant eval --out DIR` first")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not an evaluation report (not JSON: {err})") from None
    if not isinstance(report, dict) or not {"meta", "overall"} <= set(report):
        raise ValueError(f"{path} is not an evaluation report (no \"meta\" and \"overall\")")
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
            cells.append("—" if a is None or b is None else f"{b - a:+.3f}" if max(abs(a), abs(b)) < 10 else f"{b - a:+.1f}")
        rows.append([key, *cells])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def cmd_compare(args) -> int:
    a, b = load_report(args.run_a), load_report(args.run_b)
    print(f"A: {args.run_a}  ({a['meta']['backend']}, judge {a['meta']['judge']}, {a['meta']['questions']} questions)")
    print(f"B: {args.run_b}  ({b['meta']['backend']}, judge {b['meta']['judge']}, {b['meta']['questions']} questions)")
    print(overall_table({"A": a["overall"], "B": b["overall"]}))
    return 0


def markdown_table(reports: list[dict]) -> str:
    """One row per run: backend, model, judge, questions, then TABLE_COLUMNS (values; latencies in whole ms)."""
    header = ["backend", "model", "judge", "questions"] + [label for _, label in TABLE_COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 4 + "---:|" * len(TABLE_COLUMNS)]
    for report in reports:
        meta, overall = report["meta"], report["overall"]
        cells = [meta["backend"], meta.get("model") or "—", f"`{meta['judge']}`", str(meta["questions"])]
        for key, _ in TABLE_COLUMNS:
            value = overall.get(key, {}).get("value")
            cells.append("—" if value is None else f"{value:.0f}" if key.startswith(("latency", "tokens")) else f"{value:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cmd_table(args) -> int:
    print(markdown_table([load_report(path) for path in args.runs]))
    return 0


def cmd_verify(args) -> int:
    from .judges import load_jsonl

    pairs = load_jsonl(args.pairs)
    for number, pair in enumerate(pairs, 1):
        if not isinstance(pair, dict) or not {"claim", "source"} <= set(pair):
            raise ValueError(f"{args.pairs.name}, line {number}: each line needs a \"claim\" and a \"source\"")
    judge = make_judge_from(args)
    judge.prepare([p["claim"] for p in pairs])
    for pair in pairs:
        judgement = judge.check(pair["claim"], pair["source"])
        extra = {k: v for k, v in pair.items() if k != "source"}
        print(json.dumps({**extra, "label": judgement.label, "score": round(judgement.score, 4)}, ensure_ascii=False))
        sys.stdout.flush()
    return 0


def cmd_calibrate(args) -> int:
    from .judges import CACHE_DIR, calibrate, calibration_markdown

    result = calibrate(make_judge_from(args), claims_path=args.claims, progress=not args.quiet, cache_dir=CACHE_DIR)
    print(calibration_markdown(result))
    return 0

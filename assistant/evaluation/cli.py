"""The `assistant eval` command: run the evaluation (default), compare two runs, tabulate runs, verify pairs,
calibrate judges.

Files come from the arguments, else from settings.evaluation (question set, claim set, results folder);
judge caches go to settings.cache_dir. The main command line hands in how it builds an `Assistant`.
Out of scope: any logic of its own; it calls `run`, `judges` and `report` as a Python user would.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import BACKENDS, get_settings
from .report import calibration_markdown, load_report, markdown_table, overall_table


def add_judge_options(parser: argparse.ArgumentParser, defaults: bool = True) -> None:
    # Subcommands repeat these without defaults, so `eval --judge llm calibrate` keeps the parent's value.
    default = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    parser.add_argument(
        "--judge",
        choices=["offline", "llm"],
        default=default("offline"),
        help="support judge: the offline verifier (default) or an OpenAI-compatible LLM",
    )
    parser.add_argument(
        "--judge-model", default=default(None), help="model for the LLM judge (default: settings.llm.model)"
    )
    parser.add_argument(
        "--judge-base-url",
        default=default(None),
        help="endpoint for the LLM judge (default: settings.llm.base_url / OPENAI_BASE_URL)",
    )


def add_eval_parser(sub) -> None:
    """`eval` with run options, and the subcommands `compare`, `verify` and `calibrate`."""
    from .inputs import describe_sets

    parser = sub.add_parser(
        "eval",
        help="run the evaluation suite (or: eval compare | verify | calibrate)",
        description="Without a subcommand, answer the question set, score every answer and write a report.",
        epilog=describe_sets(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=BACKENDS, help="answering backend (default: auto)")
    parser.add_argument("--model", help="model name for the openai backend")
    parser.add_argument("--questions", type=Path, help="question set (default: the bundled one; see below)")
    parser.add_argument("--claims", type=Path, help="claim set the judge is calibrated on (default: the bundled one)")
    parser.add_argument("--no-claims", action="store_true", help="skip the judge's calibration on the claim set")
    parser.add_argument(
        "--out",
        type=Path,
        help="report folder (default: settings.evaluation.results_dir/<backend>, ./eval-results/<backend>)",
    )
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--fresh", action="store_true", help="answer every question again instead of resuming a run")
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
    pubmedqa = commands.add_parser(
        "pubmedqa", help="answerability on PubMedQA: each question with its paper indexed, and with it taken out"
    )
    pubmedqa.add_argument("--datasets", type=Path, help="folder holding pubmedqa/ (default: ../shared/datasets)")
    pubmedqa.add_argument("--split", choices=["test", "dev"], default="test", help="question split (default: test)")
    pubmedqa.add_argument("--out", type=Path, help="report folder (default: ./eval-results/pubmedqa-<split>)")
    pubmedqa.add_argument("--limit", type=int, help="only the first N questions")
    scifact = commands.add_parser(
        "scifact",
        help="the claim check on SciFact's dev claims: with the gold abstracts, and retrieving (open setting)",
    )
    scifact.add_argument("--datasets", type=Path, help="folder holding scifact/ (default: ../shared/datasets)")
    scifact.add_argument("--out", type=Path, help="report folder (default: ./eval-results/scifact-claims)")
    scifact.add_argument("--limit", type=int, help="only the first N claims")
    scifact.add_argument(
        "--k", type=int, default=3, help="abstracts retrieved per claim in the open setting (default: 3)"
    )
    calibrate = commands.add_parser("calibrate", help="a judge's agreement with the labelled claims")
    calibrate.add_argument(
        "--claims", type=Path, help="claim set (default: settings.evaluation.claims, eval/claims.jsonl)"
    )
    add_judge_options(calibrate, defaults=False)


def run_eval_command(args, make_assistant) -> int:
    """Run `assistant eval [SUBCOMMAND]`; `make_assistant(args)` builds the Assistant with the command line's settings."""
    command = getattr(args, "eval_command", None) or "run"
    if command == "run":
        return cmd_run(args, make_assistant(args))
    if command == "calibrate":
        return cmd_calibrate(args, make_assistant(args))
    if command == "pubmedqa":
        return cmd_pubmedqa(args)
    if command == "scifact":
        return cmd_scifact(args)
    return {"compare": cmd_compare, "table": cmd_table, "verify": cmd_verify}[command](args)


def judge_for(args, settings, verifier=None):
    from .judges import make_judge

    return make_judge(args.judge, settings, verifier=verifier, model=args.judge_model, base_url=args.judge_base_url)


def cmd_run(args, assistant) -> int:
    from ..backends import resolve_backend
    from .run import Partial, run

    settings = assistant.settings
    backend = resolve_backend(settings, args.backend)
    out = args.out or Path(settings.evaluation.results_dir) / backend
    claims = None if args.no_claims else args.claims or settings.evaluation.claims
    try:
        report = run(
            assistant,
            judge_for(args, settings, assistant.verifier),
            args.questions or settings.evaluation.questions,
            backend=backend,
            out_dir=out,
            limit=args.limit,
            claims_path=claims,
            cache_dir=Path(settings.cache_dir) / "judges",
            resume=not args.fresh,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: the questions scored so far are kept in {out / Partial.NAME}; "
            "run the same command again to go on from there (--fresh starts again)",
            file=sys.stderr,
        )
        return 130
    print(overall_table({"": report.overall}))
    resumed = report.meta.get("resumed")
    print(
        f"report: {out / 'report.md'}" + (f" ({resumed} questions resumed from an interrupted run)" if resumed else "")
    )
    return 0


def cmd_pubmedqa(args) -> int:
    from ..config import settings_with
    from .datasets import pubmedqa_answerability

    settings = settings_with({"progress": False if args.quiet else None})
    out = args.out or Path(settings.evaluation.results_dir) / f"pubmedqa-{args.split}"
    report = pubmedqa_answerability(
        settings, args.datasets or settings.evaluation.datasets_dir, args.split, out, limit=getattr(args, "limit", None)
    )
    for name, value in report["overall"].items():
        print(f"{name}: {value:.3f}")
    print(f"report: {out / 'report.md'}")
    return 0


def cmd_scifact(args) -> int:
    from ..config import settings_with
    from .scifact import scifact_claims

    settings = settings_with({"progress": False if args.quiet else None})
    out = args.out or Path(settings.evaluation.results_dir) / "scifact-claims"
    report = scifact_claims(settings, args.datasets or settings.evaluation.datasets_dir, out, args.limit, args.k)
    gold, found = report["gold"], report["open"]
    print(
        f"gold abstracts: accuracy {gold['accuracy']:.3f}, balanced accuracy support vs contradict "
        f"{gold['balanced_accuracy_support_vs_contradict']:.3f}, support vs no evidence "
        f"{gold['balanced_accuracy_support_vs_no_evidence']:.3f}"
    )
    print(
        f"open setting (k={args.k}): precision {found['precision']:.3f}, recall {found['recall']:.3f}, F1 {found['f1']:.3f}"
    )
    print(f"report: {out / 'report.md'}")
    return 0


def cmd_compare(args) -> int:
    a, b = load_report(args.run_a), load_report(args.run_b)
    print(f"A: {args.run_a}  ({a['meta']['backend']}, judge {a['meta']['judge']}, {a['meta']['questions']} questions)")
    print(f"B: {args.run_b}  ({b['meta']['backend']}, judge {b['meta']['judge']}, {b['meta']['questions']} questions)")
    print(overall_table({"A": a["overall"], "B": b["overall"]}))
    return 0


def cmd_table(args) -> int:
    print(markdown_table([load_report(path) for path in args.runs]))
    return 0


def cmd_verify(args) -> int:
    from .judges import load_jsonl

    pairs = load_jsonl(args.pairs)
    for number, pair in enumerate(pairs, 1):
        if not isinstance(pair, dict) or not {"claim", "source"} <= set(pair):
            raise ValueError(f'{args.pairs.name}, line {number}: each line needs a "claim" and a "source"')
    judge = judge_for(args, get_settings())
    judge.prepare([p["claim"] for p in pairs])
    for pair in pairs:
        verdict = judge.check(pair["claim"], pair["source"], pair.get("title", ""))
        extra = {k: v for k, v in pair.items() if k != "source"}
        print(json.dumps({**extra, "label": verdict.label, "score": round(verdict.score, 4)}, ensure_ascii=False))
        sys.stdout.flush()
    return 0


def cmd_calibrate(args, assistant) -> int:
    """Calibrate against the claim set, with the abstracts of the papers in the assistant's index."""
    from .judges import calibrate

    settings = assistant.settings
    papers = assistant.papers()
    result = calibrate(
        judge_for(args, settings, assistant.verifier),
        args.claims or settings.evaluation.claims,
        {p.paper_id: p.abstract for p in papers},
        progress=not args.quiet,
        cache_dir=Path(settings.cache_dir) / "judges",
        titles={p.paper_id: p.title for p in papers},
    )
    print(calibration_markdown(result))
    return 0

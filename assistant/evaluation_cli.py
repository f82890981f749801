"""The `assistant eval` subcommands (filled in by the evaluation harness)."""

from __future__ import annotations


def add_eval_parser(sub) -> None:
    sub.add_parser("eval", help="run the evaluation suite")


def run_eval_command(args) -> int:
    raise NotImplementedError("evaluation is not built yet")

"""Load test of the chat UI: N concurrent gradio_client sessions, each asking a different question.

Starts the UI over the default index with the extractive backend (or connects to a running one
with --url) and prints how many questions were answered, errors, and latency percentiles.
Out of scope: pass/fail thresholds; it reports figures, it asserts nothing about time.

Example: python scripts/load_test.py --sessions 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from assistant.config import BACKENDS, settings_with, use_offline_environment

use_offline_environment()

QUESTIONS = [
    "How does Stable-SPAM stabilise 4-bit training?",
    "Which papers study mixture-of-experts efficiency?",
    "What is DANCE?",
    "What is GRNFormer?",
    "How can a language model forget personal information without losing utility?",
    "What does MedHallu measure?",
    "How does X-LoRA mix low-rank adapters?",
    "Are genetic algorithms competitive for training deep reinforcement learning networks?",
    "How can diffusion trees be used for kinodynamic motion planning?",
    "How is differential privacy applied to fine-tuning large language models?",
    "What is online direct preference optimization?",
    "How are backdoor attacks on deep neural networks defended against?",
    "Which papers propose adaptive batch size schemes?",
    "How does CloudFormer predict performance in public clouds?",
    "What threats do trustworthy LLM agents face?",
    "How is knowledge distillation improved with geometry?",
    "What is Mamba-FSCIL?",
    "How can fairness and accuracy be traded off at inference time?",
    "How is plasticity studied in visual reinforcement learning?",
    "What are energy-based concept bottleneck models?",
]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile. Example: percentile([1, 2, 3, 4], 50) == 2"""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 100)) - 1))]


def ask_once(url: str, question: str, timeout: float) -> tuple[str, float, str]:
    """One session asks one question; returns (outcome, seconds, detail)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    started = time.perf_counter()
    try:
        result = client.submit(question, api_name="/ask").result(timeout=timeout)
    except Exception as err:  # the load test reports failures; it does not stop at the first
        return "error", time.perf_counter() - started, f"{type(err).__name__}: {err}"
    seconds = time.perf_counter() - started
    chat = result[1] if isinstance(result, (list, tuple)) else result
    reply = str(chat[-1].get("content", "")) if chat else ""
    if "answer-error" in reply or not chat:
        return "error", seconds, reply[:200]
    return ("abstained" if "abstained" in reply else "answered"), seconds, ""


def start_app(index_dir: str | None, backend: str):
    """Serve the UI in this process on a free loopback port; returns its URL."""
    from assistant import ui
    from assistant.api import Assistant
    from assistant.ports import free_port

    settings = settings_with({"progress": False, "llm.backend": backend, "index_dir": index_dir})
    demo = ui.launch(
        Assistant(settings=settings), host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True
    )
    return demo.local_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running UI to load (default: start one here)")
    parser.add_argument(
        "--sessions", type=int, default=20, help="concurrent sessions, each with its own question (default 20)"
    )
    parser.add_argument(
        "--backend",
        default="extractive",
        choices=BACKENDS,
        help="answering backend of the UI started here (default extractive)",
    )
    parser.add_argument(
        "--index-dir", help="index folder of the UI started here (default: ASSISTANT_INDEX_DIR or ./index)"
    )
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="ask one question alone first, so model loading and index opening are not timed",
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for one answer (default 600)")
    args = parser.parse_args(argv)

    url = args.url or start_app(args.index_dir, args.backend)
    questions = [
        QUESTIONS[i % len(QUESTIONS)] + ("" if i < len(QUESTIONS) else f" ({i})") for i in range(args.sessions)
    ]
    if args.warm_up:
        outcome, seconds, detail = ask_once(url, "What is a warm-up question?", args.timeout)
        print(f"warm-up: {outcome} in {seconds:.2f} s {detail}", flush=True)
    print(f"{args.sessions} concurrent sessions against {url}", flush=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.sessions) as pool:
        results = list(pool.map(lambda q: ask_once(url, q, args.timeout), questions))
    wall = time.perf_counter() - started

    outcomes = [r[0] for r in results]
    latencies = [r[1] for r in results if r[0] != "error"]
    print(
        f"answered: {outcomes.count('answered')}  abstained: {outcomes.count('abstained')}  errors: {outcomes.count('error')}"
    )
    if latencies:
        print(
            f"latency s: p50 {percentile(latencies, 50):.2f}  p95 {percentile(latencies, 95):.2f}  "
            f"min {min(latencies):.2f}  max {max(latencies):.2f}  mean {statistics.mean(latencies):.2f}"
        )
    print(f"wall {wall:.1f} s, {len(results) / wall:.2f} questions/s")
    for (outcome, _, detail), question in zip(results, questions):
        if outcome == "error":
            print(f"  error on {question!r}: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

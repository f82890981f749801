"""Load test of the chat UI or the API: N concurrent clients, each asking a different question.

`--via ui` (default): gradio_client sessions against the chat UI. `--via api`: `openai` clients against
the OpenAI-compatible /v1 of `assistant serve`. Starts the server over the default index with the
extractive backend (or connects to a running one with --url) and prints how many questions were
answered, errors, and latency percentiles.
Out of scope: pass/fail thresholds; it reports figures, it asserts nothing about time.

Example: python scripts/load_test.py --sessions 20 --via api
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


def ask_api(url: str, question: str, timeout: float, key: str | None = None) -> tuple[str, float, str]:
    """One openai client asks one question of /v1; returns (outcome, seconds, detail)."""
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key or "none", max_retries=0, timeout=timeout)
    started = time.perf_counter()
    try:
        reply = client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": question}])
    except Exception as err:  # the load test reports failures; it does not stop at the first
        return "error", time.perf_counter() - started, f"{type(err).__name__}: {err}"
    seconds = time.perf_counter() - started
    answer = (reply.model_extra or {}).get("answer") or {}
    if not reply.choices[0].message.content or not answer:
        return "error", seconds, "empty reply"
    return ("abstained" if answer.get("abstained") else "answered"), seconds, ""


def start_server(index_dir: str | None, backend: str) -> str:
    """Serve `assistant serve`'s app (APIs only) in this process on a free loopback port; returns its URL."""
    import threading

    import uvicorn

    from assistant.api import Assistant
    from assistant.ports import free_port
    from assistant.server import build_server
    from assistant.tools import Toolbox

    settings = settings_with({"progress": False, "llm.backend": backend, "index_dir": index_dir})
    app = build_server(Toolbox(Assistant(settings=settings)), ui=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


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
    parser.add_argument("--via", choices=["ui", "api"], default="ui", help="the chat UI (default) or the /v1 API")
    parser.add_argument(
        "--url", help="a running UI (or `assistant serve`, with --via api) to load (default: start one)"
    )
    parser.add_argument("--api-key", help="the server's API key (--via api with --url)")
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

    if args.via == "api":
        url = args.url or start_server(args.index_dir, args.backend)

        def ask(question: str) -> tuple[str, float, str]:
            return ask_api(url, question, args.timeout, args.api_key)

    else:
        url = args.url or start_app(args.index_dir, args.backend)

        def ask(question: str) -> tuple[str, float, str]:
            return ask_once(url, question, args.timeout)

    questions = [
        QUESTIONS[i % len(QUESTIONS)] + ("" if i < len(QUESTIONS) else f" ({i})") for i in range(args.sessions)
    ]
    if args.warm_up:
        outcome, seconds, detail = ask("What is a warm-up question?")
        print(f"warm-up: {outcome} in {seconds:.2f} s {detail}", flush=True)
    print(f"{args.sessions} concurrent {args.via} clients against {url}", flush=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.sessions) as pool:
        results = list(pool.map(ask, questions))
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

"""Time to first token of the local backend on a typical question (prompt building included).

Usage: python scripts/ttft.py [--gguf qwen2.5-coder-0.5b] [--source-tokens 700] [--threads 2] [--question Q ...]
Prints the prompt size, the seconds to the first streamed token and to the whole answer, and the load average.
"""

from __future__ import annotations

import argparse
import os
import time

from assistant.api import Assistant
from assistant.config import settings_with

QUESTIONS = [
    "How does Stable-SPAM stabilise 4-bit training?",
    "What mean absolute error does CloudFormer achieve for VM performance-degradation prediction?",
    "How can meta-learning speed up large model inference in decentralized environments?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", default="qwen2.5-coder-0.5b")
    parser.add_argument("--source-tokens", type=int, default=None, help="llm.local_source_tokens (default: settings)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--question", action="append", help="question(s) to time (default: three typical ones)")
    args = parser.parse_args()
    settings = settings_with(
        {
            "llm.backend": "local",
            "llm.gguf": args.gguf,
            "llm.n_threads": args.threads,
            "llm.local_source_tokens": args.source_tokens,
            "llm.first_token_timeout": 600,
            "llm.timeout": 900,
            "progress": False,
        }
    )
    assistant = Assistant(settings=settings)
    assistant.ask("Which papers study mixture-of-experts efficiency?")  # warm-up: server start, model load, caches
    for question in args.question or QUESTIONS:  # distinct questions: llama.cpp reuses a cached identical prompt
        started, first = time.perf_counter(), None
        for item in assistant.ask_stream(question):
            if isinstance(item, str) and item.strip() and first is None:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        print(
            f"prompt {item.tokens.get('prompt')} tokens, completion {item.tokens.get('completion')}: "
            f"first token {first:.1f} s, whole answer {total:.1f} s, load {os.getloadavg()[0]:.1f}; "
            f"backend {item.backend}, notes {item.notes}"
        )
        print("  " + item.text[:300])


if __name__ == "__main__":
    main()

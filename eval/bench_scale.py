"""How the index scales: synthetic collections of N papers, each ingested from one JSONL file.

Prints, per size: ingest time with a hashing stand-in embedder (so only the store, Chroma and
the lexical index are timed), peak RSS of the ingest, open-index time in a new process, first
search and warm search p50/p95 (hybrid; hybrid with a year filter), and the time to add 1k
papers to the largest index; and, on the first size, the ingest with the real model as a ratio
to a raw `encode` of the same chunks. Papers are built from the bundled abstracts' sentences
plus a unique invented method name, so every paper is findable by its name.

    python eval/bench_scale.py --sizes 10000 100000 [--real-model-size 10000] [--work DIR]

Out of scope: answer quality (see eval/bench.py and `assistant eval`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYLLABLES = [a + b for a in "bdfgklmnprstvz" for b in "aeiou"]  # 70 syllables: 70^4 = 24M names
YEARS = list(range(2015, 2026))


def method_name(i: int) -> str:
    """A unique invented name for paper i. Example: method_name(0) == "Babababa"."""
    parts = []
    for _ in range(4):
        i, r = divmod(i, len(SYLLABLES))
        parts.append(SYLLABLES[r])
    return "".join(parts).capitalize()


def seed_sentences() -> list[str]:
    from assistant.config import SEEDS_DIR
    from assistant.corpus import seed_files
    from assistant.formats import load_file

    text = " ".join(p.abstract for f in seed_files(SEEDS_DIR) for p in load_file(f))
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if 40 <= len(s) <= 400]


def write_collection(path: Path, n: int, start: int = 0, seed: int = 7) -> Path:
    """Write n synthetic papers (ids start..start+n) as JSON Lines; streamed, so any n fits."""
    rng, sentences = random.Random(seed + start), seed_sentences()
    with path.open("w", encoding="utf-8") as out:
        for i in range(start, start + n):
            name = method_name(i)
            body = " ".join(rng.sample(sentences, 5))
            record = {
                "id": f"syn-{i}",
                "title": f"{name}: {body.split('.')[0][:80]}",
                "abstract": f"We propose {name}, a new method. {body}",
                "date": str(rng.choice(YEARS)),
                "authors": [f"Author {rng.randrange(5000)}", f"Author {rng.randrange(5000)}"],
            }
            out.write(json.dumps(record) + "\n")
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_assistant(index_dir: Path, embedder=None):
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.embeddings import HashingEmbedder

    return Assistant(
        index_dir=index_dir, corpus=None, embedder=embedder or HashingEmbedder(), settings=Settings(progress=False)
    )


# ---- steps, each run in a fresh process ---------------------------------------------------------


def step_ingest(index_dir: str, path: str) -> dict:
    started = time.perf_counter()
    summary = make_assistant(Path(index_dir)).ingest([path])
    return {"seconds": time.perf_counter() - started, "papers": summary.total_papers, "peak_rss_mb": peak_rss_mb()}


def step_search(index_dir: str, n: str) -> dict:
    started = time.perf_counter()
    assistant = make_assistant(Path(index_dir))
    opened = time.perf_counter() - started
    rng, total = random.Random(3), int(n)
    names = [method_name(rng.randrange(total)) for _ in range(60)]
    first_started = time.perf_counter()
    first = assistant.search(f"How does {names[0]} work?", k=5)
    first_s = time.perf_counter() - first_started
    found = any(h.title.startswith(names[0]) for h in first)
    timings = {"hybrid": [], "year": []}
    for name in names[1:]:
        for key, filters in (("hybrid", None), ("year", {"year": 2020})):
            t = time.perf_counter()
            hits = assistant.search(f"How does {name} improve training?", k=5, filters=filters)
            timings[key].append(time.perf_counter() - t)
            found += key == "hybrid" and any(h.title.startswith(name) for h in hits)
    pct = {
        f"{key}_{q}_ms": 1000 * statistics.quantiles(v, n=20)[18 if q == "p95" else 9]
        for key, v in timings.items()
        for q in ("p50", "p95")
    }
    return {
        "open_s": opened,
        "first_search_s": first_s,
        **pct,
        "found_in_top5": f"{found}/{len(names)}",
        "peak_rss_mb": peak_rss_mb(),
    }


def step_real_model(index_dir: str, path: str) -> dict:
    from assistant.config import Settings
    from assistant.embeddings import LocalEmbedder
    from assistant.formats import load_file
    from assistant.index import chunk_paper

    embedder = LocalEmbedder()
    embedder.embed(["warm up"])
    texts = [c.text for p in load_file(path) for c in chunk_paper(p, Settings().chunk.size, Settings().chunk.overlap)]
    t = time.perf_counter()
    embedder.embed(texts)
    raw = time.perf_counter() - t
    t = time.perf_counter()
    make_assistant(Path(index_dir), embedder=embedder).ingest([path])
    ingest = time.perf_counter() - t
    return {"encode_s": raw, "ingest_s": ingest, "ratio": ingest / raw, "chunks": len(texts)}


STEPS = {"ingest": step_ingest, "search": step_search, "real": step_real_model}


def run_step(*args: str) -> dict:
    env = dict(os.environ, ASSISTANT_PROGRESS="false", ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, __file__, "--step", *args], capture_output=True, text=True, env=env)
    if result.returncode:
        raise SystemExit(f"step {args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--real-model-size", type=int, default=10_000, help="0 skips the real-model ingest")
    parser.add_argument("--work", type=Path, help="folder for files and indexes (default: a temporary one)")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step[0]](*args.step[1:])))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# bench_scale on {os.cpu_count()} cores; work folder {work}", flush=True)
    for n in args.sizes:
        data, index = write_collection(work / f"papers-{n}.jsonl", n), work / f"index-{n}"
        shutil.rmtree(index, ignore_errors=True)
        row = {"papers": n, **{f"ingest_{k}": v for k, v in run_step("ingest", str(index), str(data)).items()}}
        row.update({f"search_{k}": v for k, v in run_step("search", str(index), str(n)).items()})
        print(json.dumps(row), flush=True)
    largest = max(args.sizes)
    extra = write_collection(work / "extra-1k.jsonl", 1000, start=largest)
    print(
        json.dumps({"add_1k_to": largest, **run_step("ingest", str(work / f"index-{largest}"), str(extra))}), flush=True
    )
    if args.real_model_size:
        data = write_collection(work / f"real-{args.real_model_size}.jsonl", args.real_model_size, start=10_000_000)
        print(
            json.dumps(
                {"real_model_papers": args.real_model_size, **run_step("real", str(work / "index-real"), str(data))}
            ),
            flush=True,
        )
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()

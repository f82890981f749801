"""How long the three-way claim check takes per (sentence, paper): p50 and p95 on SciFact dev claims.

Usage: python eval/bench_claim_check.py --model DIR [--datasets ../shared/datasets] [--pairs 300] [--threads 2]
Each timed call is `Verifier.entail(claim, abstract)` for a claim against one of the abstracts it cites,
as the answer-time check makes it: the abstract's sentence vectors are computed once per paper (the
verifier caches them; an answer's papers are already embedded for the support check), then timed are
the claim's vector, choosing the passages and the claim model on them. Prints figures with the git
commit; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.entailment import ClaimModel  # noqa: E402
from assistant.minilm import OnnxEmbedder  # noqa: E402
from assistant.verify import Verifier, titled  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a claim model folder (see assistant/entailment.py)")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    folder = args.datasets / "scifact"
    lines = (folder / "corpus.jsonl").read_text().split("\n")
    corpus = {r["doc_id"]: r for r in (json.loads(line) for line in lines if line.strip())}
    claims = [json.loads(line) for line in (folder / "claims_dev.jsonl").read_text().split("\n") if line.strip()]
    pairs = [(c["claim"], corpus[int(d)]) for c in claims for d in c["cited_doc_ids"]][: args.pairs]
    verifier = Verifier(OnnxEmbedder(threads=args.threads), claim_model=ClaimModel(args.model, threads=args.threads))
    for claim, paper in pairs[:5]:  # warm-up: sessions loaded
        verifier.entail(claim, " ".join(paper["abstract"]), title=paper["title"])
    times = []
    for claim, paper in pairs:
        abstract = " ".join(paper["abstract"])
        verifier.units(titled(paper["title"], abstract))  # the paper's sentences, embedded once per paper
        started = time.perf_counter()
        verifier.entail(claim, abstract, title=paper["title"])
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(f"commit {commit.stdout.strip()}, {len(times)} (claim, abstract) pairs, {args.threads} threads")
    print(
        f"claim check per (sentence, paper): p50 {statistics.median(times):.1f} ms, "
        f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, mean {statistics.fmean(times):.1f} ms"
    )


if __name__ == "__main__":
    main()

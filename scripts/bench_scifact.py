"""SciFact retrieval (BEIR test: 300 claims over 5,183 abstracts): nDCG@10 of the assistant's search.

Usage: python scripts/bench_scifact.py [--mode hybrid] [--index-dir DIR] [--provider onnx|local] [--batch-size N]
The data are read in place from ../shared/datasets/scifact (never copied). An --index-dir that
already holds the corpus is reused (ingest skips unchanged files). BEIR's test qrels are
SciFact's held-out split: report the figure, never tune on it (use --qrels train for that).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"


def qrels(path: Path) -> dict[str, set[str]]:
    """{query id: relevant corpus ids} from a BEIR qrels TSV."""
    gold: dict[str, set[str]] = {}
    for line in path.read_text().splitlines()[1:]:
        query, doc, score = line.split("\t")
        if int(score) > 0:
            gold.setdefault(query, set()).add(doc)
    return gold


def ndcg(assistant, queries: dict[str, str], gold: dict[str, set[str]], mode: str) -> float:
    """Mean binary-relevance nDCG@10 over the judged queries."""
    from assistant.evaluation.metrics import ndcg_at_k

    scores = []
    for qid, relevant in gold.items():
        hits = assistant.search(queries[qid], k=10, mode=mode)
        ranked = [(assistant.paper(h.paper_id).external_id or "").removeprefix("scifact:") for h in hits]
        scores.append(ndcg_at_k(ranked, relevant, 10))
    return statistics.fmean(scores)


def run(index_dir: Path, mode: str, split: str, progress: bool, embedding: dict) -> dict:
    from assistant.api import Assistant
    from assistant.config import Settings

    settings = Settings(index_dir=index_dir, progress=progress, embedding=embedding)
    assistant = Assistant(settings=settings, corpus=None)
    started = time.perf_counter()
    summary = assistant.ingest([SCIFACT / "papers.jsonl"])
    ingest_s = time.perf_counter() - started
    queries = {
        row["_id"]: row["text"]
        for row in map(json.loads, (SCIFACT / "beir" / "queries.jsonl").read_text().splitlines())
    }
    gold = qrels(SCIFACT / "beir" / "qrels" / f"{split}.tsv")
    figure = ndcg(assistant, queries, gold, mode)
    return {
        "ndcg@10": round(figure, 4),
        "mode": mode,
        "embedder": settings.index_fingerprint()["embedding_weights"],
        "split": split,
        "queries": len(gold),
        "papers": summary.total_papers,
        "chunks_embedded": summary.chunks_embedded,
        "ingest_s": round(ingest_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "bm25"])
    parser.add_argument("--index-dir", type=Path, help="index folder to build or reuse (default: a temporary one)")
    parser.add_argument("--provider", default="onnx", choices=["onnx", "local"], help="embedding provider")
    parser.add_argument(
        "--model", default="all-MiniLM-L6-v2", help="embedding model (a folder path for another export)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="texts per embedding batch")
    parser.add_argument("--qrels", default="test", choices=["test", "train"], help="BEIR split (test is held out)")
    parser.add_argument("--progress", action="store_true", help="show the ingest progress bar")
    args = parser.parse_args()
    embedding = {"provider": args.provider, "model": args.model, "batch_size": args.batch_size}
    if args.index_dir:
        result = run(args.index_dir, args.mode, args.qrels, args.progress, embedding)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(Path(tmp) / "index", args.mode, args.qrels, args.progress, embedding)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

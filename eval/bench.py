"""Benchmarks: ingest, re-ingest, search and ask latency, retrieval quality, and a llama-index baseline.

Usage: python eval/bench.py [--queries N] [--skip-baseline]
Prints figures only; nothing here asserts on time. Run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"p50 {statistics.median(values):.1f} ms, p95 {p95:.1f} ms (n={len(values)})"


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000, result


def questions(types: set[str] | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if types is None or r["type"] in types]


def retrieval_table(assistant) -> None:
    rows = questions({"single", "number"})
    print(f"\nretrieval quality on {len(rows)} single-paper questions (single + number):")
    print("| retriever | recall@1 | recall@5 | MRR |\n|---|---|---|---|")
    for mode in ("dense", "bm25", "hybrid"):
        r1 = r5 = mrr = 0.0
        for row in rows:
            ids = [h.paper_id for h in assistant.search(row["question"], k=10, mode=mode)]
            gold = set(row["paper_ids"])
            r1 += bool(gold & set(ids[:1]))
            r5 += len(gold & set(ids[:5])) / len(gold)
            mrr += next((1 / (i + 1) for i, pid in enumerate(ids) if pid in gold), 0.0)
        n = len(rows)
        print(f"| {mode} | {r1 / n:.3f} | {r5 / n:.3f} | {mrr / n:.3f} |")


def baseline(papers, embedder_path: str, queries: list[str]) -> None:
    """The same papers through llama-index's default VectorStoreIndex pipeline (in-memory)."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed = HuggingFaceEmbedding(model_name=embedder_path, device="cpu")
    docs = [Document(text=f"{p.title}\n\n{p.abstract}", doc_id=p.paper_id) for p in papers]
    ms, index = timed(VectorStoreIndex.from_documents, docs, embed_model=embed)
    retriever = index.as_retriever(similarity_top_k=10)
    retriever.retrieve(queries[0])
    latencies = [timed(retriever.retrieve, q)[0] for q in queries]
    print(f"baseline llama-index VectorStoreIndex: build {ms / 1000:.1f} s; retrieve {percentiles(latencies)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100, help="queries timed for search latency")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the llama-index baseline")
    args = parser.parse_args()
    from assistant.api import Assistant
    from assistant.config import Settings, default_embedding_model
    from assistant.embeddings import make_embedder

    embedder = make_embedder(Settings())  # the default: OpenVINO int8; eval/bench_speed.py compares with PyTorch
    embedder.embed(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index", progress=False)
        ms_ingest, assistant = timed(Assistant, settings=settings, embedder=embedder)
        texts = [c.text for c in assistant.index.state.chunks]
        ms_raw, _ = timed(embedder.embed, texts)
        print(
            f"ingest bundled corpus from scratch: {ms_ingest / 1000:.2f} s "
            f"({len(assistant.papers())} papers, {len(texts)} chunks)"
        )
        print(f"raw embed of the same {len(texts)} texts: {ms_raw / 1000:.2f} s; ratio {ms_ingest / ms_raw:.2f}")
        from assistant.config import SEEDS_DIR
        from assistant.corpus import seed_files

        ms_re, summary = timed(
            Assistant(settings=settings, embedder=embedder, corpus=None).ingest, seed_files(SEEDS_DIR)
        )
        print(f"unchanged re-ingest: {ms_re / 1000:.2f} s ({summary.chunks_embedded} chunks embedded)")
        qs = [r["question"] for r in questions()][: args.queries]
        assistant.search(qs[0])
        latencies = [timed(assistant.search, q, k=10)[0] for q in qs]
        print(f"search (hybrid, k=10, warm): {percentiles(latencies)}")
        answerable = [r for r in questions() if r["type"] != "unanswerable"][:40]
        assistant.ask(answerable[0]["question"], backend="extractive")
        asks = [timed(assistant.ask, r["question"], history=r["history"], backend="extractive")[0] for r in answerable]
        print(f"ask (extractive, warm): {percentiles(asks)}")
        retrieval_table(assistant)
        if not args.skip_baseline:
            baseline(assistant.papers(), default_embedding_model(), qs)


if __name__ == "__main__":
    main()

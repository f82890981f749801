"""Cosine between exported embedders' vectors and a reference's (PyTorch fp32, or an fp32 export) on the same texts.

Usage: python scripts/compare_embedders.py [--onnx-folder DIR ...] [--reference DIR] [--datasets DIR]
Texts: the bundled corpus's chunks (title + abstract, as indexed), the PubMedQA papers of its test
questions (the shipped export's calibration saw only dev papers) and the first 600 SciFact abstracts,
read in place from ../shared/datasets (never copied). Also prints each export's time to embed them.
The PyTorch reference needs the `train` extra (torch, sentence-transformers); `--reference DIR` takes
an export instead (`scripts/export_onnx.py --fp32 --out DIR` gives PyTorch's vectors).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.chunking import chunk_paper  # noqa: E402
from assistant.config import SEEDS_DIR, Settings  # noqa: E402
from assistant.corpus import merge, seed_files  # noqa: E402
from assistant.embeddings import LocalEmbedder  # noqa: E402
from assistant.formats import iter_papers  # noqa: E402
from assistant.minilm import ONNX_DIR, OnnxEmbedder  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def bundled_texts() -> list[str]:
    """The chunk texts of the bundled corpus, as the index embeds them."""
    chunk = Settings().chunk
    papers, _ = merge([p for path in seed_files(SEEDS_DIR) for p in iter_papers(path)])
    return [c.text for p in papers for c in chunk_paper(p, chunk.size, chunk.overlap)]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def pubmedqa_test_texts(folder: Path) -> list[str]:
    test = {q["gold_id"] for q in jsonl(folder / "questions.jsonl") if q["split"] == "test"}
    return [f"{r['title']}\n{r['abstract']}" for r in jsonl(folder / "papers.jsonl") if r["id"] in test]


def scifact_texts(folder: Path, count: int = 600) -> list[str]:
    return [
        f"{r.get('title', '')}\n{r.get('text') or r.get('abstract', '')}"
        for r in jsonl(folder / "corpus.jsonl")[:count]
    ]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main() -> None:
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--onnx-folder", type=Path, nargs="+", default=[ONNX_DIR], help="export folders (model.xml or model.onnx)"
    )
    parser.add_argument("--reference", type=Path, help="an export folder as the reference (default: PyTorch fp32)")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="folder holding pubmedqa/ and scifact/")
    args = parser.parse_args()
    reference = OnnxEmbedder(args.reference) if args.reference else LocalEmbedder()
    sets = {"bundled corpus chunks": bundled_texts()}
    if (args.datasets / "pubmedqa" / "questions.jsonl").exists():
        sets["PubMedQA test papers"] = pubmedqa_test_texts(args.datasets / "pubmedqa")
    if (args.datasets / "scifact" / "corpus.jsonl").exists():
        sets["SciFact abstracts (first 600)"] = scifact_texts(args.datasets / "scifact")
    expected = {label: reference.embed(texts) for label, texts in sets.items()}
    print(f"reference: {args.reference or 'sentence-transformers (PyTorch fp32)'}")
    print("| export | texts | n | cosine min | cosine mean | embedding time |\n|---|---|---:|---:|---:|---:|")
    for folder in args.onnx_folder:
        model = OnnxEmbedder(folder)
        model.embed(["warm up"])
        for label, texts in sets.items():
            started = time.perf_counter()
            vectors = model.embed(texts)
            seconds = time.perf_counter() - started
            c = cosines(expected[label], vectors)
            print(f"| {model.name} | {label} | {len(texts)} | {c.min():.4f} | {c.mean():.4f} | {seconds:.1f} s |")


if __name__ == "__main__":
    main()

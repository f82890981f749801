"""Cosine between the ONNX embedder's vectors and sentence-transformers' (PyTorch fp32) on the same texts.

Usage: python scripts/compare_embedders.py [--onnx-folder DIR] [--pubmedqa PATH]
Texts: the bundled corpus's chunks (title + abstract, as indexed) and the PubMedQA abstracts in
../shared/datasets (read in place, never copied). Needs the `train` extra (torch, sentence-transformers).
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

PUBMEDQA = ROOT.parent / "shared" / "datasets" / "pubmedqa" / "papers.jsonl"


def bundled_texts() -> list[str]:
    """The chunk texts of the bundled corpus, as the index embeds them."""
    chunk = Settings().chunk
    papers, _ = merge([p for path in seed_files(SEEDS_DIR) for p in iter_papers(path)])
    return [c.text for p in papers for c in chunk_paper(p, chunk.size, chunk.overlap)]


def pubmedqa_texts(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [f"{r['title']}\n\n{r['abstract']}" for r in rows]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx-folder", type=Path, default=ONNX_DIR, help="folder with model.onnx and tokenizer.json")
    parser.add_argument("--pubmedqa", type=Path, default=PUBMEDQA, help="PubMedQA papers.jsonl")
    args = parser.parse_args()
    torch_model, onnx_model = LocalEmbedder(), OnnxEmbedder(args.onnx_folder)
    sets = {"bundled corpus chunks": bundled_texts()}
    if args.pubmedqa.exists():
        sets["PubMedQA title + abstract"] = pubmedqa_texts(args.pubmedqa)
    print(f"ONNX {onnx_model.name} vs sentence-transformers (PyTorch fp32)")
    print("| texts | n | cosine min | cosine mean |\n|---|---:|---:|---:|")
    for label, texts in sets.items():
        c = cosines(torch_model.embed(texts), onnx_model.embed(texts))
        print(f"| {label} | {len(texts)} | {c.min():.4f} | {c.mean():.4f} |")


if __name__ == "__main__":
    main()

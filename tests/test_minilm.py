"""The ONNX Runtime embedder: same vectors as sentence-transformers, batches by length, and no PyTorch at run time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from assistant.config import SEEDS_DIR, Settings
from assistant.corpus import merge, seed_files
from assistant.formats import iter_papers
from assistant.index import chunk_paper
from assistant.minilm import ONNX_DIR, length_batches, onnx_fingerprint, onnx_manifest


@pytest.mark.parametrize(
    "lengths, size, expected",
    [
        ([], 4, []),
        ([3], 4, [[0]]),
        ([5, 1, 4, 2], 2, [[1, 3], [2, 0]]),
        ([2, 2, 1], 2, [[2, 0], [1]]),  # equal lengths keep input order
        ([9, 8, 7], 1, [[2], [1], [0]]),
    ],
)
def test_length_batches__groups_indices_of_similar_length(lengths, size, expected):
    assert length_batches(lengths, size) == expected


def test_onnx_fingerprint__names_the_export_and_its_hash():
    manifest = onnx_manifest()
    assert onnx_fingerprint() == f"all-MiniLM-L6-v2-onnx-int8:{manifest['model_sha256'][:12]}"
    assert Settings().index_fingerprint()["embedding_weights"] == onnx_fingerprint()


def seed_chunk_texts() -> list[str]:
    papers, _ = merge([p for path in seed_files(SEEDS_DIR) for p in iter_papers(path)])
    return [c.text for p in papers for c in chunk_paper(p, 512, 32)]


@pytest.mark.slow
def test_embed__keeps_input_order_and_reports_progress_per_batch(embedder):
    texts = ["a much longer text about sparse attention in transformers", "short", "a medium text", "tiny"]
    done: list[int] = []
    embedder.batch_size = 2
    try:
        vectors = embedder.embed(texts, progress=done.append)
    finally:
        embedder.batch_size = 64
    assert done == [2, 4]
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    alone = embedder.embed_query(texts[0])
    # int8 activations are quantized with one scale per batch, so a text's vector moves a little with its batch
    assert float(alone @ vectors[0]) > 0.98


@pytest.mark.slow
def test_onnx_vectors__match_sentence_transformers_on_the_bundled_corpus(embedder):
    pytest.importorskip("sentence_transformers", reason="the PyTorch reference needs the train extra")
    from assistant.embeddings import LocalEmbedder

    texts = seed_chunk_texts()
    reference, ours = LocalEmbedder().embed(texts), embedder.embed(texts)
    cosines = (reference * ours).sum(axis=1)
    assert len(texts) == 219 and cosines.min() > 0.98 and cosines.mean() > 0.99


TORCH_FREE = """
import json, sys
from assistant.api import Assistant
assistant = Assistant()
found = {"search": bool(assistant.search("4-bit training", k=3))}
found["ask"] = bool(assistant.ask("What is 4-bit training?", backend="extractive").text)
heavy = ("torch", "transformers", "sentence_transformers", "sklearn", "scipy")
print(json.dumps({**found, **{name: name in sys.modules for name in heavy}}))
"""


@pytest.mark.slow
def test_ask_and_search__run_without_importing_torch(fresh_index_copy):
    env = dict(os.environ, ASSISTANT_INDEX_DIR=str(fresh_index_copy))
    result = subprocess.run([sys.executable, "-c", TORCH_FREE], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "search": True,
        "ask": True,
        "torch": False,
        "transformers": False,
        "sentence_transformers": False,
        "sklearn": False,  # the verifier's and answerability's trees are evaluated by assistant.trees
        "scipy": False,
    }


@pytest.mark.slow
def test_ingest__runs_without_importing_torch(tmp_path):
    script = (
        "import sys; from assistant.api import Assistant; "
        f"Assistant(index_dir={str(tmp_path / 'index')!r}, corpus=None).ingest([{str(seed_files(SEEDS_DIR)[0])!r}]); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "False"


def test_help_and_papers__do_not_import_torch():
    script = (
        "import sys\nfrom assistant import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'chromadb' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["False", "False"]


def test_onnx_export__ships_in_the_package():
    assert (ONNX_DIR / "model.onnx").stat().st_size > 10_000_000 and (ONNX_DIR / "tokenizer.json").exists()

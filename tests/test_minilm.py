"""The bundled embedder (int8, OpenVINO): same vectors as sentence-transformers, batches by length, no PyTorch at run time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.config import SEEDS_DIR, Settings
from assistant.corpus import merge, seed_files
from assistant.formats import iter_papers
from assistant.index import chunk_paper
from assistant.minilm import (
    BULK_BATCH,
    BULK_TEXTS,
    ONNX_DIR,
    OnnxEmbedder,
    length_batches,
    model_file,
    onnx_fingerprint,
    onnx_manifest,
)


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
    assert onnx_fingerprint() == f"all-MiniLM-L6-v2-openvino-int8:{manifest['model_sha256'][:12]}"
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
    # activation scales are fixed at export (static int8), so a text's vector does not depend on its batch
    assert float(alone @ vectors[0]) > 0.999


@pytest.mark.slow
def test_embed__many_texts_run_side_by_side_with_the_same_vectors_in_input_order(embedder):
    """From BULK_TEXTS texts on, small batches run in OpenVINO's throughput streams, finishing in any order."""
    texts = seed_chunk_texts()[::-1]  # longest and shortest spread out, so batches are re-ordered by length
    done: list[int] = []
    together = embedder.embed(texts, progress=done.append)
    apart = np.concatenate([embedder.embed(texts[i : i + 50]) for i in range(0, len(texts), 50)])
    assert len(texts) >= BULK_TEXTS and embedder._encoder._bulk is not None
    assert done[-1] == len(texts) and done == sorted(done) and len(done) == -(-len(texts) // BULK_BATCH)
    assert (together * apart).sum(axis=1).min() > 0.9999


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


def test_export__ships_in_the_package_as_an_openvino_model():
    assert model_file(ONNX_DIR) == ONNX_DIR / "model.xml"
    assert (ONNX_DIR / "model.bin").stat().st_size > 10_000_000 and (ONNX_DIR / "tokenizer.json").exists()
    assert onnx_manifest()["exported_with"]["nncf"]


def tiny_encoder(folder: Path) -> np.ndarray:
    """A real ONNX encoder over the bundled tokenizer: each token's vector is its row of a random table
    (masked tokens zeroed, token types added as zeros, so every input is used). Returns the table."""
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(ONNX_DIR / "tokenizer.json"))
    table = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 8)).astype(np.float32)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"]) for n in names]
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["rows"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["token_type_ids"], ["types_f"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["mask_f", "types_f"], ["weights"]),
        helper.make_node("Unsqueeze", ["weights", "last"], ["weights3"]),
        helper.make_node("Mul", ["rows", "weights3"], ["token_embeddings"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-encoder",
        inputs,
        [helper.make_tensor_value_info("token_embeddings", TensorProto.FLOAT, ["batch", "tokens", 8])],
        [
            helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist()),
            helper.make_tensor("last", TensorProto.INT64, [1], [-1]),
        ],
    )
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(folder / "model.onnx"))
    (folder / "tokenizer.json").write_text((ONNX_DIR / "tokenizer.json").read_text())
    return table


def test_embedder__runs_an_onnx_folder_in_onnx_runtime_and_an_openvino_one_in_openvino(tmp_path):
    pytest.importorskip("onnx", reason="building the graph needs the test extra's onnx")
    import openvino
    from tokenizers import Tokenizer

    table = tiny_encoder(tmp_path / "onnx")
    (tmp_path / "openvino").mkdir()
    openvino.save_model(
        openvino.convert_model(str(tmp_path / "onnx" / "model.onnx")), str(tmp_path / "openvino" / "model.xml")
    )
    (tmp_path / "openvino" / "tokenizer.json").write_text((ONNX_DIR / "tokenizer.json").read_text())
    texts = ["sparse attention", "a longer text about pruning large language models", "x"]
    tokenizer = Tokenizer.from_file(str(ONNX_DIR / "tokenizer.json"))
    tokenizer.no_padding()
    ids = [e.ids for e in tokenizer.encode_batch(texts)]
    expected = np.stack([table[row].mean(axis=0) for row in ids])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    # OpenVINO computes in bfloat16 on CPUs that have it (its default), so it agrees to about 3 digits
    for name, runtime, tolerance in [("onnx", "OnnxRuntimeEncoder", 1e-5), ("openvino", "OpenVinoEncoder", 3e-3)]:
        embedder = OnnxEmbedder(tmp_path / name, batch_size=2)
        vectors = embedder.embed(texts)
        assert type(embedder._encoder).__name__ == runtime
        assert np.allclose(vectors, expected, atol=tolerance), name


def test_embedder__a_folder_without_a_model_is_a_clear_error(tmp_path):
    from assistant.errors import EmbeddingError

    (tmp_path / "tokenizer.json").write_text((ONNX_DIR / "tokenizer.json").read_text())
    with pytest.raises(EmbeddingError, match="no model.xml"):
        OnnxEmbedder(tmp_path).embed(["x"])


COMPILE_IN_CACHE = """
import sys
from assistant.minilm import OnnxEmbedder
print(OnnxEmbedder(cache_dir=sys.argv[1]).embed(["sparse attention for long documents"])[0][:4].tolist())
"""


@pytest.mark.slow
def test_compile_cache__written_once_shared_by_processes_and_a_damaged_blob_is_recompiled(tmp_path):
    cache = tmp_path / "openvino"
    texts = seed_chunk_texts()[:8]
    uncached = OnnxEmbedder().embed(texts)
    # three processes compiling into the same empty folder at once
    processes = [
        subprocess.Popen([sys.executable, "-c", COMPILE_IN_CACHE, str(cache)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0] and len(set(outputs)) == 1
    blobs = list(cache.glob("*.blob"))
    assert len(blobs) == 1 and blobs[0].stat().st_size > 1_000_000
    assert (OnnxEmbedder(cache_dir=cache).embed(texts) * uncached).sum(axis=1).min() > 0.9999  # read from the blob
    blobs[0].chmod(0o600)
    blobs[0].write_bytes(b"half a blob")
    assert (OnnxEmbedder(cache_dir=cache).embed(texts) * uncached).sum(axis=1).min() > 0.9999
    assert blobs[0].stat().st_size > 1_000_000  # compiled again and rewritten


def test_compile_cache__off_by_setting_writes_nothing(tmp_path):
    from assistant.embeddings import make_embedder

    settings = Settings(cache_dir=tmp_path / "cache", embedding={"compile_cache": False})
    embedder = make_embedder(settings)
    embedder.embed(["one text"])
    assert embedder.cache_dir is None and not (tmp_path / "cache").exists()
    on = Settings(cache_dir=tmp_path / "cache", embedding={"compile_cache": True})  # the default (tests turn it off)
    assert make_embedder(on).cache_dir == tmp_path / "cache" / "openvino"

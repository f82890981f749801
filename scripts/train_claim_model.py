"""Fine-tune the bundled all-MiniLM-L6-v2 as a three-way claim model and ship it as int8 ONNX.

Usage: python scripts/train_claim_model.py [--pairs eval/claim_training.jsonl] [--epochs 2] [--out DIR]
The pairs come from eval/claim_training.py (train and dev splits only). The model reads "claim [SEP]
text" and gives three logits: not_enough_info, supports, contradicts. Trained on the CPU with a fixed
seed (about 20 minutes on 2 cores), exported with torch.onnx, quantized to int8 by ONNX Runtime, and
written with the tokenizer and a manifest (hashes, labels, token limit) to assistant/data/claim_model/.
Needs the dev extra `export` (torch, transformers, onnx); the assistant runs the result with
onnxruntime and tokenizers only (see assistant/entailment.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import default_embedding_model  # noqa: E402

LABELS = ["not_enough_info", "supports", "contradicts"]
OUT = ROOT / "assistant" / "data" / "claim_model"
MAX_TOKENS = 160


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def batches(rows: list[dict], size: int, rng: random.Random) -> list[list[dict]]:
    """Shuffled batches of similar length (less padding), in a random order."""
    rows = sorted(rows, key=lambda r: len(r["claim"]) + len(r["text"]))
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
    rng.shuffle(chunks)
    return chunks


def train(rows: list[dict], epochs: int, lr: float, batch_size: int, seed: int):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model_dir = default_embedding_model()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=len(LABELS))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * ((len(rows) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, step / max(1, steps // 10)) * max(0.0, (steps - step) / steps)
    )
    model.train()
    step, start = 0, time.time()
    for epoch in range(epochs):
        total = 0.0
        for batch in batches(rows, batch_size, rng):
            encoded = tokenizer(
                [r["claim"] for r in batch],
                [r["text"] for r in batch],
                truncation="longest_first",
                max_length=MAX_TOKENS,
                padding=True,
                return_tensors="pt",
            )
            labels = torch.tensor([LABELS.index(r["label"]) for r in batch])
            loss = model(**encoded, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss)
            step += 1
            if step % 50 == 0:
                print(
                    f"epoch {epoch + 1} step {step}/{steps} loss {total / 50:.3f} {time.time() - start:.0f} s",
                    flush=True,
                )
                total = 0.0
    return model.eval(), tokenizer


def export(model, tokenizer, target: Path) -> None:
    """The classifier as ONNX (dynamic batch and length), quantized to int8, with tokenizer and manifest."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.mkdir(parents=True, exist_ok=True)
    dummy = torch.ones((2, 8), dtype=torch.int64)
    mask = dummy.clone()
    mask[1, 5:] = 0
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        with torch.no_grad():
            torch.onnx.export(
                model,
                (dummy, mask, torch.zeros_like(dummy)),
                str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["logits"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "logits": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        quantize_dynamic(str(fp32), str(target / "model.onnx"), weight_type=QuantType.QInt8)
    tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
    manifest = {
        "name": "claim-minilm-l6-3way-int8",
        "base": "sentence-transformers/all-MiniLM-L6-v2 (bundled weights)",
        "labels": LABELS,
        "max_tokens": MAX_TOKENS,
        "model_sha256": sha256(target / "model.onnx"),
        "tokenizer_sha256": sha256(target / "tokenizer.json"),
        "trained_by": "scripts/train_claim_model.py on eval/claim_training.py's pairs",
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=ROOT / "eval" / "claim_training.jsonl")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=6e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N pairs only (a smoke run)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = [json.loads(line) for line in args.pairs.read_text(encoding="utf-8").split("\n") if line.strip()]
    rows = rows[: args.limit] if args.limit else rows
    model, tokenizer = train(rows, args.epochs, args.lr, args.batch_size, args.seed)
    staging = Path(tempfile.mkdtemp())
    export(model, tokenizer, staging)
    if args.out.exists():
        shutil.rmtree(args.out)
    shutil.move(str(staging), str(args.out))
    print(f"wrote {args.out}: {json.loads((args.out / 'manifest.json').read_text())['model_sha256'][:12]}")


if __name__ == "__main__":
    main()

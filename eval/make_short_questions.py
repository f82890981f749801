"""Build eval/short_questions.jsonl: short questions of the forms people type, from the bundled corpus.

Usage: python eval/make_short_questions.py [--check]
One question per method name or acronym that an indexed paper introduces (its title's head
before ":", else the name its abstract proposes), asked in one of the typed forms ("What is X?",
"X?", "How does X work?", "Tell me about X", "What does X measure?" for benchmarks), a few
"X vs Y" pairs, and unanswerable short questions (names no indexed paper mentions, off-topic).
The split (dev/test) is a hash of the question id, so it never changes once written; the file
is committed and frozen: `--check` only verifies that a rebuild gives the same rows.
Out of scope: answering or scoring (see `eval/short_eval.py`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "eval" / "short_questions.jsonl"
FORMS = ["What is {x}?", "{x}?", "How does {x} work?", "Tell me about {x}", "What is {x} about?"]
BENCHMARK_FORM = "What does {x} measure?"
# Names the extractor picks that are not the paper's own name (field words, other work), reviewed by hand.
NOT_NAMES = {
    "CounterFactual",
    "Subgoal-Conditioned",
    "ISA-centric",
    "High-Confidence",
    "Multi-Objective",
    "Retrieval-Augmented",
    "Bi-Level",
    "Instruction-Aware",
    "Bottom-Up",
    "Data-Free",
    "Fast-Slow",
    "Low-Rank",
    "Balanced-VLLM",
    "SafeAgentBench-the",
    "k-Min-Cost-Arborescence",
    "CONtinuous",
    "U-Nets",
    "RAG",
    "LoRA",
    "NAS",
    "SSM",
    "CoT",
    "PEFT",
    "SSL",
    "RGB",
    "NLU",
    "FSCIL",
    "Bi-LSTM",
    "NDPs",
    "NEC",
    "VSA",
    "ICP",
    "StepMix",
    "TrustAgent",
    "LiIT",
    "R-TSVM",
    "GTP",
    "DualGen",
    "RBF",
    "MHR",
    "SMB",
    "Online DPO",
    "GenOmes",
    "DV4LLM-D",
    "HEI",
    "NOTE",
    "VILA",
    "ARMOR",
    "APE",
    "B4",
    "CMD",
}
# Short questions the bundled corpus cannot answer: well-known names it never mentions, and off-topic asks.
ABSENT_NAMES = [
    "GaLore",
    "QLoRA",
    "FlashAttention",
    "AlphaFold",
    "Sora",
    "Whisper",
    "GraphCast",
    "ColBERTv2",
    "KIVI",
    "TinyBERT",
    "Chinchilla",
    "Gemini",
    "Mixtral",
    "DreamBooth",
    "ControlNet",
    "AlexNet",
    "YOLOv8",
    "Stable Diffusion XL",
    "PaLM-E",
    "Toolformer",
    "WaveNet",
    "DALL-E",
    "Falcon-180B",
    "RoBERTa",
    "SimCLR",
    "NeRF-W",
    "PointNet",
    "Word2Vec",
    "AlphaGo",
    "MuZero",
    "DeepSeek-R1",
    "SWE-bench",
]
OFF_TOPIC = [
    "What is the capital of France?",
    "How do I bake sourdough bread?",
    "Who won the 2022 World Cup?",
    "Tell me about the French Revolution",
    "How tall is Mount Everest?",
    "What is a good marathon pace?",
    "How does a diesel engine work?",
    "Best pizza in Naples?",
    "What is photosynthesis?",
    "How do I renew my passport?",
    "Tell me a joke",
    "What time is it in Tokyo?",
    "How much ibuprofen can I take?",
    "Who painted the Mona Lisa?",
    "What is the tallest animal?",
    "How do I fix a flat bicycle tyre?",
]
PAIRS = 10


def coined(name: str) -> bool:
    """A coined method name, not a word: inner capitals (MedHallu), an acronym (DANCE) or digits (C2R).

    Example: coined("Fed-SB") is True; coined("Antidote") is False
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]", name):
        return False
    inner = re.search(r"[a-z][A-Z]|[A-Z]{2}|[0-9]", name)
    lower_part = any(len(part) >= 3 and part.islower() for part in name.split("-"))
    return bool(inner) and not lower_part


def papers():
    """The bundled corpus as merged papers (no index needed)."""
    from assistant.config import SEEDS_DIR
    from assistant.corpus import merge, read_listing, seed_files

    found = []
    for path in seed_files(SEEDS_DIR):
        found += read_listing(path, path.read_text(encoding="utf-8"))
    return merge(found)[0]


def introduced_name(paper) -> str | None:
    """The name a paper introduces: its title's head before ':', else the name its abstract proposes."""
    from assistant.corpus import method_name

    head = paper.title.split(":", 1)[0].strip() if ":" in paper.title else ""
    for candidate in (head, method_name(paper.abstract) or ""):
        if candidate and candidate not in NOT_NAMES and coined(candidate):
            return candidate
    return None


def mentions(name: str, paper) -> bool:
    return (
        re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", f"{paper.title} {paper.abstract}".lower())
        is not None
    )


def split_of(qid: str) -> str:
    """'dev' or 'test' from a hash of the id: stable whatever else changes. About 40% dev."""
    return "dev" if int(hashlib.sha1(qid.encode()).hexdigest(), 16) % 5 < 2 else "test"


def answerable_rows(corpus) -> list[dict]:
    rows, named = [], []
    for paper in corpus:
        name = introduced_name(paper)
        if not name or sum(mentions(name, p) for p in corpus) > 2 or any(name == n for n, _ in named):
            continue
        named.append((name, paper))
    for i, (name, paper) in enumerate(named):
        benchmark = re.search(r"benchmark|evaluat", paper.title, re.I)
        form = BENCHMARK_FORM if benchmark and i % 2 == 0 else FORMS[i % len(FORMS)]
        rows.append(_row(f"s{len(rows) + 1:03d}", "short", form, form.format(x=name), [paper.paper_id], name))
    for j in range(PAIRS):
        (a, pa), (b, pb) = named[(7 * j) % len(named)], named[(7 * j + 3) % len(named)]
        rows.append(
            _row(
                f"s{len(rows) + 1:03d}",
                "short_pair",
                "{x} vs {y}",
                f"{a} vs {b}",
                [pa.paper_id, pb.paper_id],
                f"{a}|{b}",
            )
        )
    return rows


def unanswerable_rows(corpus) -> list[dict]:
    text = " ".join(f"{p.title} {p.abstract}" for p in corpus).lower()
    rows = []
    absent = [n for n in ABSENT_NAMES if n.lower() not in text]
    for i, name in enumerate(absent):
        form = FORMS[i % len(FORMS)]
        rows.append(_row(f"u{len(rows) + 1:03d}", "unanswerable", form, form.format(x=name), [], name))
    for question in OFF_TOPIC:
        rows.append(_row(f"u{len(rows) + 1:03d}", "unanswerable", "off-topic", question, [], ""))
    return rows


def _row(qid: str, kind: str, form: str, question: str, paper_ids: list[str], name: str) -> dict:
    return {
        "id": qid,
        "type": kind,
        "form": form,
        "question": question,
        "history": [],
        "paper_ids": paper_ids,
        "name": name,
        "reference": "",
        "key_facts": [],
        "split": split_of(qid),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed file instead of writing it")
    args = parser.parse_args()
    corpus = papers()
    rows = answerable_rows(corpus) + unanswerable_rows(corpus)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if args.check:
        same = OUT.read_text(encoding="utf-8") == text
        print(
            "eval/short_questions.jsonl matches a rebuild"
            if same
            else "eval/short_questions.jsonl differs from a rebuild"
        )
        return 0 if same else 1
    if OUT.exists():
        print(f"{OUT} exists and is frozen; delete it first to rebuild", file=sys.stderr)
        return 1
    OUT.write_text(text, encoding="utf-8")
    counts = {}
    for r in rows:
        counts[(r["type"], r["split"])] = counts.get((r["type"], r["split"]), 0) + 1
    print(f"wrote {len(rows)} questions: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does a paper support a claim, contradict it, or not speak to it? The three-way claim model.

A claim model is a cross-encoder in ONNX Runtime (no PyTorch): it reads the claim with each of the
paper's candidate passages (the ones the verifier aligns with the claim) and gives each passage a
probability per label; `decide` turns them into the paper's label and the passages it rests on. A
yes/no question is read like the claim it asks about ("Does X reduce Y?" ~ "X reduces Y").
No claim model ships: none that can tell support from contradiction could be obtained or trained on
this project's machines (see the README, "Claim checks"); a user points `verify.claim_model` at one
(model.onnx, tokenizer.json, manifest.json with `labels`, NLI names or ours, in output order).
`scripts/train_claim_model.py` fine-tunes the bundled MiniLM into one, as measured there.
Out of scope: choosing the candidate passages (see `verify`), support of whole answers (see `citations`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .errors import AssistantError
from .minilm import onnx_session

LABELS = ("not_enough_info", "supports", "contradicts")
# Output names of NLI cross-encoders, as ours.
NLI_NAMES = {"entailment": "supports", "contradiction": "contradicts", "neutral": "not_enough_info"}
# A passage speaks to the claim when P(supports) + P(contradicts) reaches this; see `decide`.
RELEVANCE = 0.5


@dataclass
class Entailment:
    """A paper's three-way verdict on a claim: label, confidence, and the passages it rests on."""

    label: str
    score: float
    evidence: list[str] = field(default_factory=list)
    probabilities: dict[str, float] = field(default_factory=dict)  # of the deciding passage


def decide(probabilities: np.ndarray, passages: list[str], relevance: float = RELEVANCE) -> Entailment:
    """The paper's label from each passage's (nei, supports, contradicts) probabilities.

    The passages that speak to the claim (P(supports) + P(contradicts) ≥ `relevance`) vote with their
    probabilities; none speaking means not enough information. The evidence is the speaking passages,
    most confident first (or the closest one, for not enough information).
    Example: decide(np.array([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05]]), ["a", "b"]).label == "supports"
    """
    if not len(passages):
        return Entailment("not_enough_info", 1.0)
    probabilities = np.asarray(probabilities, dtype=float).reshape(len(passages), len(LABELS))
    speaks = probabilities[:, 1] + probabilities[:, 2]
    order = [int(i) for i in np.argsort(-speaks, kind="stable")]
    best = order[0]
    named = {label: round(float(p), 4) for label, p in zip(LABELS, probabilities[best])}
    if speaks[best] < relevance:
        return Entailment("not_enough_info", round(float(1 - speaks[best]), 4), [passages[best]], named)
    voting = [i for i in order if speaks[i] >= relevance]
    support, against = probabilities[voting, 1].sum(), probabilities[voting, 2].sum()
    label = "supports" if support >= against else "contradicts"
    column = 1 if label == "supports" else 2
    evidence = [passages[i] for i in sorted(voting, key=lambda i: -probabilities[i, column])][:2]
    share = float(max(support, against) / (support + against))
    return Entailment(label, round(share * float(speaks[best]), 4), evidence, named)


class ClaimModel:
    """The fine-tuned cross-encoder in ONNX Runtime: (claim, passage) pairs in, probabilities per label out."""

    def __init__(self, folder: str | Path, threads: int | None = None):
        self.folder = Path(folder)
        manifest = manifest_of(str(self.folder))
        self.name = f"{manifest.get('name', self.folder.name)}:{manifest.get('model_sha256', '')[:12]}"
        self.max_tokens = int(manifest.get("max_tokens", 256))
        names = [NLI_NAMES.get(str(n).lower(), str(n).lower()) for n in manifest.get("labels", LABELS)]
        if sorted(names) != sorted(LABELS):
            raise AssistantError(
                f"claim model {self.folder}: manifest.json labels {manifest.get('labels')} are not three of "
                "supports/contradicts/not_enough_info (or entailment/contradiction/neutral)"
            )
        self.columns = [names.index(label) for label in LABELS]  # model output column of each of our labels
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def available(self) -> bool:
        return (self.folder / "model.onnx").is_file() and (self.folder / "tokenizer.json").is_file()

    def _load(self) -> None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_tokens, strategy="longest_first")
        self._session = onnx_session(self.folder / "model.onnx", self.threads)
        self._tokenizer = tokenizer

    def probabilities(self, claim: str, passages: list[str]) -> np.ndarray:
        """One row per passage: the probabilities of not_enough_info, supports, contradicts."""
        if not passages:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        if self._session is None:
            self._load()
        encodings = self._tokenizer.encode_batch([(claim, p) for p in passages])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            types[row, : len(e.ids)] = e.type_ids
            mask[row, : len(e.ids)] = 1
        (logits,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        if logits.ndim != 2 or logits.shape[1] != len(LABELS):
            raise AssistantError(f"claim model {self.folder}: gives outputs of shape {logits.shape}, not (pairs, 3)")
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True))[:, self.columns]

    def judge(self, claim: str, passages: list[str], relevance: float = RELEVANCE) -> Entailment:
        return decide(self.probabilities(claim, passages), passages, relevance)


@lru_cache(maxsize=4)
def manifest_of(folder: str) -> dict:
    path = Path(folder) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def load_claim_model(folder: str | Path | None) -> ClaimModel | None:
    """The claim model in `folder` (settings.verify.claim_model), None without one; a clear error when it is
    incomplete or cannot be run."""
    if not folder:
        return None
    model = ClaimModel(folder)
    if not model.available:
        raise AssistantError(f"claim model {folder}: needs model.onnx and tokenizer.json (settings verify.claim_model)")
    try:  # loaded and tried on one pair now: a broken model is a set-up error, not a failure in the middle of an answer
        model.probabilities("A claim.", ["A passage."])
    except AssistantError:
        raise
    except Exception as err:
        raise AssistantError(f"claim model {folder}: ONNX Runtime cannot run it ({err})") from None
    return model

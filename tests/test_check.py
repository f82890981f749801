"""Checking a claim against the papers: `Assistant.check`, the `assistant check` command, and the summary.

Out of scope: the verifier's accuracy (see test_verify); the served check (see test_serve, test_mcp).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.errors import AssistantError
from assistant.records import ClaimCheck, PaperVerdict

STABLE_SPAM = "pb63c5c0ae2"
DANCE = "p5ed78b1ca9"
CLAIM = "Stable-SPAM stabilizes gradient norms in 4-bit LLM training"


@pytest.mark.parametrize(
    "labels, supported, summary",
    [
        ([], False, "no paper to check against"),
        (["supports", "not_enough_info"], True, "supported by 1 of the 2 papers checked"),
        (["not_enough_info"] * 3, False, "supported by none of the 3 papers checked"),
        (
            ["supports", "contradicts", "contradicts"],
            True,
            "supported by 1 and contradicted by 2 of the 3 papers checked",
        ),
    ],
)
def test_claim_check__summary(labels, supported, summary):
    check = ClaimCheck("c", [PaperVerdict(f"p{i}", "T", label, 0.5) for i, label in enumerate(labels)])
    assert check.supported is supported and check.summary == summary
    assert check.to_dict()["summary"] == summary


@pytest.mark.slow
def test_check__the_closest_papers_and_the_given_ones(seed_assistant):
    closest = seed_assistant.check(CLAIM, k=3)
    assert len(closest.papers) == 3 and closest.papers[0].paper_id == STABLE_SPAM
    assert closest.papers[0].label == "supports" and closest.papers[0].evidence
    assert all(p.label == "not_enough_info" for p in closest.papers[1:])
    given = seed_assistant.check(CLAIM, paper_ids=[DANCE])
    assert [p.paper_id for p in given.papers] == [DANCE] and not given.supported
    with pytest.raises(AssistantError, match="no paper with id 'p-none'"):
        seed_assistant.check(CLAIM, paper_ids=["p-none"])
    with pytest.raises(ValueError, match="empty"):
        seed_assistant.check("  ")


@pytest.mark.slow
def test_cli_check__json_and_text(seed_index_dir):
    command = [sys.executable, "-m", "assistant.cli", "--quiet", "--index-dir", str(seed_index_dir), "check", CLAIM]
    done = subprocess.run([*command, "--paper", STABLE_SPAM, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (
        data["supported"] and data["papers"][0]["label"] == "supports" and data["summary"].startswith("supported by 1")
    )
    text = subprocess.run(command + ["--k", "2"], capture_output=True, text=True, timeout=300)
    assert text.returncode == 0 and "supported by 1 of the 2 papers checked" in text.stdout
    unknown = subprocess.run([*command, "--paper", "p-none"], capture_output=True, text=True, timeout=300)
    assert (
        unknown.returncode == 2 and "no paper with id 'p-none'" in unknown.stderr and "Traceback" not in unknown.stderr
    )

"""The package as users install it: a wheel built from this tree, installed (not editable) into a fresh
virtual environment, run from another folder, answering through the `openai` path against a real
OpenAI-compatible server (llama.cpp with the bundled SmolLM2 GGUF) with its shipped prompts.

The fresh environment gets this environment's site-packages as a fallback path for the dependencies
(installing torch, Chroma and Gradio again would need the network); `assistant` itself comes only
from the wheel, which the test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from assistant.backends import LlamaServer, default_gguf

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How can meta-learning speed up large model inference in decentralized environments?"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "tree"  # build from a copy: building writes build/ and *.egg-info
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(".venv", ".git", "index", "test-artifacts", "build", "*.egg-info", "__pycache__"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
    )
    return next(out.glob("assistant-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed normally; returns its bin/ folder."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    # Install the wheel with this environment's pip into the fresh one, offline, without dependencies.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    launcher = venv / "bin" / "assistant"
    launcher.write_text(f"#!{venv}/bin/python\nimport sys\nfrom assistant.cli import main\nsys.exit(main())\n")
    launcher.chmod(0o755)
    return venv / "bin"


def test_wheel__ships_prompts_seeds_and_verifier_weights(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for prompt in (ROOT / "prompts").glob("*.txt"):
        assert f"assistant/prompt_files/{prompt.name}" in names
    assert "assistant/data/verifier.json" in names
    assert "assistant/data/verifier_model.npz" in names  # the offline judge's trees
    assert "assistant/data/judge_calibration.json" in names
    assert sum(n.startswith("assistant/data/seeds/") and n.endswith(".txt") for n in names) == 5
    wheel_zip = zipfile.ZipFile(wheel)
    for name in ("questions.jsonl", "claims.jsonl"):  # the evaluation's sets, with the content of eval/
        assert wheel_zip.read(f"assistant/data/eval/{name}") == (ROOT / "eval" / name).read_bytes()


def test_installed_package__answers_through_openai_path_from_another_folder(installed, seed_index_dir, tmp_path):
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing but the wheel provides `assistant`
    where = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import assistant, assistant.prompts as p; print(assistant.__file__); print(p.available())",
        ],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert where[0].startswith(str(installed.parent)), f"assistant imported from {where[0]}, not the installed wheel"
    assert "answer" in where[1] and "system" in where[1]

    index = shutil.copytree(seed_index_dir, tmp_path / "index")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    gguf = default_gguf()
    server = LlamaServer(gguf).start()
    try:
        env = {
            **clean,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "local",
            "ASSISTANT_LLM__MODEL": gguf.stem,
            "ASSISTANT_LLM__FALLBACK_EXTRACTIVE": "false",
            "ASSISTANT_INDEX_DIR": str(index),
            "ASSISTANT_LLM__MAX_TOKENS": "120",
        }
        done = subprocess.run(
            [str(installed / "assistant"), "ask", QUESTION, "--backend", "openai", "--json"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert answer["backend"] == "openai" and answer["model"] == gguf.stem
    assert answer["abstained"] or answer["sentences"], answer
    assert not any("extractive" in note for note in answer["notes"]), answer["notes"]
    assert list(workdir.iterdir()) == []  # nothing written into the working folder


def test_installed_package__runs_the_evaluation_from_an_empty_folder(installed, seed_index_dir, tmp_path):
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env = {**clean, "ASSISTANT_INDEX_DIR": str(shutil.copytree(seed_index_dir, tmp_path / "index"))}
    empty = tmp_path / "empty"
    empty.mkdir()
    command = [str(installed / "assistant"), "--quiet", "eval", "--backend", "extractive"]

    missing = subprocess.run(
        command + ["--questions", "mine.jsonl"], cwd=empty, env=env, capture_output=True, text=True, timeout=600
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "question set mine.jsonl does not exist" in missing.stderr and "--questions" in missing.stderr
    assert list(empty.iterdir()) == []  # refused before any question: nothing written

    done = subprocess.run(command + ["--limit", "3"], cwd=empty, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    report = json.loads((empty / "eval-results" / "extractive" / "report.json").read_text())
    assert report["meta"]["questions"] == 3 and report["calibration"]["splits"]["test"]["n"] == 148
    assert (empty / "eval-results" / "extractive" / "report.md").is_file()
    assert not (empty / "eval-results" / "extractive" / "partial.jsonl").exists()

    helped = subprocess.run(
        [str(installed / "assistant"), "eval", "--help"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "125 questions" in helped.stdout and "296 labelled (claim, paper) pairs" in helped.stdout


def test_installed_package__serves_mcp_over_stdio_from_another_folder(installed, seed_index_dir, tmp_path):
    import asyncio

    from mcp import Client, StdioServerParameters

    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env = {**clean, "ASSISTANT_INDEX_DIR": str(shutil.copytree(seed_index_dir, tmp_path / "index"))}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server = StdioServerParameters(command=str(installed / "assistant"), args=["mcp"], env=env, cwd=elsewhere)

    async def session():
        async with Client(server, read_timeout_seconds=300) as client:
            return await client.call_tool("ask", {"question": "How does Stable-SPAM stabilise 4-bit training?"})

    answer = asyncio.run(session())
    assert not answer.is_error and "## References" in answer.content[0].text
    assert any("Stable-SPAM" in r["title"] for r in answer.structured_content["references"])
    assert list(elsewhere.iterdir()) == []

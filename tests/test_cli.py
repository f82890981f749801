"""The command line as a shell user meets it: a pipe closed early."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_cli_papers__a_reader_that_stops_early_ends_quietly(seed_index_dir, tmp_path):
    index = shutil.copytree(seed_index_dir, tmp_path / "index")
    command = (
        f"{sys.executable} -m assistant.cli --index-dir {index} papers --json | head -n 1"  # far more than a pipe holds
    )
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=300)
    assert len(done.stdout.splitlines()) == 1 and done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr

"""Damage a real export the way real tools and people do, to check that every reader survives it.

Each mutation maps a file's bytes to damaged bytes, deterministically: truncated mid-record, a
block of records pasted again, the whole file twice, flipped bytes, a NUL, CRLF line ends, Latin-1
(as older EndNote and Excel write), blank lines between every line, trailing garbage. Used by the
tests (`tests/test_realinput.py`) and by `scripts/fuzz_realinput.py`. Out of scope: reading.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def truncated(data: bytes) -> bytes:
    """The first 60% of the file: cut mid-record, as an interrupted download or copy leaves it."""
    return data[: len(data) * 3 // 5]


def repeated_block(data: bytes) -> bytes:
    """The middle third pasted again after itself (a block of records copied twice)."""
    third = len(data) // 3
    return data[: 2 * third] + data[third : 2 * third] + data[2 * third :]


def twice(data: bytes) -> bytes:
    """The whole file exported twice into one."""
    return data + (b"" if data.endswith(b"\n") else b"\n") + data


def flipped_bytes(data: bytes, seed: int = 0) -> bytes:
    """Eight bytes at random places replaced by random printable ones (a damaged copy)."""
    rng, out = random.Random(seed), bytearray(data)
    for _ in range(8):
        out[rng.randrange(len(out))] = rng.randrange(33, 127)
    return bytes(out)


def with_nul(data: bytes) -> bytes:
    """A NUL byte in the middle of the file (a stray byte from a bad editor or transfer)."""
    middle = len(data) // 2
    return data[:middle] + b"\x00" + data[middle:]


def crlf(data: bytes) -> bytes:
    """Windows line ends."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def latin1(data: bytes) -> bytes:
    """Re-encoded as Windows-1252 (characters it lacks become '?')."""
    return data.decode("utf-8-sig", errors="replace").encode("cp1252", errors="replace")


def blank_lines(data: bytes) -> bytes:
    """A blank line after every line (what some tools and copy-pastes produce)."""
    return data.replace(b"\n", b"\n\n")


def trailing_garbage(data: bytes) -> bytes:
    """Bytes that belong to no record after the last one (a mail signature, a shell prompt)."""
    return data + b"\n-- \nsent from my phone $ ^C\n"


MUTATIONS: dict[str, Callable[[bytes], bytes]] = {
    "truncated": truncated,
    "repeated_block": repeated_block,
    "twice": twice,
    "flipped_bytes": flipped_bytes,
    "nul": with_nul,
    "crlf": crlf,
    "latin1": latin1,
    "blank_lines": blank_lines,
    "trailing_garbage": trailing_garbage,
}

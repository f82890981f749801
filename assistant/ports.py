"""A free TCP port on loopback, for servers started by the assistant (llama.cpp) and by tests.

Out of scope: reserving the port; another process may take it before it is bound.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

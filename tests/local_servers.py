"""Servers the tests and benchmarks start on 127.0.0.1: a free port to give them, and waiting until one answers."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 120,
                 exit_details: Callable[[], str] = lambda: "") -> None:
    """Wait for Streamlit's ``/_stcore/health`` at ``url``; RuntimeError if the server exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            details = exit_details()
            raise RuntimeError(f"streamlit exited with {server.returncode}" + (f": {details}" if details else ""))
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not become healthy at {url} within {timeout} s")

"""Servers the tests and benchmarks start on 127.0.0.1: a free port, waiting until one answers, the playground
itself, and the Debian Chromium that drives it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and this machine's network refuses it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


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


@contextlib.contextmanager
def playground_server(output: IO, exit_details: Callable[[], str] = lambda: "",
                      env: dict[str, str] | None = None, root: Path = ROOT) -> Iterator[str]:
    """Run ``streamlit run app.py`` headless on a free loopback port, its output to ``output`` (a file, so a
    chatty server never blocks on a pipe); yields its URL once healthy, and stops it whatever happens.
    ``env``: variables to add to the server's environment. ``root``: the checkout to run (a benchmark's
    "before" tree)."""
    port = free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.fileWatcherType", "none", "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, exit_details=exit_details)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(15)

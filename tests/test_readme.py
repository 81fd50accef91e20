"""Every example in README.md runs as written, so the docs cannot rot.

The examples run in order, in a copy of the repository in a temporary folder (so the journals and
replies they write stay out of the checkout): each ```python block as a script, and each
``python -m freshsales_mapper ...`` / ``freshsales-mapper ...`` command of the shell blocks. A command
ending in ``&`` (the emulator) runs in the background on a free port, which replaces the README's port
in every command, and is stopped at the end.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.local_servers import free_port

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
PROJECT_COMMAND = re.compile(r"^(?:[A-Z_]+=\S+\s+)*(?:python -m freshsales_mapper|freshsales-mapper)\b")
README_PORT = "8765"
SAMPLE_KEY = "demo-key"  # the key the examples use: it must never be printed in clear
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis",
                                     "*.journal.jsonl", "build", "dist", "*.egg-info")


def readme_examples() -> list[tuple[str, str]]:
    """("python", script) and ("shell", command) in the order the README gives them."""
    examples: list[tuple[str, str]] = []
    for language, body in FENCE.findall(README.read_text("utf-8")):
        if language == "python":
            examples.append(("python", body))
        elif language in ("bash", "sh", "shell", "console"):
            for line in body.replace("\\\n", " ").splitlines():
                command = line.strip()
                if PROJECT_COMMAND.match(command):
                    examples.append(("shell", command))
    return examples


EXAMPLES = readme_examples()


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the background command exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


def as_argv(command: str, port: int) -> tuple[dict[str, str], list[str], bool]:
    """The environment assignments, the argument list (run with this interpreter) and whether it runs in
    the background."""
    words = shlex.split(command.replace(README_PORT, str(port)), comments=True)
    background = words[-1] == "&"
    words = words[:-1] if background else words
    env = {}
    while "=" in words[0] and re.match(r"^[A-Z_]+=", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if words[0] == "freshsales-mapper":
        words = ["python", "-m", "freshsales_mapper", *words[1:]]
    assert words[:3] == ["python", "-m", "freshsales_mapper"], command
    return env, [sys.executable, *words[1:]], background


def test_the_readme_has_examples_of_each_kind():
    kinds = [kind for kind, _ in EXAMPLES]
    assert kinds.count("python") >= 3 and kinds.count("shell") >= 6
    text = README.read_text("utf-8")
    assert "$KEY" not in text and "replies.json ..." not in text
    for _, example in EXAMPLES:
        assert "..." not in example.replace("{{…}}", ""), f"an elided example cannot run: {example}"


def test_every_readme_example_runs_as_written(tmp_path):
    workdir = tmp_path / "checkout"
    shutil.copytree(ROOT, workdir, ignore=COPY_IGNORE)
    port = free_port()
    base_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    base_env.pop("FRESHSALES_API_KEY", None)
    background: list[subprocess.Popen] = []
    try:
        for number, (kind, example) in enumerate(EXAMPLES, 1):
            where = f"README example {number} ({kind}):\n{example}"
            if kind == "python":
                proc = subprocess.run([sys.executable, "-"], input=example, cwd=workdir, env=base_env,
                                      capture_output=True, text=True, timeout=180)
            else:
                env, argv, in_background = as_argv(example, port)
                if in_background:
                    log = (tmp_path / f"background-{number}.log").open("w")
                    server = subprocess.Popen(argv, cwd=workdir, env={**base_env, **env}, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True)
                    log.close()
                    background.append(server)
                    wait_for_port(port, server)
                    continue
                proc = subprocess.run(argv, cwd=workdir, env={**base_env, **env}, capture_output=True, text=True,
                                      timeout=180)
            assert proc.returncode == 0, f"{where}\nexit {proc.returncode}\n{proc.stderr[-3000:]}"
            assert proc.stdout.strip(), f"{where}\nprinted nothing"
            assert "Traceback" not in proc.stderr, f"{where}\n{proc.stderr[-3000:]}"
            assert SAMPLE_KEY not in proc.stdout, f"{where}\nprinted the key in clear"
    finally:
        for server in background:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(15)
    left_in_checkout = {p.name for p in workdir.iterdir()} - {p.name for p in ROOT.iterdir()}
    assert left_in_checkout <= {"run.journal.jsonl", "demo.journal.jsonl", "recorded_replies.json"}, left_in_checkout


@pytest.mark.parametrize("name", ["run.journal.jsonl", "demo.journal.jsonl", "recorded_replies.json"])
def test_files_the_examples_write_are_ignored_by_git(name):
    assert name in README.read_text("utf-8")
    proc = subprocess.run(["git", "check-ignore", "--no-index", "-q", name], cwd=ROOT, capture_output=True)
    assert proc.returncode == 0, f"{name} is not covered by .gitignore"

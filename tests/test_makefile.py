"""The Makefile's promises that can be checked without installing anything: reinstall only when the
requirements change, and a venv made from the first suitable python3; plus the Streamlit defaults."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAKE_PYTHON = """#!/bin/sh
# Stands in for .venv/bin/python: notes how it was called instead of installing anything.
echo "$@" >> "$(dirname "$0")/calls.log"
"""


def make(folder: Path, *targets: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(["make", "--no-print-directory", *targets], cwd=folder, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_requirements_are_installed_again_only_when_they_change(tmp_path):
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    calls = python.parent / "calls.log"

    def installs() -> list[str]:
        return [line for line in calls.read_text().splitlines() if "pip install" in line and "-e ." not in line] \
            if calls.exists() else []

    def project_installs() -> int:  # the project itself, editable, after each set of requirements
        return sum("--no-deps -e ." in line for line in calls.read_text().splitlines()) if calls.exists() else 0

    make(tmp_path, "install-dev")
    assert installs() == ["-m pip install -q --disable-pip-version-check -r requirements-dev.txt"]
    make(tmp_path, "install-dev")
    make(tmp_path, "install")  # the dev set includes the runtime set: nothing more to do
    assert len(installs()) == 1
    with (tmp_path / "requirements.txt").open("a") as handle:
        handle.write("# a changed pin\n")
    make(tmp_path, "install")
    assert installs()[-1] == "-m pip install -q --disable-pip-version-check -r requirements.txt"
    make(tmp_path, "install-dev")
    assert len(installs()) == 3 and installs()[-1].endswith("-r requirements-dev.txt")
    make(tmp_path, "install-dev", "install")
    assert len(installs()) == 3 and project_installs() == 3
    with (tmp_path / "pyproject.toml").open("a") as handle:  # a new entry point, say
        handle.write("# changed\n")
    make(tmp_path, "install")
    assert installs()[-1].endswith("-r requirements.txt") and project_installs() == 4


def test_the_venv_comes_from_a_python_of_at_least_3_11():
    python = make(ROOT, "-s", "which-python").stdout.strip()
    assert python, "no python3 of 3.11 or newer found on PATH"
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2] >= (3, 11))"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    assert version == "True", python


def test_streamlit_defaults_suit_a_tool_that_holds_secrets():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["address"] in ("localhost", "127.0.0.1")
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")

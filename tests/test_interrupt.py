"""Ctrl-C at any moment of a command, from the package's first import on: one line on stderr and exit 130.

(The first few tens of milliseconds belong to the interpreter's own start-up, before any of this project's
code runs: a SIGINT there ends Python as Python decides. These tests start when the package is imported.)
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "transform": ["transform", "--domain", "acme.myfreshworks.com"],
    "send": ["send", "--domain", "acme.myfreshworks.com", "--dry-run"],
    "emulator": ["emulator", "--port", "0"],
}


def interrupted(args: list[str], delay: float) -> subprocess.CompletedProcess:
    """Run a command, send SIGINT ``delay`` s after the package's first module is imported, and wait."""
    env = {**os.environ, "FRESHSALES_API_KEY": "interrupt-test-key-1234",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # -X importtime names each module on stderr as it is imported: the moment the package starts is seen,
    # however slow a loaded machine makes the interpreter's own start-up. stdin stays open and empty, so
    # transform and send wait on it and the signal always finds them running.
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "freshsales_mapper", *args], cwd=ROOT,
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            bufsize=0)  # unbuffered: select() then sees every line that is not read yet
    try:
        early = []
        deadline = time.monotonic() + 30  # without the package's hook the marker never comes: go on anyway
        while time.monotonic() < deadline and select.select([proc.stderr], [], [], 1)[0]:
            line = proc.stderr.readline()
            early.append(line)
            if not line or b"freshsales_mapper.interrupt" in line:
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = b"".join([*early, err]).decode().splitlines(keepends=True)
    said = "".join(line for line in lines if not line.startswith("import time:"))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), said)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.1, 0.4, 1.0])
def test_ctrl_c_at_any_moment_says_one_line_and_exits_130(command, delay):
    done = interrupted(COMMANDS[command], delay)
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "interrupted" in line]
    assert len(lines) == 1 and lines[0].startswith("freshsales-mapper: interrupted"), done.stderr


def test_a_library_import_keeps_the_programs_own_ctrl_c_handling():
    code = "import sys, freshsales_mapper; print(sys.excepthook is sys.__excepthook__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr


def test_ctrl_c_wrapped_by_python_in_another_error_is_still_ctrl_c():
    from freshsales_mapper.interrupt import _caused_by_ctrl_c

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:  # as Python does for one raised in __set_name__ during an import
            raise RuntimeError("Error calling __set_name__ on 'cached_property' instance") from inner
    except RuntimeError as wrapped:
        assert _caused_by_ctrl_c(wrapped)
    assert not _caused_by_ctrl_c(ValueError("a real error"))

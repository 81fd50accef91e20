"""Shared fixtures: local Freshsales emulators on free loopback ports, always stopped afterwards.

Also a check that the test run leaves nothing behind: every temporary file of this run (the tests',
the app's, the CLI's, pytest's own ``tmp_path``) lives in one folder made for the run and removed at
its end, and the run fails (exit status 1) if, once the tests are done, that folder still holds
anything the code under test made, or an emulator / send thread or a child process is still alive.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import threading
import time

import pytest

from freshsales_mapper.emulator.server import EmulatorServer

EMULATOR_KEY = "emulator-test-key-7f3a9c"

# Before anything asks for a temporary folder (pytest's tmp_path included): children inherit TMPDIR.
# Test modules also import this file as ``tests.conftest``: the second import reuses the folder.
RUN_TEMP_ENV = "FRESHSALES_TEST_RUN_TEMP"
RUN_TEMP = os.environ.get(RUN_TEMP_ENV) or tempfile.mkdtemp(prefix="freshsales-tests-")
os.environ[RUN_TEMP_ENV] = os.environ["TMPDIR"] = tempfile.tempdir = RUN_TEMP
OUR_THREADS = ("freshsales-emulator", "playground-send-")  # thread names the code under test gives
LEFTOVER_GRACE = 10.0  # seconds for stopping threads and finalizers to finish


def _temp_leftovers() -> list[str]:
    # Streamlit's AppTest makes one folder when imported and removes it at interpreter exit.
    app_test = sys.modules.get("streamlit.testing.v1.app_test")
    streamlit_own = os.path.basename(app_test.TMP_DIR.name) if app_test is not None else None
    return sorted(name for name in os.listdir(RUN_TEMP) if not name.startswith("pytest-of-") and name != streamlit_own)


def _our_threads(started_before: set[threading.Thread]) -> list[str]:
    return sorted(t.name for t in threading.enumerate()
                  if t not in started_before and t.is_alive() and t.name.startswith(OUR_THREADS))


def _children() -> list[str]:
    """Live child processes of this one (zombies already exited and are ignored)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.append(f"{entry}: {command[:120]}")
    return found


def leftovers(started_before: set[threading.Thread]) -> list[str]:
    return ([f"temporary entry {RUN_TEMP}/{name}" for name in _temp_leftovers()]
            + [f"thread {name}" for name in _our_threads(started_before)]
            + [f"child process {child}" for child in _children()])


_THREADS_AT_START: set[threading.Thread] = set()


def pytest_sessionstart(session: pytest.Session) -> None:
    _THREADS_AT_START.update(threading.enumerate())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After every test and fixture is done (a session fixture would still see the last test's values)."""
    deadline = time.monotonic() + LEFTOVER_GRACE
    try:
        while True:
            gc.collect()  # dropped app sessions: their finalizers stop Sandboxes and remove journal folders
            found = leftovers(_THREADS_AT_START)
            if not found or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        shutil.rmtree(RUN_TEMP, ignore_errors=True)
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "the tests left these behind:\n  " + "\n  ".join(found)
        if reporter is not None:
            reporter.write_sep("=", "left behind", red=True)
            reporter.write_line(message)
        else:
            print(message, file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def emulator():
    """Factory: ``emulator(**EmulatorServer options)`` starts one on 127.0.0.1 with a free port."""
    started: list[EmulatorServer] = []

    def start(**options) -> EmulatorServer:
        options.setdefault("api_key", EMULATOR_KEY)
        server = EmulatorServer(host="127.0.0.1", port=0, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def runs_folder(tmp_path_factory, monkeypatch):
    """Every test's kept Live runs go to a folder of its own under pytest's temp folder, never the user's home
    (the variable is run_store.RUNS_DIR_ENV; named here so that this file imports nothing of the package)."""
    folder = tmp_path_factory.mktemp("runs")
    monkeypatch.setenv("FRESHSALES_MAPPER_RUNS_DIR", str(folder))
    return folder

"""Item 15 of issue 10: a browser session's Sandbox emulator and journal folder do not outlive it.

An idle Sandbox stops itself (``PLAYGROUND_IDLE_SECONDS``, scaled down to a second here) and takes
its journals along; a session Streamlit drops releases everything; and the suite's own leftover
check (tests/conftest.py) really finds a thread, a folder or a process left behind.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import weakref

import pytest
import requests
from test_app_helpers import joined, new_app, paste

from playground.sandbox import IDLE_ENV, SessionOwned
from tests import conftest
from tests.conftest import EMULATOR_KEY

EVENT = json.dumps({"type": "identify", "traits": {"email": "idle@example.com"}})


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# ---- the emulator's own idle stop ----------------------------------------------------------------

def test_an_idle_emulator_stops_itself_and_says_so(emulator):
    called = threading.Event()
    before = set(threading.enumerate())
    server = emulator(idle_timeout=0.5, on_idle=called.set)
    url = server.base_url + "/crm/sales/api/lists"
    started = time.monotonic()
    assert wait_until(lambda: not server.running, timeout=5)
    assert 0.4 < time.monotonic() - started < 5
    assert server.stopped_idle and called.wait(5)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)
    assert wait_until(lambda: not [t for t in threading.enumerate() if t not in before and t.is_alive()])


def test_requests_and_touches_keep_an_emulator_alive(emulator):
    server = emulator(idle_timeout=0.6)
    for _ in range(8):  # 1.6 s of activity, each gap well under the timeout
        requests.get(server.base_url + "/crm/sales/api/lists", headers={"Authorization": f"Token token={EMULATOR_KEY}"},
                     timeout=5)
        time.sleep(0.1)
        server.touch()
        time.sleep(0.1)
    assert server.running and not server.stopped_idle


# ---- the session's folder ------------------------------------------------------------------------

def test_an_idle_stop_removes_sandbox_journals_and_keeps_live_ones():
    owned = SessionOwned()
    folder = owned.ensure_folder()
    for name in ("sandbox-a.journal.jsonl", "live-b.journal.jsonl"):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            handle.write("{}\n")
    owned.drop_sandbox_journals()
    assert os.listdir(folder) == ["live-b.journal.jsonl"]  # a Live send can still resume without duplicates
    owned.release()
    assert not os.path.exists(folder)


def test_an_idle_stop_with_only_sandbox_journals_removes_the_folder():
    owned = SessionOwned()
    folder = owned.ensure_folder()
    open(os.path.join(folder, "sandbox-a.journal.jsonl"), "w").close()
    owned.drop_sandbox_journals()
    assert not os.path.exists(folder)
    owned.release()


# ---- the playground ------------------------------------------------------------------------------

def sandbox_send(at) -> None:
    at.sidebar.radio(key="mode").set_value("Sandbox")
    at.run()
    paste(at, EVENT)
    at.button(key="send_button").click()
    at.run()
    assert not at.exception, at.exception


def test_an_idle_sandbox_stops_drops_its_journals_and_a_new_one_starts_on_return(monkeypatch):
    monkeypatch.setenv(IDLE_ENV, "1")
    at = new_app()
    try:
        sandbox_send(at)
        server, folder = at.session_state["_sandbox_server"], at.session_state["_send_dir"]
        assert server.running and os.listdir(folder)
        assert wait_until(lambda: not server.running and not os.path.exists(folder))
        at.run()  # the user comes back
        fresh = at.session_state["_sandbox_server"]
        assert fresh is not server and fresh.running and fresh.contacts() == []
        assert "stopped after" in joined(at.sidebar.info) and "new and empty" in joined(at.sidebar.info)
    finally:
        at.session_state["_sandbox_server"].stop()


def test_a_dropped_session_stops_its_sandbox_and_removes_its_folder():
    at = new_app()
    sandbox_send(at)
    server, folder = at.session_state["_sandbox_server"], at.session_state["_send_dir"]
    assert server.running and os.path.isdir(folder)
    del at
    gc.collect()  # what happens once Streamlit forgets a closed session
    assert wait_until(lambda: not server.running and not os.path.exists(folder), timeout=5)


# ---- the suite's leftover check can fail ---------------------------------------------------------

def test_the_leftover_check_finds_threads_folders_and_processes(emulator):
    before = set(threading.enumerate())
    assert conftest.leftovers(before) == []
    server = emulator()
    folder = tempfile.mkdtemp(prefix="leftover-probe-")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        found = "\n".join(conftest.leftovers(before))
        assert "thread freshsales-emulator" in found
        assert f"temporary entry {conftest.RUN_TEMP}/{os.path.basename(folder)}" in found
        assert f"child process {child.pid}:" in found
    finally:
        child.kill()
        child.wait()
        os.rmdir(folder)
        server.stop()
    assert conftest.leftovers(before) == []


def test_the_reaper_releases_what_a_session_owned_once_the_server_itself_is_gone():
    from playground.sandbox import SessionOwned, _Reaper

    record = SessionOwned()
    folder = record.ensure_folder()
    reaper = _Reaper()
    reaper._owners["gone-session"] = (weakref.ref(record), [None])  # as watch() records it, without its thread
    reaper.sweep(grace=120.0)  # no Streamlit runtime in this process: its sessions cannot come back
    assert not os.path.exists(folder) and reaper._owners == {}

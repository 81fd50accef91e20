"""The Sandbox and the session's send-journal folder: what a browser session owns outside Python memory.

The Sandbox is a local Freshsales emulator the app starts on demand, one per browser session. It
listens on a free loopback port and accepts only a random key made for this session, so the user's
real API key is never needed (nor sent) in Sandbox mode.

Neither may outlive its session. Streamlit has no "session ended" hook, so two things release them:

* an idle timeout (``PLAYGROUND_IDLE_SECONDS``, default 30 minutes without a page run or a request):
  the emulator stops itself and the Sandbox journals go with it. Live runs are kept elsewhere, in the
  runs folder (``live_runs.py``); a Live journal left here (that folder could not be written) stays, so
  that a user who comes back can still resume that send without sending anything twice;
* the end of the session: Streamlit drops a closed session's state, and a finalizer on an object
  held only there stops the emulator and removes the whole folder (also at interpreter exit). But
  Streamlit drops a disconnected session only when another visitor happens to connect later, so
* a reaper thread checks every ``PLAYGROUND_REAP_EVERY_SECONDS`` (30) whether each owning session is
  still connected; one gone for ``PLAYGROUND_REAP_AFTER_SECONDS`` (120: a reconnecting tab keeps its
  session) is released then, with no other visitor needed: within about 3 minutes of the tab closing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import tempfile
import threading
import time
import weakref

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from freshsales_mapper.emulator.server import EmulatorServer

IDLE_ENV = "PLAYGROUND_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 1800.0
FOLDER_PREFIX = "freshsales-playground-"
SANDBOX_JOURNAL_PREFIX = "sandbox-"  # journal files of Sandbox sends; Live ones start "live-"

# Session state keys: what the page (and tests) read; SessionOwned keeps its own references for cleanup.
SERVER = "_sandbox_server"
KEY = "_sandbox_key"
FOLDER = "_send_dir"
OWNED = "_session_owned"
SESSION_TOKEN = "_session_end_token"
STOPPED_IDLE = "_sandbox_stopped_idle"


def idle_seconds() -> float:
    return seconds_from_env(IDLE_ENV, DEFAULT_IDLE_SECONDS)


def seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment; ``default`` when unset, unreadable or not positive."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


class SessionOwned:
    """One session's emulator and folder; every method may run on any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.server: EmulatorServer | None = None
        self.folder: str | None = None

    def start_server(self) -> tuple[EmulatorServer, str]:
        key = secrets.token_urlsafe(24)
        server = EmulatorServer(host="127.0.0.1", port=0, api_key=key, idle_timeout=idle_seconds(),
                                on_idle=self.drop_sandbox_journals).start()
        with self._lock:
            previous, self.server = self.server, server
        if previous is not None:
            previous.stop()
        return server, key

    def ensure_folder(self) -> str:
        with self._lock:
            if self.folder is None or not os.path.isdir(self.folder):
                self.folder = tempfile.mkdtemp(prefix=FOLDER_PREFIX)
            return self.folder

    def stop_server(self) -> None:
        with self._lock:
            server, self.server = self.server, None
        if server is not None:
            server.stop()

    def drop_sandbox_journals(self) -> None:
        """The emulator is gone, so are its records: its journals could only mislead a resume."""
        with self._lock:
            folder = self.folder
        if folder is None:
            return
        for path in glob.glob(os.path.join(glob.escape(folder), SANDBOX_JOURNAL_PREFIX + "*")):
            with contextlib.suppress(OSError):
                os.remove(path)
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # only if nothing else (a Live journal) is left in it

    def release(self) -> None:
        """Everything, for good: the session ended."""
        self.stop_server()
        with self._lock:
            folder, self.folder = self.folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


class _Reaper:
    """Releases what closed sessions own, without waiting for Streamlit to drop them (see the module)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[weakref.ref[SessionOwned], list[float | None]]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, session_id: str, record: SessionOwned) -> None:
        with self._lock:
            self._owners[session_id] = (weakref.ref(record), [None])  # [when it was first seen gone]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="playground-reaper", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        every = seconds_from_env("PLAYGROUND_REAP_EVERY_SECONDS", 30.0)
        while True:
            time.sleep(every)
            with self._lock:
                if not self._owners:
                    self._thread = None
                    return
            self.sweep(seconds_from_env("PLAYGROUND_REAP_AFTER_SECONDS", 120.0))

    def sweep(self, grace: float) -> None:
        try:
            runtime = Runtime.instance()
        except RuntimeError:  # the server itself is gone (AppTest's runtime ends with its test): so are its sessions
            runtime = None
        now = time.monotonic()
        with self._lock:
            owners = list(self._owners.items())
        for session_id, (ref, gone_since) in owners:
            record = ref()
            if record is not None:
                if runtime is not None and runtime.is_active_session(session_id):
                    gone_since[0] = None  # connected (again)
                    continue
                gone_since[0] = gone_since[0] or now
                if runtime is not None and now - gone_since[0] < grace:
                    continue  # a reconnecting tab keeps its session: give it the grace period
                record.release()
            with self._lock:
                self._owners.pop(session_id, None)

_REAPER = _Reaper()


class _SessionEnd:
    """Held only by the session's state: collected when Streamlit drops the session."""


def owned() -> SessionOwned:
    record = st.session_state.get(OWNED)
    if record is None:
        record = st.session_state[OWNED] = SessionOwned()
        token = st.session_state[SESSION_TOKEN] = _SessionEnd()
        weakref.finalize(token, record.release)
        context = get_script_run_ctx()
        if context is not None and Runtime.exists():  # a real server (AppTest has none: its sessions end with it)
            _REAPER.watch(context.session_id, record)
    return record


def running() -> EmulatorServer | None:
    server = st.session_state.get(SERVER)
    if server is None:
        return None
    if not server.running:
        if server.stopped_idle:
            st.session_state[STOPPED_IDLE] = True
        st.session_state.pop(SERVER, None)
        st.session_state.pop(KEY, None)
        return None
    server.touch()  # the page is in use: the idle clock starts again
    return server


def ensure() -> EmulatorServer:
    server = running()
    if server is None:
        server, st.session_state[KEY] = owned().start_server()
        st.session_state[SERVER] = server
    return server


def stopped_for_idleness() -> bool:
    """Whether the previous Sandbox stopped after the idle timeout (asked once: the answer is then cleared)."""
    return bool(st.session_state.pop(STOPPED_IDLE, False))


def key() -> str:
    return st.session_state[KEY]


def folder() -> str:
    """The session's folder for send journals (created on first use, removed when the session ends)."""
    path = st.session_state[FOLDER] = owned().ensure_folder()
    return path


def stop() -> None:
    server = st.session_state.pop(SERVER, None)
    st.session_state.pop(KEY, None)
    if server is not None:
        server.stop()

"""send for people: on a terminal a progress line and a table of outcomes by status; JSON lines when piped."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

from tests.test_send_e2e import ROOT, run_send, write_events
from tests.test_sender import DOMAIN, identify

KEY = "display-test-key-123456"


def events(tmp_path):
    long_name = "jonas.lindqvist-" + "x" * 120 + "@fjord.example.com"
    return write_events(tmp_path / "e.ndjson", identify("a@example.com"), identify(long_name),
                        {"type": "page"}, {"type": "track", "event": "Demo Booked", "properties": {}})


def run_on_a_terminal(*args, columns: int = 80) -> tuple[int, str]:
    """Run send with stdout and stderr on a real pseudo-terminal; what the terminal received."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "FRESHSALES_API_KEY": KEY, "COLUMNS": str(columns),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "freshsales_mapper", "send", *map(str, args)], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)
    os.close(terminal)
    received = b""
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(controller)
        code = proc.wait(timeout=60)
    return code, received.decode("utf-8", "replace").replace("\r\n", "\n")


def test_on_a_terminal_send_shows_progress_then_a_table_by_status(emulator, tmp_path):
    server = emulator(api_key=KEY)
    code, screen = run_on_a_terminal("--domain", DOMAIN, "--base-url", server.base_url, events(tmp_path))
    assert code == 0, screen
    assert "\r\x1b[Ksend: 1/4 events · 1 delivered" in screen and "send: 4/4 events" in screen
    assert '"index"' not in screen  # no JSON for a person
    table = screen[screen.index("DELIVERED: 2 events"):screen.index("\nsend: ")]
    assert "SKIPPED: 2 events" in table and "2 × contact upserted" in table
    assert "RudderStack rejects the event" in table
    assert all(len(line) <= 80 for line in table.splitlines()), table


def test_failed_events_are_listed_first_with_their_reasons_wrapped_not_cut(emulator, tmp_path):
    server = emulator(api_key="another-key-000000")  # refuses our key: every event fails
    code, screen = run_on_a_terminal("--domain", DOMAIN, "--base-url", server.base_url, events(tmp_path),
                                     columns=60)
    assert code == 1
    table = screen[screen.index("FAILED:"):screen.index("\nsend: ")]
    before = screen[:screen.index("FAILED:")]
    assert "DELIVERED:" not in before and "SKIPPED:" not in before  # what needs action comes first
    assert "line 1:" in table and "line 2:" in table and "refused the API key" in table
    assert all(len(line) <= 60 for line in table.splitlines()), table


def test_piped_output_stays_json_lines_and_table_can_be_asked_for(emulator, tmp_path):
    server = emulator(api_key=KEY)
    path = events(tmp_path)
    piped = run_send("--domain", DOMAIN, "--base-url", server.base_url, path, key=KEY)
    assert [line[:10] for line in piped.stdout.splitlines()] == ['{"index": '] * 4
    table = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--table", "--dry-run", path, key=KEY)
    assert table.returncode == 0 and table.stdout.startswith("SKIPPED: 4 events")
    assert "\x1b[K" not in table.stderr  # no progress line when stderr is not a terminal

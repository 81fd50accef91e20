"""A closed tab's Sandbox emulator and journal folder are released by the reaper, with no other visitor.

Streamlit drops a disconnected session only when someone else connects later; the reaper checks the
sessions itself. Its timings are shortened here through the environment (2 s of grace, checked every
0.5 s); the defaults, 120 s and 30 s, release within about 3 minutes of the tab closing.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local_servers import CHROMIUM, CHROMIUM_ARGS, playground_server

WAIT_MS = 90_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (run `make browser`)"),
]


@pytest.fixture
def reaping_server(tmp_path) -> Iterator[tuple[str, Path]]:
    temp = tmp_path / "server-tmp"
    temp.mkdir()
    log = tmp_path / "server.log"
    env = {"PLAYGROUND_REAP_AFTER_SECONDS": "2", "PLAYGROUND_REAP_EVERY_SECONDS": "0.5", "TMPDIR": str(temp)}
    with open(log, "w", encoding="utf-8") as output, \
            playground_server(output, exit_details=lambda: log.read_text(errors="replace"), env=env) as url:
        yield url, temp


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_closed_tab_releases_its_sandbox_and_journal_folder_without_another_visitor(reaping_server):
    from playwright.sync_api import sync_playwright

    url, temp = reaping_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1600})
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(url)
            page.get_by_text("Sandbox", exact=True).click()
            running = page.get_by_text("Sandbox running").first
            running.wait_for()
            port = int(re.search(r"127\.0\.0\.1:(\d+)", page.get_by_text("127.0.0.1:").first.inner_text())[1])
            page.get_by_label("Events (JSON, NDJSON or a processor request body)").fill(
                '{"type": "identify", "traits": {"email": "reaped@example.com"}}')
            page.keyboard.press("Control+Enter")
            page.get_by_role("button", name="Send 1 event(s)").click()
            page.get_by_text("1 of 1 event(s) have an outcome").wait_for()
            assert listening(port) and list(temp.glob("freshsales-playground-*"))
            context.close()  # the tab closes; nobody else visits
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (listening(port) or list(temp.glob("freshsales-playground-*"))):
                time.sleep(0.5)
            assert not listening(port), "the closed tab's emulator still answers"
            assert not list(temp.glob("freshsales-playground-*")), "the closed tab's journal folder is still there"
        finally:
            browser.close()

"""Markdown injection in a real Chromium (issue 17, defect 3): a forged share link's image and link never load.

A spy HTTP server on 127.0.0.1 counts every request; the forged link points its image and link at it.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator

import pytest
from test_injection import forged_token

from playground.share import PARAM
from tests.local_servers import CHROMIUM
from tests.test_browser import browser, open_page, server_url  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (run `make browser`)"),
]


@pytest.fixture
def spy() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Spy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Spy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("width", [1440, 800])
def test_a_forged_share_link_loads_nothing_and_links_nowhere(open_page, server_url, spy, width):  # noqa: F811
    base, hits = spy
    page = open_page(width=width, height=1600, url=f"{server_url}/?{PARAM}={forged_token(base)}")
    page.get_by_text("skipped (RudderStack rejects it)").first.wait_for()
    page.get_by_text("[click me](").first.wait_for()  # shown as text
    picker = page.get_by_label("Event", exact=True)
    if picker.count():
        picker.first.click()
        page.get_by_role("option").nth(1).click()
        page.get_by_text("carries its own destination").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
    if os.environ.get("INJECTION_SCREENSHOTS"):
        page.screenshot(path=f"{os.environ['INJECTION_SCREENSHOTS']}/injection_{width}.png", full_page=True)
    assert hits == []
    links = page.locator(f'a[href^="{base}"]')
    assert links.count() == 0, [links.nth(i).evaluate("a => a.parentElement.parentElement.outerHTML.slice(0, 500)")
                                for i in range(links.count())]
    assert page.locator(f'img[src^="{base}"]').count() == 0

"""Rapid clicks on "Send again" in a real Chromium send once per confirmation (issue 19, item 10)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.local_servers import CHROMIUM
from tests.test_browser import _paste, browser, open_page, page, server_url  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (run `make browser`)"),
]


def _settled(tab) -> None:
    """The app finished its run: Streamlit's running indicator is gone."""
    tab.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")


def _rapid_clicks(tab, name: str, clicks: int = 3, gap_ms: int = 150) -> None:
    """Clicks where the button is, 150 ms apart, as an impatient user does (later ones may land on what replaced it)."""
    box = tab.get_by_role("button", name=name).bounding_box()
    for _ in range(clicks):
        tab.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tab.wait_for_timeout(gap_ms)


def test_rapid_clicks_on_send_again_send_once_per_confirmation(page):  # noqa: F811
    page.get_by_text("Sandbox", exact=True).click()
    page.get_by_text("Sandbox running").wait_for()
    _paste(page, (ROOT / "sample_events" / "track_sales_activity_by_type_id.json").read_text(encoding="utf-8"))
    page.get_by_role("button", name="Send 1 event(s)").click()
    page.get_by_text("Records in the sandbox: 1 contacts · 0 sales accounts · 1 sales activities").wait_for()
    _settled(page)
    _rapid_clicks(page, "Send again (sends every event once more)")
    page.get_by_text("Send every event of this batch once more?").wait_for()
    _settled(page)
    assert page.get_by_text("1 sales activities").count() == 1  # asking sends nothing
    _rapid_clicks(page, "Yes, send every event again")
    page.get_by_text("Records in the sandbox: 1 contacts · 0 sales accounts · 2 sales activities").wait_for()
    page.get_by_role("button", name="Send again (sends every event once more)").wait_for()
    _settled(page)
    assert page.get_by_text("2 sales activities").count() == 1
    assert page.get_by_text("3 sales activities").count() == 0

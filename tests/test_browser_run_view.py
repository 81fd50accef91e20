"""The run view in a real Chromium at 1440 and 800 px: after a Sandbox send the event's requests as they went
out are on screen, nothing scrolls sideways, and a row clicked in the Send box's table brings that event's run
into view.

Set ``RUN_VIEW_SCREENSHOT=docs/run-view.png`` to also save the README's screenshot (taken at 1440 px; the
800 px one goes beside it as ``run-view-800.png``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.local_servers import CHROMIUM
from tests.test_browser import (  # noqa: F401  (fixtures)
    _fully_in_view,
    _no_sideways_scroll,
    _paste,
    browser,
    open_page,
    server_url,
)

ROOT = Path(__file__).resolve().parents[1]
RUN = '[class*="st-key-fm_run_view"]'
HEADING = "What was sent to Freshsales"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (run `make browser`)"),
]


def _sandbox(page) -> None:
    page.get_by_text("Sandbox", exact=True).click()
    page.get_by_text("Sandbox running").wait_for()


def _nothing_wider_than_its_box(page, selector: str) -> None:
    """The block and every code block in it fit their width (long URLs and bodies wrap, never scroll)."""
    widths = page.evaluate("""(selector) => {
      const block = document.querySelector(selector);
      const inner = [...block.querySelectorAll('pre, [data-testid="stCode"]')];
      return [[block.scrollWidth, block.clientWidth], ...inner.map(e => [e.scrollWidth, e.clientWidth])];
    }""", selector)
    assert all(scroll <= client for scroll, client in widths), widths


@pytest.mark.parametrize("width", [1440, 800])
def test_the_run_view_fits_and_shows_the_real_requests(open_page, width):  # noqa: F811
    page = open_page(width, 1400)
    _sandbox(page)
    _paste(page, (ROOT / "sample_events" / "group_with_user_email.json").read_text(encoding="utf-8"))
    page.get_by_text("{{sales_account.id}}").first.wait_for(state="attached")
    page.get_by_role("button", name="Send 1 event(s)").click()
    run = page.locator(RUN)
    run.get_by_text(f"{HEADING} · event 1").wait_for()
    run.get_by_text("HTTP 200").first.wait_for()
    assert run.get_by_text("POST http://127.0.0.1:").count() == 3
    assert page.get_by_text("{{sales_account.id}}").count() == 0
    assert run.get_by_text(" ms").count() >= 3
    _fully_in_view(page, run.get_by_text("POST http://127.0.0.1:").first)
    box = run.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    _nothing_wider_than_its_box(page, RUN)
    _no_sideways_scroll(page)
    shot = os.environ.get("RUN_VIEW_SCREENSHOT")
    if shot:  # the README's at 1440 px; at 800 px beside it, "-800" in its name
        run.scroll_into_view_if_needed()
        page.locator('[data-testid="stMain"]').evaluate("(main, y) => main.scrollBy(0, y)", -200)
        path = Path(shot)
        page.screenshot(path=path if width == 1440 else path.with_stem(f"{path.stem}-{width}"))
    run.get_by_role("tab", name="Freshsales' answer").first.click()
    run.get_by_text('"display_name"').first.wait_for()
    _nothing_wider_than_its_box(page, RUN)
    _no_sideways_scroll(page)
    page.get_by_text("Offline preview", exact=True).click()
    page.get_by_text("{{sales_account.id}}").first.wait_for(state="attached")
    assert page.locator(RUN).count() == 0


def _click_outcome_row(page, row: int) -> None:
    """Scroll back up to the Send box's table and click the middle of a row (0-based)."""
    grid = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').first  # the Send box's table
    grid.scroll_into_view_if_needed()
    grid.locator('[role="gridcell"]', has_text="delivered").first.wait_for(state="attached")
    box = grid.bounding_box()
    row_px = 35  # the grid's header and row height
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + row_px + row_px * row + row_px / 2)


def _run_in_view(page, number: int) -> None:
    page.get_by_text(f"{HEADING} · event {number}").wait_for()
    page.wait_for_function("""(selector) => {
      const run = document.querySelector(selector);
      return run && run.getBoundingClientRect().top >= -1 && run.getBoundingClientRect().top < 200;
    }""", arg=RUN)
    _fully_in_view(page, page.get_by_text(f"{HEADING} · event {number}"))


def test_clicking_an_outcome_row_brings_that_events_run_into_view(open_page):  # noqa: F811
    page = open_page(1440, 900)
    _sandbox(page)
    lines = [json.dumps({"type": "identify", "traits": {"email": f"person{n}@example.com"}}) for n in range(3)]
    _paste(page, "\n".join(lines))
    page.get_by_role("button", name="Send 3 event(s)").click()
    page.get_by_text("3 of 3 event(s) have an outcome").wait_for()
    _click_outcome_row(page, 2)
    _run_in_view(page, 3)
    page.locator(RUN).get_by_text("person2@example.com").first.wait_for()
    _click_outcome_row(page, 0)  # a second pick scrolls again
    _run_in_view(page, 1)
    page.locator(RUN).get_by_text("person0@example.com").first.wait_for()

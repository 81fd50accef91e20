"""The demo in a real headless Chromium: presenter mode at 1280x720, record cards, the flow picture, faults.

Set ``PRESENTER_SCREENSHOT=docs/presenter.png`` to save the README's presenter screenshot (1280x720).
"""

from __future__ import annotations

import os

import pytest

from tests.local_servers import CHROMIUM
from tests.test_browser import ROOT, TEXT_AREA, _no_sideways_scroll, _paste, browser, open_page, server_url

__all__ = ["browser", "open_page", "server_url"]  # fixtures shared with test_browser.py

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (run `make browser`)"),
]


def _sample(name: str) -> str:
    return (ROOT / "sample_events" / name).read_text(encoding="utf-8")


def _presenter(page, on: bool) -> None:
    toggle = page.locator(".st-key-presenter_mode input")
    if toggle.is_checked() != on:
        page.locator(".st-key-presenter_mode label").click()
    if on:
        page.locator(".st-key-fm_presenter .fm-card").first.wait_for()
    else:
        page.get_by_text("Field mapping", exact=True).wait_for()


def test_presenter_mode_fits_1280x720_and_switches_back(open_page, tmp_path):
    page = open_page(1280, 720)
    _paste(page, _sample("group_with_user_email.json"))
    page.get_by_text("Field mapping", exact=True).wait_for()
    _presenter(page, True)
    page.locator('.fm-flow [data-node="event"]').first.wait_for()
    cards = page.locator(".st-key-fm_presenter .fm-card")
    assert cards.count() == 2
    assert "Northwind Traders" in cards.nth(0).inner_text()
    assert "assigned by Freshsales" in cards.nth(1).inner_text()
    assert page.get_by_text("Field mapping", exact=True).count() == 0  # engineer detail is hidden
    assert page.locator(".fm-table").count() == 0
    assert not page.locator("textarea").and_(page.get_by_label(TEXT_AREA, exact=True)).is_visible()
    page.get_by_role("heading", name="Freshsales mapper playground").scroll_into_view_if_needed()
    _no_sideways_scroll(page)
    page.locator('[data-testid="stSidebar"]').hover()  # the collapse button shows on hover
    page.get_by_role("button", name="Collapse sidebar").click()  # as a presenter would, for room
    page.locator('[data-testid="stSidebar"]').wait_for(state="hidden")
    _no_sideways_scroll(page)
    shot = os.environ.get("PRESENTER_SCREENSHOT") or str(tmp_path / "presenter.png")
    page.screenshot(path=shot)
    page.locator('.fm-flow').first.scroll_into_view_if_needed()
    page.screenshot(path=os.environ.get("PICTURE_SCREENSHOT") or str(tmp_path / "picture.png"))
    _no_sideways_scroll(page)
    _presenter(page, False)
    area = page.locator("textarea").and_(page.get_by_label(TEXT_AREA, exact=True))
    assert '"type": "group"' in area.input_value()  # the same event is still there
    page.locator(".fm-card").first.wait_for()  # the cards are in the detailed view too
    _no_sideways_scroll(page)


@pytest.mark.parametrize("width", [1440, 800])
def test_cards_and_picture_offline_then_as_stored_after_a_sandbox_send(open_page, width, tmp_path):
    page = open_page(width, 1000)
    _paste(page, _sample("identify.json"))
    card = page.locator(".fm-card").first
    card.wait_for()
    assert "would be" in card.inner_text() and "Amara Okafor" in card.inner_text()
    picture = page.locator('.fm-flow [data-node="event"]').first
    picture.wait_for()
    picture.scroll_into_view_if_needed()
    step, record = (page.locator(f'.fm-flow [data-node="{node}"]').first.bounding_box() for node in ("step0", "record0"))
    assert record["x"] >= step["x"] + step["width"] and record["y"] < step["y"] + step["height"]  # beside its step
    _no_sideways_scroll(page)
    page.screenshot(path=os.environ.get("DEMO_SCREENSHOT_DIR", str(tmp_path)) + f"/cards-{width}.png")
    page.get_by_text("Sandbox", exact=True).click()
    page.get_by_text("Sandbox running").wait_for()
    page.get_by_role("button", name="Send 1 event(s)").click()
    page.get_by_text("1 of 1 event(s) have an outcome").wait_for()
    stored = page.locator(".fm-cards:not(.fm-compact) .fm-card.fm-stored").first  # not the Sandbox list
    stored.wait_for()
    assert "stored in Freshsales" in stored.inner_text() and "assigned by Freshsales" not in stored.inner_text()
    stored.scroll_into_view_if_needed()
    _no_sideways_scroll(page)
    page.screenshot(path=os.environ.get("DEMO_SCREENSHOT_DIR", str(tmp_path)) + f"/stored-{width}.png")


def test_a_half_failing_sandbox_in_the_browser_offers_resume(open_page, tmp_path):
    page = open_page(1280, 720)
    page.get_by_text("Sandbox", exact=True).click()
    page.get_by_text("Sandbox running").wait_for()
    lines = "\n".join(f'{{"type": "identify", "traits": {{"email": "p{n}@example.com"}}}}' for n in range(40))  # some fail even after retries
    _paste(page, lines)
    page.get_by_text("Faults on demand", exact=False).first.click()
    thumb = page.locator('[data-testid="stSlider"]').first.get_by_role("slider")  # the failure rate
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowRight")
    page.get_by_text("50% of requests fail with 500", exact=False).first.wait_for()
    page.get_by_role("button", name="Send 40 event(s)").click()
    page.get_by_text("40 of 40 event(s) have an outcome").wait_for()
    page.get_by_role("button", name="Resume:").wait_for()
    page.get_by_role("button", name="Resume:").scroll_into_view_if_needed()
    _no_sideways_scroll(page)
    page.screenshot(path=os.environ.get("DEMO_SCREENSHOT_DIR", str(tmp_path)) + "/faults.png")
    page.get_by_role("button", name="Reset faults").click()
    page.get_by_text("50% of requests fail with 500", exact=False).first.wait_for(state="detached")


def test_a_batch_in_presenter_mode_tells_its_story(open_page, tmp_path):
    page = open_page(1280, 720)
    _paste(page, _sample("batch_mixed.ndjson"))
    page.get_by_text("Every event", exact=True).wait_for()
    _presenter(page, True)
    story = page.get_by_text("contacts would be upserted", exact=False).first
    story.wait_for()
    assert "14 skipped, RudderStack rejects them: " in story.inner_text()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.get_by_text("Every event", exact=True).wait_for(state="hidden")  # folded away with the counts
    _no_sideways_scroll(page)
    page.screenshot(path=os.environ.get("DEMO_SCREENSHOT_DIR", str(tmp_path)) + "/batch-presenter.png")

"""The playground in a real headless Chromium: `streamlit run app.py` as a subprocess, driven by playwright.

Set ``PLAYGROUND_SCREENSHOT=docs/screenshot.png`` to also save the README's screenshot. Only Debian's
/usr/bin/chromium is used (``make browser`` installs it); playwright never downloads a browser.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local_servers import CHROMIUM, CHROMIUM_ARGS, playground_server

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-SECRET-5d41402abc4b2a76"
WAIT_MS = 90_000  # a slow shared machine: wait on content, generously, never on the clock
TEXT_AREA = "Events (JSON, NDJSON or a processor request body)"

ROW_PICKER_PX = 0  # no selection column: a click on any cell opens its row
REASON_BEFORE_PX = (36, 70, 58, 112)  # "#", status, type, user: the widths batch_view gives the columns before "reason"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (run `make browser`)"),
]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log, "w", encoding="utf-8") as output, \
            playground_server(output, exit_details=lambda: log.read_text(errors="replace")) as url:
        yield url
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, server_url):
    """Factory: a fresh page (its own session) at a window size, on the app or on a link into it."""
    contexts = []

    def open_at(width: int = 1440, height: int = 2000, url: str | None = None):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(url or server_url)
        page.get_by_text("Freshsales mapper playground").first.wait_for()
        return page

    yield open_at
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


def _no_sideways_scroll(page) -> None:
    """Neither the document nor Streamlit's scrolling main area is wider than the window."""
    widths = page.evaluate("""() => {
      const main = document.querySelector('[data-testid="stMain"]');
      return {doc: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
              main: main ? [main.scrollWidth, main.clientWidth] : [0, 0]};
    }""")
    assert widths["doc"][0] <= widths["doc"][1], widths
    assert widths["main"][0] <= widths["main"][1], widths


def _fully_in_view(page, locator) -> None:
    """Scrolled to (as a reader scrolls down), the element sits inside the window, left to right."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    viewport = page.viewport_size
    assert box is not None and box["width"] > 0
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (box, viewport)
    assert box["y"] >= -1 and box["y"] + box["height"] <= viewport["height"] + 1, (box, viewport)  # sub-pixel


def _paste(page, text: str) -> None:
    area = page.locator("textarea").and_(page.get_by_label(TEXT_AREA, exact=True))
    area.fill(text)
    area.press("Control+Enter")  # Streamlit's text area commits on Ctrl+Enter (or when it loses focus)


def _wait_for_cell(page, text: str) -> None:
    """A table cell holding ``text`` (the grid paints a canvas; its cells are kept in the DOM for screen readers)."""
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    page.locator('[data-testid="stDataFrame"] [role="gridcell"]', has_text=text).first.wait_for(state="attached")


def test_paste_the_seed_identify_event_and_see_mapping_and_request(page, tmp_path):
    _paste(page, (ROOT / "sample_events" / "identify.json").read_text(encoding="utf-8"))
    page.get_by_text("Field mapping", exact=True).wait_for()
    page.locator(".fm-table td", has_text="from traits.email").first.wait_for()  # emails won from traits.email
    page.locator(".fm-table code", has_text="first_name").first.wait_for()
    page.get_by_text("https://acme.myfreshworks.com/crm/sales/api/contacts/upsert").first.wait_for()
    page.get_by_text("Token token=YOUR_API_KEY").first.wait_for(state="attached")  # in the cURL / headers tab

    key_field = page.get_by_label("API key", exact=True).and_(page.locator("input[type=password]"))
    key_field.fill(SECRET)
    key_field.press("Enter")
    page.get_by_text("Key set:").wait_for()
    page.get_by_text("Previews show Authorization: Token token=****2a76").wait_for()
    assert SECRET not in page.content()
    assert SECRET not in page.url
    assert key_field.input_value() == ""

    page.get_by_role("tab", name="cURL").first.click()
    page.get_by_text("Authorization: Token token=****2a76").first.wait_for()
    page.get_by_role("tab", name="Body").first.click()
    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("width", [1440, 800])
def test_explanations_are_on_screen_without_scrolling_sideways(open_page, width):
    page = open_page(width, 1000)
    _paste(page, (ROOT / "sample_events" / "mistake_numeric_string_ids.json").read_text(encoding="utf-8"))
    headline = page.get_by_text("1 request · owner_id dropped")
    headline.wait_for()
    _fully_in_view(page, headline)
    dropped = page.locator(".fm-row", has=page.locator("code", has_text="owner_id")).locator(".fm-why")
    assert "is not a number" in dropped.inner_text()
    _fully_in_view(page, dropped)
    empty = page.locator(".fm-row", has=page.locator("code", has_text="mobile_number")).locator(".fm-why")
    assert not empty.is_visible()  # folded into one line by default, opened on demand
    page.get_by_text("fields with no value").first.click()
    assert empty.inner_text() == "no value: traits.mobileNumber: missing · context.traits.mobileNumber: missing"
    _fully_in_view(page, empty)
    _fully_in_view(page, page.get_by_text("POST https://acme.myfreshworks.com/crm/sales/api/contacts/upsert").first)
    _no_sideways_scroll(page)

    _paste(page, (ROOT / "sample_events" / "identify.json").read_text(encoding="utf-8"))
    hint = page.locator(".fm-unmapped tr", has_text="traits.title").locator(".fm-why")
    hint.wait_for()
    assert "traits.jobTitle (job_title)" in hint.inner_text()
    _fully_in_view(page, hint)
    # ... and on the row of the field it meant, inside that row
    row = page.locator(".fm-row", has=page.locator("code", has_text="job_title"))
    on_row = row.locator(".fm-hint")
    assert "traits.title" in on_row.inner_text() and "traits.jobTitle (job_title)" in on_row.inner_text()
    _fully_in_view(page, on_row)
    row_box, hint_box = row.bounding_box(), on_row.bounding_box()
    assert row_box["y"] <= hint_box["y"] and hint_box["y"] + hint_box["height"] <= row_box["y"] + row_box["height"] + 1
    headline = page.get_by_text("unused: traits.company.name, traits.title")
    _fully_in_view(page, headline)
    _no_sideways_scroll(page)


LOSSY_EVENT = {"type": "identify", "userId": "usr_5f2a81c9e0",
               "traits": {"email": "rosa.novak@driftwood.example.com", "firstName": "Rosa", "lastName": "Novak",
                          "mobile": "+1 555 0100", "address": "1 Main St, Austin", "ownerId": "12abc"}}


@pytest.mark.parametrize("width", [1440, 800])
def test_the_headline_names_the_losses(open_page, width):
    page = open_page(width, 1800)
    _paste(page, json.dumps(LOSSY_EVENT))
    headline = page.get_by_text('1 request · address blanked to "" · owner_id dropped · unused: traits.mobile')
    headline.wait_for()
    _fully_in_view(page, headline)
    badge = page.locator(".fm-row", has=page.locator("code", has_text="address")).locator(".fm-badge").first
    assert badge.inner_text() == "blanked"
    row = page.locator(".fm-row", has=page.locator("code", has_text="mobile_number"))
    hint = row.locator(".fm-hint")
    assert "traits.mobileNumber (mobile_number)" in hint.inner_text()
    _fully_in_view(page, hint)
    _no_sideways_scroll(page)
    page.get_by_text("2 · What RudderStack sends").scroll_into_view_if_needed()
    page.screenshot(path=f"/tmp/i14_losses_{width}.png")
    target = os.environ.get("PLAYGROUND_SCREENSHOT")
    if target and width == 1440:
        page.screenshot(path=str(ROOT / target))


def test_metrics_show_whole_numbers_at_800_px(open_page):
    page = open_page(800, 1000)
    _paste(page, (ROOT / "sample_events" / "batch_mixed.ndjson").read_text(encoding="utf-8"))
    page.get_by_text("Every event", exact=True).wait_for()
    values = page.locator('[data-testid="stMetricValue"]')
    values.first.wait_for()
    shown = values.evaluate_all("""els => els.map(e => ({text: e.innerText.trim(),
        clipped: e.scrollWidth > e.clientWidth, right: e.getBoundingClientRect().right}))""")
    assert len(shown) == 7, shown
    assert shown[0]["text"] == "240", shown
    for value in shown:
        assert value["text"].isdigit() and not value["clipped"] and value["right"] <= 800, shown
    # The grid paints on a canvas: the reason column starts after the row picker and status, type and user,
    # and at least 140 px of it is inside the grid without scrolling sideways.
    grid = page.locator('[data-testid="stDataFrame"]').last.bounding_box()
    before = sum(REASON_BEFORE_PX)
    assert grid is not None and ROW_PICKER_PX + before + 140 <= grid["width"] and grid["x"] + grid["width"] <= 800, \
        (grid, before)
    _no_sideways_scroll(page)


def test_clicking_a_batch_row_brings_its_detail_into_view(open_page):
    page = open_page(1440, 900)
    _paste(page, (ROOT / "sample_events" / "batch_mixed.ndjson").read_text(encoding="utf-8"))
    page.get_by_text("Every event", exact=True).wait_for()
    grid = page.locator('[data-testid="stDataFrame"]').last
    grid.scroll_into_view_if_needed()
    page.locator('[data-testid="stDataFrame"] [role="gridcell"]').first.wait_for(state="attached")
    box = grid.bounding_box()
    row_px = 35  # the grid's header and row height
    page.mouse.click(box["x"] + 15, box["y"] + row_px + row_px * 4 + row_px / 2)  # the fifth row's "#" cell
    page.get_by_text("line 5: ").first.wait_for()
    heading = page.get_by_text("3 · Event in detail")
    page.wait_for_function("""() => {
      const h = [...document.querySelectorAll('[data-testid="stHeading"]')].find(e => e.textContent.includes('Event in detail'));
      return h && h.getBoundingClientRect().top >= -1 && h.getBoundingClientRect().top < 200;
    }""")
    _fully_in_view(page, heading)
    # a click anywhere on a row opens it, not only on its picker: here in the middle of the third row
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + row_px + row_px * 2 + row_px / 2)
    page.get_by_text("line 3: ").first.wait_for()
    page.wait_for_function("""() => {
      const h = [...document.querySelectorAll('[data-testid="stHeading"]')].find(e => e.textContent.includes('Event in detail'));
      return h && h.getBoundingClientRect().top >= -1 && h.getBoundingClientRect().top < 200;
    }""")  # the second click scrolls too


def test_try_an_example_fills_the_box_and_maps_it(page):
    page.get_by_text("Try an example").wait_for()
    page.get_by_role("button", name="Try an example").click()
    page.locator(".fm-table td", has_text="from traits.email").first.wait_for()
    assert '"amara.okafor@northwind.example.com"' in page.get_by_label(TEXT_AREA, exact=True).input_value()
    assert page.get_by_role("button", name="Try an example").count() == 0
    assert page.locator('[data-testid="stToolbarActions"] button', has_text="Deploy").count() == 0


def test_a_share_link_opens_the_same_mapping_and_never_holds_the_key(open_page):
    page = open_page()
    key_field = page.get_by_label("API key", exact=True).and_(page.locator("input[type=password]"))
    key_field.fill(SECRET)
    key_field.press("Enter")
    page.get_by_text("Key set:").wait_for()
    _paste(page, (ROOT / "sample_events" / "mistake_numeric_string_ids.json").read_text(encoding="utf-8"))
    page.get_by_text("1 request · owner_id dropped").wait_for()
    page.get_by_role("button", name="Copy link").click()
    dialog = page.get_by_role("dialog")
    link = dialog.locator("code").first
    link.wait_for()
    url = link.inner_text().strip()
    assert "?s=" in url and SECRET not in url and "2a76" not in url
    assert SECRET not in page.content() and SECRET not in page.url

    colleague = open_page(url=url)
    colleague.get_by_text("1 request · owner_id dropped").wait_for()
    from playwright.sync_api import expect

    expect(colleague.get_by_label(TEXT_AREA, exact=True)).to_have_value(
        (ROOT / "sample_events" / "mistake_numeric_string_ids.json").read_text(encoding="utf-8"), timeout=WAIT_MS)
    assert colleague.get_by_text("Token token=YOUR_API_KEY").count() > 0  # the key stayed behind
    assert SECRET not in colleague.content()


def test_a_double_click_on_send_creates_the_sales_activity_once(page):
    page.get_by_text("Sandbox", exact=True).click()
    page.get_by_text("Sandbox running").wait_for()
    _paste(page, (ROOT / "sample_events" / "track_sales_activity_by_type_id.json").read_text(encoding="utf-8"))
    page.get_by_role("button", name="Send 1 event(s)").dblclick()
    page.get_by_text("1 of 1 event(s) have an outcome").wait_for()
    page.get_by_text("Records in the sandbox: 1 contacts · 0 sales accounts · 1 sales activities").wait_for()
    page.get_by_role("button", name="Send 1 event(s)").click()  # a third click, well after the send
    page.get_by_text("Already sent").wait_for()
    assert page.get_by_text("1 sales activities").count() == 1


def test_one_click_maps_an_unsupported_event_name(page):
    _paste(page, json.dumps({"type": "track", "event": "Demo Booked", "context": {"traits": {"email": "a@example.com"}},
                             "properties": {"lifecycleStageId": 7}}))
    page.get_by_text("event name Demo Booked is not supported. Aborting!").first.wait_for()
    page.get_by_role("button", name="Map to lifecycle_stage").click()
    page.get_by_text("POST https://acme.myfreshworks.com/crm/sales/api/contacts/upsert").first.wait_for()
    assert page.get_by_text("event name Demo Booked is not supported").count() == 0
    # the row is in the sidebar's mapping table (a grid: its cells are in the DOM for screen readers)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[role="gridcell"]', has_text="Demo Booked").first.wait_for(state="attached")
    sidebar.locator('[role="gridcell"]', has_text="lifecycle_stage").first.wait_for(state="attached")

"""How long does one event with 100,000 keys no Freshsales field reads take, in the engine and in the page?

Issue 19 item 8: 40,000 unread keys took 12.8 s and 100,000 took 35 s and 17 MB of table HTML. The unread
analysis now lists the first ``engine.unmapped.LISTED`` (200) inputs with a hint and counts the rest, so its
cost is one cheap test per key. Measured here, in this one run:

* **engine**: ``transform_event(..., trace=True)`` of an identify event with N unread traits (best of 3);
* **page**: one AppTest script run after pasting that event (server side, as a Streamlit server runs it),
  and the size of the HTML the page sends for its tables. Target: the page within 5 s.
* **browser** (``--browser``): in headless Chromium, from the Ctrl+Enter that commits the paste to the
  unread count showing on the page.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from freshsales_mapper.engine.resolvers import OfflineResolver  # noqa: E402
from freshsales_mapper.engine.transform import transform_event  # noqa: E402

APP = str(ROOT / "app.py")
PAGE_TARGET_S = 5.0


def event_with_unread_keys(keys: int) -> dict:
    traits = {"email": "many@example.com"} | {f"custom_key_{n}": n for n in range(keys)}
    return {"type": "identify", "traits": traits}


def time_engine(event: dict, runs: int = 3) -> tuple[float, int, int]:
    destination = {"Config": {"apiKey": "k", "domain": "acme.myfreshworks.com"}}
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = transform_event(event, destination, OfflineResolver(), trace=True)
        best = min(best, time.perf_counter() - start)
    return best, len(result.unmapped), result.unmapped_count


def time_page(event: dict) -> tuple[float, int]:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.text_area(key="events_input").set_value((ROOT / "sample_events" / "identify.json").read_text())
    at.run()  # warm-up: one-time lazy imports, as in a server that is already running
    at.text_area(key="events_input").set_value(json.dumps(event))
    start = time.perf_counter()
    at.run()
    took = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"the app failed: {at.exception[0].value}")
    html_bytes = sum(len(element.proto.body.encode("utf-8")) for element in at.get("html"))
    captions = " ".join(c.value for c in at.caption)
    if f"{len(event['traits']) - 1:,} inputs no field reads" not in captions:
        raise SystemExit("the page does not show the event's unread inputs: " + captions[:500])
    return took, html_bytes


def time_browser(event: dict) -> float:
    """Headless Chromium: from the Ctrl+Enter that commits the paste to the unread count on the page."""
    from playwright.sync_api import sync_playwright

    from tests.local_servers import CHROMIUM, CHROMIUM_ARGS, playground_server

    wanted = f"{len(event['traits']) - 1:,} inputs no field reads"
    with open(os.devnull, "w") as log, playground_server(log) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(300_000)
            page.goto(url)
            page.get_by_text("Freshsales mapper playground").first.wait_for()
            area = page.locator("textarea").first
            area.fill(json.dumps(event))
            start = time.perf_counter()
            area.press("Control+Enter")
            page.get_by_text(wanted).first.wait_for()
            return time.perf_counter() - start
        finally:
            browser.close()


def main() -> None:
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--browser", action="store_true", help="also time it in headless Chromium")
    args = parser.parse_args()
    event = event_with_unread_keys(args.keys)
    engine_s, listed, counted = time_engine(event)
    print(f"engine, identify event with {args.keys:,} unread keys (trace on, best of 3): {engine_s:.2f} s; "
          f"{listed} listed with a hint, {counted:,} counted")
    page_s, html_bytes = time_page(event)
    print(f"playground, that event pasted (one server-side script run): {page_s:.2f} s (target <= "
          f"{PAGE_TARGET_S:.0f} s) {'OK' if page_s <= PAGE_TARGET_S else 'OVER TARGET'}; table HTML "
          f"{html_bytes / 1e3:,.0f} kB")
    if args.browser:
        browser_s = time_browser(event)
        print(f"browser, Ctrl+Enter to the unread count on the page (headless Chromium): {browser_s:.2f} s "
              f"(target <= {PAGE_TARGET_S:.0f} s) {'OK' if browser_s <= PAGE_TARGET_S else 'OVER TARGET'}")


if __name__ == "__main__":
    main()

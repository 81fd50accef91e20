"""How long does the playground take, server side, for a 10,000-event upload and a single-event rerun?

Measured in this one run with Streamlit's AppTest (the script runs in-process, as the server runs it):

* **10,000-event upload**: one script run after uploading a 10,000-event NDJSON file (from
  ``freshsales_mapper.sample_generator.generate_events``): parse, transform every event, check every
  event's shape, build the table, metrics, chart and one row's detail. Target <= 2 s.
* **single-event rerun**: the seed identify event in the text box, then a rerun after a widget change
  (the "RudderStack processor format" toggle, switched back and forth), the median of several. Target <= 100 ms.

Before timing, the app is run once with the sample batch so that one-time lazy imports (charts,
pandas' Arrow conversion) are paid as they are in a server that is already up. Best of ``--runs`` uploads
(each a fresh file, so nothing is served from the memo).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from freshsales_mapper.sample_generator import generate_events  # noqa: E402

APP = str(ROOT / "app.py")
UPLOAD_TARGET_S = 2.0
RERUN_TARGET_MS = 100.0


def _check(at: AppTest) -> None:
    if at.exception:
        raise SystemExit(f"the app failed: {at.exception[0].value}")


def time_upload(events: int, runs: int) -> tuple[float, int]:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.text_area(key="events_input").set_value((ROOT / "sample_events" / "batch_mixed.ndjson").read_text())
    at.run()  # warm-up: one-time lazy imports, as in a server that is already running
    _check(at)
    best = float("inf")
    shown = 0
    for seed in range(runs):
        data = "\n".join(json.dumps(e) for e in generate_events(events, seed=seed)).encode("utf-8")
        at.file_uploader(key="upload").set_value((f"events-{seed}.ndjson", data, "application/x-ndjson"))
        start = time.perf_counter()
        at.run()
        best = min(best, time.perf_counter() - start)
        _check(at)
        shown = int(next(m.value for m in at.metric if m.label == "Events"))
    return best, shown


def time_rerun(reruns: int) -> float:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_area(key="events_input").set_value((ROOT / "sample_events" / "identify.json").read_text())
    at.run()
    _check(at)
    times = []
    for n in range(reruns):
        at.toggle(key="processor_format").set_value(n % 2 == 0)
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        _check(at)
    return statistics.median(times) * 1000


def main() -> None:
    # AppTest's own thread warns about a missing ScriptRunContext; it says nothing about the app.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="uploads to time (best of)")
    parser.add_argument("--reruns", type=int, default=20, help="single-event reruns to time (median)")
    args = parser.parse_args()
    upload_s, shown = time_upload(args.events, args.runs)
    rerun_ms = time_rerun(args.reruns)
    print(f"playground, {args.events:,}-event upload (server-side render, best of {args.runs}): {upload_s:.2f} s "
          f"(target <= {UPLOAD_TARGET_S:.0f} s) {'OK' if upload_s <= UPLOAD_TARGET_S else 'OVER TARGET'}; "
          f"the page shows {shown:,} events")
    print(f"playground, single-event rerun (median of {args.reruns}): {rerun_ms:.0f} ms "
          f"(target <= {RERUN_TARGET_MS:.0f} ms) {'OK' if rerun_ms <= RERUN_TARGET_MS else 'OVER TARGET'}")


if __name__ == "__main__":
    main()

"""How fast is ``send`` next to a bare ``requests.Session`` loop posting the same bodies?

Starts the local emulator in its own process (no rate limit, no latency), then times, in this one run,
best of several rounds each, alternating:

* baseline: one ``requests.Session`` posting each event's final request body to the same endpoint;
* send: ``BatchSender`` (transform with live lookups, client with its rate limiter off, outcomes);
* send with a journal (one fsync'd line per event), for information.

N identify events (one request each), so both sides make the same HTTP calls. Prints events per second
and the ratio send / baseline (target >= 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from freshsales_mapper.engine.resolvers import OfflineResolver  # noqa: E402
from freshsales_mapper.engine.transform import transform_event  # noqa: E402
from freshsales_mapper.inputs import EventInput  # noqa: E402
from freshsales_mapper.sample_generator import generate_labelled_events  # noqa: E402
from freshsales_mapper.sending.sender import BatchSender, client_factory  # noqa: E402

KEY = "bench-key-0123456789"
DOMAIN = "acme.myfreshworks.com"


def start_emulator() -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "FRESHSALES_API_KEY": KEY, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "freshsales_mapper", "emulator", "--port", "0"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # "Freshsales emulator on http://127.0.0.1:PORT (API key ...)"
    if " on http://" not in line:
        process.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    return process, line.split(" on ", 1)[1].split(" ", 1)[0]


def identify_items(count: int) -> list[EventInput]:
    destination = {"Config": {"apiKey": KEY, "domain": DOMAIN}}
    events = [e for kind, e in generate_labelled_events(count * 3, seed=1) if kind == "identify"]
    events += [{"type": "identify", "traits": {"email": f"bench{i}@example.com", "firstName": "Bench"}}
               for i in range(max(0, count - len(events)))]
    return [EventInput(e, destination, None, f"event {i}", i) for i, e in enumerate(events[:count])]


def baseline(base_url: str, requests_to_send: list[tuple[str, str, bytes]]) -> float:
    started = time.perf_counter()
    with requests.Session() as session:
        headers = {"Authorization": f"Token token={KEY}", "Content-Type": "application/json"}
        for method, path, body in requests_to_send:
            response = session.request(method, base_url + path, data=body, headers=headers, timeout=10)
            if response.status_code != 200:
                raise SystemExit(f"baseline: HTTP {response.status_code} for {path}")
    return time.perf_counter() - started


def send(base_url: str, items: list[EventInput], journal: str | None) -> float:
    factory = client_factory(base_url=base_url, rate_limit_per_minute=None, rate_limit_per_hour=None)
    started = time.perf_counter()
    outcomes = BatchSender(factory, journal_path=journal).send(items)
    elapsed = time.perf_counter() - started
    if any(o.status != "delivered" for o in outcomes):
        bad = next(o for o in outcomes if o.status != "delivered")
        raise SystemExit(f"send: {bad.location} {bad.status}: {bad.reason}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = identify_items(args.events)
    planned = []
    for item in items:
        result = transform_event(item.message, item.destination, OfflineResolver(), trace=False)
        planned += [(f.request.method, f.request.path, json.dumps(f.request.body).encode())
                    for f in result.final_requests]
    assert len(planned) == len(items), "identify events make one request each"

    process, base_url = start_emulator()
    try:
        send(base_url, items, None)  # warm up: the contacts exist from now on, every round updates them
        timings: dict[str, list[float]] = {"baseline": [], "send": [], "journal": []}
        with tempfile.TemporaryDirectory() as tmp:
            for round_number in range(args.rounds):
                timings["baseline"].append(baseline(base_url, planned))
                timings["send"].append(send(base_url, items, None))
                journal = os.path.join(tmp, f"journal-{round_number}.jsonl")  # a fresh one: everything is sent
                timings["journal"].append(send(base_url, items, journal))
    finally:
        process.terminate()
        process.wait(timeout=10)

    best = {name: min(values) for name, values in timings.items()}
    rate = {name: args.events / seconds for name, seconds in best.items()}
    print(f"events: {args.events} identify events, 1 request each; emulator in its own process on {base_url}, "
          f"rate limit off, no latency; best of {args.rounds} rounds")
    print(f"bare requests.Session loop:   {best['baseline']:.3f} s  ({rate['baseline']:,.0f} events/s)")
    print(f"send (BatchSender):           {best['send']:.3f} s  ({rate['send']:,.0f} events/s)")
    print(f"send with an fsync'd journal: {best['journal']:.3f} s  ({rate['journal']:,.0f} events/s)")
    ratio = rate["send"] / rate["baseline"]
    print(f"throughput ratio send / baseline: {ratio:.2f}  (target >= 0.5)"
          f"; with journal: {rate['journal'] / rate['baseline']:.2f}")
    if ratio < 0.5:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""Every file in sample_events/ sent to the emulator (the Sandbox's Freshsales) over real HTTP.

Each event is delivered, except those RudderStack itself rejects (the deliberate mistakes and the
event types it does not handle): those are skipped with RudderStack's explained reason. Nothing fails
because the demo account lacks an id a sample uses (owners, territory, lifecycle stages, activity types).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from freshsales_mapper.emulator import seed
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.inputs import EventInput, parse_csv_text, parse_events_text
from freshsales_mapper.sending import FreshsalesClient
from freshsales_mapper.sending.sender import BatchSender

SAMPLES = Path(__file__).resolve().parents[1] / "sample_events"
SAMPLE_KEY = "demo-key"  # what the sample processor bodies carry
FILES = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".json", ".ndjson", ".csv"))


def items_of(name: str) -> list[EventInput]:
    text = (SAMPLES / name).read_text(encoding="utf-8")
    parsed = parse_csv_text(text, name) if name.endswith(".csv") else parse_events_text(text, name)
    assert not parsed.errors, parsed.errors
    destination = {"Config": {"apiKey": SAMPLE_KEY, "domain": "acme.myfreshworks.com"}}
    return [EventInput(i.message, i.destination or destination, i.metadata, i.location, n)
            for n, i in enumerate(parsed.items)]


@pytest.mark.parametrize("name", FILES)
def test_every_sample_sends_cleanly_to_the_sandbox(emulator, name):
    server = emulator(api_key=SAMPLE_KEY)
    items = items_of(name)
    # The Sandbox has no rate limit: the client's limiter is off, as the playground's Sandbox client has it.
    client = FreshsalesClient("acme.myfreshworks.com", SAMPLE_KEY, base_url=server.base_url,
                              rate_limit_per_minute=None, rate_limit_per_hour=None, backoff_factor=0)
    try:
        outcomes = BatchSender(client).send(items)
    finally:
        client.close()
    assert len(outcomes) == len(items)
    for item, outcome in zip(items, outcomes, strict=True):
        error = transform_event(item.message, item.destination, OfflineResolver(), trace=False).error
        where = f"{name} {item.location}: {outcome.reason}"
        if error is None:
            assert outcome.status == "delivered", where
        else:  # a deliberate mistake: RudderStack would not send it, and the reason says why
            assert outcome.status == "skipped" and error.message in outcome.reason, where
    if name.startswith("mistake_") and name != "mistake_no_email.json":
        assert all(o.status == "delivered" for o in outcomes)  # sent, with what RudderStack does to it


def test_the_numeric_string_ids_sample_lands_with_its_converted_ids(emulator):
    server = emulator(api_key=SAMPLE_KEY)
    client = FreshsalesClient("acme.myfreshworks.com", SAMPLE_KEY, base_url=server.base_url,
                              rate_limit_per_minute=None, rate_limit_per_hour=None, backoff_factor=0)
    try:
        [outcome] = BatchSender(client).send(items_of("mistake_numeric_string_ids.json"))
    finally:
        client.close()
    assert outcome.status == "delivered", outcome.reason
    [contact] = server.contacts()
    assert contact["lifecycle_stage_id"] == 71010794467 and contact["territory_id"] == 70000090119
    assert contact["owner_id"] is None  # "12abc" is not a number: RudderStack drops it
    assert 71010794467 in {stage["id"] for stage in seed.LIFECYCLE_STAGES}

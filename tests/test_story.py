"""The batch story: counts by Freshsales object, and the events that send nothing by reason, in words."""

from __future__ import annotations

import json
from pathlib import Path

from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from playground.story import batch_story, reason_words

DESTINATION = {"Config": {"apiKey": "k", "domain": "acme.myfreshworks.com",
                          "rudderEventsToFreshsalesEvents": [{"from": "Demo", "to": "sales_activity"}]}}


def results(*messages):
    return [transform_event(json.loads(json.dumps(m)), DESTINATION, OfflineResolver()) for m in messages]


CONTACT = {"type": "identify", "traits": {"email": "a@example.com"}}
NO_EMAIL = {"type": "identify", "traits": {"firstName": "A"}}
ACCOUNT = {"type": "group", "traits": {"name": "Acme"}}
ACTIVITY = json.loads((Path(__file__).resolve().parents[1] / "sample_events" /
                       "track_sales_activity_by_type_id.json").read_text(encoding="utf-8"))  # event "sales_activity"
PAGE = {"type": "page"}


def test_offline_story_counts_records_and_reasons():
    story = batch_story(results(CONTACT, CONTACT, ACCOUNT, ACTIVITY, NO_EMAIL, NO_EMAIL, PAGE), unreadable=1)
    assert story.sentence == ("2 contacts would be upserted · 1 account · 1 activity · 3 skipped, RudderStack rejects them: 2 without an "
                              "email, 1 page events (not supported) · 1 unreadable")
    chart = {(r.object, r.outcome): r.records for r in story.chart.itertuples()}
    assert chart == {("contact", "would be sent"): 2, ("sales account", "would be sent"): 1,
                     ("sales activity", "would be sent"): 1, ("rejected event", "skipped"): 3}


def test_story_after_a_send_counts_what_was_delivered():
    story = batch_story(results(CONTACT, CONTACT, ACTIVITY, NO_EMAIL),
                        outcomes=("delivered", "failed", "unknown", "skipped"))
    assert story.sentence == ("1 contact upserted · 1 event failed · 1 event unknown · "
                              "1 skipped, RudderStack rejects it: 1 without an email")
    chart = {(r.object, r.outcome): r.records for r in story.chart.itertuples()}
    assert chart[("contact", "failed")] == 1 and chart[("sales activity", "unknown")] == 1
    assert chart[("rejected event", "skipped")] == 1


def test_reasons_in_words():
    assert reason_words("Missing required value from [\"traits.email\"]") == "without an email"
    assert reason_words('Missing required value from "properties.ownerId"') == "without properties.ownerId"
    assert reason_words("message type alias not supported") == "alias events (not supported)"
    assert reason_words("x" * 100).startswith("failing: ") and len(reason_words("x" * 100)) < 72

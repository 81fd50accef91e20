"""Answers you can trust (issue 14): unread inputs from the tables, the whole picture of a rejected event,
losses as a typed outcome, in the engine, the CLI and the API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import freshsales_mapper as fm
from freshsales_mapper.engine.losses import find_losses
from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import processor_items
from freshsales_mapper.engine.vocabulary import FieldStatus, LossKind, MappingOutcome

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"Config": {"apiKey": "k-1234", "domain": "acme.myfreshworks.com"}}
ROSA = {"type": "identify", "userId": "u1", "traits": {"phone": "+1", "first_name": "Rosa",
                                                     "address": {"street": "1 Main St", "city": "Austin"}}}
BARE_ACTIVITY = {"type": "track", "event": "sales_activity", "userId": "u1",
                 "properties": {"title": "Demo", "ownerId": "7"}, "context": {"traits": {"email": "a@b.co"}}}


def run(message: dict, destination: dict = SETTINGS, trace: bool = True) -> TransformResult:
    return transform_event(message, destination, OfflineResolver(), trace=trace)


def sample(name: str) -> dict:
    return json.loads((ROOT / "sample_events" / name).read_text())


# --- 1. unread inputs come from the tables, not from where the run stopped ----------------------------

def test_a_rejected_identify_calls_no_key_unread_that_rudderstack_reads():
    result = run(ROSA)
    assert result.error is not None
    unread = {u.path: u.hint for u in result.unmapped}
    assert "traits.phone" not in unread and "traits.address.street" not in unread
    assert "traits.address.city" not in unread
    assert unread == {}  # first_name too: the generic firstName list reads traits.first_name
    assert {t.dest: t.sent for t in result.fields}["first_name"] == "Rosa"


def test_a_mapped_two_event_track_reads_owner_id_whatever_stopped_first():
    item = sample("track_mapped_to_two_events.json")
    result = run(item["message"], item["destination"])
    assert "properties.ownerId" not in {u.path for u in result.unmapped}
    assert [u.path for u in result.unmapped] == ["properties.plan"]


def test_an_unsupported_event_name_keeps_every_track_key_read():
    result = run({"type": "track", "event": "Signed Up", "properties": {"lifecycleStageId": 3, "startDate": "x",
                                                                       "shoeSize": 9}})
    assert [u.path for u in result.unmapped] == ["properties.shoeSize"]


# --- 2. the whole picture of a rejected event ------------------------------------------------------

def test_fields_past_the_error_are_resolved_and_marked_not_reached():
    result = run(BARE_ACTIVITY)
    assert result.error.message == 'Missing required value from "properties.startDate"'
    fields = {t.dest: t for t in result.fields}
    assert fields["owner_id"].sent == "7"
    assert fields["owner_id"].not_reached == "not reached: RudderStack stopped at properties.startDate"
    assert fields["start_date"].not_reached == ""  # RudderStack did reach it: that is where it stopped
    assert fields["user email (contact lookup)"].status is FieldStatus.USED


def test_every_missing_requirement_is_named_at_once():
    result = run(BARE_ACTIVITY)
    assert result.error.also_missing == [
        "end_date ← properties.endDate",
        "targetable_type ← context.externalId.type",
        "sales_activity_name or sales_activity_type_id ← properties.salesActivityName or "
        "properties.salesActivityTypeId",
    ]
    lifecycle = run({"type": "track", "event": "lifecycle_stage", "properties": {}})
    assert lifecycle.error.message == "email is required for updating life Cycle Stages. Aborting!"
    assert lifecycle.error.also_missing == ["lifecycle_stage_id or lifecycle_stage_name ← properties.lifecycleStageId "
                                            "or properties.lifecycleStageName"]


def test_rudderstacks_error_and_processor_output_are_unchanged_by_the_whole_picture():
    for message in (ROSA, BARE_ACTIVITY, {"type": "track", "event": "lifecycle_stage"}):
        traced, bare = run(message), run(message, trace=False)
        assert processor_items(traced) == processor_items(bare)
        assert bare.fields == [] and bare.error.also_missing == []


def test_explanations_list_every_requirement_of_a_sales_activity():
    text = run(BARE_ACTIVITY).error.explanation
    for needed in ("properties.title", "properties.startDate", "properties.endDate", "properties.ownerId",
                   "context.externalId.type", "salesActivityTypeId", "salesActivityName", "context.externalId.id",
                   "email"):
        assert needed in text


# --- 3. losses as a typed outcome ------------------------------------------------------------------

@pytest.mark.parametrize(("message", "kind", "text"), [
    ({"type": "identify", "traits": {"email": "a@b.co", "ownerId": "12abc"}}, LossKind.DROPPED, "owner_id dropped"),
    ({"type": "identify", "traits": {"email": "a@b.co", "address": "1 Main St"}}, LossKind.ADDRESS_BLANKED,
     'address blanked to ""'),
    ({"type": "identify", "traits": {"email": "a@b.co", "address": {"street": "1 Main", "zip": "7"}}},
     LossKind.ADDRESS_PARTS, "address parts dropped"),
    ({"type": "group", "traits": {"name": "Acme"}}, LossKind.CONTACT_NOT_LINKED, "contact not linked"),
    ({"type": "identify", "traits": {"email": "a@b.co", "territoryId": True}}, None, None),
    ({"type": "identify", "traits": {"email": "a@b.co", "firstName": {"given": "Rosa"}}}, LossKind.WRONG_TYPE,
     "first_name sent as an object"),
])
def test_each_loss_has_its_own_reason(message, kind, text):
    result = run(message)
    assert result.ok
    if kind is None:
        assert result.outcome is MappingOutcome.MAPPED and result.losses == []
        return
    assert result.outcome is MappingOutcome.LOSSY
    assert [(loss.kind, loss.text) for loss in result.losses] == [(kind, text)]
    assert result.losses[0].detail


def test_a_clean_event_is_mapped_and_a_rejected_one_skipped():
    assert run(sample("identify.json")).outcome is MappingOutcome.MAPPED
    assert run(ROSA).outcome is MappingOutcome.SKIPPED and run(ROSA).losses == []


def test_losses_are_the_same_with_and_without_a_trace_over_the_mixed_batch():
    counts: dict[str, int] = {}
    for line in (ROOT / "sample_events" / "batch_mixed.ndjson").read_text().splitlines():
        message = json.loads(line)
        bare = transform_event(message, SETTINGS, OfflineResolver(), trace=False, losses=True)
        assert bare.losses == run(message).losses
        assert bare.losses == find_losses(message, bare)
        for loss in bare.losses:
            counts[loss.kind] = counts.get(loss.kind, 0) + 1
    assert counts[LossKind.ADDRESS_BLANKED] == 51
    assert counts[LossKind.DROPPED] >= 1 and counts[LossKind.CONTACT_NOT_LINKED] >= 1


def test_bulk_transforms_without_a_trace_compute_no_losses():
    assert run({"type": "group", "traits": {"name": "Acme"}}, trace=False).losses == []


def test_the_public_api_result_carries_the_outcome_losses_and_also_missing():
    lossy = fm.transform({"type": "group", "traits": {"name": "Acme"}}, fm.destination("acme.myfreshworks.com", "k"))
    assert lossy.outcome == "lossy" and lossy.losses[0].kind == "contact-not-linked"
    failed = fm.transform(BARE_ACTIVITY, fm.destination("acme.myfreshworks.com", "k"))
    assert "end_date ← properties.endDate" in failed.error.also_missing


# --- CLI: explain (text and JSON) and send -----------------------------------------------------------

def cli(*args: str, stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "freshsales_mapper", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def test_explain_text_names_losses_first_and_every_missing_field():
    events = "\n".join(json.dumps(m) for m in (BARE_ACTIVITY, {"type": "identify",
                                                               "traits": {"email": "a@b.co", "address": "1 Main"}}))
    done = cli("transform", "--view", "explain", "--table", "--domain", "acme.myfreshworks.com", "--api-key", "k",
               "-", stdin=events)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "also missing: end_date ← properties.endDate" in " ".join(out.split())
    assert "not reached: RudderStack stopped at properties.startDate" in " ".join(out.split())
    second = out[out.index("line 2"):]
    assert second.index('LOSSY: mapped, but address blanked to ""') < second.index("field ")
    lines = second[second.index("field "):].splitlines()[2:]
    rows = [line.split()[0] for line in lines if line and not line.startswith("   ")][:3]  # no wrapped "why" lines
    assert rows == ["contact:", "address", "emails"]  # the lost field sorts first


def test_explain_json_carries_outcome_losses_and_also_missing():
    events = "\n".join(json.dumps(m) for m in (BARE_ACTIVITY, {"type": "group", "traits": {"name": "Acme"}}))
    done = cli("transform", "--view", "explain", "--json", "--domain", "acme.myfreshworks.com", "--api-key", "k",
               "-", stdin=events)
    rejected, lossy = json.loads(done.stdout)
    assert rejected["outcome"] == "skipped"
    assert "targetable_type ← context.externalId.type" in rejected["error"]["also_missing"]
    assert lossy["outcome"] == "lossy"
    assert lossy["losses"][0]["kind"] == "contact-not-linked"


def test_send_outcome_lines_carry_the_losses():
    event = json.dumps({"type": "identify", "traits": {"email": "a@b.co", "address": "1 Main St"}})
    done = cli("send", "--dry-run", "--domain", "acme.myfreshworks.com", "--api-key", "k", "-", stdin=event)
    line = json.loads(done.stdout.splitlines()[0])
    assert [loss["kind"] for loss in line["losses"]] == ["address-blanked"]


# --- issue 19 item 8: the first 200 unread inputs are listed, the rest counted -----------------------------

def test_unread_inputs_list_the_first_200_and_count_the_rest():
    traits = {"email": "a@b.co"} | {f"custom_{n}": n for n in range(500)}
    result = run({"type": "identify", "traits": traits})
    assert result.unmapped_count == 500 and len(result.unmapped) == 200
    assert [u.path for u in result.unmapped[:2]] == ["traits.custom_0", "traits.custom_1"]
    assert all(u.hint for u in result.unmapped)


def test_the_send_summary_names_losses_of_delivered_events():
    from freshsales_mapper.sending.outcomes import EventOutcome, SendOutcome
    from freshsales_mapper.sending.summary import plain_words

    lossy = run({"type": "identify", "traits": {"email": "a@b.co", "address": "1 Main St"}}).losses
    outcomes = [EventOutcome(n, f"k{n}", SendOutcome.DELIVERED, 200, "", False, 1, {}, losses=lossy)
                for n in range(2)] + [EventOutcome(2, "k2", SendOutcome.DELIVERED, 200, "", False, 2, {})]
    assert plain_words(outcomes) == ['2 events delivered with losses: address blanked to "" (2)']

"""Readback over real loopback HTTP: what Freshsales (the emulator) stored, field by field, after a send."""

from __future__ import annotations

import json

import freshsales_mapper as fm
from freshsales_mapper.sending.readback import FieldReadback
from tests.test_send_e2e import outcome_lines, run_send, write_events
from tests.test_sender import DOMAIN, as_items, make_factory, make_sender

KEY = "readback-test-key-123456"


def by_field(record: dict) -> dict[str, dict]:
    return {entry["field"]: entry for entry in record["fields"]}


def test_read_back_says_what_was_stored_as_sent_normalised_or_ignored(emulator):
    server = emulator()
    message = {"type": "identify", "traits": {"email": "ada@example.com", "firstName": "Ada", "mobileNumber": 5550100,
                                              "ownerId": "70054866612"}}
    outcome, = make_sender(server).send(as_items(message))
    assert outcome.status == "delivered"
    client = make_factory(server.base_url)("acme", "emulator-test-key-7f3a9c")
    try:
        before = len(server.request_log)
        records = fm.read_back(client, outcome)
        assert len(server.request_log) == before + 1  # one GET, through the client (its rate budget counts it)
    finally:
        client.close()
    record, = [r.to_json() for r in records]
    assert (record["kind"], record["id"]) == ("contact", outcome.record_id) and record["error"] is None
    fields = by_field(record)
    assert fields["first_name"] == {"field": "first_name", "sent": "Ada", "stored": "Ada", "same": True,
                                    "reason": FieldReadback.SAME}
    assert fields["emails"]["reason"] == "normalised" and fields["emails"]["stored"] == "ada@example.com"
    assert fields["mobile_number"]["reason"] == "normalised" and fields["mobile_number"]["stored"] == "5550100"
    assert any(f["reason"] == "not sent" for f in record["fields"])  # what Freshsales holds besides
    assert record["record"]["email"] == "ada@example.com"


def test_a_key_freshsales_does_not_keep_is_ignored():
    from freshsales_mapper.sending.readback import compare

    fields = {f.field: f for f in compare({"first_name": "Ada", "shoe_size": 44}, {"first_name": "Ada"})}
    assert (fields["shoe_size"].reason, fields["shoe_size"].same) == (FieldReadback.IGNORED, False)
    assert fields["first_name"].reason == FieldReadback.SAME


def test_send_readback_adds_the_stored_records_to_each_delivered_outcome_line(emulator, tmp_path):
    server = emulator(api_key=KEY)
    events = write_events(tmp_path / "e.ndjson", {"type": "identify", "traits": {"email": "b@example.com"}},
                          {"type": "group", "traits": {"name": "Umbrella", "website": "umbrella.example"},
                           "context": {"traits": {"email": "b@example.com"}}}, {"type": "page"})
    done = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--readback", "--json", events, key=KEY)
    assert done.returncode == 0, done.stderr
    identify, group, page = outcome_lines(done.stdout)
    assert [r["kind"] for r in identify["readback"]] == ["contact"]
    assert sorted(r["kind"] for r in group["readback"]) == ["contact", "sales_account"]
    account = next(r for r in group["readback"] if r["kind"] == "sales_account")
    assert by_field(account)["website"]["same"] is True and account["record"]["name"] == "Umbrella"
    assert page["readback"] is None  # skipped: nothing to read back
    assert KEY not in done.stdout + done.stderr
    assert json.loads(done.stdout.splitlines()[0])["readback"][0]["id"] == identify["record_id"]

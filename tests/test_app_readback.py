"""The page reads back what Freshsales stored after a send (issue 15 item 2): field by field, sent vs stored,
through the send's own client — here the Sandbox emulator over real loopback HTTP."""

from __future__ import annotations

import json

import pytest
from test_app_helpers import app_session, joined, metrics, paste

app = pytest.fixture(app_session)
SANDBOX_KEY = "sandbox-test-key-5b2e"
EVENT = {"type": "identify", "traits": {"email": "ada@example.com", "firstName": "Ada", "mobileNumber": 5550100}}


def send_in_sandbox(app, server, text: str) -> None:
    app.session_state["_sandbox_server"] = server
    app.session_state["_sandbox_key"] = SANDBOX_KEY
    app.sidebar.radio(key="mode").set_value("Sandbox").run()
    paste(app, text)
    app.button(key="send_button").click().run()
    assert not app.exception, app.exception


def readback_tables(app) -> list:
    return [d.value for d in app.dataframe if list(d.value.columns) == ["field", "sent", "stored", "result"]]


def test_after_a_sandbox_send_the_stored_record_is_read_back_field_by_field(app, emulator):
    server = emulator(api_key=SANDBOX_KEY)
    send_in_sandbox(app, server, json.dumps(EVENT))
    reads = [e for e in server.request_log if e.method == "GET" and "/contacts/" in e.path]
    assert len(reads) == 1  # one GET for the one record the event touched
    label = next(e.label for e in app.expander if e.label.startswith("What Freshsales stored, field by field"))
    assert "1 record read back" in label and "normalised" in label
    table, = readback_tables(app)
    rows = {row["field"]: row for row in table.to_dict("records")}
    assert (rows["first_name"]["sent"], rows["first_name"]["stored"], rows["first_name"]["result"]) == (
        '"Ada"', '"Ada"', "same")
    assert (rows["mobile_number"]["sent"], rows["mobile_number"]["stored"]) == ("5550100", '"5550100"')
    assert rows["mobile_number"]["result"].startswith("normalised")
    assert any(r["result"].startswith("kept: not sent") for r in rows.values())
    assert int(metrics(app)["HTTP requests"]) == len(server.request_log) == 2  # the upsert and its read back
    assert "1 event sent: 1 HTTP request, every one answered; then 1 record read back, one GET each" in joined(
        app.caption)
    stored_id = str(server.contacts()[0]["id"])
    assert stored_id in " ".join(str(m.value) for m in app.markdown)  # the card heading names the stored record


def test_events_that_were_not_delivered_are_not_read_back(app, emulator):
    server = emulator(api_key=SANDBOX_KEY)
    send_in_sandbox(app, server, json.dumps({"type": "page", "name": "Pricing"}))
    assert not [e for e in server.request_log if e.method == "GET"]
    assert not readback_tables(app)

"""Sending from the page: Sandbox sends through the emulator over real loopback HTTP, never twice, resumes
after failures; Live asks for a key, a valid domain and an explicit confirmation first."""

from __future__ import annotations

import json
import threading

import pytest
from test_app_helpers import app_session, as_shown, joined, metrics, paste, sample, set_key

from freshsales_mapper.emulator.server import EmulatorServer
from freshsales_mapper.inputs import parse_events_text
from playground.send_job import SendJob

app = pytest.fixture(app_session)
SANDBOX_KEY = "sandbox-test-key-31c9"


def sandbox_mode(app, server: EmulatorServer | None = None) -> EmulatorServer:
    if server is not None:  # the test's own emulator stands in for the one the app would start
        app.session_state["_sandbox_server"] = server
        app.session_state["_sandbox_key"] = SANDBOX_KEY
    app.sidebar.radio(key="mode").set_value("Sandbox")
    app.run()
    assert not app.exception, app.exception
    return app.session_state["_sandbox_server"]


def click_send(app) -> None:
    app.button(key="send_button").click()
    app.run()
    assert not app.exception, app.exception


def identify_lines(count: int) -> str:
    return "\n".join(json.dumps({"type": "identify", "traits": {"email": f"person{n}@example.com",
                                                                "firstName": f"P{n}"}}) for n in range(count))


def test_sandbox_send_delivers_and_the_records_arrive(app):
    server = sandbox_mode(app)
    paste(app, sample("batch_processor_request.json"))
    items = parse_events_text(sample("batch_processor_request.json")).items
    assert app.button(key="send_button").label == f"Send {len(items)} event(s)"
    click_send(app)
    found = metrics(app)
    assert int(found["Delivered"]) + int(found["Skipped"]) == len(items) and int(found["Delivered"]) > 0
    assert found["Failed"] == "0" and int(found["HTTP requests"]) == len(server.request_log)
    outcomes = next(d.value for d in app.dataframe if "record id" in d.value.columns)
    delivered = outcomes[outcomes["status"] == "delivered"]
    assert delivered["HTTP"].eq("200").all() and delivered["record id"].str.isdigit().all()
    assert {c["id"] for c in server.contacts()} | {a["id"] for a in server.accounts()} | {
        a["id"] for a in server.activities()} >= set(delivered["record id"].astype(int))
    assert not outcomes.isin(["None", "nan", "<NA>"]).any().any() and outcomes["reason"].str.len().gt(0).all()
    app.pills(key="send_outcome_filter").set_value(["skipped"])
    app.run()
    skipped = next(d.value for d in app.dataframe if "record id" in d.value.columns)
    assert len(skipped) == int(found["Skipped"]) and set(skipped["status"]) == {"skipped (RudderStack rejects it)"}
    assert skipped["reason"].str.startswith("RudderStack rejects the event").all()
    # The event in detail shows its run: each request's answer (tests/test_app_run_view.py has the rest)
    assert "What was sent to Freshsales" in joined(app.markdown)
    assert any("HTTP 200]" in m.value for m in app.markdown)
    assert app.get("progress")[0].proto.value == 100
    assert f"Records in the sandbox: {len(server.contacts())} contacts" in "\n".join(e.label for e in app.expander)


def test_a_second_click_does_not_send_again(app):
    server = sandbox_mode(app)
    paste(app, sample("track_sales_activity_by_type_id.json"))
    click_send(app)
    assert metrics(app)["Delivered"] == "1" and len(server.activities()) == 1
    calls = len(server.request_log)
    click_send(app)
    assert "Already sent" in joined(app.info)
    assert len(server.request_log) == calls and len(server.activities()) == 1
    # Only the explicit "Send again", once confirmed, sends it once more (a new sales activity).
    app.button(key="send_again").click()
    app.run()
    assert "Send every event of this batch once more?" in joined(app.warning) and len(server.activities()) == 1
    app.button(key="send_again_no").click()
    app.run()
    assert len(server.activities()) == 1 and app.button(key="send_again")  # cancelled: asked again next time
    app.button(key="send_again").click()
    app.run()
    app.button(key="send_again_yes").click()
    app.run()
    assert not app.exception, app.exception
    assert len(server.activities()) == 2 and "Last run (run 1) to the sandbox" in joined(app.caption)


def test_a_failed_send_resumes_without_resending_what_was_delivered(app, emulator):
    server = emulator(api_key=SANDBOX_KEY, fail_rate=0.7, seed=3)
    sandbox_mode(app, server)
    paste(app, identify_lines(12))
    click_send(app)
    first = metrics(app)
    failed, delivered = int(first["Failed"]), int(first["Delivered"])
    assert failed > 0 and delivered > 0 and failed + delivered == 12
    label = f"Resume: {failed} failed event{'s' if failed > 1 else ''} a retry can fix"
    assert app.button(key="send_button").label == label
    assert f"fix the cause and click **{label}**" in joined(app.warning)
    server.fail_rate = 0.0  # the outage is over
    posts_before = len(server.request_log)
    click_send(app)
    assert metrics(app)["Delivered"] == "12" and metrics(app)["Failed"] == "0"
    assert int(metrics(app)["HTTP requests"]) == 2 * failed  # the last run's only: an upsert and its read back
    assert "totals across 2 runs. Last run (run 2)" in joined(app.caption)
    outcomes = next(d.value for d in app.dataframe if "record id" in d.value.columns)
    assert (outcomes["reason"] == "delivered in an earlier run; not resent").sum() == delivered
    assert len([e for e in server.request_log[posts_before:] if e.method == "POST"]) == failed  # one upsert each
    assert len(server.contacts()) == 12


def test_a_send_never_runs_twice_at_once():
    release = threading.Event()
    started = []

    class SlowClient:
        def __init__(self):
            started.append(self)
            release.wait(30)
            raise RuntimeError("stopped by the test")

        def close(self):
            pass

    job = SendJob("batch/0", "nowhere", "/nonexistent/journal.jsonl", total=1)
    job.start([], SlowClient)
    job.start([], SlowClient)  # a double click
    assert job.running and job.runs == 1
    release.set()
    assert job.wait(30) and len(started) == 1 and "stopped by the test" in job.error


def test_while_a_send_runs_the_button_is_disabled(app):
    sandbox_mode(app)
    paste(app, sample("identify.json"))
    release = threading.Event()
    busy = SendJob("another/0", "the sandbox", "/nonexistent", total=1)
    busy._thread = threading.Thread(target=release.wait, args=(30,), daemon=True)
    busy._thread.start()
    app.session_state["_send_jobs"] = {"another/0": busy}
    app.run()
    assert "Another send is running" in joined(app.info)
    assert app.button(key="send_button").disabled
    release.set()
    assert busy.wait(30)
    app.button(key="send_check_again").click()
    app.run()
    assert not app.button(key="send_button").disabled  # once it ended, sending is possible again


def test_live_needs_a_key_a_freshsales_domain_and_a_confirmation(app):
    paste(app, sample("identify.json"))
    app.sidebar.radio(key="mode").set_value("Live")
    app.run()
    assert "Enter your Freshsales API key" in joined(app.error)
    assert app.button(key="send_button").disabled
    set_key(app, "live-key-aaaa-bbbb-cccc")
    assert "writes real records to **acme.myfreshworks.com**" in joined(app.warning)
    confirm = app.checkbox(key="live_confirm")
    assert as_shown(confirm.label) == "I understand this writes to acme.myfreshworks.com" and not confirm.value
    assert app.button(key="send_button").disabled
    confirm.check()
    app.run()
    assert not app.button(key="send_button").disabled
    app.sidebar.text_input(key="domain").set_value("acme.example.com")
    app.run()
    assert "Cannot send" in joined(app.error) and app.button(key="send_button").disabled


def test_live_refuses_templates_in_the_key_and_points_to_the_send_command(app):
    """One client sends a page's batch; a {{ ... }} key differs per event, so sending it literally would 401."""
    paste(app, sample("identify.json"))
    app.sidebar.radio(key="mode").set_value("Live")
    app.run()
    set_key(app, '{{ message.userId || "fallback-key" }}')
    assert "freshsales-mapper send" in joined(app.error)
    assert app.button(key="send_button").disabled


def test_unknown_activities_are_resent_only_with_the_resend_unknown_button(app, emulator):
    from test_sender import DOMAIN, sales_activity

    from freshsales_mapper.engine.plan import HttpRequest
    from freshsales_mapper.sending import FreshsalesClient

    server = emulator(api_key=SANDBOX_KEY)
    with FreshsalesClient(DOMAIN, SANDBOX_KEY, base_url=server.base_url) as client:
        contact = client.execute(HttpRequest("POST", f"https://{DOMAIN}/crm/sales/api/contacts/upsert", {}, {
            "unique_identifier": {"emails": "unknown@example.com"}, "contact": {}})).body["contact"]["id"]
    sandbox_mode(app, server)
    paste(app, json.dumps(sales_activity(contact_id=contact)))
    server.fail_rate = 1.0  # a 500 to the create: Freshsales may have made the activity
    click_send(app)
    assert metrics(app)["Unknown"] == "1" and server.activities() == []
    assert "1 activity unknown: Freshsales answered with a server error (HTTP 500)" in joined(app.warning)
    server.fail_rate = 0.0
    posts = len(server.request_log)
    click_send(app)  # the ordinary button never resends an unknown outcome
    assert len(server.request_log) == posts
    app.button(key="send_resend_unknown").click()
    app.run()
    assert not app.exception, app.exception
    assert metrics(app)["Delivered"] == "1" and len(server.activities()) == 1
    assert not [b for b in app.button if b.key == "send_resend_unknown"]


@pytest.mark.parametrize("change", ["domain", "key", "batch"])
def test_the_live_confirmation_belongs_to_its_domain_key_and_batch(app, change):
    paste(app, sample("identify.json"))
    app.sidebar.radio(key="mode").set_value("Live")
    app.sidebar.text_input(key="domain").set_value("staging-acme.myfreshworks.com")
    app.run()
    set_key(app, "live-key-aaaa-bbbb-cccc")
    app.checkbox(key="live_confirm").check()
    app.run()
    assert app.checkbox(key="live_confirm").value and not app.button(key="send_button").disabled
    if change == "domain":
        app.sidebar.text_input(key="domain").set_value("production-acme.myfreshworks.com")
        app.run()
    elif change == "key":
        set_key(app, "live-key-dddd-eeee-ffff")
    else:
        paste(app, sample("group_with_user_email.json"))
    assert not app.checkbox(key="live_confirm").value
    assert app.button(key="send_button").disabled
    app.run()  # and it stays cleared: a rerun with nothing changed does not restore it
    assert not app.checkbox(key="live_confirm").value


def test_freshsales_refusals_are_failed_for_good_and_offer_no_resume(app, emulator):
    server = sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    events = [{"type": "identify", "traits": {"email": "r@example.com"}},
              {"type": "track", "event": "lifecycle_stage", "properties": {"lifecycleStageId": 1},
               "context": {"traits": {"email": "r@example.com"}}}]  # a stage the account does not have: 400
    paste(app, "\n".join(json.dumps(e) for e in events))
    click_send(app)
    assert metrics(app)["Failed"] == "1" and metrics(app)["Delivered"] == "1"
    assert not app.button(key="send_button").label.startswith("Resume"), app.button(key="send_button").label
    outcomes = next(d.value for d in app.dataframe if "record id" in d.value.columns)
    assert outcomes["reason"].str.contains("HTTP 400").sum() == 1
    assert len([e for e in server.request_log if e.status == 400]) == 1

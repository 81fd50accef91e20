"""One vocabulary everywhere (issue 15 item 5): an event RudderStack rejects is "skipped (RudderStack rejects
it)" in Preview, Sandbox, Live and the CLI; Freshsales' refusals are "failed: refused by Freshsales"; and the
counts of events and HTTP requests never contradict each other."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from local_servers import free_port
from test_app_helpers import ROOT, app_session, joined, paste

import freshsales_mapper as fm
from freshsales_mapper.cli.send_display import outcome_table
from freshsales_mapper.engine.vocabulary import SKIPPED_LABEL, MappingOutcome
from freshsales_mapper.sending import FreshsalesClient, SendOutcome
from freshsales_mapper.sending.summary import summarize, summary_line
from playground.send_panel import run_words

app = pytest.fixture(app_session)
SANDBOX_KEY = "sandbox-test-key-77aa"
EVENTS = [
    {"type": "identify", "traits": {"email": "ana@example.com", "firstName": "Ana"}},
    {"type": "page", "name": "Pricing"},  # RudderStack: message type page not supported
    {"type": "identify", "traits": {"firstName": "No email"}},  # RudderStack: email is required
    {"type": "identify", "traits": {"email": "bo@example.com"}},
]
TEXT = "\n".join(json.dumps(e) for e in EVENTS)
REJECTED = 2


def all_metrics(at, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def cli(*args: str, stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "freshsales_mapper", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_the_engine_calls_a_rejected_event_skipped():
    destination = fm.destination("acme.myfreshworks.com", "k")
    outcomes = [fm.transform(event, destination).outcome for event in EVENTS]
    assert outcomes.count(MappingOutcome.SKIPPED) == REJECTED and MappingOutcome.SKIPPED == "skipped"
    assert MappingOutcome.SKIPPED.label == SendOutcome.SKIPPED.label == SKIPPED_LABEL == "skipped (RudderStack rejects it)"


def test_preview_and_sandbox_count_the_same_events_skipped(app, emulator):
    paste(app, TEXT)
    table = next(d.value for d in app.dataframe if "shape problems" in d.value.columns)
    assert list(table["status"]).count("skipped") == REJECTED and "failed" not in set(table["status"])
    assert all_metrics(app, "Skipped") == [str(REJECTED)] and "Failed" not in [m.label for m in app.metric]
    app.session_state["_sandbox_server"] = emulator(api_key=SANDBOX_KEY)
    app.session_state["_sandbox_key"] = SANDBOX_KEY
    app.sidebar.radio(key="mode").set_value("Sandbox").run()
    app.button(key="send_button").click().run()
    assert not app.exception, app.exception
    assert all_metrics(app, "Skipped") == [str(REJECTED)] * 2  # the send's count, then the preview's
    outcomes = next(d.value for d in app.dataframe if "record id" in d.value.columns)
    assert list(outcomes["status"]).count(SKIPPED_LABEL) == REJECTED
    assert "skipped (RudderStack rejects it): nothing was sent" in joined(app.caption)


def test_the_cli_says_skipped_as_the_page_does(emulator):
    explained = json.loads(cli("transform", "--domain", "acme", "--view", "explain", "--json", stdin=TEXT).stdout)
    assert [entry["outcome"] for entry in explained].count("skipped") == REJECTED
    explain = cli("transform", "--domain", "acme", "--view", "explain", "--table", stdin=json.dumps(EVENTS[1])).stdout
    assert "SKIPPED: RudderStack rejects it (400" in explain
    server = emulator(api_key=SANDBOX_KEY)
    done = cli("send", "--domain", "acme.myfreshworks.com", "--api-key", SANDBOX_KEY, "--base-url", server.base_url,
               "--table", stdin=TEXT)
    assert "SKIPPED: 2 events (RudderStack rejects them)" in done.stdout, done.stdout + done.stderr
    assert "2 skipped (RudderStack rejects them)" in done.stderr


def test_a_refusal_is_failed_refused_by_freshsales(emulator):
    server = emulator(api_key=SANDBOX_KEY)
    client = FreshsalesClient("acme.myfreshworks.com", SANDBOX_KEY, base_url=server.base_url,
                              rate_limit_per_minute=None, rate_limit_per_hour=None)
    stage = {"type": "track", "event": "lifecycle_stage", "properties": {"lifecycleStageId": 1},
             "context": {"traits": {"email": "r@example.com"}}}  # a stage the account does not have: 400
    settings = fm.destination("acme.myfreshworks.com", SANDBOX_KEY)
    with client:
        outcomes = fm.send([{"type": "identify", "traits": {"email": "r@example.com"}}, stage], client, settings)
    refused = outcomes[1]
    assert (refused.status, refused.http_status, refused.refused) == ("failed", 400, True)
    assert refused.label == "failed: refused by Freshsales" and outcomes[0].label == "delivered"
    assert "FAILED: 1 event (refused by Freshsales: sending again will not help" in outcome_table(outcomes)
    assert "1 failed (1 refused by Freshsales)" in summary_line(outcomes)


def test_events_and_requests_are_counted_one_way_when_nothing_answers():
    closed = f"http://127.0.0.1:{free_port()}"  # nobody listens: every request goes out and none is answered
    client = FreshsalesClient("acme.myfreshworks.com", "k-0000", base_url=closed, max_retries=0,
                              rate_limit_per_minute=None, rate_limit_per_hour=None)
    with client:
        outcomes = fm.send(EVENTS, client, fm.destination("acme.myfreshworks.com", "k-0000"))
    assert [o.label for o in outcomes].count("failed: a retry can fix it") == 2
    summary = summarize(outcomes)
    assert (summary["events_tried"], summary["http_answered"]) == (2, 0) and summary["http_requests"] >= 2
    words = run_words(summary)
    assert words == f"2 events sent: {summary['http_requests']} HTTP requests, none answered"
    assert summary_line(summary).endswith(f"; {summary['http_requests']} HTTP request(s)")


def test_a_run_that_had_nothing_left_to_send_says_so():
    assert run_words(summarize([])) == "no event needed sending"

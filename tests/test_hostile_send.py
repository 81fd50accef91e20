"""The sender, the journal and the send CLI against hostile servers and hostile circumstances (a second
run on the same journal, a closed stdout, a full disk, a torn journal line), all on 127.0.0.1 and each
bounded in time. Every event still ends with exactly one outcome, none is sent twice, the key stays hidden."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import threading
import time

import pytest

from freshsales_mapper.sending import JournalBusy, plain_words
from freshsales_mapper.sending.journal import Journal, read_journal
from freshsales_mapper.sending.target import SendTarget
from tests.conftest import EMULATOR_KEY
from tests.hostile import answer, hostile_server, never_answer, reset_mid_body
from tests.test_client import closed_port, make_client
from tests.test_send_e2e import ROOT, outcome_lines, run_send, write_events
from tests.test_sender import (
    DOMAIN,
    activity_posts,
    as_items,
    assert_one_outcome_each,
    destination,
    identify,
    journal_text,
    make_sender,
    sales_activity,
)

FAST = {"read_timeout": 0.3, "request_deadline": 1.0, "max_retries": 0}


def activity_once_reset(conn, request, number, server):
    """A server that creates the activity, then breaks the connection mid-answer (only the first time)."""
    if number == 0:
        reset_mid_body(conn, request, number, server)
    else:
        answer(conn, 200, {"sales_activity": {"id": 900 + number}})


# ---- item 1: unknown stays unknown until --resend-unknown ----------------------------------------

def test_an_activity_broken_mid_answer_is_unknown_and_resent_only_when_asked(tmp_path):
    journal = tmp_path / "j.jsonl"
    items = as_items(sales_activity(contact_id=5))
    with hostile_server(activity_once_reset) as server:
        first, = make_sender(server.base_url, journal_path=journal, max_retries=3).send(items)
        assert first.status == "unknown" and len(server.seen) == 1
        assert plain_words([first]) == ["1 activity unknown: the connection broke or no answer came after "
                                        "Freshsales may have created them; check and resend with --resend-unknown"]
        again, = make_sender(server.base_url, journal_path=journal).send(items)
        assert (again.status, again.requests, len(server.seen)) == ("unknown", [], 1)
        resent, = make_sender(server.base_url, journal_path=journal, resend_unknown=True).send(items)
        assert (resent.status, resent.record_id, len(server.seen)) == ("delivered", 901, 2)
        after, = make_sender(server.base_url, journal_path=journal, resend_unknown=True).send(items)
        assert (after.status, len(server.seen)) == ("delivered", 2)  # delivered now: never again


def test_upserts_broken_mid_answer_fail_retryably_and_a_rerun_resends_them(tmp_path):
    journal = tmp_path / "j.jsonl"
    items = as_items(identify("a@example.com"), identify("b@example.com"))

    def broken_then_fine(conn, request, number, server):  # the account recovers after the first run
        if number < 4:
            reset_mid_body(conn, request, number, server)
        else:
            answer(conn, 200, {"contact": {"id": 100 + number}})

    with hostile_server(broken_then_fine) as server:
        first = make_sender(server.base_url, journal_path=journal, max_retries=1).send(items)
        assert [(o.status, o.retryable) for o in first] == [("failed", True)] * 2
        assert len(server.seen) == 4  # each upsert was retried once
        second = make_sender(server.base_url, journal_path=journal).send(items)
        assert [o.status for o in second] == ["delivered"] * 2 and len(server.seen) == 6


# ---- item 2: one run per journal -------------------------------------------------------------------

def test_a_second_run_on_a_journal_in_use_refuses_with_exit_2(emulator, tmp_path):
    server = emulator(api_key="cli-test-key-123456")
    journal = tmp_path / "j.jsonl"
    events = write_events(tmp_path / "e.ndjson", *[identify(f"l{i}@example.com") for i in range(5)])
    # The first run, still going (with the key the CLI runs below use).
    holder = Journal(journal, targets=[SendTarget.of(server.base_url, DOMAIN, "cli-test-key-123456")])
    try:
        with pytest.raises(JournalBusy, match="in use by another send"):
            make_sender(server, journal_path=journal).send(as_items(identify("x@example.com")))
        done = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", journal, events)
    finally:
        holder.close()
    assert done.returncode == 2 and "in use by another send" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == "" and server.request_log == []
    assert run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", journal, events).returncode == 0


# ---- item 4: resume by what each request is ----------------------------------------------------------

def test_after_a_mapping_change_a_rerun_sends_exactly_the_requests_never_sent(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "j.jsonl"
    message = {"type": "track", "event": "Demo Booked",
               "context": {"traits": {"email": "m@example.com"}, "externalId": {"type": "Contact"}},
               "properties": {**sales_activity()["properties"], "lifecycleStageId": 71012139273}}
    before = destination(rudderEventsToFreshsalesEvents=[{"from": "Demo Booked", "to": "sales_activity"}])
    after = destination(rudderEventsToFreshsalesEvents=[{"from": "Demo Booked", "to": "sales_activity"},
                                                        {"from": "Demo Booked", "to": "lifecycle_stage"}])
    first, = make_sender(server, journal_path=journal).send(as_items(message, dest=before))
    assert first.status == "delivered" and len(server.activities()) == 1
    second, = make_sender(server, journal_path=journal).send(as_items(message, dest=after))
    finals = [r for r in second.requests if r["kind"] == "final"]
    assert second.status == "delivered" and "1 request(s) delivered in an earlier run, not resent" in second.reason
    assert [(r["method"], r["body"]) for r in finals] == [("POST", {"contact": {"lifecycle_stage_id": 71012139273},
                                                                    "unique_identifier": {"emails": "m@example.com"}})]
    assert len(activity_posts(server)) == 1 and len(server.activities()) == 1
    third, = make_sender(server, journal_path=journal).send(as_items(message, dest=after))
    assert (third.status, third.requests) == ("delivered", [])  # same plan: the journal's word stands


# ---- item 5: stdout closed mid-run -------------------------------------------------------------------

def test_a_closed_stdout_stops_the_run_with_a_non_zero_exit_and_a_consistent_journal(emulator, tmp_path):
    server = emulator(api_key="cli-test-key-123456")
    journal = tmp_path / "j.jsonl"
    events = write_events(tmp_path / "e.ndjson", *[identify(f"p{i}@example.com") for i in range(60)])
    env_args = ["--domain", DOMAIN, "--base-url", server.base_url, "--journal", str(journal), str(events)]
    process = subprocess.Popen([sys.executable, "-m", "freshsales_mapper", "send", *env_args], cwd=ROOT,
                               env={**run_env(), "FRESHSALES_API_KEY": "cli-test-key-123456"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_line = process.stdout.readline()  # what `| head -1` does
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=30) == 3
    assert json.loads(first_line)["status"] == "delivered"
    assert "stdout was closed after" in stderr and "Traceback" not in stderr and "BrokenPipe" not in stderr
    recorded = read_journal(journal)
    assert len(server.contacts()) == sum(e["status"] == "delivered" for e in recorded.values()) < 60
    again = run_send(*env_args)  # the rest is sent, nothing twice
    assert again.returncode == 0 and len(server.contacts()) == 60


def run_env() -> dict:
    import os
    env = {k: v for k, v in os.environ.items() if k != "FRESHSALES_API_KEY"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ---- item 6: malformed base URLs at the CLI -----------------------------------------------------------

@pytest.mark.parametrize("base_url", ["http://localhost:8765.evil.com", "http://127.0.0.1:80:evil.com"])
def test_the_cli_refuses_a_malformed_base_url_up_front(tmp_path, base_url):
    events = write_events(tmp_path / "e.ndjson", identify("u@example.com"))
    done = run_send("--domain", DOMAIN, "--base-url", base_url, events)
    assert done.returncode == 2 and "--base-url" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


# ---- item 9: the circuit breaker and Retry-After --------------------------------------------------------

def test_a_refused_key_stops_the_batch_after_the_first_request_and_a_rerun_sends_the_rest(tmp_path):
    journal = tmp_path / "j.jsonl"
    items = as_items(*[identify(f"k{i}@example.com") for i in range(20)])
    key_fixed = threading.Event()  # the user renews the key in Freshsales between the two runs

    def refusing_until_fixed(conn, _request, number, _server):
        if key_fixed.is_set():
            answer(conn, 200, {"contact": {"id": 500 + number}})
        else:
            answer(conn, 401, {"login": "failed", "message": "Incorrect or expired API key"})

    with hostile_server(refusing_until_fixed) as server:
        outcomes = make_sender(server.base_url, journal_path=journal).send(items)
        assert len(server.seen) == 1
        assert_one_outcome_each(items, outcomes)
        assert all(o.status == "failed" and o.retryable for o in outcomes[1:])
        assert all(o.requests == [] and "refused the API key (HTTP 401)" in o.reason for o in outcomes[1:])
        assert any("19 events not sent: Freshsales refused the API key" in line for line in plain_words(outcomes))
        key_fixed.set()
        again = make_sender(server.base_url, journal_path=journal).send(items)
        assert [o.status for o in again] == ["delivered"] * 20 and len(server.seen) == 21


def test_three_silent_events_in_a_row_stop_the_batch_in_bounded_time():
    items = as_items(*[identify(f"s{i}@example.com") for i in range(10)])
    with hostile_server(never_answer) as server:
        started = time.monotonic()
        outcomes = make_sender(server.base_url, **FAST).send(items)
        took = time.monotonic() - started
    assert len(server.seen) == 3 and took < 3, took
    assert [o.status for o in outcomes] == ["failed"] * 10
    assert all("3 events in a row could not connect or got no answer" in o.reason for o in outcomes[3:])


def test_three_refused_connections_in_a_row_stop_the_batch():
    items = as_items(*[identify(f"c{i}@example.com") for i in range(6)])
    with closed_port() as port:
        outcomes = make_sender(f"http://127.0.0.1:{port}", max_retries=0).send(items)
    assert sum(bool(o.requests) for o in outcomes) == 3
    assert all(o.reason.startswith("not sent: 3 events in a row") for o in outcomes[3:])


def test_a_retry_after_beyond_the_limit_fails_the_rest_of_the_batch_at_once():
    items = as_items(*[identify(f"w{i}@example.com") for i in range(5)])
    with hostile_server(lambda conn, *_: answer(conn, 429, {}, "Retry-After: 99999\r\n")) as server:
        started = time.monotonic()
        outcomes = make_sender(server.base_url, max_retries=3).send(items)
    assert time.monotonic() - started < 2 and len(server.seen) == 1
    assert all(o.status == "failed" for o in outcomes)
    assert "Freshsales asked to wait 99999 s (until " in outcomes[0].reason
    assert all(o.reason.startswith("not sent: Freshsales asked to wait 99999 s (until ") and
               o.reason.endswith("rerun then") for o in outcomes[1:])


# ---- item 11: torn journal lines and full disks ---------------------------------------------------------

def test_a_torn_last_line_is_repaired_with_a_warning_and_its_event_left_unknown(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "j.jsonl"
    items = as_items(sales_activity(contact_id=5), identify("t1@example.com"), identify("t2@example.com"))
    keys = [o.key for o in make_sender(server, dry_run=True).send(items)]
    whole = json.dumps({"key": keys[1], "index": 1, "status": "delivered", "sent": []})
    journal.write_text(journal_text(server) + whole + "\n" + '{"key": "' + keys[0] + '", "index": 0, "status": "sen')
    warnings: list[str] = []
    outcomes = make_sender(server, journal_path=journal, on_warning=warnings.append).send(items)
    assert len(warnings) == 1 and "incomplete line" in warnings[0] and "marked unknown" in warnings[0]
    assert [o.status for o in outcomes] == ["unknown", "delivered", "delivered"]
    assert server.activities() == [] and len(server.contacts()) == 1
    assert all(json.loads(line) for line in journal.read_text().splitlines())  # every line whole again


def test_a_torn_line_without_a_key_is_removed_and_nothing_is_lost(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "j.jsonl"
    journal.write_text(journal_text(server) + '{"ke')
    warnings: list[str] = []
    outcome, = make_sender(server, journal_path=journal, on_warning=warnings.append).send(
        as_items(identify("t@example.com")))
    assert outcome.status == "delivered" and "removed" in warnings[0]
    assert [json.loads(line).get("status") for line in journal.read_text().splitlines()] == [None, "delivered"]


def _limit_file_size() -> None:  # runs in the child before exec: a "disk" that fills up at 1,500 bytes
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))


def test_a_journal_write_error_stops_the_run_with_a_clear_message(emulator, tmp_path):
    server = emulator(api_key="cli-test-key-123456")
    journal = tmp_path / "j.jsonl"
    events = write_events(tmp_path / "e.ndjson", *[identify(f"f{i}@example.com") for i in range(20)])
    done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "send", "--domain", DOMAIN, "--base-url",
                           server.base_url, "--journal", str(journal), str(events)], cwd=ROOT,
                          env={**run_env(), "FRESHSALES_API_KEY": "cli-test-key-123456"}, capture_output=True,
                          text=True, timeout=60, preexec_fn=_limit_file_size)
    assert done.returncode == 2, done.stderr
    assert "cannot write the journal" in done.stderr and "sending stopped" in done.stderr
    assert "Traceback" not in done.stderr
    recorded = read_journal(journal)  # no torn line left behind
    assert 0 < len(recorded) < 20 and all(e["status"] == "delivered" for e in recorded.values())
    assert len(outcome_lines(done.stdout)) == len(recorded)
    # The event whose line could not be written was sent (an upsert: a rerun repeats it harmlessly).
    assert len(server.contacts()) == len(recorded) + 1
    assert EMULATOR_KEY not in done.stderr


def test_a_short_retry_after_is_announced_to_the_playground_job(tmp_path):
    from playground.send_job import SendJob

    def once_429(conn, _request, number, _server):
        if number == 0:
            answer(conn, 429, {}, "Retry-After: 1\r\n")
        else:
            answer(conn, 200, {"contact": {"id": 3}})

    with hostile_server(once_429) as server:
        job = SendJob("b", "the test server", str(tmp_path / "j.jsonl"), 1)
        job.start(as_items(identify("n@example.com")), lambda: make_client(server.base_url))
        assert job.wait(10)
    assert [o.status for o in job.outcomes] == ["delivered"]
    assert any("Freshsales asked to wait 1 s" in notice for notice in job.notices), job.notices


def test_the_cli_summary_says_in_plain_words_what_happened_to_unknown_activities(tmp_path):
    events = write_events(tmp_path / "e.ndjson", *[sales_activity(contact_id=5, title=f"c{i}") for i in range(3)])
    with hostile_server(reset_mid_body) as server:
        done = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", tmp_path / "j.jsonl",
                        "--max-retries", "3", events)
    assert done.returncode == 1 and len(server.seen) == 3  # one POST each: never repeated
    assert ("send: 3 activities unknown: the connection broke or no answer came after Freshsales may have "
            "created them; check and resend with --resend-unknown") in done.stderr
    assert [line["status"] for line in outcome_lines(done.stdout)] == ["unknown"] * 3


def test_the_cli_announces_a_short_retry_after_on_stderr(tmp_path):
    def once_429(conn, _request, number, _server):
        if number == 0:
            answer(conn, 429, {}, "Retry-After: 1\r\n")
        else:
            answer(conn, 200, {"contact": {"id": 3}})

    events = write_events(tmp_path / "e.ndjson", identify("r@example.com"))
    with hostile_server(once_429) as server:
        done = run_send("--domain", DOMAIN, "--base-url", server.base_url, events)
    assert done.returncode == 0, done.stderr
    assert "send: Freshsales asked to wait 1 s (HTTP 429); waiting before retrying POST" in done.stderr

"""Sending through faults, all over real loopback HTTP: 429 storms, random 500s, slow answers, nobody
listening, garbage replies, and a batch cut short then resumed from its journal.

In every case: each input event has exactly one outcome, nothing is delivered twice, and the run ends
on its own within a bounded time.
"""

from __future__ import annotations

import time

import pytest

from freshsales_mapper.emulator.server import EmulatorServer
from freshsales_mapper.engine.plan import HttpRequest
from freshsales_mapper.sample_generator import generate_labelled_events
from freshsales_mapper.sending import FreshsalesClient, retry
from tests.conftest import EMULATOR_KEY
from tests.test_client import closed_port, http, raw_server, wait_until
from tests.test_sender import (
    DOMAIN,
    activity_posts,
    as_items,
    assert_one_outcome_each,
    identify,
    make_sender,
    sales_activity,
)

TIME_SCALE = 120  # the storm test runs the emulator's clock (and our retry sleeps) this much faster


def mixed_events(count: int, seed: int) -> list[dict]:
    return [event for _kind, event in generate_labelled_events(count, seed=seed)]


def activity_events(outcomes) -> list:
    """Outcomes whose event sent a sales activity (a request that must never be repeated)."""
    return [o for o in outcomes if any(r["kind"] == "final" and r["url"].endswith("/sales_activities")
                                       for r in o.requests)]


def assert_no_activity_twice(server, outcomes):
    """Every sales activity POST the server saw is accounted for, and none was created twice.

    One entry per event and execute call; its attempts are the POSTs it made (more than one only after
    a 429, which Freshsales did not act on); only a 2xx creates an activity.
    """
    posts = activity_posts(server)
    sent = [r for o in outcomes for r in o.requests if r["kind"] == "final" and r["url"].endswith("/sales_activities")]
    assert len(posts) == sum(r["attempts"] for r in sent)
    assert sum(e.status == 200 for e in posts) == sum(bool(r["ok"]) for r in sent) == len(server.activities())


def create_contact(server, email: str) -> int:
    with FreshsalesClient(DOMAIN, EMULATOR_KEY, base_url=server.base_url, read_timeout=10) as client:
        reply = client.execute(HttpRequest("POST", f"https://{DOMAIN}/crm/sales/api/contacts/upsert", {},
                                           {"unique_identifier": {"emails": email}, "contact": {}}))
    return reply.body["contact"]["id"]


# ---- 429 storm -----------------------------------------------------------------------------------

def test_a_429_storm_is_ridden_out_by_honouring_retry_after(emulator, monkeypatch):
    started = time.monotonic()
    server = emulator(rate_limit_per_minute=2, clock=lambda: started + (time.monotonic() - started) * TIME_SCALE)
    slept: list[float] = []

    def scaled_sleep(seconds):
        slept.append(seconds)
        time.sleep(seconds / TIME_SCALE)

    # Every wait of the client's retry loop goes through retry.sleep; only that one is scaled.
    monkeypatch.setattr(retry, "sleep", scaled_sleep)
    items = as_items(*[identify(f"storm{i}@example.com", firstName=f"S{i}") for i in range(8)],
                     sales_activity("storm1@example.com", name="Phone"), sales_activity("storm2@example.com"))
    # Client limiter off, so the server's 429s do the pacing; backoff 0, so every sleep is a Retry-After.
    # The emulator's (scaled) Retry-After is up to a minute: allow such waits and a long deadline here.
    outcomes = make_sender(server, max_retries=10, max_retry_wait=3600, request_deadline=3600).send(items)

    assert time.monotonic() - started < 30
    assert_one_outcome_each(items, outcomes)
    assert [o.status for o in outcomes] == ["delivered"] * len(items), [o.reason for o in outcomes]
    statuses = [e.status for e in server.request_log]
    assert statuses.count(429) >= 5  # it really was a storm
    assert len(slept) == statuses.count(429) and all(s >= 1 for s in slept)  # each 429 waited its Retry-After
    assert statuses.count(200) == sum(len(o.requests) for o in outcomes)  # every call landed exactly once
    assert len(server.contacts()) == 8 and len(server.activities()) == 2
    assert_no_activity_twice(server, outcomes)
    assert max(r["attempts"] for o in outcomes for r in o.requests) >= 2


def test_429s_beyond_the_retry_budget_fail_retryably_and_deliver_nothing_twice(emulator, tmp_path):
    server = emulator(rate_limit_per_minute=3)
    items = as_items(*[identify(f"budget{i}@example.com") for i in range(4)], sales_activity("budget0@example.com"))
    outcomes = make_sender(server, max_retries=0, journal_path=tmp_path / "j.jsonl").send(items)
    assert_one_outcome_each(items, outcomes)
    assert [o.status for o in outcomes] == ["delivered"] * 3 + ["failed"] * 2
    assert all(o.retryable and o.http_status == 429 for o in outcomes[3:])
    assert "Retrying could help" in outcomes[3].reason and "retrying could help" in outcomes[4].reason
    assert len(server.contacts()) == 3 and server.activities() == []


# ---- random 500s, then a resume ------------------------------------------------------------------

def test_random_500s_then_a_rerun_delivers_the_rest_exactly_once(emulator, tmp_path):
    server = emulator(fail_rate=0.3, seed=11)
    journal = tmp_path / "j.jsonl"
    items = as_items(*mixed_events(80, seed=5))
    started = time.monotonic()
    first = make_sender(server, journal_path=journal, max_retries=0).send(items)  # every 500 stays a failure
    assert time.monotonic() - started < 30
    assert_one_outcome_each(items, first)
    counts = {s: sum(o.status == s for o in first) for s in ("delivered", "failed", "skipped", "unknown")}
    assert counts["failed"] >= 10 and counts["delivered"] >= 20 and counts["unknown"] >= 1
    # A 500 on a create may hide a created activity: unknown, never "failed" (which a rerun would resend).
    for outcome in first:
        if outcome.status == "unknown":
            last = outcome.requests[-1]
            assert (last["status"], last["url"].endswith("/sales_activities")) == (500, True), outcome.reason
    failed_500 = [o for o in first if o.status == "failed" and o.http_status == 500]
    assert failed_500 and all("Internal server error" in o.reason for o in failed_500)
    assert_no_activity_twice(server, first)

    server.fail_rate = 0.0
    log_before = len(server.request_log)
    second = make_sender(server, journal_path=journal).send(items)
    assert_one_outcome_each(items, second)
    for before, after in zip(first, second, strict=True):
        if before.status == "delivered":
            assert after.status == "delivered" and after.requests == [], after.reason  # not resent
        elif before.status == "failed" and before.http_status == 500:
            assert after.status == "delivered", after.reason
        elif before.status == "unknown":
            assert after.status == "unknown" and after.requests == [], after.reason  # left for the user to check
    # This run's traffic is exactly the requests of events not delivered before.
    assert len(server.request_log) - log_before == sum(len(o.requests) for o in second)
    # Each sales activity event that ends delivered created exactly one activity, over both runs.
    activity_indexes = {o.index for o in activity_events(first + second)}
    assert len(server.activities()) == sum(second[i].status == "delivered" for i in activity_indexes)
    assert_no_activity_twice(server, first + second)


def test_a_batch_cut_short_resumes_from_its_journal_without_resending(emulator, tmp_path):
    state = tmp_path / "state.json"
    server = emulator(state_file=state)
    port = server.port
    journal = tmp_path / "j.jsonl"
    contact_id = create_contact(server, "resume0@example.com")
    items = as_items(*[identify(f"resume{i}@example.com") for i in range(6)],
                     sales_activity(contact_id=contact_id, title="First call"),
                     *[identify(f"late{i}@example.com") for i in range(4)],
                     sales_activity(contact_id=contact_id, title="Second call"))

    def pull_the_plug(done, total, outcome):
        if done == 7:  # after the first sales activity: the server goes away mid-batch
            server.stop()

    first = make_sender(server.base_url, max_retries=1, journal_path=journal, on_progress=pull_the_plug).send(items)
    assert_one_outcome_each(items, first)
    assert [o.status for o in first] == ["delivered"] * 7 + ["failed"] * 5
    assert all(o.retryable and "nothing was sent" in o.reason for o in first[7:])

    # The same account back on the same port.
    restarted = EmulatorServer("127.0.0.1", port, EMULATOR_KEY, state_file=state).start()
    try:
        assert len(restarted.contacts()) == 6 and len(restarted.activities()) == 1
        second = make_sender(restarted, journal_path=journal).send(items)
    finally:
        restarted.stop()
    assert [o.status for o in second] == ["delivered"] * 12
    assert [o.reason for o in second[:7]] == ["delivered in an earlier run; not resent"] * 7
    assert [e.path.rsplit("/", 1)[-1] for e in restarted.request_log] == ["upsert"] * 4 + ["sales_activities"]
    assert sorted(a["title"] for a in restarted.activities()) == ["First call", "Second call"]
    assert len(restarted.contacts()) == 10


# ---- slow answers --------------------------------------------------------------------------------

def test_answers_slower_than_the_read_timeout(emulator, tmp_path):
    server = emulator(latency_ms=400)
    contact_id = create_contact(server, "slow0@example.com")
    journal = tmp_path / "j.jsonl"
    items = as_items(identify("slow1@example.com"), sales_activity(contact_id=contact_id, title="Slow call"),
                     sales_activity("slow2@example.com"))
    started = time.monotonic()
    first = make_sender(server, read_timeout=0.1, max_retries=1, journal_path=journal).send(items)
    assert time.monotonic() - started < 10
    assert_one_outcome_each(items, first)
    upsert, activity, by_email = first
    # An upsert may be repeated: it was retried, and is reported failed and retryable.
    assert (upsert.status, upsert.retryable, upsert.requests[0]["attempts"]) == ("failed", True, 2)
    assert "repeating it is safe" in upsert.reason
    # A sales activity may not: sent once, outcome unknown, not retried.
    assert (activity.status, activity.retryable, activity.requests[0]["attempts"]) == ("unknown", False, 1)
    assert "Check Freshsales" in activity.reason
    # Its contact lookup timed out: RudderStack rejects the event, and retrying is safe and may help.
    assert (by_email.status, by_email.retryable) == ("failed", True)
    assert wait_until(lambda: len(server.activities()) == 1, seconds=5)  # the unknown one did arrive

    second = make_sender(server, read_timeout=5, journal_path=journal).send(items)
    assert [o.status for o in second] == ["delivered", "unknown", "delivered"]
    assert second[1].requests == [] and "check Freshsales" in second[1].reason
    time.sleep(0.5)
    assert len(activity_posts(server)) == 2  # the unknown one was never sent again
    assert sorted(a["title"] for a in server.activities()) == ["Call", "Slow call"]


# ---- nobody listening, garbage replies -----------------------------------------------------------

def test_connection_refused_fails_every_sendable_event_retryably():
    with closed_port() as port:
        items = as_items(identify("gone@example.com"), sales_activity("gone@example.com", name="Phone"),
                         {"type": "identify", "traits": {}})
        started = time.monotonic()
        outcomes = make_sender(f"http://127.0.0.1:{port}", max_retries=2).send(items)
    assert time.monotonic() - started < 10
    assert_one_outcome_each(items, outcomes)
    assert [(o.status, o.retryable, o.http_status) for o in outcomes] == [
        ("failed", True, None), ("failed", True, None), ("skipped", False, None)]
    assert "connection refused" in outcomes[0].reason and "nothing was sent" in outcomes[0].reason
    assert outcomes[0].requests[0]["attempts"] == 3
    assert "a lookup RudderStack makes while transforming failed" in outcomes[1].reason


@pytest.mark.parametrize("reply, expected", [
    (b"garbage, not HTTP at all\r\n\r\n", [("failed", True), ("unknown", False)]),
    (http(200, b'{"contact": {"id": 1'), [("delivered", False), ("delivered", False)]),
    (http(502, b"<html><title>502 Bad Gateway</title></html>", "text/html"), [("failed", True), ("unknown", False)]),
])
def test_malformed_replies(reply, expected):
    received: list[bytes] = []

    def answer(request):
        received.append(request.split(b" ", 2)[1])
        return reply

    items = as_items(identify("odd@example.com"), sales_activity(contact_id=42))
    with raw_server(answer) as base_url:
        started = time.monotonic()
        outcomes = make_sender(base_url, max_retries=1).send(items)
    assert time.monotonic() - started < 10
    assert_one_outcome_each(items, outcomes)
    assert [(o.status, o.retryable) for o in outcomes] == expected
    # The sales activity reached the server exactly once, whatever came back.
    assert received.count(b"/crm/sales/api/sales_activities") == 1
    if expected[0][0] == "delivered":
        assert "not valid JSON" in outcomes[0].reason and outcomes[0].record_id is None
    else:
        assert outcomes[0].requests[0]["attempts"] == 2  # the upsert was retried once
        assert "not resent unless you ask to resend unknown events" in outcomes[1].reason

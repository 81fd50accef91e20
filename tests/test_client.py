"""The Freshsales client against the emulator (and a few raw sockets) on 127.0.0.1."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

import pytest

from freshsales_mapper.engine.plan import HttpRequest, LookupStep
from freshsales_mapper.engine.secret import mask_key
from freshsales_mapper.sending import (
    ClientReply,
    DomainError,
    FreshsalesClient,
    LiveResolver,
    RateLimiter,
    normalize_domain,
    parse_error_body,
)
from tests.conftest import EMULATOR_KEY

# What the engine builds from the RudderStack domain setting; the client must not send it there.
BASE = "https://acme.myfreshworks.com/crm/sales/api"
PHONE_TYPE_ID = 70000646201


def plan_request(method, path, body=None):
    # The plan's own headers carry some other key: the client must use its own.
    return HttpRequest(method, BASE + path, {"Authorization": "Token token=from-the-plan"}, body)


def contact_upsert(email, **contact):
    return plan_request("POST", "/contacts/upsert", {"unique_identifier": {"emails": email},
                                                     "contact": {"emails": email, **contact}})


def activity_create(contact_id):
    return plan_request("POST", "/sales_activities", {"sales_activity": {
        "title": "Call", "start_date": "2024-05-04T17:00:00Z", "end_date": "2024-05-04T17:30:00Z",
        "sales_activity_type_id": PHONE_TYPE_ID, "targetable_type": "Contact", "targetable_id": contact_id}})


def make_client(base_url, key=EMULATOR_KEY, **options):
    options.setdefault("backoff_factor", 0)
    options.setdefault("rate_limit_per_minute", None)
    options.setdefault("rate_limit_per_hour", None)
    return FreshsalesClient("acme", key, base_url=base_url, **options)


def wait_until(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


# ---- domains and keys ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, host", [
    ("acme", "acme.myfreshworks.com"),
    ("  ACME  ", "acme.myfreshworks.com"),
    ("my-org-2", "my-org-2.myfreshworks.com"),
    ("acme.myfreshworks.com", "acme.myfreshworks.com"),
    ("https://acme.myfreshworks.com", "acme.myfreshworks.com"),
    ("https://acme.myfreshworks.com/", "acme.myfreshworks.com"),
    ("acme.freshworks.com", "acme.freshworks.com"),
    ("https://acme.freshworks.com/", "acme.freshworks.com"),
])
def test_accepted_domains(text, host):
    assert normalize_domain(text) == host


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("   ", "empty"),
    (None, "empty"),
    ("ac me", "whitespace"),
    ("http://acme.myfreshworks.com", "https"),
    ("ftp://acme.myfreshworks.com", "scheme"),
    ("https://user:pw@acme.myfreshworks.com", "credentials"),
    ("acme.myfreshworks.com?x=1", "query"),
    ("https://acme.myfreshworks.com/crm/sales", "path"),
    ("acme.myfreshworks.com//", "path"),
    ("acme.myfreshworks.com:443", "port"),
    ("example.com", "not a Freshsales host"),
    ("acme.myfreshworks.com.evil.com", "not a Freshsales host"),
    ("acme.freshsales.io", "Classic"),
    ("myfreshworks.com", "organisation's name"),
    ("-acme", "not a valid organisation name"),
    ("a.b.myfreshworks.com", "not a valid organisation name"),
    ("acme_1", "not a valid organisation name"),
    ("äcme", "not a valid organisation name"),
])
def test_rejected_domains_say_what_is_wrong(text, fragment):
    with pytest.raises(DomainError, match=fragment):
        normalize_domain(text)


def test_domain_error_is_a_value_error():
    assert issubclass(DomainError, ValueError)


@pytest.mark.parametrize("key, masked", [
    ("abcdefgh12345678", "****5678"), ("abcdefgh5678", "****5678"), ("12345678901", "****"), ("****5678", "****5678"), ("1234567", "****"), ("", "****"), (None, "****")])
def test_mask_key(key, masked):
    assert mask_key(key) == masked


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:9/",
                                      "https://127.5.5.5:443"])
def test_loopback_base_urls_are_accepted(base_url):
    assert make_client(base_url).base_url == base_url.rstrip("/")


@pytest.mark.parametrize("base_url", ["http://10.0.0.1:80", "http://example.com", "http://127.0.0.1.nip.io",
                                      "http://127.0.0.1:8/path", "http://u:p@127.0.0.1:8", "ftp://127.0.0.1"])
def test_other_base_urls_are_refused(base_url):
    with pytest.raises(DomainError):
        make_client(base_url)


def test_programmer_errors_raise():
    client = make_client("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="not a Freshsales API path"):
        client.execute(HttpRequest("GET", "https://acme.myfreshworks.com/admin", {}))
    with pytest.raises(ValueError, match="only sends GET and POST"):
        client.execute(plan_request("DELETE", "/contacts/1"))
    with pytest.raises(ValueError, match="empty"):
        FreshsalesClient("acme", "  ")


# ---- talking to the emulator ---------------------------------------------------------------------

def test_upsert_is_delivered_with_the_clients_own_key_and_host(emulator):
    server = emulator()
    reply = make_client(server.base_url).execute(contact_upsert("ada@example.com", first_name="Ada"))
    assert (reply.status, reply.ok, reply.outcome, reply.attempts) == (200, True, "delivered", 1)
    assert reply.body["contact"]["display_name"] == "Ada"
    assert [c["email"] for c in server.contacts()] == ["ada@example.com"]


def test_idempotency_is_inferred_from_the_request():
    assert FreshsalesClient.is_idempotent(contact_upsert("a@b.c"))
    assert FreshsalesClient.is_idempotent(plan_request("GET", "/selector/owners"))
    assert FreshsalesClient.is_idempotent(plan_request("POST", "/sales_accounts/upsert"))
    assert not FreshsalesClient.is_idempotent(activity_create(1))


def test_wrong_key_fails_without_retry(emulator):
    server = emulator()
    reply = make_client(server.base_url, key="not-the-right-key").execute(plan_request("GET", "/lists"))
    assert (reply.status, reply.outcome, reply.retryable, reply.attempts) == (401, "failed", False, 1)
    assert "Incorrect or expired API key" in reply.message


def test_validation_error_message_comes_from_the_body(emulator):
    server = emulator()
    reply = make_client(server.base_url).execute(contact_upsert("b@example.com", sales_accounts={"id": 1}))
    assert reply.status == 400 and not reply.retryable
    assert reply.message == "HTTP 400: The type for sales_accounts is invalid."


def test_server_429_is_reported_as_retryable(emulator):
    server = emulator(rate_limit_per_minute=2)
    client = make_client(server.base_url, max_retries=0)
    replies = [client.execute(plan_request("GET", "/lists")) for _ in range(3)]
    assert [r.status for r in replies] == [200, 200, 429]
    assert replies[2].retryable and replies[2].outcome == "failed"
    assert "Too many requests" in replies[2].message


def test_500s_are_retried_for_upserts_and_leave_a_create_unknown(emulator):
    server = emulator(fail_rate=1.0)
    client = make_client(server.base_url, max_retries=2)
    upsert = client.execute(contact_upsert("c@example.com"))
    activity = client.execute(activity_create(1))
    assert (upsert.status, upsert.outcome, upsert.retryable) == (500, "failed", True)
    # The server may have created the activity before failing: not "failed" (which a rerun resends).
    assert (activity.status, activity.outcome, activity.retryable) == (500, "unknown", False)
    assert upsert.message == "HTTP 500: Internal server error (after 3 attempts)"
    # The upsert is sent again (repeating it is harmless); the create is not (it may exist already).
    assert [e.status for e in server.request_log] == [500, 500, 500, 500]
    assert server.contacts() == []


def test_read_timeout_on_a_sales_activity_is_unknown_and_not_resent(emulator):
    server = emulator(latency_ms=400)
    contact_id = make_client(server.base_url).execute(contact_upsert("d@example.com")).body["contact"]["id"]
    client = make_client(server.base_url, read_timeout=0.1, max_retries=3)
    reply = client.execute(activity_create(contact_id))
    assert (reply.status, reply.outcome, reply.retryable, reply.attempts) == (None, "unknown", False, 1)
    assert reply.network_error == "read_timeout" and "duplicate" in reply.message
    # It did arrive: the emulator creates it once the latency is over, exactly once.
    assert wait_until(lambda: len(server.activities()) == 1)
    time.sleep(0.5)
    assert len(server.activities()) == 1
    assert sum(e.path.endswith("/sales_activities") for e in server.request_log) == 1


def test_read_timeout_on_an_upsert_is_retried(emulator):
    server = emulator(latency_ms=400)
    reply = make_client(server.base_url, read_timeout=0.1, max_retries=2).execute(contact_upsert("e@example.com"))
    assert (reply.outcome, reply.retryable, reply.attempts, reply.network_error) == \
        ("unknown", True, 3, "read_timeout")
    assert wait_until(lambda: len(server.request_log) == 3)
    assert len(server.contacts()) == 1  # three deliveries of an upsert are still one contact


def test_caller_can_forbid_resending(emulator):
    server = emulator(latency_ms=300)
    client = make_client(server.base_url, read_timeout=0.1, max_retries=2)
    reply = client.execute(contact_upsert("f@example.com"), idempotent=False)
    assert (reply.attempts, reply.retryable) == (1, False)


@contextlib.contextmanager
def closed_port():
    """A port that is bound but not listening: connecting to it is refused, and nobody can take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_connection_refused_is_safe_to_retry_even_for_sales_activities():
    with closed_port() as port:
        client = make_client(f"http://127.0.0.1:{port}", max_retries=2)
        reply = client.execute(activity_create(1))
        resolved = LiveResolver(client).lookup(LookupStep("read owners", plan_request("GET", "/selector/owners"),
                                                          writes=False))
    assert (reply.status, reply.outcome, reply.retryable, reply.network_error) == (None, "failed", True, "refused")
    assert reply.attempts == 3 and "nothing was sent" in reply.message
    assert (resolved.status, resolved.body, resolved.source) == (500, "[ECONNREFUSED] :: Connection refused", "live")
    assert "connection refused" in resolved.note


def test_live_resolver_passes_replies_through_and_maps_timeouts(emulator):
    server = emulator()
    resolver = LiveResolver(make_client(server.base_url))
    step = LookupStep("read the contact's accounts", plan_request(
        "POST", "/contacts/upsert?include=sales_accounts", {"unique_identifier": {"emails": "g@example.com"},
                                                            "contact": {"emails": "g@example.com"}}), writes=True)
    reply = resolver.lookup(step)
    assert (reply.status, reply.source, reply.note) == (200, "live", "")
    assert reply.body["contact"]["sales_accounts"] == []
    slow = emulator(latency_ms=300)
    timed_out = LiveResolver(make_client(slow.base_url, read_timeout=0.05, max_retries=0)).lookup(step)
    assert (timed_out.status, timed_out.body) == (500, "[ETIMEDOUT] :: Operation timed out")


# ---- odd servers ---------------------------------------------------------------------------------

@contextlib.contextmanager
def raw_server(answer):
    """Answers every connection with ``answer(request_bytes)`` and closes it: for replies no emulator gives."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += conn.recv(65536)
                conn.sendall(answer(data))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def http(status, body, content_type="application/json", extra=""):
    return (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"{extra}Connection: close\r\n\r\n").encode() + body


@pytest.mark.parametrize("first_status, request_, attempts, final", [
    (429, activity_create(1), 2, 200),  # a 429 was not acted on: even a sales activity is resent
    (503, activity_create(1), 1, 503),  # a 5xx might hide a write: a sales activity is not resent
    (503, contact_upsert("j@example.com"), 2, 200),  # an upsert can be resent safely
])
def test_which_statuses_are_retried(first_status, request_, attempts, final):
    answers = iter([http(first_status, b"{}", extra="Retry-After: 0\r\n"), http(200, b'{"ok": true}')])
    with raw_server(lambda _request: next(answers)) as base_url:
        reply = make_client(base_url, max_retries=2).execute(request_)
    assert (reply.attempts, reply.status) == (attempts, final)


def test_malformed_and_foreign_replies():
    cases = [
        (http(200, b'{"contact": {"id": 1'), 200, "delivered", "not valid JSON"),
        (http(502, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "text/html"),
         502, "failed", "HTTP 502 with an HTML page (502 Bad Gateway)"),
        (http(503, b""), 503, "failed", "HTTP 503 with an empty body"),
        (b"garbage, not HTTP at all\r\n\r\n", None, "unknown", "connection broke"),
    ]
    for raw, status, outcome, fragment in cases:
        with raw_server(lambda _request, raw=raw: raw) as base_url:
            reply = make_client(base_url, max_retries=0).execute(plan_request("GET", "/lists"))
        assert (reply.status, reply.outcome) == (status, outcome), raw
        assert fragment in reply.message, reply.message


def test_a_server_echoing_the_key_does_not_leak_it():
    key = "echoed-secret-key-4242"
    with raw_server(lambda request: http(400, b'{"errors": {"code": 400, "message": ["' +
                                         request.split(b"\r\n\r\n")[0].replace(b"\r\n", b" ") + b'"]}}')) as url:
        reply = make_client(url, key=key, max_retries=0).execute(plan_request("GET", "/lists"))
    assert reply.status == 400 and "****4242" in reply.message
    assert key not in repr(reply)


@pytest.mark.parametrize("status, body, content_type, expected", [
    (400, {"errors": {"code": 400, "message": ["Name has already been taken"]}}, "application/json",
     "HTTP 400: Name has already been taken"),
    (400, '{"errors": {"code": 400, "message": ["A", "B"]}}', "application/json", "HTTP 400: A; B"),
    (500, {"errors": {"code": 500, "message": "Oops"}}, "", "HTTP 500: Oops"),
    (403, {"errors": {"message": "Access Denied"}}, "", "HTTP 403: Access Denied"),
    (401, {"login": "failed", "message": "Incorrect or expired API key"}, "",
     "HTTP 401: Incorrect or expired API key (login failed; check the API key)"),
    (404, {"error_code": 404}, "", "HTTP 404: error code 404"),
    (502, "<!DOCTYPE html><html><title>Bad\n Gateway</title></html>", "text/html",
     "HTTP 502 with an HTML page (Bad Gateway)"),
    (503, "", "application/json", "HTTP 503 with an empty body"),
    (503, b"  ", "", "HTTP 503 with an empty body"),
    (500, '{"errors": ', "application/json", "HTTP 500 with a body that is not valid JSON: '{\"errors\":'"),
    (418, "I'm a teapot", "text/plain", "HTTP 418: I'm a teapot"),
    (400, {"something": "else"}, "", 'HTTP 400: {"something": "else"}'),
])
def test_parse_error_body(status, body, content_type, expected):
    assert parse_error_body(status, body, content_type) == expected


# ---- client-side rate limit ----------------------------------------------------------------------

class FakeTime:
    """One clock for the limiter and the emulator; sleeping moves it instead of waiting."""

    def __init__(self):
        self.now = 5000.0
        self.slept: list[float] = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_limiter_waits_for_the_minute_and_the_hour_budgets():
    fake = FakeTime()
    minute = RateLimiter(per_minute=3, per_hour=None, clock=fake.clock, sleep=fake.sleep)
    assert [minute.acquire() for _ in range(3)] == [0, 0, 0]
    assert minute.acquire() == pytest.approx(61.0)  # a minute plus the safety margin
    hour = RateLimiter(per_minute=None, per_hour=2, clock=fake.clock, sleep=fake.sleep)
    hour.acquire(), hour.acquire()
    assert hour.acquire() == pytest.approx(3601.0)


def test_limiter_can_be_switched_off():
    fake = FakeTime()
    for off in (None, 0):
        limiter = RateLimiter(per_minute=off, per_hour=off, clock=fake.clock, sleep=fake.sleep)
        assert not limiter.enabled and sum(limiter.acquire() for _ in range(2000)) == 0


def test_limiter_is_thread_safe():
    fake = FakeTime()
    limiter = RateLimiter(per_minute=20, per_hour=None, clock=fake.clock, sleep=fake.sleep)
    granted = []

    def worker():
        granted.extend(limiter.try_acquire() == 0 for _ in range(10))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 20


@pytest.mark.parametrize("client_budget, expect_429", [(5, False), (None, True)])
def test_client_limit_keeps_a_burst_away_from_server_429s(emulator, client_budget, expect_429):
    fake = FakeTime()
    server = emulator(rate_limit_per_minute=5, clock=fake.clock)
    progress: list[str] = []
    limiter = RateLimiter(per_minute=client_budget, per_hour=None, clock=fake.clock, sleep=fake.sleep)
    client = make_client(server.base_url, max_retries=0, limiter=limiter, on_progress=progress.append)
    statuses = [client.execute(plan_request("GET", "/selector/owners")).status for _ in range(12)]
    assert (429 in statuses) is expect_429
    if not expect_429:
        assert statuses == [200] * 12 and len(fake.slept) == 2
        assert "waiting" in progress[0]


# ---- the key never shows -------------------------------------------------------------------------

def test_the_key_never_appears_in_logs_output_errors_or_reprs(emulator, caplog, capsys):
    key = "top-secret-key-5150"
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    server = emulator(api_key=key, latency_ms=150)
    client = make_client(server.base_url, key=key, max_retries=1, read_timeout=0.05,
                         on_progress=seen.append)
    good = make_client(server.base_url, key=key, read_timeout=5)
    wrong = make_client(server.base_url, key=key[::-1])
    replies = [good.execute(contact_upsert("h@example.com")), client.execute(contact_upsert("i@example.com")),
               client.execute(activity_create(1)), wrong.execute(plan_request("GET", "/lists"))]
    with closed_port() as port:
        replies.append(make_client(f"http://127.0.0.1:{port}", key=key).execute(plan_request("GET", "/lists")))
    replies.append(LiveResolver(client).lookup(LookupStep("x", plan_request("GET", "/lists"), writes=False)))
    for bad in (lambda: client.execute(plan_request("PUT", "/lists")),
                lambda: FreshsalesClient("evil.com", key),
                lambda: FreshsalesClient("acme", key, base_url="http://10.1.1.1")):
        with pytest.raises(ValueError) as error:
            bad()
        seen.append(str(error.value) + repr(error.value))
    assert all(isinstance(r, ClientReply) or r.source == "live" for r in replies)
    seen += [repr(client), str(client), repr(vars(client)), repr(LiveResolver(client)), repr(server),
             repr(server.request_log), caplog.text, *map(repr, replies), *map(str, replies)]
    captured = capsys.readouterr()
    seen += [captured.out, captured.err]
    assert "****5150" in repr(client)
    assert not [text for text in seen if key in text]


def test_retry_policy_is_urllib3s_retry_with_our_status_rules():
    from freshsales_mapper.sending import retry

    upsert = retry.policy(3, 0.5, idempotent=True)
    create = retry.policy(3, 0.5, idempotent=False)
    assert retry.status_is_retried(upsert, "POST", 503) and not retry.status_is_retried(create, "POST", 503)
    assert retry.status_is_retried(create, "POST", 429) and retry.status_is_retried(upsert, "POST", 500)
    assert not retry.status_is_retried(create, "POST", 500)
    waits, current = [], upsert
    while (current := retry.next_attempt(current, "POST", "/x")) is not None:
        waits.append(current.get_backoff_time())
    assert waits == [0, 1.0, 2.0]  # three retries: the first at once, then factor × 2^(n-1)
    assert retry.retry_after_seconds(upsert, "99999") == 99999  # reported as asked, not capped
    assert retry.retry_after_seconds(upsert, "soon") is None

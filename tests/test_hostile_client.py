"""The client against servers that misbehave on purpose (all on 127.0.0.1, each bounded in time):
resets mid-body, trickles, creates then answers 500, echoes the key, redirects elsewhere, never answers."""

from __future__ import annotations

import json
import time
import zlib

import pytest
import requests

from freshsales_mapper.sending import DomainError, FreshsalesClient
from freshsales_mapper.sending.masking import KeyMasker
from tests.hostile import (
    answer,
    echo_key,
    hostile_server,
    never_answer,
    redirect_to,
    reset_mid_body,
    response_head,
    trickle,
)
from tests.test_client import activity_create, contact_upsert, make_client, plan_request

OK_CONTACT = {"contact": {"id": 7, "display_name": "Ada"}}


def reset_then(behaviour_after, resets: int = 1):
    def behaviour(conn, request, number, server):
        if number < resets:
            reset_mid_body(conn, request, number, server)
        else:
            behaviour_after(conn, request, number, server)
    return behaviour


def ok(conn, _request, _number, _server):
    answer(conn, 200, OK_CONTACT)


# ---- item 1: a connection reset while the body arrives -------------------------------------------

@pytest.mark.parametrize("request_", [contact_upsert("r@example.com"), plan_request("GET", "/selector/owners")])
def test_a_reset_mid_body_is_retried_for_upserts_and_reads(request_):
    with hostile_server(reset_then(ok)) as server:
        reply = make_client(server.base_url, max_retries=2).execute(request_)
    assert (reply.status, reply.outcome, reply.attempts) == (200, "delivered", 2)
    assert len(server.seen) == 2


def test_a_reset_mid_body_on_every_attempt_ends_unknown_but_resendable_for_an_upsert():
    with hostile_server(reset_mid_body) as server:
        reply = make_client(server.base_url, max_retries=2).execute(contact_upsert("r@example.com"))
    assert (reply.status, reply.outcome, reply.retryable, reply.network_error) == (None, "unknown", True, "dropped")
    assert reply.attempts == 3 == len(server.seen) and "repeating it is safe" in reply.message


def test_a_reset_mid_body_on_a_create_is_unknown_and_never_resent():
    with hostile_server(reset_then(ok)) as server:
        reply = make_client(server.base_url, max_retries=3).execute(activity_create(1))
    assert (reply.outcome, reply.retryable, reply.attempts, reply.network_error) == ("unknown", False, 1, "dropped")
    assert len(server.seen) == 1 and "duplicate" in reply.message


# ---- item 3: 500 after the create ------------------------------------------------------------------

def test_a_500_after_the_server_created_the_activity_is_unknown_not_failed():
    created = []

    def create_then_fail(conn, request, _number, _server):
        created.append(request.json())
        answer(conn, 500, {"errors": {"code": 500, "message": ["Internal server error"]}})

    with hostile_server(create_then_fail) as server:
        reply = make_client(server.base_url, max_retries=3).execute(activity_create(1))
    assert (reply.status, reply.outcome, reply.retryable, reply.attempts) == (500, "unknown", False, 1)
    assert len(created) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_any_5xx_on_a_create_is_unknown(status):
    with hostile_server(lambda conn, *_: answer(conn, status, b"")) as server:
        reply = make_client(server.base_url, max_retries=2).execute(activity_create(1))
    assert (reply.outcome, reply.attempts) == ("unknown", 1)


# ---- item 9: deadlines against trickling and silent servers ----------------------------------------

def test_a_trickling_body_is_cut_off_at_the_request_deadline():
    with hostile_server(trickle(0.2)) as server:
        started = time.monotonic()
        reply = make_client(server.base_url, read_timeout=1, request_deadline=1.0, max_retries=3).execute(
            contact_upsert("t@example.com"))
        took = time.monotonic() - started
    assert took < 2.0, took  # the read timeout alone never fires: a byte arrives every 0.2 s
    assert (reply.outcome, reply.network_error) == ("unknown", "deadline")
    assert "request deadline of 1 s" in reply.message


def test_a_server_that_never_answers_costs_at_most_the_deadline_across_retries():
    with hostile_server(never_answer) as server:
        started = time.monotonic()
        reply = make_client(server.base_url, read_timeout=0.3, request_deadline=0.8, max_retries=10).execute(
            contact_upsert("n@example.com"))
        took = time.monotonic() - started
    assert took < 1.5, took
    assert reply.outcome == "unknown" and reply.network_error in ("read_timeout", "deadline")
    assert 2 <= reply.attempts <= 3


def test_a_long_retry_after_is_not_waited_for():
    with hostile_server(lambda conn, *_: answer(conn, 429, {}, "Retry-After: 99999\r\n")) as server:
        started = time.monotonic()
        reply = make_client(server.base_url, max_retries=5, max_retry_wait=30).execute(contact_upsert("w@x.com"))
    assert time.monotonic() - started < 1
    assert (reply.status, reply.outcome, reply.retryable, reply.wait_requested) == (429, "failed", True, 99999)
    assert "Freshsales asked to wait 99999 s (until " in reply.message and "rerun then" in reply.message
    assert len(server.seen) == 1


def test_a_short_retry_after_is_announced_and_waited_for():
    def once_429(conn, request, number, server):
        if number == 0:
            answer(conn, 429, {}, "Retry-After: 1\r\n")
        else:
            ok(conn, request, number, server)

    notes: list[str] = []
    with hostile_server(once_429) as server:
        started = time.monotonic()
        reply = make_client(server.base_url, on_progress=notes.append).execute(contact_upsert("w@x.com"))
    assert reply.outcome == "delivered" and reply.attempts == 2
    assert time.monotonic() - started >= 1
    assert any("Freshsales asked to wait 1 s" in note for note in notes), notes


# ---- item 7: the key echoed back in any spelling ---------------------------------------------------

def unicode_escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


@pytest.mark.parametrize("key", ["plain-secret-key-4242", 'quote"and\\slash-key-99', "short\\k\"y"])
@pytest.mark.parametrize("spelling", ["json", "unicode", "raw-text"])
def test_an_echoed_key_is_masked_however_it_is_spelled(key, spelling):
    def body(token: str) -> bytes:
        if spelling == "json":
            return json.dumps({"errors": {"code": 400, "message": [f"bad token {token}"]}, token: token}).encode()
        if spelling == "unicode":
            return ('{"errors": {"code": 400, "message": ["bad token ' + unicode_escaped(token) + '"]}}').encode()
        return f"bad token {token}".encode()

    with hostile_server(echo_key(body)) as server:
        reply = make_client(server.base_url, key=key, max_retries=0).execute(plan_request("GET", "/lists"))
    shown = repr(reply) + json.dumps(reply.body) + str(reply.body) + reply.message
    assert reply.status == 400
    assert key not in shown and json.dumps(key)[1:-1] not in shown and unicode_escaped(key) not in shown
    assert "****" in reply.message


@pytest.mark.parametrize("key", ["k", "0", "tok"])
def test_a_short_key_is_masked_only_where_it_stands_alone(key):
    body = json.dumps({"message": f"token {key} rejected", "id": 0, "word": "token", "value": key})
    with hostile_server(lambda conn, *_: answer(conn, 200, body.encode())) as server:
        reply = make_client(server.base_url, key=key).execute(plan_request("GET", "/lists"))
    assert reply.body == {"message": "token **** rejected", "id": 0, "word": "token", "value": "****"}


def test_the_masker_leaves_clean_values_untouched_and_never_rewrites_numbers():
    masker = KeyMasker("0")
    value = {"id": 0, "ids": [0, 10], "name": "a0b"}
    assert masker.value(value) is value
    assert masker.text("a0b 10 0.") == "a0b 10 ****."
    assert KeyMasker("abc%def-long-key").text("k=abc%25def-long-key") == "k=****-key"


# ---- redirects, netrc, proxies, the session --------------------------------------------------------

def test_a_redirect_elsewhere_is_not_followed():
    with hostile_server(ok) as elsewhere, hostile_server(redirect_to(elsewhere.base_url + "/steal")) as server:
        reply = make_client(server.base_url).execute(contact_upsert("x@example.com"))
    assert (reply.status, reply.outcome) == (302, "failed")
    assert "redirect to 127.0.0.1" in reply.message and "not followed" in reply.message
    assert elsewhere.seen == [] and len(server.seen) == 1


def test_netrc_never_replaces_the_token(tmp_path, monkeypatch):
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login intruder password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    with hostile_server(ok) as server:
        session = requests.Session()  # trust_env on, as by default: netrc would apply without an auth
        reply = make_client(server.base_url, key="the-real-api-key-1234", session=session).execute(
            plan_request("GET", "/lists"))
        session.close()
    assert reply.ok
    assert server.seen[0].headers["authorization"] == "Token token=the-real-api-key-1234"


def test_proxy_settings_from_the_environment_still_apply(monkeypatch):
    def proxy(conn, request, _number, _server):
        answer(conn, 403, b"")  # a proxy refusing the CONNECT: nothing leaves the machine

    with hostile_server(proxy) as server:
        monkeypatch.setenv("HTTPS_PROXY", server.base_url)
        for name in ("NO_PROXY", "no_proxy", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        reply = FreshsalesClient("acme", "proxy-test-key-123456", max_retries=0, rate_limit_per_minute=None,
                                 rate_limit_per_hour=None).execute(plan_request("GET", "/lists"))
    assert [s.method + " " + s.path for s in server.seen] == ["CONNECT acme.myfreshworks.com:443"]
    assert (reply.outcome, reply.network_error) == ("failed", "proxy") and "nothing was sent" in reply.message


def test_a_given_session_and_its_mounted_adapters_are_used():
    sent = []

    class Recording(requests.adapters.HTTPAdapter):
        def send(self, request, **kwargs):
            sent.append((request.method, request.url, kwargs["stream"]))
            return super().send(request, **kwargs)

    with hostile_server(ok) as server, requests.Session() as session:
        session.mount("http://", Recording())
        client = make_client(server.base_url, session=session)
        reply = client.execute(contact_upsert("s@example.com"))
        client.close()
        assert session.adapters["http://"].__class__ is Recording  # the caller's session is not closed by us
    assert reply.ok and sent == [("POST", server.base_url + "/crm/sales/api/contacts/upsert", True)]


# ---- item 6: strict base URLs ------------------------------------------------------------------------

@pytest.mark.parametrize("base_url", ["http://localhost:8765.evil.com", "http://127.0.0.1:80:evil.com",
                                      "http://127.0.0.1:99999", "http://127.0.0.1:", "http://127.1:80",
                                      "http://localhost.evil.com:80", "http://[::1]x:80", "http://::1:80"])
def test_malformed_base_urls_are_refused_up_front(base_url):
    with pytest.raises(DomainError):
        make_client(base_url)


# ---- bodies read piece by piece still arrive whole ----------------------------------------------

def test_chunked_and_gzip_bodies_are_read_whole():
    import gzip

    body = json.dumps({"contact": {"id": 5, "padding": "y" * 300}}).encode()

    def chunked(conn, *_):
        pieces = b"".join(b"%x\r\n" % len(body[i:i + 10]) + body[i:i + 10] + b"\r\n" for i in range(0, len(body), 10))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n" + pieces + b"0\r\n\r\n")

    def gzipped(conn, *_):
        packed = gzip.compress(body)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(packed) + packed)

    for behaviour in (chunked, gzipped):
        with hostile_server(behaviour) as server:
            reply = make_client(server.base_url).execute(plan_request("GET", "/lists"))
        assert (reply.status, reply.body) == (200, json.loads(body)), behaviour.__name__


# ---- answers with no size limit: a huge body, a gzip bomb (issue 19 item 6; scaled down) -------------------

def gzip_bomb(inflated: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    block = b"\0" * (1 << 20)
    data = b"".join(compressor.compress(block) for _ in range(inflated >> 20))
    return data + compressor.flush()


@pytest.mark.parametrize("plan, outcome", [(lambda: contact_upsert("bomb@example.com"), "failed"),
                                           (lambda: activity_create(5), "unknown")])
def test_a_gzip_bomb_is_cut_off_at_the_reply_cap(plan, outcome):
    bomb = gzip_bomb(64 << 20)  # 64 MB inflated from about 64 KB; the client's cap here is 1 MB
    assert len(bomb) < 200_000

    def send_bomb(conn, _request, _number, _server):
        conn.sendall(response_head(200, len(bomb), "Content-Encoding: gzip\r\n") + bomb)

    with hostile_server(send_bomb) as server:
        reply = make_client(server.base_url, max_reply_bytes=1 << 20).execute(plan())
    assert (reply.network_error, reply.outcome, reply.ok, reply.retryable) == ("too_large", outcome, False, False)
    assert "reply too large" in reply.message and len(server.seen) == 1
    if outcome == "unknown":
        assert "may have been created" in reply.message


def test_a_plain_answer_over_the_cap_is_not_read_whole():
    big = json.dumps({"contact": {"id": 1, "notes": "x" * (3 << 20)}}).encode()

    def send_big(conn, _request, _number, _server):
        conn.sendall(response_head(200, len(big)) + big)

    with hostile_server(send_big) as server:
        reply = make_client(server.base_url, max_reply_bytes=1 << 20).execute(contact_upsert("big@example.com"))
    assert reply.network_error == "too_large" and reply.body is None and reply.status == 200

"""Item 13 of issue 10: the emulator under hostile clients, over real loopback sockets.

Bursts of connections are queued, not reset; slow or idle clients are dropped after a deadline;
an oversized body is refused (413) without being held in memory; a body the emulator cannot use is
a 400 that says why, never a 500 "emulator bug". Timeouts are scaled down so each test takes about
a second.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest
import requests

from tests.conftest import EMULATOR_KEY

API = "/crm/sales/api"
AUTH = f"Token token={EMULATOR_KEY}"
CONCURRENT_CLIENTS = 100  # benchmarks/bench_emulator.py measures 100 and 500


def post(server, path: str, data: bytes) -> requests.Response:
    return requests.post(server.base_url + API + path, data=data, timeout=10,
                         headers={"Authorization": AUTH, "Content-Type": "application/json"})


def connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(10)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def request_head(path: str, length: int | None = None) -> bytes:
    lines = [f"POST {API}{path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: {AUTH}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def emulator_errors(caplog):
    """What the emulator logged as its own bugs (ERROR): these tests expect none."""
    with caplog.at_level(logging.ERROR, logger="freshsales_mapper.emulator"):
        yield caplog


# ---- a burst of clients --------------------------------------------------------------------------

def test_a_burst_of_concurrent_clients_is_queued_not_reset(emulator):
    server = emulator()
    assert server._httpd.request_queue_size >= 1024
    barrier = threading.Barrier(CONCURRENT_CLIENTS)
    answers: list[object] = []

    def client() -> None:
        barrier.wait()
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
                sock.settimeout(20)
                sock.sendall(f"GET {API}/lists HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
                             "Connection: close\r\n\r\n".encode())
                answers.append(read_until_closed(sock).split(b"\r\n", 1)[0])
        except OSError as exc:
            answers.append(exc)

    threads = [threading.Thread(target=client) for _ in range(CONCURRENT_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [b"HTTP/1.1 200 OK"] * CONCURRENT_CLIENTS


# ---- slow and idle clients -----------------------------------------------------------------------

def test_an_idle_connection_is_closed_after_the_header_timeout(emulator):
    server = emulator(header_timeout=0.5)
    with connect(server) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        assert 0.4 < time.monotonic() - started < 3


def test_a_client_trickling_its_headers_is_dropped_at_the_deadline(emulator):
    server = emulator(header_timeout=0.6)
    with connect(server) as sock:
        started = time.monotonic()
        dropped = False
        for byte in request_head("/contacts/upsert", 2):  # one byte every 50 ms: each read is quick
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                dropped = True
                break
            time.sleep(0.05)
        assert dropped or time.monotonic() - started > 0.6
        sock.settimeout(5)
        try:
            leftover = read_until_closed(sock)
        except ConnectionResetError:
            leftover = b""
        assert b"200 OK" not in leftover  # never served
        assert time.monotonic() - started < 6


def test_a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes(emulator):
    server = emulator(body_timeout=0.5)
    with connect(server) as sock:
        sock.sendall(request_head("/contacts/upsert", 1000) + b'{"unique')
        started = time.monotonic()
        answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408") and b"Connection: close" in answer
        assert time.monotonic() - started < 3
    assert server.contacts() == []


def test_a_keep_alive_connection_serves_several_requests_within_its_deadlines(emulator):
    server = emulator(header_timeout=2)
    with requests.Session() as session:
        for _ in range(3):
            reply = session.get(server.base_url + API + "/lists", headers={"Authorization": AUTH}, timeout=5)
            assert reply.status_code == 200


# ---- oversized and unusable bodies ---------------------------------------------------------------

def test_an_oversized_body_is_413_and_the_emulator_keeps_answering(emulator):
    server = emulator(max_body_bytes=10_000)
    big = json.dumps({"unique_identifier": {"emails": "a@example.com"},
                      "contact": {"first_name": "x" * 2_000_000}}).encode()
    reply = post(server, "/contacts/upsert", big)
    assert reply.status_code == 413
    assert "larger than 10000 bytes" in reply.json()["errors"]["message"][0]
    assert server.contacts() == []
    assert requests.get(server.base_url + API + "/lists", headers={"Authorization": AUTH}, timeout=5).ok


def test_a_body_within_the_limit_is_served(emulator):
    server = emulator(max_body_bytes=10_000)
    body = json.dumps({"unique_identifier": {"emails": "a@example.com"}, "contact": {"first_name": "Ada"}})
    assert post(server, "/contacts/upsert", body.encode()).status_code == 200


def activity(target_id: str) -> str:
    return ('{"sales_activity": {"title": "Call", "start_date": "2024-05-04T17:00:00+05:30", "end_date": '
            '"2024-05-04T17:30:00+05:30", "sales_activity_type_id": 70000646201, "targetable_type": "Contact", '
            '"targetable_id": ' + target_id + "}}")


@pytest.mark.parametrize(("path", "body", "words"), [
    pytest.param("/contacts/upsert", '{"unique_identifier": {"emails": "a@example.com"}, "contact": '
                 '{"sales_accounts": [{"id": ' + "9" * 5000 + ', "is_primary": true}]}}', "too many digits",
                 id="5000-digit number"),
    pytest.param("/sales_activities", activity('"' + "9" * 5000 + '"'), "out of range", id="5000-digit id text"),
    pytest.param("/sales_activities", activity("99999999999999999999999"), "out of range", id="id past 64 bits"),
    pytest.param("/sales_activities", activity("-5"), "out of range", id="negative id"),
    pytest.param("/contacts/upsert", "[" * 5000 + "]" * 5000, "nests deeper", id="5000 levels"),
    pytest.param("/contacts/upsert", '{"a": ' * 150 + "1" + "}" * 150, "nests deeper", id="150 levels"),
    pytest.param("/contacts/upsert", '{"unique_identifier": ', "not valid JSON", id="cut short"),
    pytest.param("/contacts/upsert", '{"x": "\xff"}', "not valid JSON", id="not UTF-8"),
])
def test_bodies_the_emulator_cannot_use_are_400_saying_why(emulator, emulator_errors, path, body, words):
    server = emulator()
    data = body.encode("latin-1") if "\xff" in body else body.encode()
    reply = post(server, path, data)
    assert reply.status_code == 400, reply.text
    assert words in json.dumps(reply.json())
    assert not [r for r in emulator_errors.records if "emulator bug" in r.getMessage()]


def test_a_read_of_an_id_with_thousands_of_digits_is_404(emulator, emulator_errors):
    server = emulator()
    for kind in ("contacts", "sales_accounts", "sales_activities"):
        reply = requests.get(f"{server.base_url}{API}/{kind}/{'9' * 5000}", headers={"Authorization": AUTH},
                             timeout=5)
        assert reply.status_code == 404
    assert not emulator_errors.records


# ---- request framing (RFC 9112): nothing smuggled behind an ambiguous body ----------------------------

def smuggling_request(*framing: str) -> bytes:
    """An unauthenticated request whose body, read with the wrong length, is an authenticated upsert."""
    body = json.dumps({"contact": {"email": "smuggled@example.com"}, "unique_identifier": {"emails": "smuggled@example.com"}})
    inner = (f"POST {API}/contacts/upsert HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH}\r\n"
             f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    outer = "\r\n".join([f"POST {API}/contacts/upsert HTTP/1.1", "Host: 127.0.0.1", *framing]) + "\r\n\r\n"
    return (outer + "{}\r\n\r\n" + inner).encode()


@pytest.mark.parametrize("framing", [
    ("Content-Length: 7", "Content-Length: 206"),
    ("Content-Length: 7", "Transfer-Encoding: chunked"),
    ("Transfer-Encoding: identity",),
    ("Content-Length: +7",),
    ("Content-Length: 0_7",),
    ("Content-Length: 7, 206",),
    ("Content-Length: -7",),
])
def test_an_ambiguously_framed_request_is_400_and_nothing_behind_it_runs(emulator, framing):
    server = emulator()
    with connect(server) as sock:
        sock.sendall(smuggling_request(*framing))
        received = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.0 400") or received.startswith(b"HTTP/1.1 400"), received[:80]
    assert received.count(b"HTTP/1.") == 1  # one answer, then the connection closed: nothing smuggled ran
    assert server.contacts() == []

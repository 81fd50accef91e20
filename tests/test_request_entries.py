"""What an outcome says about each request it made: the time taken, the headers as sent (key masked) and
Freshsales' answer (cut when long), over real loopback HTTP to the emulator and to a hostile server."""

from __future__ import annotations

import json
import time
import types

from freshsales_mapper.emulator.faults import Faults
from freshsales_mapper.engine.secret import mask_key
from freshsales_mapper.sending import client as client_module
from freshsales_mapper.sending import retry
from freshsales_mapper.sending.recorder import ANSWER_CHARS, answer_fields
from tests.hostile import answer, hostile_server
from tests.test_sender import as_items, destination, identify, make_sender, sales_activity

KEY = "known-key-for-entries-5e1d"


def test_each_request_says_its_time_headers_and_answer_and_never_the_key(emulator):
    server = emulator(api_key=KEY)
    items = as_items(sales_activity("ada@example.com"), identify("bo@example.com", firstName="Bo"),
                     dest=destination(KEY))
    outcomes = make_sender(server).send(items)
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    entries = [entry for o in outcomes for entry in o.requests]
    assert len(entries) == len(server.request_log) >= 3  # the activity's contact lookup, the activity, the upsert
    for entry in entries:
        assert entry["elapsed_ms"] >= 0 and entry["attempts"] == 1
        assert entry["headers"]["Authorization"] == "Token token=" + mask_key(KEY)
        assert entry["headers"]["Content-Type"] == "application/json"
        assert entry["url"].startswith(server.base_url + "/crm/sales/api/")
        assert isinstance(entry["answer"], dict) and "answer_note" not in entry
    activity = next(e for e in entries if e["url"].endswith("/sales_activities"))
    assert activity["answer"]["sales_activity"]["id"] == server.activities()[0]["id"] == activity["record_id"]
    assert outcomes[1].requests[-1]["answer"] == outcomes[1].response  # the last answer is the outcome's response
    assert KEY not in json.dumps([o.to_json() for o in outcomes])
    assert KEY[-4:] in json.dumps(entries)  # the mask keeps the last 4 characters, so two keys can be told apart


def test_a_dry_run_shows_the_headers_it_would_send_masked(emulator):
    server = emulator(api_key=KEY)
    outcome = make_sender(server, dry_run=True).send(as_items(identify("a@example.com"),
                                                                           dest=destination(KEY)))[0]
    entry = outcome.requests[0]
    assert (entry["outcome"], entry["elapsed_ms"], entry["answer"]) == ("planned", None, None)
    assert entry["headers"]["Authorization"] == "Token token=" + mask_key(KEY)
    assert KEY not in json.dumps(outcome.to_json()) and not server.request_log


def test_the_time_taken_includes_a_retry_after_wait(emulator, monkeypatch):
    """The wait Freshsales asked for is part of the request's time: a clock moved by each retry wait shows it."""
    waited: list[float] = []
    monkeypatch.setattr(retry, "sleep", waited.append)  # no real wait; the fake clock below moves instead
    monkeypatch.setattr(client_module, "time",
                        types.SimpleNamespace(perf_counter=lambda: time.perf_counter() + sum(waited)))
    server = emulator(api_key=KEY, faults=Faults(throttle_rate=1.0, retry_after=7))
    outcome = make_sender(server, max_retries=1).send(as_items(identify("a@example.com"),
                                                                            dest=destination(KEY)))[0]
    entry = outcome.requests[0]
    assert waited == [7] and entry["status"] == 429 and entry["attempts"] == 2
    assert entry["elapsed_ms"] >= 7000


def test_a_huge_answer_is_cut_with_a_note():
    body = {"contact": {"id": 1, "padding": "x" * (3 * ANSWER_CHARS)}}
    with hostile_server(lambda conn, _request, _n, _server: answer(conn, 200, body)) as server:
        outcome = make_sender(server.base_url).send(as_items(identify("a@example.com"),
                                                                          dest=destination(KEY)))[0]
    entry = outcome.requests[0]
    assert entry["status"] == 200 and entry["record_id"] == 1
    assert entry["answer"] == json.dumps(body)[:ANSWER_CHARS]
    assert entry["answer_note"] == (f"cut: the first {ANSWER_CHARS:,} of {len(json.dumps(body)):,} characters "
                                    "of Freshsales' answer")


def test_short_and_scalar_answers_are_kept_as_they_are():
    assert answer_fields({"a": 1}) == {"answer": {"a": 1}}
    assert answer_fields("not json") == {"answer": "not json"}
    assert answer_fields(None) == {"answer": None}
    cut = answer_fields("y" * (ANSWER_CHARS + 1))
    assert len(cut["answer"]) == ANSWER_CHARS and "answer_note" in cut

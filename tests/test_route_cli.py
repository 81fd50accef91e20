"""One answer per item on the command line, whatever the item holds, and no recursion limit in the output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from freshsales_mapper.engine.jsvalue import allow_deep_values

ROOT = Path(__file__).resolve().parents[1]
IDENTIFY = {"type": "identify", "userId": "u1", "traits": {"email": "a@b.co"}}
OWN = {"Config": {"apiKey": "own-key-1234", "domain": "own.myfreshworks.com"}}


def transform(text: str, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "freshsales_mapper", "transform", "--reveal-key", *args]
    return subprocess.run(command, input=text, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_every_processor_item_is_answered_and_settings_apply_only_to_bare_messages():
    body = [
        {"message": IDENTIFY, "destination": OWN, "metadata": {"n": 0}},
        {"message": IDENTIFY, "metadata": {"n": 1}},  # no destination: still a processor item
        {"destination": OWN, "metadata": {"n": 2}},  # no message
        {"message": None, "destination": None, "metadata": {"n": 3}},
        {"message": IDENTIFY, "destination": "not an object", "metadata": {"n": 4}},
        IDENTIFY,  # a bare message: the command line's settings apply
    ]
    done = transform(json.dumps(body), "--domain", "cli.myfreshworks.com", "--api-key", "cli-key-1234")
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    assert [i.get("metadata") for i in items[:5]] == [{"n": n} for n in range(5)]
    assert items[0]["output"]["endpoint"].startswith("https://own.myfreshworks.com/")
    assert (items[1]["statusCode"], items[1]["error"]) == (500, "Cannot read properties of undefined (reading 'Config')")
    assert (items[2]["statusCode"], items[2]["error"]) == (400, "Message Type is not present. Aborting message.")
    assert items[3]["statusCode"] == 500
    # {..."not an object", Config: undefined}: the destination code reads Config.apiKey of undefined
    assert (items[4]["statusCode"], items[4]["error"]) == (500, "Cannot read properties of undefined (reading 'apiKey')")
    assert items[5]["output"]["endpoint"].startswith("https://cli.myfreshworks.com/")
    assert items[5]["output"]["headers"]["Authorization"] == "Token token=cli-key-1234"


def test_an_unreadable_ndjson_line_gets_its_own_error_item_in_place():
    lines = [json.dumps({"message": IDENTIFY, "destination": OWN, "metadata": {"n": 1}}),
             '{"message": {"type": "identify",',  # broken
             json.dumps({"message": IDENTIFY, "destination": OWN, "metadata": {"n": 3}})]
    done = transform("\n".join(lines))
    assert done.returncode == 0, done.stderr
    first, broken, last = json.loads(done.stdout)
    assert first["metadata"] == {"n": 1} and last["metadata"] == {"n": 3} and "output" in last
    assert broken["statusCode"] == 400 and broken["error"].startswith("line 2, column")
    assert "line 2, column" in done.stderr


def test_exit_2_only_when_nothing_can_be_read():
    done = transform('{"message": \n{"type": \n')
    assert done.returncode == 2 and "line" in done.stderr and done.stdout == ""


def test_bare_messages_without_settings_beside_processor_items_get_error_items():
    body = [{"message": IDENTIFY, "destination": OWN}, IDENTIFY]
    done = transform(json.dumps(body))
    assert done.returncode == 0, done.stderr
    answered, bare = json.loads(done.stdout)
    assert "output" in answered and bare["statusCode"] == 400 and "--domain" in bare["error"]


@pytest.mark.parametrize("view", [["--compact"], ["--pretty"], ["--view", "explain", "--json"],
                                  ["--view", "requests"]])
def test_a_value_nested_ten_thousand_deep_goes_through_every_output(view):
    deep_text = '{"a":' * 10_000 + '"leaf"' + "}" * 10_000
    text = ('{"message": {"type": "identify", "traits": {"email": "a@b.co", "jobTitle": ' + deep_text + '}}, '
            '"destination": ' + json.dumps(OWN) + "}")
    done = transform(text, *view)
    assert done.returncode == 0, done.stderr[-500:]
    assert "Traceback" not in done.stderr and done.stdout.count('"leaf"') >= 1
    allow_deep_values()  # this test process reads the output back with the stdlib parser
    assert json.loads(done.stdout)


def test_send_answers_every_item_and_sends_the_good_ones(emulator, tmp_path):
    from conftest import EMULATOR_KEY

    server = emulator()
    good = {"message": IDENTIFY, "destination": {"Config": {"apiKey": EMULATOR_KEY, "domain": "acme.myfreshworks.com"}}}
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"message": IDENTIFY}, {"message": None, "destination": None}, good]), "utf-8")
    done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "send", "--base-url", server.base_url,
                           str(events)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    outcomes = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["index"] for o in outcomes] == [0, 1, 2], done.stderr
    for rejected in outcomes[:2]:  # no destination to send with: an outcome with the reason, not a crash
        assert rejected["status"] in ("skipped", "failed") and "destination" in rejected["reason"], rejected
    assert outcomes[2]["status"] == "delivered"
    assert "Traceback" not in done.stderr


def test_send_answers_an_unreadable_line_with_an_outcome_and_sends_the_rest(emulator, tmp_path):
    from conftest import EMULATOR_KEY

    server = emulator()
    good = {"message": IDENTIFY, "destination": {"Config": {"apiKey": EMULATOR_KEY, "domain": "acme.myfreshworks.com"}}}
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps(good) + "\n{broken\n" + json.dumps(good) + "\n", "utf-8")
    done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "send", "--base-url", server.base_url,
                           str(events)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    outcomes = [json.loads(line) for line in done.stdout.splitlines()]
    unread = [o for o in outcomes if o["index"] is None]
    assert len(unread) == 1 and unread[0]["status"] == "failed" and "line 2" in unread[0]["location"], outcomes
    assert "could not be read" in unread[0]["reason"]
    assert sorted(o["status"] for o in outcomes if o["index"] is not None) == ["delivered", "delivered"]
    assert done.returncode == 1 and "3 event(s)" in done.stderr and "Traceback" not in done.stderr


def test_explain_tells_what_the_route_did_with_the_picked_key_masked():
    message = {**IDENTIFY, "userId": "user-secret-4321"}
    body = {"message": message, "destination": {"Config": {"apiKey": '{{ message.userId || "d" }}',
                                                           "domain": "acme.myfreshworks.com"}}}
    for view in (["--table"], ["--json"]):
        done = transform(json.dumps(body), "--view", "explain", *view)
        assert done.returncode == 0, done.stderr
        assert "RudderStack then removed message.userId" in done.stdout and "****4321" in done.stdout
    done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", "--view", "explain", "--table"],
                          input=json.dumps(body), capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "what RudderStack's route did first" in done.stdout and "user-secret-4321" not in done.stdout


def test_one_event_with_a_bad_template_filled_domain_fails_alone_and_the_others_are_sent(emulator, tmp_path):
    from tests.test_send_e2e import outcome_lines, run_send, write_events

    server = emulator(api_key="cli-test-key-123456")
    events = [{"type": "identify", "traits": {"email": f"t{i}@example.com"},
               "context": {"fsDomain": "acme.myfreshworks.com"}} for i in range(4)]
    events[2]["context"]["fsDomain"] = "acme.myfreshwork.com"  # a typo in one event's own domain
    path = write_events(tmp_path / "e.ndjson", *events)
    done = run_send("--domain", '{{ event.context.fsDomain || "acme.myfreshworks.com" }}', "--base-url",
                    server.base_url, path)
    outcomes = outcome_lines(done.stdout)
    assert done.returncode == 1, done.stderr
    assert [o["status"] for o in outcomes] == ["delivered", "delivered", "failed", "delivered"]
    assert "acme.myfreshwork.com" in outcomes[2]["reason"] and "Traceback" not in done.stderr
    assert len(server.contacts()) == 3

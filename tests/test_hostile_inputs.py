"""Item 10 of issue 10: inputs that used to crash with a traceback.

A 5,000-digit integer (past Python's int-string limit), a lone surrogate, bytes that are not UTF-8
and a CSV header thousands of dotted parts deep. Each bad entry gets its own error saying what and
where; every other entry is still read, transformed and sent. Sizes are small and configurable
(``GOOD_LINES``); the point is the shape of the input, not its size.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.inputs import decode_utf8, parse_csv_text, parse_events_text
from freshsales_mapper.inputs.csv_text import MAX_COLUMN_PARTS
from freshsales_mapper.inputs.model import MAX_DEPTH

ROOT = Path(__file__).resolve().parents[1]
GOOD_LINES = 1000
HUGE = "9" * 5000  # past sys.get_int_max_str_digits() (4,300)
DESTINATION = {"Config": {"apiKey": "k", "domain": "acme.myfreshworks.com"}}


def identify(i: int, **traits) -> dict:
    return {"type": "identify", "userId": f"u{i}", "traits": {"email": f"u{i}@example.com", **traits}}


def good_lines(count: int = GOOD_LINES) -> list[str]:
    return [json.dumps(identify(i)) for i in range(count)]


def transform_cli(data: bytes, *args: str, stdin: bool = False, tmp_path: Path | None = None):
    command = [sys.executable, "-m", "freshsales_mapper", "transform", "--domain", "acme.myfreshworks.com",
               "--api-key", "k", "--view", "requests", *args]
    if not stdin:
        path = tmp_path / "events.ndjson"
        path.write_bytes(data)
        command.append(str(path))
    return subprocess.run(command, input=data if stdin else None, capture_output=True, cwd=ROOT, timeout=120)


# ---- a 5,000-digit integer -----------------------------------------------------------------------

def test_a_huge_integer_is_what_javascript_makes_of_it_infinity_in_a_json_document():
    parsed = parse_events_text(json.dumps(identify(1))[:-2] + f', "score": {HUGE}, "debt": -{HUGE}}}}}')
    assert not parsed.errors
    traits = parsed.items[0].message["traits"]
    assert traits["score"] == math.inf and traits["debt"] == -math.inf  # JSON.parse: ±Infinity


def test_a_huge_integer_on_one_ndjson_line_loses_none_of_the_other_lines():
    lines = good_lines()
    lines.insert(500, json.dumps(identify(500))[:-2] + f', "score": {HUGE}}}}}')
    parsed = parse_events_text("\n".join(lines))
    assert parsed.format == "ndjson" and not parsed.errors
    assert len(parsed.items) == GOOD_LINES + 1
    assert parsed.items[500].message["traits"]["score"] == math.inf


def test_a_huge_integer_maps_like_infinity_and_is_sent_as_null_as_json_stringify_does():
    parsed = parse_events_text(json.dumps(identify(1))[:-2] + f', "first_name": {HUGE}}}}}')
    result = transform_event(parsed.items[0].message, DESTINATION, OfflineResolver(), trace=True)
    assert result.error is None
    # The same value the engine gives a literal JavaScript turns into Infinity: 1e999.
    infinite = parse_events_text(json.dumps(identify(1))[:-2] + ', "first_name": 1e999}}')
    expected = transform_event(infinite.items[0].message, DESTINATION, OfflineResolver(), trace=True)
    assert result.final_requests[0].request.body == expected.final_requests[0].request.body


def test_a_huge_integer_in_a_csv_cell_is_read_like_the_same_json():
    parsed = parse_csv_text(f"type,userId,traits.email,traits.score\nidentify,u1,a@example.com,{HUGE}\n"
                            "identify,u2,b@example.com,7\n")
    assert not parsed.errors
    assert [i.message["traits"]["score"] for i in parsed.items] == [math.inf, 7]


def test_the_cli_transforms_a_file_with_a_huge_integer(tmp_path):
    lines = good_lines(20)
    lines[3] = json.dumps(identify(3))[:-2] + f', "score": {HUGE}}}}}'
    done = transform_cli("\n".join(lines).encode(), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert len(json.loads(done.stdout)) == 20 and b"Traceback" not in done.stderr


# ---- a lone surrogate ----------------------------------------------------------------------------

LONE = json.dumps(identify(1, first_name="\ud800"))  # JSON text: "\ud800", as JSON.stringify writes it


def test_a_lone_surrogate_is_kept_and_written_back_escaped_as_javascript_does(tmp_path):
    assert parse_events_text(LONE).items[0].message["traits"]["first_name"] == "\ud800"
    done = transform_cli(LONE.encode(), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert b'"first_name":"\\ud800"' in done.stdout.replace(b" ", b"")


def test_a_lone_surrogate_event_is_sent_and_delivered(emulator):
    from freshsales_mapper.sending.client import FreshsalesClient
    from freshsales_mapper.sending.sender import BatchSender
    from tests.conftest import EMULATOR_KEY

    server = emulator()
    items = parse_events_text(LONE + "\n" + json.dumps(identify(2))).items
    destination = {"Config": {"apiKey": EMULATOR_KEY, "domain": "acme.myfreshworks.com"}}
    for item in items:
        item.destination = destination
    client = FreshsalesClient("acme.myfreshworks.com", EMULATOR_KEY, base_url=server.base_url)
    try:
        outcomes = BatchSender(client).send(items)
    finally:
        client.close()
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    assert sorted(c["first_name"] or "" for c in server.contacts()) == ["", "\ud800"]


# ---- bytes that are not UTF-8 --------------------------------------------------------------------

def latin1_line(i: int) -> bytes:
    return json.dumps(identify(i, first_name="Jos\u00e9"), ensure_ascii=False).encode("latin-1")


def test_an_ndjson_line_that_is_not_utf8_is_its_own_error_and_the_others_are_read():
    lines = [line.encode() for line in good_lines()]
    lines.insert(10, latin1_line(10))
    parsed = parse_events_text(decode_utf8(b"\n".join(lines)))
    assert len(parsed.items) == GOOD_LINES
    assert [type(e).__name__ for e in parsed.in_order()[9:12]] == ["EventInput", "InputError", "EventInput"]
    [error] = parsed.errors
    assert (error.line, error.column) == (11, latin1_line(10).index(b"\xe9") + 1)
    assert "byte 0xE9 is not UTF-8 text" in str(error) and "line 11" in str(error)


def test_an_array_element_that_is_not_utf8_is_its_own_error_with_its_json_path():
    body = b"[\n" + b",\n".join([good_lines(1)[0].encode(), latin1_line(1), good_lines(3)[2].encode()]) + b"\n]"
    parsed = parse_events_text(decode_utf8(body))
    assert [i.message["userId"] for i in parsed.items] == ["u0", "u2"]
    assert [i.index for i in parsed.items] == [0, 1]
    assert [type(e).__name__ for e in parsed.in_order()] == ["EventInput", "InputError", "EventInput"]
    [error] = parsed.errors
    assert error.path == "$.traits.first_name" and error.line == 3 and "item [1]" in str(error)


def test_a_byte_that_breaks_the_json_syntax_is_named_as_the_cause():
    parsed = parse_events_text(decode_utf8(b'{"type": "identify", "userId": \xff}'))
    [error] = parsed.errors
    assert error.line == 1 and error.column == 32 and "byte 0xFF is not UTF-8" in error.message


def test_a_csv_row_that_is_not_utf8_is_its_own_error():
    data = "type,userId,traits.first_name\nidentify,u1,Ada\nidentify,u2,José\nidentify,u3,Bob\n".encode("latin-1")
    parsed = parse_csv_text(decode_utf8(data))
    assert [i.message["userId"] for i in parsed.items] == ["u1", "u3"]
    [error] = parsed.errors
    assert error.location == "row 3" and error.path == "$.traits.first_name" and "0xE9" in error.message


@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_the_cli_points_at_the_bad_byte_from_a_file_and_from_stdin_alike(tmp_path, stdin):
    data = b"\n".join([*(line.encode() for line in good_lines(3)), latin1_line(3), good_lines(5)[4].encode()])
    done = transform_cli(data, stdin=stdin, tmp_path=tmp_path)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode()
    answers = json.loads(done.stdout)
    assert [a.get("input") for a in answers] == ["line 1", "line 2", "line 3", None, "line 5"]  # in input order
    column = latin1_line(3).index(b"\xe9") + 1
    assert answers[3]["error"] == f"line 4, column {column}: byte 0xE9 is not UTF-8 text; save the file as UTF-8"
    assert answers[3]["statusCode"] == 400 and "udce9" not in done.stdout.decode()


# ---- a JSON array with one element nested too deeply ----------------------------------------------

def test_one_array_element_nested_too_deeply_is_its_own_error_and_the_others_are_read():
    deep = "[" * (MAX_DEPTH + 5000) + "]" * (MAX_DEPTH + 5000)
    tricky = json.dumps(identify(2, note='a "]}[{," string'))
    text = "[\n" + json.dumps(identify(0)) + ",\n" + '{"type": "track", "properties": {"d": ' + deep + "}},\n" + tricky + "\n]"
    parsed = parse_events_text(text)
    assert parsed.format == "array"
    assert [i.message["userId"] for i in parsed.items] == ["u0", "u2"]
    assert parsed.items[1].message["traits"]["note"] == 'a "]}[{," string'
    [error] = parsed.errors
    assert (error.line, error.column, error.path) == (3, 1, "$[1]") and "nested too deeply" in error.message
    assert [type(e).__name__ for e in parsed.in_order()] == ["EventInput", "InputError", "EventInput"]


def test_a_broken_array_that_is_also_too_deep_stays_one_error():
    deep = "[" * (MAX_DEPTH + 5000) + "]" * (MAX_DEPTH + 5000)
    parsed = parse_events_text("[" + json.dumps(identify(0)) + ", " + deep + " oops]")
    assert not parsed.items and len(parsed.errors) == 1


# ---- a CSV header thousands of parts deep --------------------------------------------------------

def test_a_csv_column_with_thousands_of_dotted_parts_is_a_header_error():
    name = ".".join(["a"] * 2000)
    parsed = parse_csv_text(f"type,userId,{name}\nidentify,u1,1\n")
    [error] = parsed.errors
    assert error.line == 1 and "2,000 dotted parts" in error.message and str(MAX_COLUMN_PARTS) in error.message
    assert len(error.message) < 200  # the name is shortened, not repeated 2,000 times


def test_a_csv_column_at_the_part_limit_still_nests():
    name = ".".join(["p"] * (MAX_COLUMN_PARTS - 1))
    parsed = parse_csv_text(f"type,userId,traits.{name}\nidentify,u1,1\n")
    assert not parsed.errors
    json.dumps(parsed.items[0].message)  # deep, but nothing downstream recurses too far


def test_a_csv_cell_whose_json_would_nest_too_deep_is_that_rows_error():
    deep = "[" * (MAX_DEPTH - 10) + "]" * (MAX_DEPTH - 10)  # fine alone, too deep under a 50-part name
    header = "type,userId," + ".".join(["t"] * 50)
    parsed = parse_csv_text(f'{header}\nidentify,u1,"{deep}"\nidentify,u2,3\n')
    assert [i.message["userId"] for i in parsed.items] == ["u2"]
    assert "nests deeper than" in parsed.errors[0].message and parsed.errors[0].location == "row 2"


# ---- the playground ------------------------------------------------------------------------------

@pytest.fixture
def app():
    from test_app_helpers import app_session

    yield from app_session()


def upload(at, name: str, data: bytes, kind: str = "application/json"):
    at.file_uploader(key="upload").set_value((name, data, kind))
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_playground_shows_and_downloads_a_lone_surrogate_event(app):
    from test_app_helpers import capture_downloads, joined, metrics, paste

    for downloads in capture_downloads():
        paste(app, LONE + "\n" + json.dumps(identify(2)))
        assert metrics(app)["Events"] == "2" and metrics(app)["Mapped"] == "2"
        assert '"first_name": "\\ud800"' in joined(app.code)  # the request body, escaped as it is sent
        for name in ("results.json", "results.csv"):
            assert b"u1@example.com" in downloads.payload(name)
        for name in ("request_plans.json", "processor_output.json"):
            assert b"\\ud800" in downloads.payload(name), name
        plans = downloads.json("request_plans.json")
        assert plans[0]["steps"][-1]["request"]["body"]["contact"]["first_name"] == "\ud800"


def test_the_playground_maps_a_huge_integer(app):
    from test_app_helpers import metrics, paste

    paste(app, json.dumps(identify(1))[:-2] + f', "first_name": {HUGE}}}}}\n' + json.dumps(identify(2)))
    assert metrics(app)["Mapped"] == "2"


def test_an_upload_with_a_line_that_is_not_utf8_lists_that_line_and_maps_the_rest(app):
    from test_app_helpers import joined, metrics

    data = b"\n".join([*(line.encode() for line in good_lines(4)), latin1_line(4)])
    upload(app, "latin.ndjson", data)
    assert metrics(app)["Mapped"] == "4"
    shown = joined(app.error) + joined(app.warning) + joined(app.markdown) + joined(app.caption)
    assert "byte 0xE9 is not UTF-8 text" in shown and "line 5" in shown


def test_a_csv_upload_with_a_deep_header_says_which_column(app):
    from test_app_helpers import joined

    upload(app, "deep.csv", f"type,userId,{'.'.join(['a'] * 2000)}\nidentify,u1,1\n".encode(), "text/csv")
    shown = joined(app.error) + joined(app.warning) + joined(app.markdown)
    assert "2,000 dotted parts" in shown


@pytest.mark.parametrize("options", [["--pretty"], ["--view", "curl"], ["--view", "explain", "--table"],
                                     ["--view", "requests", "--pretty"]], ids=lambda o: " ".join(o))
def test_every_cli_view_writes_a_lone_surrogate_as_its_escape(tmp_path, options):
    done = transform_cli(LONE.encode(), *options, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert b"\\ud800" in done.stdout


# ---- send: the bad entry is reported, every other event is delivered -----------------------------

def test_send_delivers_every_readable_event_of_a_hostile_file(emulator, tmp_path):
    import os

    from tests.conftest import EMULATOR_KEY

    server = emulator()
    lines = [json.dumps(identify(0)).encode(), LONE.encode(), latin1_line(2),
             (json.dumps(identify(3))[:-2] + f', "first_name": {HUGE}}}}}').encode(), json.dumps(identify(4)).encode()]
    path = tmp_path / "hostile.ndjson"
    path.write_bytes(b"\n".join(lines))
    env = {**os.environ, "FRESHSALES_API_KEY": EMULATOR_KEY}
    done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "send", "--domain", "acme.myfreshworks.com",
                           "--base-url", server.base_url, str(path)], capture_output=True, cwd=ROOT, env=env,
                          timeout=120)
    err = done.stderr.decode()
    assert "Traceback" not in err and "line 3, column" in err and "byte 0xE9 is not UTF-8 text" in err, err
    outcomes = [json.loads(line) for line in done.stdout.splitlines()]
    unread, sent = outcomes[0], outcomes[1:]  # the unreadable line is answered first: nothing is sent for it
    assert unread["location"].startswith("line 3, column") and unread["status"] == "failed", unread
    assert [(o["location"], o["status"]) for o in sent] == [
        ("line 1", "delivered"), ("line 2", "delivered"), ("line 4", "delivered"), ("line 5", "delivered")]
    names = {c["email"]: c["first_name"] for c in server.contacts()}
    assert names["u1@example.com"] == "\ud800"
    assert names["u3@example.com"] is None  # Infinity: JSON.stringify sends null

"""Issue 18, memory: large input is parsed as it is read, with the same entries and the same problems.

``stream_events`` is checked against ``parse_events_text`` (the whole-text parser every other input
goes through) with a tiny ``whole_below`` and tiny chunks, so that every item, string, number and
escape is split across chunk boundaries somewhere.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from freshsales_mapper.cli.main import main
from freshsales_mapper.inputs import EventInput, InputError, json_stream, parse_events_text
from freshsales_mapper.inputs.json_stream import DocumentError, stream_events
from freshsales_mapper.sample_generator import generate_events, processor_items

ROOT = Path(__file__).resolve().parents[1]
CHUNKS = (1, 2, 3, 7, 64, 1 << 20)


def streamed(text: str | bytes, chunk: int, whole_below: int = 0) -> list:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    entries: list = []
    try:
        entries.extend(stream_events(io.BytesIO(data).read, whole_below=whole_below, chunk=chunk))
    except DocumentError as exc:
        entries.append(("broken", exc.error))
    return entries


WELL_FORMED = {
    "processor body": json.dumps(processor_items(generate_events(25, seed=3))),
    "indented processor body": json.dumps(processor_items(generate_events(10, seed=5)), indent=2),
    "ndjson": "\n".join(json.dumps(e) for e in generate_events(25, seed=4)) + "\n",
    "ndjson of crlf lines with blank ones": "\r\n\r\n".join(json.dumps(e) for e in generate_events(6, seed=6)),
    "strings holding ] , and escaped quotes": '[{"a": "]", "b": "x,\\"y\\\\", "c": "[{,}]"}, {"d": "\\u005d"}]',
    "nested arrays and non-objects": '[[1, [2, [3]]], 3, "s", null, true, {"c": [[[]]]}, {}]',
    "numbers split anywhere": '[{"n": 1e5, "m": -0.25E-3, "k": 123456789012345678901234567890}, {"x": 1.5}]',
    "integers past Python's digit limit": '[{"n": ' + "9" * 5000 + '}, {"m": 1}]',
    "BOM and whitespace": '\ufeff \n\t [ {} ,\r\n {"x":1} ] \n ',
    "a BOM on each line of NDJSON": '\ufeff{"a": 1}\n\ufeff{"b": 2}\n',
    "non-ASCII text": '[{"name": "Zoë ✓ 😀", "k\u00e9y": "\\ud83d\\ude00"}]',
    "lone surrogates": '[{"a": "\\ud800"}, {"b": "\\udfff x"}]',
    "duplicate keys (the last wins)": '[{"a": 1, "a": 2}, {"message": {"type": "identify"}, "message": {}}]',
    "empty array": " [ ] ",
    "one object": '{"type": "identify", "userId": "u1"}',
    "batch body": '{"batch": [{"type": "identify"}, {"type": "track", "event": "e"}], "sentAt": "x"}',
    "batch body of processor items, indented": json.dumps({"batch": processor_items(generate_events(8, seed=8)),
                                                          "context": {"batch": [1]}}, indent=2),
    "batch body with nothing after its items": ' {\n "batch" : [ {}, 3, {"a": "\udc80"} ] } ',
    "ndjson with bad lines": '{"a": 1}\n{"b"\n[1, 2]\n{"c": NaN}\n"text"\n{"d": 4}\n',
    "bytes that are not UTF-8 in an array": '[{"a": "\udcff"}, {"message": {"x": "\udc80"}, "destination": {}}, {}]',
    "bytes that are not UTF-8 in ndjson": '{"a": 1}\n{"b": "\udc81"}\n{"c": 3}\n',
    "an element nested too deeply": "[" + "[" * 3000 + "]" * 3000 + ", {}]",
}


@pytest.mark.parametrize("name", WELL_FORMED)
@pytest.mark.parametrize("chunk", CHUNKS)
def test_streaming_gives_what_the_whole_text_parse_gives(name, chunk):
    text = WELL_FORMED[name]
    assert streamed(text, chunk) == parse_events_text(text).in_order()


@pytest.mark.parametrize("name", ["processor body", "ndjson", "BOM and whitespace"])
def test_small_input_is_parsed_whole(name):
    text = WELL_FORMED[name]
    assert streamed(text, 3, whole_below=1 << 16) == parse_events_text(text).in_order()


BROKEN = {
    "a missing comma": ('[{"a": 1},\n {"b": 2} {"c": 3}]', 2, 11, "Expecting ',' delimiter"),
    "a trailing comma": ('[{"a": 1}, {"b": 2},\n]', 2, 1, None),
    "truncated inside an item": ('[{"a": 1}, {"b": "two', 1, 18, "Unterminated string starting at"),
    "truncated after an item": ('[{"a": 1}, {"b": 2}', 1, 20, "Expecting ',' delimiter"),
    "trailing garbage": ('[{"a": 1}] {"b": 2}', 1, 12, "Extra data"),
    "trailing garbage on another line": ('[\n{"a": 1}\n]\n{"b": 2}', 4, 1, "Extra data"),
    "NaN in an item": ('[{"a": 1},\n {"b": NaN}]', 2, 8, "NaN is not valid JSON"),
    "a bad byte where JSON syntax goes": ('[{"a": 1},\n \udcff{"b": 2}]', 2, 2, "byte 0xFF is not UTF-8 text"),
    "an object cut short": ('{"a": {"b": [1, 2', 1, 18, None),
    "a batch body broken after its items": ('{"batch": [{"a": 1}],\n "sentAt": x}', 2, 12, "Expecting value"),
    "a batch body broken in its items": ('{"batch": [{"a": 1}\n {"b": 2}]}', 2, 2, "Expecting ',' delimiter"),
}


@pytest.mark.parametrize("name", BROKEN)
@pytest.mark.parametrize("chunk", (1, 5, 1 << 20))
def test_a_broken_document_names_the_line_and_column_as_the_whole_parse_does(name, chunk):
    text, line, column, words = BROKEN[name]
    [whole] = parse_events_text(text).in_order()
    got = streamed(text, chunk)
    kind, problem = got[-1]
    assert kind == "broken" and problem == whole  # same message, line and column
    assert (problem.line, problem.column) == (line, column)
    assert words is None or words in problem.message
    assert f"line {line}, column {column}" in str(problem)
    assert all(type(entry) is EventInput for entry in got[:-1])  # what came before was read as usual


def test_the_items_before_a_break_are_yielded_before_the_input_is_read_to_its_end():
    read_so_far = []
    source = io.BytesIO(b"[" + b",".join([b'{"n": %d}' % i for i in range(5000)]) + b", oops]")

    def read(size):
        read_so_far.append(size)
        return source.read(size)

    events = stream_events(read, whole_below=0, chunk=100)
    first = next(events)
    assert first.message == {"n": 0} and first.location == "item [0]"
    assert sum(read_so_far) < 1000  # not the whole input
    with pytest.raises(DocumentError) as raised:
        list(events)
    assert raised.value.error.message == "Expecting value" and raised.value.error.line == 1


def test_ndjson_lines_are_read_one_by_one_and_a_bad_line_is_its_own_error():
    text = '{"a": 1}\n{"b": \n{"c": 3}\n'
    got = streamed(text, 4)
    assert [type(e) for e in got] == [EventInput, InputError, EventInput]
    assert (got[1].line, got[1].column, got[1].location) == (2, 7, "line 2, column 7")
    assert [e.index for e in got if type(e) is EventInput] == [0, 1]


def test_an_event_with_a_byte_that_is_not_utf8_points_at_it_in_the_item():
    text = b'[{"a": 1},\n {"message": {"traits": {"name": "Zo\xff"}}, "destination": {}}]'
    [first, bad] = streamed(text, 3)
    assert type(first) is EventInput
    assert bad == InputError("byte 0xFF is not UTF-8 text; save the file as UTF-8", 2, 37,
                             "$.message.traits.name", "item [1], line 2, column 37")
    assert bad == parse_events_text(text.decode("utf-8", "surrogateescape")).in_order()[1]


def test_a_one_line_array_followed_by_ndjson_lines_reads_the_lines_too():
    got = streamed('[{"a": 1}, {"b": 2}]\n{"c": 3}\n', 4)
    assert [e.location for e in got] == ["item [0]", "item [1]", "line 2"]  # the array's keep document labels
    assert [e.message for e in got] == [{"a": 1}, {"b": 2}, {"c": 3}]


# ---------------------------------------------------------------------------------------------
# Through the CLI


def run_transform(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", "--compact", *args],
                          input=stdin, capture_output=True, cwd=ROOT, timeout=300)


def test_the_cli_output_is_the_same_streamed_or_parsed_whole(tmp_path, monkeypatch, capfdbinary):
    path = tmp_path / "body.json"
    path.write_text(json.dumps(processor_items(generate_events(300, seed=9)), indent=1), encoding="utf-8")
    assert path.stat().st_size > json_stream.WHOLE_BELOW  # streamed by default

    def output() -> bytes:
        assert main(["transform", "--compact", "--jobs", "1", str(path)]) == 0
        return capfdbinary.readouterr().out

    streamed_output = output()
    monkeypatch.setattr(json_stream, "WHOLE_BELOW", 1 << 30)
    assert output() == streamed_output
    assert len(json.loads(streamed_output)) >= 300


def test_a_large_array_broken_near_its_end_answers_the_items_before_then_exits_2_naming_the_spot(tmp_path):
    items = processor_items(generate_events(2500, seed=2))  # more than the 2,000 read ahead
    text = json.dumps(items, indent=1)
    text = text[:-3] + "x" + text[-3:]  # a stray letter before the last item's closing brace
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    stray = text.rindex("x")
    line, column = text.count("\n", 0, stray) + 1, stray - text.rindex("\n", 0, stray)
    done = run_transform("--jobs", "1", str(path))
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert f"{path}: line {line}, column {column}: Expecting ',' delimiter" in stderr, stderr
    assert "Traceback" not in stderr
    assert done.stdout.startswith(b"[{") and not done.stdout.rstrip().endswith(b"]")  # visibly cut short
    assert done.stdout.count(b'"metadata"') >= 2000


def test_a_large_file_past_the_cap_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "big.ndjson"
    path.write_bytes(b'{"type": "identify", "userId": "u"}\n' * 20_000)
    done = run_transform("--domain", "acme.myfreshworks.com", "--max-input-bytes", "100000", str(path))
    assert done.returncode == 2 and done.stdout == b""
    assert b"larger than 100000 bytes" in done.stderr
    piped = run_transform("--domain", "acme.myfreshworks.com", "--max-input-bytes", "100000", "-",
                          stdin=path.read_bytes())
    assert piped.returncode == 2 and b"larger than 100000 bytes" in piped.stderr


def test_bare_messages_without_settings_are_still_a_usage_error_when_streamed(tmp_path):
    path = tmp_path / "bare.ndjson"
    path.write_bytes(b'{"type": "identify", "userId": "u"}\n' * 5_000)
    done = run_transform("--jobs", "1", str(path))
    assert done.returncode == 2 and done.stdout == b""
    assert b"is a bare message (no destination settings)" in done.stderr


def test_a_batch_body_whose_other_members_would_change_its_meaning_is_refused_when_streamed():
    text = '{"batch": [{"type": "identify"}], "type": "track"}'
    assert type(parse_events_text(text).items[0]) is EventInput  # whole, it is one event with a `batch` key
    *_, (kind, problem) = streamed(text, 5)
    assert kind == "broken" and "cannot be streamed" in problem.message and (problem.line, problem.column) == (1, 33)

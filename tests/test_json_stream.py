"""Issue 18, memory: large input is parsed as it is read, with the same entries and the same problems.

``stream_events`` is checked against ``parse_events_text`` (the whole-text parser every other input
goes through) with a tiny ``whole_below`` and tiny chunks, so that every item, string, number and
escape is split across chunk boundaries somewhere.
"""

from __future__ import annotations

import io
import json

import pytest

from freshsales_mapper.inputs import EventInput, InputError, parse_events_text
from freshsales_mapper.inputs.json_stream import DocumentError, stream_events
from freshsales_mapper.sample_generator import generate_events, processor_items

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

"""Turning user text into events: every accepted format, every error with its place in the text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freshsales_mapper.engine.jsvalue import UNDEFINED
from freshsales_mapper.inputs import (
    EventInput,
    InputError,
    iter_ndjson_lines,
    parse_csv_text,
    parse_events_text,
    validate_destination,
    validate_event,
)
from freshsales_mapper.inputs import shape as event_shape

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_events"

IDENTIFY = {"type": "identify", "userId": "u-1", "traits": {"email": "ana@example.com"}}
TRACK = {"type": "track", "event": "sales_activity", "properties": {"salesActivityTypeId": 70000646201}}
CONFIG = {"apiKey": "demo-key", "domain": "acme.myfreshworks.com"}
REQUEST = {"message": TRACK, "destination": {"Config": CONFIG}, "metadata": {"messageId": "m-1"}}


def place(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``: the oracle the parser is checked against."""
    before = text[:offset]
    return before.count("\n") + 1, len(before.split("\n")[-1]) + 1


def same_json(a, b) -> bool:
    """Equal with the same JSON types all the way down (1, 1.0 and True are not the same)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# --- accepted formats --------------------------------------------------------------------------


def test_single_bare_message():
    parsed = parse_events_text(json.dumps(IDENTIFY))
    assert parsed.format == "object" and parsed.errors == []
    [item] = parsed.items
    assert item.message == IDENTIFY and item.destination is None and item.metadata is None
    assert item.index == 0 and item.location


def test_array_mixes_bare_messages_and_processor_requests():
    parsed = parse_events_text(json.dumps([IDENTIFY, REQUEST]))
    assert parsed.format == "array" and parsed.errors == []
    bare, request = parsed.items
    assert bare.destination is None and bare.location == "item [0]"
    assert request.message == TRACK and request.destination == {"Config": CONFIG}
    assert request.metadata == {"messageId": "m-1"} and request.location == "item [1]"
    assert [i.index for i in parsed.items] == [0, 1]


def test_single_processor_request_without_metadata():
    body = {"message": IDENTIFY, "destination": {"Config": CONFIG}}
    [item] = parse_events_text(json.dumps(body)).items
    assert item.message == IDENTIFY and item.destination == {"Config": CONFIG} and item.metadata is None


def test_object_with_type_is_a_bare_message_even_with_a_message_key():
    event = {"type": "track", "event": "x", "message": "hello"}
    [item] = parse_events_text(json.dumps(event)).items
    assert item.message == event and item.destination is None


def test_ndjson_with_blank_lines_and_crlf():
    text = json.dumps(IDENTIFY) + "\r\n\r\n   \r\n" + json.dumps(REQUEST) + "\r\n"
    parsed = parse_events_text(text)
    assert parsed.format == "ndjson" and parsed.errors == []
    assert [i.location for i in parsed.items] == ["line 1", "line 4"]
    assert parsed.items[1].destination == {"Config": CONFIG}
    assert [i.index for i in parsed.items] == [0, 1]


def test_batch_api_body():
    parsed = parse_events_text(json.dumps({"batch": [IDENTIFY, TRACK], "sentAt": "2024-03-04T09:00:00Z"}))
    assert parsed.errors == []
    assert [i.message for i in parsed.items] == [IDENTIFY, TRACK]
    assert parsed.items[1].location == "batch item [1]"


def test_bom_is_tolerated():
    parsed = parse_events_text("\ufeff" + json.dumps([IDENTIFY]))
    assert parsed.errors == [] and parsed.items[0].message == IDENTIFY


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n", "\ufeff", "\ufeff \r\n"])
def test_empty_input(text):
    parsed = parse_events_text(text)
    assert (parsed.format, parsed.items, parsed.errors) == ("empty", [], [])


def test_numbers_are_not_transformed():
    event = {"type": "identify", "traits": {"big": 2**53 + 1, "id": 71010794467, "text": "71010794467",
                                            "ratio": 0.1, "whole_float": 12.0, "flag": True}}
    [item] = parse_events_text(json.dumps(event)).items
    assert same_json(item.message, event)


def test_source_name_is_kept():
    assert parse_events_text("{}", source="upload.json").source == "upload.json"


# --- JSON errors, placed in the original text ---------------------------------------------------


def test_syntax_error_in_a_document_points_at_the_original_text():
    text = '[\n  {"type": "identify",\n   "userId": "u-1"\n   "traits": {}}\n]'
    parsed = parse_events_text(text)
    assert parsed.items == [] and parsed.format == "array"
    [error] = parsed.errors
    assert (error.line, error.column) == place(text, text.index('"traits"'))
    assert error.message == "Expecting ',' delimiter"
    assert str(error) == f"line {error.line}, column {error.column}: Expecting ',' delimiter"


def test_broken_pretty_printed_object_is_one_error_not_ndjson():
    text = '{\n  "type": "identify",\n  "traits": {"email": "a@b.c"},\n  "userId" "u-1"\n}\n'
    parsed = parse_events_text(text)
    assert parsed.format == "object" and len(parsed.errors) == 1
    assert (parsed.errors[0].line, parsed.errors[0].column) == place(text, text.index('"u-1"'))


def test_ndjson_keeps_good_lines_and_reports_each_bad_one():
    lines = [json.dumps(IDENTIFY), '{"type": "track", "event": }', "", json.dumps(TRACK),
             '{"type": "identify"', json.dumps(REQUEST)]
    parsed = parse_events_text("\n".join(lines))
    assert parsed.format == "ndjson"
    assert [i.message for i in parsed.items] == [IDENTIFY, TRACK, TRACK]
    assert [i.location for i in parsed.items] == ["line 1", "line 4", "line 6"]
    for error, number in zip(parsed.errors, (2, 5), strict=True):
        with pytest.raises(json.JSONDecodeError) as oracle:
            json.loads(lines[number - 1])
        assert (error.line, error.column, error.message) == (number, oracle.value.colno, oracle.value.msg)


def test_ndjson_with_a_bad_first_line_is_still_ndjson():
    text = '{"type": "identify",,}\n' + json.dumps(IDENTIFY) + "\n" + json.dumps(TRACK)
    parsed = parse_events_text(text)
    assert parsed.format == "ndjson" and len(parsed.items) == 2
    assert parsed.errors[0].line == 1


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_rejected_with_their_place(constant):
    text = '{"type": "identify",\n "traits": {"note": "NaN and Infinity", "score": ' + constant + "}}"
    parsed = parse_events_text(text)
    [error] = parsed.errors
    assert parsed.items == []
    assert (error.line, error.column) == place(text, text.index(constant + "}"))
    assert constant in error.message


def test_non_standard_constant_in_one_ndjson_line():
    lines = [json.dumps(IDENTIFY), '{"type": "track", "properties": {"x": NaN}}', json.dumps(TRACK)]
    parsed = parse_events_text("\n".join(lines))
    assert [i.message for i in parsed.items] == [IDENTIFY, TRACK]
    [error] = parsed.errors
    assert (error.line, error.column) == (2, lines[1].index("NaN") + 1)


def test_bom_is_not_counted_in_columns():
    text = '\ufeff{"type": "identify" "userId": 1}'
    [error] = parse_events_text(text).errors
    assert (error.line, error.column) == (1, text.index('"userId"'))  # one less than with the BOM


@pytest.mark.parametrize(("value", "path", "got"), [
    ([IDENTIFY, 42], "$[1]", "a number"),
    ([IDENTIFY, [IDENTIFY]], "$[1]", "an array"),
    ("just text", "$", "a string"),
    (None, "$", "null"),
])
def test_values_that_are_not_events(value, path, got):
    parsed = parse_events_text(json.dumps(value))
    [error] = parsed.errors
    assert error.path == path and got in error.message
    assert len(parsed.items) == (1 if isinstance(value, list) else 0)


def test_processor_request_with_a_non_object_destination_is_still_an_item_to_answer():
    # RudderStack answers it (its Config reads undefined), so it is an item, not an input error.
    body = [REQUEST, {"message": IDENTIFY, "destination": "acme"}, {"destination": None}, {"metadata": {"n": 1}}]
    parsed = parse_events_text(json.dumps(body))
    assert parsed.errors == []
    assert [i.destination for i in parsed.items][1:] == ["acme", None, UNDEFINED]
    assert [i.message for i in parsed.items][2:] == [UNDEFINED, UNDEFINED]
    assert all(i.processor and not i.bare for i in parsed.items)


def test_an_object_that_is_an_event_is_bare_even_with_a_destination_key():
    parsed = parse_events_text(json.dumps([{"type": "identify", "destination": {"Config": {}}}, {}]))
    assert [i.bare for i in parsed.items] == [True, True]


def test_deep_nesting_is_an_error_not_a_crash():
    parsed = parse_events_text("[" * 200_000)
    assert parsed.items == [] and len(parsed.errors) == 1


def test_iter_ndjson_lines_streams_from_a_file_like_object():
    import io

    stream = io.StringIO(json.dumps(IDENTIFY) + "\nnot json\n" + json.dumps(TRACK) + "\n")
    entries = list(iter_ndjson_lines(stream, first_line=10))
    assert [type(e) for e in entries] == [EventInput, InputError, EventInput]
    assert entries[1].line == 11 and entries[2].location == "line 12" and entries[2].index == 1


# --- property: whatever JSON events go in come out unchanged, in every layout ------------------

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text())
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
events = st.builds(lambda t, rest: {**rest, "type": t}, st.text(max_size=10),
                   st.dictionaries(st.text(max_size=8), json_values, max_size=5))


@settings(max_examples=60, deadline=None)
@given(st.lists(events, min_size=1, max_size=8), st.booleans())
def test_events_round_trip_as_array_and_ndjson(batch, ascii_only):
    array = parse_events_text(json.dumps(batch, ensure_ascii=ascii_only))
    ndjson = parse_events_text("\n".join(json.dumps(e, ensure_ascii=ascii_only) for e in batch))
    for parsed in (array, ndjson):
        assert parsed.errors == []
        assert same_json([i.message for i in parsed.items], batch)


@settings(max_examples=60, deadline=None)
@given(st.lists(events, min_size=2, max_size=10), st.data())
def test_bad_ndjson_lines_never_lose_good_ones(batch, data):
    broken = data.draw(st.sets(st.integers(1, len(batch) - 1)))  # the first line stays good
    lines = [json.dumps(e)[:-1] if i in broken else json.dumps(e) for i, e in enumerate(batch)]
    parsed = parse_events_text("\n".join(lines))
    assert parsed.format == "ndjson"
    assert same_json([i.message for i in parsed.items], [e for i, e in enumerate(batch) if i not in broken])
    assert [e.line for e in parsed.errors] == sorted(i + 1 for i in broken)


# --- large input ----------------------------------------------------------------------------------
# (How fast this is, is measured by the scripts in benchmarks/, not here.)


def test_fifty_thousand_events_all_parse_in_order():
    event = {"type": "identify", "messageId": "", "userId": "usr_1", "context": {"library": {"name": "sdk"}},
             "traits": {"email": "a@example.com", "firstName": "A", "address": {"city": "Austin"}}}
    lines = [json.dumps({**event, "messageId": str(i)}) for i in range(50_000)]
    for text, fmt in (("\n".join(lines), "ndjson"), ("[" + ",\n".join(lines) + "]", "array")):
        parsed = parse_events_text(text)
        assert parsed.format == fmt and parsed.errors == []
        assert [item.message["messageId"] for item in parsed.items] == [str(i) for i in range(50_000)]
        assert [item.index for item in parsed.items] == list(range(50_000))
        assert parsed.items[-1].message == {**event, "messageId": "49999"}


# --- import cost -------------------------------------------------------------------------------------


def test_importing_inputs_leaves_pandas_and_jsonschema_alone():
    code = ("import sys, freshsales_mapper.inputs as m; "
            "print(sorted({'pandas', 'jsonschema'} & set(sys.modules)), callable(m.parse_csv_text))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["[]", "True"]


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_dotted_columns_nest_and_empty_cells_are_left_out():
    text = ("type,userId,context.traits.email,traits.address.city,traits.address.zip\n"
            "identify,u-1,ana@example.com,Austin,\n")
    parsed = parse_csv_text(text)
    assert parsed.format == "csv" and parsed.errors == []
    [item] = parsed.items
    assert item.message == {"type": "identify", "userId": "u-1", "context": {"traits": {"email": "ana@example.com"}},
                            "traits": {"address": {"city": "Austin"}}}
    assert item.location == "row 2" and item.destination is None


@pytest.mark.parametrize(("cell", "expected"), [
    ("42", 42), ("-1.5", -1.5), ("71010794467", 71010794467), ("true", True), ("null", None),
    ('"{""a"": 1}"', {"a": 1}), ('"[1, ""x""]"', [1, "x"]), ('"""71010794467"""', "71010794467"),
    ("abc", "abc"), ("007", "007"), ("12abc", "12abc"), ("NaN", "NaN"), ("Infinity", "Infinity"),
    ("+1-512-555-0147", "+1-512-555-0147"), ("2024-03-04", "2024-03-04"), ('"[1,"', "[1,"),
])
def test_csv_cells_that_are_json_are_parsed_and_others_stay_strings(cell, expected):
    [item] = parse_csv_text(f"type,traits.value\nidentify,{cell}\n").items
    assert same_json(item.message["traits"]["value"], expected)


@pytest.mark.parametrize("columns", [("traits", "traits.email"), ("traits.email", "traits")])
def test_csv_conflicting_columns_name_both_and_the_row(columns):
    values = {"traits": '"{""plan"": ""pro""}"', "traits.email": "ana@example.com"}
    only_email = ["", "ana@example.com"] if columns[0] == "traits" else ["ana@example.com", ""]
    text = (f"type,{','.join(columns)}\n"
            f"identify,{','.join(only_email)}\n"
            f"identify,{','.join(values[c] for c in columns)}\n")
    parsed = parse_csv_text(text)
    assert [i.location for i in parsed.items] == ["row 2"]
    assert parsed.items[0].message["traits"] == {"email": "ana@example.com"}
    [error] = parsed.errors
    assert "`traits`" in error.message and "`traits.email`" in error.message
    assert "row 3" in error.message and error.location == "row 3"


def test_csv_conflict_below_a_json_object_cell():
    text = 'type,context.traits,context.traits.email\nidentify,"{""a"": 1}",ana@example.com\n'
    [error] = parse_csv_text(text).errors
    assert error.path == "$.context.traits"


def test_csv_processor_columns_make_processor_requests():
    text = ("message.type,message.traits.email,destination.Config.apiKey,destination.Config.domain,metadata.messageId\n"
            "identify,ana@example.com,demo-key,acme.myfreshworks.com,m-1\n")
    [item] = parse_csv_text(text).items
    assert item.message == {"type": "identify", "traits": {"email": "ana@example.com"}}
    assert item.destination == {"Config": CONFIG} and item.metadata == {"messageId": "m-1"}


def test_csv_processor_columns_cannot_mix_with_bare_ones():
    parsed = parse_csv_text("message.type,userId\nidentify,u-1\n")
    assert parsed.items == [] and "`userId`" in parsed.errors[0].message


@pytest.mark.parametrize(("header", "needle"), [
    ("type,traits.email,traits.email", "appears twice"),
    ("type,,traits.email", "no name"),
    ("type,traits..email,userId", "empty part"),
])
def test_csv_header_problems(header, needle):
    parsed = parse_csv_text(f"{header}\nidentify,x,y\n")
    assert parsed.items == [] and needle in parsed.errors[0].message


def test_csv_unnamed_empty_column_is_ignored():
    [item] = parse_csv_text("type,userId,\nidentify,u-1,\n").items
    assert item.message == {"type": "identify", "userId": "u-1"}


def test_csv_rows_are_spreadsheet_rows_and_blank_rows_are_skipped():
    parsed = parse_csv_text('\ufefftype,traits.note\nidentify,a\n\n,\nidentify,"two\nlines"\n')
    assert parsed.errors == []
    assert [i.location for i in parsed.items] == ["row 2", "row 5"]
    assert parsed.items[1].message["traits"]["note"] == "two\nlines"


def test_csv_with_too_many_cells_reports_the_physical_line():
    text = 'type,traits.note\nidentify,"spans\ntwo lines"\nidentify,a,extra\n'
    [error] = parse_csv_text(text).errors
    assert error.line == place(text, text.index("identify,a,extra"))[0]
    assert "3 cells" in error.message


def test_csv_with_an_unclosed_quote_reports_where_it_starts():
    text = 'type,traits.note\nidentify,ok\nidentify,"never closed\nidentify,x\n'
    [error] = parse_csv_text(text).errors
    assert error.line == place(text, text.index('identify,"never'))[0]


@pytest.mark.parametrize("text", ["", " \n "])
def test_empty_csv(text):
    assert parse_csv_text(text).format == "empty"


def test_header_only_csv_has_no_events():
    parsed = parse_csv_text("type,userId\n")
    assert (parsed.format, parsed.items, parsed.errors) == ("csv", [], [])


# --- shape validation ------------------------------------------------------------------------------


def test_schema_file_is_a_valid_draft_2020_12_schema():
    schema = json.loads((ROOT / "freshsales_mapper" / "inputs" / "event_schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


def test_valid_event_has_no_shape_errors():
    event = {**IDENTIFY, "anonymousId": 7, "timestamp": "2024-03-04T09:00:00Z",
             "context": {"traits": {}, "externalId": [{"id": "70052305908", "type": "Contact"}]}}
    assert validate_event(event) == []
    assert validate_event({**TRACK, "context": {"externalId": {"id": 1, "type": "Contact"}}}) == []


def test_shape_errors_have_paths_and_plain_messages_sorted_by_path():
    event = {"type": 3, "event": ["x"], "traits": "ana@example.com", "userId": True,
             "context": {"traits": [], "externalId": [{"id": "1"}, {"id": {"x": 1}}, 5]},
             "timestamp": 1709542800}
    errors = validate_event(event)
    by_path = {e.path: e.message for e in errors}
    assert by_path["$.traits"] == "`traits` must be an object, got a string"
    assert by_path["$.type"] == "`type` must be a string, got a number"
    assert by_path["$.event"].startswith("`event` must be a string")
    assert "got a boolean" in by_path["$.userId"]
    assert "`context.externalId[1].id`" in by_path["$.context.externalId[1].id"]
    assert "got a number" in by_path["$.context.externalId[2]"]
    assert "$.context.traits" in by_path and "$.timestamp" in by_path
    assert len(errors) == 8
    order = [event_shape._path_order(list(_segments(e.path))) for e in errors]
    assert order == sorted(order)


def _segments(path: str):
    for part in path[1:].replace("[", ".[").split("."):
        if part:
            yield int(part[1:-1]) if part.startswith("[") else part


@pytest.mark.parametrize(("event", "path", "message"), [
    ({}, "$.type", "`type` is missing"),
    ([], "$", "the event must be an object, got an array"),
    ({"type": "group", "context": "web"}, "$.context", "`context` must be an object, got a string"),
])
def test_shape_error_cases(event, path, message):
    assert [(e.path, e.message) for e in validate_event(event)] == [(path, message)]


def test_destination_config_shape():
    assert validate_destination(CONFIG) == []
    config = {"apiKey": "", "rudderEventsToFreshsalesEvents": [{"from": "Demo Booked", "to": "Sales Activity"},
                                                               {"from": "Signup"}, "x"]}
    by_path = {e.path: e.message for e in validate_destination(config)}
    assert by_path["$.apiKey"] == "`apiKey` must not be empty"
    assert by_path["$.domain"] == "`domain` is missing"
    assert by_path["$.rudderEventsToFreshsalesEvents[0].to"] == (
        '`rudderEventsToFreshsalesEvents[0].to` must be "sales_activity" or "lifecycle_stage", got "Sales Activity"')
    assert by_path["$.rudderEventsToFreshsalesEvents[1].to"].endswith("is missing")
    assert "$.rudderEventsToFreshsalesEvents[2]" in by_path


def test_whole_destination_is_accepted_too():
    assert validate_destination({"Config": CONFIG}) == []
    [error] = validate_destination({"Config": {"apiKey": "k", "domain": 5}})
    assert error.path == "$.Config.domain" and "got a number" in error.message


# --- the sample files ----------------------------------------------------------------------------

SAMPLE_FILES = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".json", ".ndjson", ".csv"})


def test_there_are_sample_files():
    assert len(SAMPLE_FILES) >= 14


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_file_parses_and_has_a_valid_shape(path):
    text = path.read_text("utf-8")
    parsed = parse_csv_text(text, path.name) if path.suffix == ".csv" else parse_events_text(text, path.name)
    assert parsed.errors == [] and parsed.items
    for item in parsed.items:
        assert validate_event(item.message) == [], item.location
        if item.destination is not None:
            assert validate_destination(item.destination) == [], item.location
            assert item.destination["Config"]["apiKey"] == "demo-key"


def test_sample_readme_lists_exactly_the_sample_files():
    readme = (SAMPLES / "README.md").read_text("utf-8")
    listed = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    assert listed == {p.name for p in SAMPLE_FILES}


def test_ndjson_lines_that_start_with_a_bom_are_read_as_concatenated_files_have_them():
    first = '\ufeff{"type": "identify", "traits": {"email": "a@example.com"}}'
    second = '\ufeff{"type": "identify", "traits": {"email": "b@example.com"}}'
    for text in (first + "\n" + second + "\n", first + "\n" + second + "\n" + second):
        parsed = parse_events_text(text, "cat.ndjson")
        assert parsed.errors == [] and parsed.format == "ndjson"
        assert [item.message["traits"]["email"] for item in parsed.items][:2] == ["a@example.com", "b@example.com"]
    bad = parse_events_text(first + "\n\ufeff{nope\n", "cat.ndjson")
    assert [e.location for e in bad.errors] == ["line 2, column 2"]  # the BOM is not counted, as on line 1

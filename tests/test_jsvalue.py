"""JavaScript semantics the engine relies on (mapping-semantics.md, sections 1 and 2)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freshsales_mapper.engine.jsnumber import (
    js_json_value,
    js_number_string,
    js_string,
    parse_float,
    strict_equal,
    to_number,
)
from freshsales_mapper.engine.jsvalue import UNDEFINED, MessageReader, get_path, is_set, truthy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 42 ", 42), ("", 0), ("0x10", 16), ("0o17", 15), ("0b101", 5), ("1e3", 1000), ("-1.5", -1.5),
        (".5", 0.5), ("5.", 5), (True, 1), (False, 0), (None, 0), ([], 0), ([5], 5), ([[7]], 7), (["  8 "], 8),
        ("Infinity", math.inf), ("-Infinity", -math.inf), ("\u00a0\ufeff12\u2028", 12),
    ],
)
def test_number_matches_javascript(text, expected):
    assert to_number(text) == expected


@pytest.mark.parametrize("text", ["12abc", "abc", "1_000", "inf", "nan", "infinity", "0x", "-0x10", "1e", "1,2", {}, [1, 2], "++1"])
def test_number_gives_nan_where_javascript_does(text):
    assert math.isnan(to_number(text))


def test_number_of_undefined_is_nan():
    assert math.isnan(to_number(UNDEFINED))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.5abc", 12.5), (" -.5e3x", -500.0), ("1e", 1.0), ([5], 5.0), ("Infinityx", math.inf), ("  7", 7.0)],
)
def test_parse_float_reads_the_numeric_prefix(value, expected):
    assert parse_float(value) == expected


@pytest.mark.parametrize("value", ["abc", True, None, {}, "", ".", "-"])
def test_parse_float_nan(value):
    assert math.isnan(parse_float(value))


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"), (1e21, "1e+21"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (0.000001, "0.000001"), (1e16, "10000000000000000"),
        (12345678901234567890, "12345678901234567000"), (-0.0, "0"), (0.1, "0.1"), (123e20, "1.23e+22"),
        (math.inf, "Infinity"), (math.nan, "NaN"), (2**53, "9007199254740992"),
    ],
)
def test_numbers_print_as_javascript_prints_them(number, text):
    assert js_number_string(number) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "null"), (UNDEFINED, "undefined"), (True, "true"), ([1, [2, None], "a"], "1,2,,a"), ({"a": 1}, "[object Object]"), (12.0, "12")],
)
def test_string_conversion(value, text):
    assert js_string(value) == text


@pytest.mark.parametrize("value", ["", None, UNDEFINED, 0, -0.0, math.nan, False])
def test_falsy_values(value):
    assert not truthy(value)


@pytest.mark.parametrize("value", ["0", " ", [], {}, -1, True, "false"])
def test_truthy_values(value):
    assert truthy(value)


@pytest.mark.parametrize(("value", "expected"), [(0, True), (False, True), ("", False), (None, False), (math.nan, False), ("0", True), ([], True)])
def test_is_set_keeps_zero_and_false(value, expected):
    assert is_set(value) is expected


def test_path_lookup_indexes_arrays_and_objects():
    message = {"context": {"externalId": [{"id": "e-1"}], "traits": {"address": {"city": "Pune"}}}}
    assert get_path(message, "context.externalId.0.id") == "e-1"
    assert get_path(message, "context.traits.address.city") == "Pune"
    assert get_path(message, "context.externalId.1.id") is UNDEFINED
    assert get_path(message, "context.externalId.length") == 1


def test_path_lookup_tries_the_rest_of_the_path_as_one_literal_key():
    assert get_path({"traits": {"address.city": "X"}}, "traits.address.city") == "X"
    assert get_path({"traits.email": "lit@x.io"}, "traits.email") == "lit@x.io"
    assert get_path({"context": {"traits.email": "c@x.io"}}, "context.traits.email") == "c@x.io"


def test_path_lookup_through_non_objects_is_missing():
    assert get_path({"traits": "a string"}, "traits.email") is UNDEFINED
    assert get_path({"traits": None}, "traits.email") is UNDEFINED
    assert get_path({"a": [1]}, "a.01") is UNDEFINED  # not a canonical array index
    assert get_path([], "0.traits") is UNDEFINED  # "0.traits" is no array index (found by hypothesis)
    assert get_path({"traits": {"email": None}}, "traits.email") is None


def test_json_values_are_what_json_stringify_writes():
    assert js_json_value({"a": 12.0, "b": 12345678901234567890, "c": math.inf, "d": [math.nan, 1.5], "e": UNDEFINED}) == {
        "a": 12, "b": 12345678901234567000, "c": None, "d": [None, 1.5]}


def test_strict_equality_does_not_mix_types():
    assert not strict_equal(1, "1")
    assert not strict_equal(True, 1)
    assert strict_equal(1, 1.0)
    assert not strict_equal({"a": 1}, {"a": 1})


# The reader is a faster get_path for many paths of one message; it must never answer differently.
_keys = st.sampled_from(["traits", "context", "address", "email", "a.b", "traits.email", "0", "1", "length", "x"])
_values = st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=3)),
                       lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)),
                       max_leaves=15)
_paths = st.lists(_keys, min_size=1, max_size=4).map(".".join)


@settings(max_examples=500, deadline=None)
@given(message=_values, paths=st.lists(_paths, min_size=1, max_size=6))
def test_message_reader_answers_exactly_like_get_path(message, paths):
    reader = MessageReader(message)
    for path in paths:
        segments = tuple(path.split("."))
        assert reader.get(path, segments) == get_path(message, path, segments) or (
            reader.get(path, segments) is UNDEFINED and get_path(message, path, segments) is UNDEFINED)

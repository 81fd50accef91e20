"""Turning text a user pasted or uploaded into RudderStack events, with errors that point into the text.

Accepted JSON shapes: one event, an array of events, NDJSON (one JSON value per non-blank line),
RudderStack processor request bodies (``{message, destination, metadata}``, single, array or
NDJSON) and the batch API body ``{"batch": [...]}``. CSV goes through :func:`parse_csv_text`.
Text that is not one JSON value is read as NDJSON when its lines stand alone as JSON values (see
``looks_like_ndjson``); otherwise it is one document with one syntax error.

Line and column numbers are 1-based and refer to the text as the user sees it (a leading UTF-8
BOM is invisible in editors, so it is not counted). Values are never transformed: ``42`` stays an
int and ``"42"`` a string, because RudderStack treats them differently.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from freshsales_mapper.inputs.model import (
    BOM,
    PROCESSOR_KEYS,
    TOO_DEEP,
    UNDECODABLE,
    EventInput,
    InputError,
    ParsedInput,
    decode_json,
    event_entry,
    has_undecodable,
    json_path,
    line_and_column,
    undecodable_problem,
    undecodable_strings,
)


def _is_batch(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("batch"), list)
            and "type" not in value and "message" not in value)


def document_entries(value: Any, location: str, line: int | None,
                     counter: Iterator[int]) -> list[EventInput | InputError]:
    prefix = f"{location}, " if location else ""
    if isinstance(value, list):
        return [event_entry(element, f"{prefix}item [{i}]", f"$[{i}]", line, counter)
                for i, element in enumerate(value)]
    if _is_batch(value):
        return [event_entry(element, f"{prefix}batch item [{i}]", f"$.batch[{i}]", line, counter)
                for i, element in enumerate(value["batch"])]
    return [event_entry(value, location or "the event", "$", line, counter)]


def line_entries(number: int, line: str, counter: Iterator[int]) -> list[EventInput | InputError]:
    value, failure = decode_json(line)
    if failure is None:
        if type(value) is dict:  # the usual NDJSON line, kept short because it runs per line
            return [event_entry(value, f"line {number}", "$", number, counter)]
        return document_entries(value, f"line {number}", number, counter)
    column = failure[0] + 1
    return [InputError(failure[1], number, column, None, f"line {number}, column {column}")]


def iter_ndjson_lines(lines: Iterable[str], first_line: int = 1) -> Iterator[EventInput | InputError]:
    """One entry per event or problem, line by line, so a large file can be streamed.

    A bad line becomes an :class:`InputError` and the following lines are still read.
    """
    counter = itertools.count()
    for number, line in enumerate(lines, first_line):
        # Any line, not only the first: files concatenated with `cat` keep each one's BOM at a line start.
        line = line.removeprefix(BOM)
        if line and not line.isspace():
            yield from line_entries(number, line, counter)


def _parsed(entries: Iterable[EventInput | InputError], fmt: str, source: str) -> ParsedInput:
    items: list[EventInput] = []
    errors: list[InputError] = []
    ordered = list(entries)
    for entry in ordered:
        (items if type(entry) is EventInput else errors).append(entry)
    return ParsedInput(items, errors, fmt, source, ordered if errors else None)


# The lenient decoder: a line with NaN (or a 5,000-digit integer) is still a complete line.
_LENIENT_DECODER = json.JSONDecoder(parse_int=lambda literal: 0)


def _parses_alone(line: str) -> bool:
    try:
        _LENIENT_DECODER.decode(line.removeprefix(BOM))
    except (ValueError, RecursionError):
        return False
    return True


def looks_like_ndjson(lines: list[str]) -> bool:
    """Whether text that is not one JSON value is NDJSON rather than a document with a mistake.

    Every NDJSON line is a complete value; a pretty-printed document's lines mostly are not.
    """
    filled = [line for line in lines if line.strip()]
    if len(filled) < 2:
        return False
    if _parses_alone(filled[0]):
        return True
    if filled[0].lstrip().startswith("["):  # an array spread over lines, broken somewhere
        return False
    complete = sum(1 for line in filled[1:] if _parses_alone(line))
    return complete * 2 >= len(filled) - 1


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many long-lived objects.

    Parsing 50,000 events allocates millions of containers that all survive, so the collector's
    repeated passes over them find nothing and cost 10-30 % of the parse.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_events_text(text: str, source: str = "input") -> ParsedInput:
    """Parse pasted or uploaded JSON / NDJSON into events (see the module docstring).

    Text decoded with :func:`~freshsales_mapper.inputs.model.decode_utf8` may hold bytes that were
    not UTF-8: each entry holding one becomes an error pointing at it, and the others are read.
    """
    with collector_paused():
        if has_undecodable(text):
            return _parse_with_undecodable(text.removeprefix(BOM), source)
        return _parse_events_text(text, source)


def _parse_with_undecodable(text: str, source: str) -> ParsedInput:
    offsets = [m.start() for m in UNDECODABLE.finditer(text)]
    lines = text.split("\n")
    if decode_json(text)[1] is not None and looks_like_ndjson(lines):
        # NDJSON: a line with a bad byte is that line's error; the other lines are read as usual.
        bad = {}
        for offset in offsets:
            line, column = line_and_column(text, offset)
            bad.setdefault(line, InputError(undecodable_problem(text[offset]), line, column, None,
                                            f"line {line}, column {column}"))
        return _parsed(_ndjson_entries_except(lines, bad), "ndjson", source)
    parsed = _parse_events_text(text, source)
    if parsed.errors and not parsed.items:  # a document that does not parse: say so if a bad byte broke it
        errors = []
        for error in parsed.errors:
            offset = _offset_of(text, error.line, error.column)
            if offset is not None and offset < len(text) and UNDECODABLE.match(text, offset):
                error = dataclasses.replace(error, message=undecodable_problem(text[offset]))
            errors.append(error)
        parsed.errors = errors
        return parsed
    # One document: the events holding bad bytes, in text order, hold the bad bytes in text order.
    entries: list[EventInput | InputError] = []
    pending = iter(offsets)
    counter = itertools.count()
    for entry in parsed.in_order():
        found = [] if type(entry) is not EventInput else list(
            undecodable_strings([entry.message, entry.destination, entry.metadata]))
        if not found:
            if type(entry) is EventInput:
                entry.index = next(counter)
            entries.append(entry)
            continue
        (part, *path), first = found[0]
        if entry.destination is not None or entry.processor:  # a processor request: paths start at the request
            path = [PROCESSOR_KEYS[part], *path]
        offset = next(pending, None)
        line, column = line_and_column(text, offset) if offset is not None else (None, None)
        for _ in range(sum(len(UNDECODABLE.findall(string)) for _, string in found) - 1):
            next(pending, None)
        where = entry.location + (f", line {line}, column {column}" if line else "")
        character = UNDECODABLE.search(first).group()
        entries.append(InputError(undecodable_problem(character), line, column, json_path(path), where))
    return _parsed(entries, parsed.format, source)


def _ndjson_entries_except(lines: list[str], bad: dict[int, InputError]) -> Iterator[EventInput | InputError]:
    """iter_ndjson_lines, with the lines in ``bad`` answered by their error instead of being parsed."""
    counter = itertools.count()
    for number, line in enumerate(lines, 1):
        if number in bad:
            yield bad[number]
        elif line and not line.isspace():
            yield from line_entries(number, line, counter)


def _offset_of(text: str, line: int | None, column: int | None) -> int | None:
    if line is None or column is None:
        return None
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    return start + column - 1


def _parse_events_text(text: str, source: str) -> ParsedInput:
    text = text.removeprefix(BOM)
    if not text or text.isspace():
        return ParsedInput([], [], "empty", source)
    # One whole-text parse is the fast path for objects and arrays; NDJSON fails it within its
    # first line, so trying costs little.
    value, failure = decode_json(text)
    if failure is None:
        entries = document_entries(value, "", None, itertools.count())
        return _parsed(entries, "array" if isinstance(value, list) else "object", source)
    lines = text.split("\n")  # json counts lines by "\n" only, and so do we
    if looks_like_ndjson(lines):
        return _parsed(iter_ndjson_lines(lines), "ndjson", source)
    offset, problem = failure
    if problem == TOO_DEEP and text.lstrip().startswith("[") and (elements := _array_elements(text)) is not None:
        return _parsed(elements, "array", source)  # only the element nested too deeply is lost
    line, column = line_and_column(text, offset)
    error = InputError(problem, line, column, None, f"line {line}, column {column}")
    return ParsedInput([], [error], "array" if text.lstrip().startswith("[") else "object", source)


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def _array_elements(text: str) -> list[EventInput | InputError] | None:
    """An array's elements one by one, each its own entry or error; None if the array is not well formed.

    For an array the whole-text parse refused as too deep: the element nested too deeply becomes
    an error pointing at it, and the others are read as usual.
    """
    counter = itertools.count()
    entries: list[EventInput | InputError] = []
    position = _WHITESPACE.match(text, text.index("[") + 1).end()
    if text.startswith("]", position):
        return None
    for index in itertools.count():
        end = value_end(text, position)
        if end is None:
            return None
        value, failure = decode_json(text[position:end])
        line, column = line_and_column(text, position)
        where = f"item [{index}], line {line}, column {column}"
        entries.append(event_entry(value, f"item [{index}]", f"$[{index}]", line, counter) if failure is None
                       else InputError(failure[1], line, column, f"$[{index}]", where))
        position = _WHITESPACE.match(text, end).end()
        if text.startswith(",", position):
            position = _WHITESPACE.match(text, position + 1).end()
        elif text.startswith("]", position) and not text[position + 1:].strip():
            return entries
        else:
            return None
    return None


def value_end(text: str, start: int) -> int | None:
    """Where the JSON value at ``start`` ends, by counting brackets outside strings (no recursion)."""
    depth, position, size = 0, start, len(text)
    while position < size:
        character = text[position]
        if character == '"':
            string = _STRING.match(text, position)
            if string is None:
                return None
            position = string.end()
            if depth == 0:
                return position
            continue
        if character in "[{":
            depth += 1
        elif character in "]}":
            if depth == 0:
                return position if position > start else None
            depth -= 1
            if depth == 0:
                return position + 1
        elif depth == 0 and character in ", \t\n\r":
            return position if position > start else None
        position += 1
    return None

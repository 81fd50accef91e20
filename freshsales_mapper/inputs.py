"""Turning text a user pasted or uploaded into RudderStack events, with errors that point into the text.

Accepted JSON shapes: one event, an array of events, NDJSON (one JSON value per non-blank line),
RudderStack processor request bodies (``{message, destination, metadata}``, single, array or
NDJSON) and the batch API body ``{"batch": [...]}``. CSV goes through :func:`parse_csv_text`.
Text that is not one JSON value is read as NDJSON when its lines stand alone as JSON values (see
``_looks_like_ndjson``); otherwise it is one document with one syntax error.

Line and column numbers are 1-based and refer to the text as the user sees it (a leading UTF-8
BOM is invisible in editors, so it is not counted). Values are never transformed: ``42`` stays an
int and ``"42"`` a string, because RudderStack treats them differently.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .csv_input import parse_csv_text
    from .event_shape import validate_destination, validate_event

__all__ = ["EventInput", "InputError", "ParsedInput", "ShapeError", "iter_ndjson_lines", "parse_csv_text",
           "parse_events_text", "validate_destination", "validate_event"]

# CSV (pandas) and shape checks (jsonschema) live in their own modules, imported on first use so
# that JSON input, the CLI's case, does not pay for either at start-up.
_LAZY = {"parse_csv_text": "csv_input", "validate_event": "event_shape", "validate_destination": "event_shape"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __package__), name)
    globals()[name] = value
    return value


_BOM = "\ufeff"
_PROCESSOR_KEYS = ("message", "destination", "metadata")


@dataclass(frozen=True, slots=True)
class InputError:
    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None
    location: str = ""

    def __str__(self) -> str:
        where = self.location
        if self.path and self.path != "$":
            where = f"{where} ({self.path})" if where else self.path
        return f"{where}: {self.message}" if where else self.message


@dataclass(slots=True)  # not frozen: frozen __init__ is slow for 50,000 items
class EventInput:
    message: Any
    destination: dict | None  # None for a bare message (or a request without one): caller's settings apply
    metadata: Any
    location: str
    index: int


@dataclass(slots=True)
class ParsedInput:
    items: list[EventInput]
    errors: list[InputError]
    format: str  # "object", "array", "ndjson", "csv" or "empty"
    source: str = "input"


@dataclass(frozen=True, slots=True)
class ShapeError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# ---------------------------------------------------------------------------------------------
# JSON decoding


class _NonStandardConstant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


# Python's json accepts NaN/Infinity by default; RudderStack's JSON.parse does not.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# Strings are skipped so that a "NaN" inside a string value is not mistaken for the constant.
_CONSTANT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


def _decode(text: str) -> tuple[Any, tuple[int, str] | None]:
    """(value, None) or (None, (offset of the problem in ``text``, what is wrong))."""
    try:
        return _STRICT_DECODER.decode(text), None
    except json.JSONDecodeError as exc:
        return None, (exc.pos, exc.msg)
    except _NonStandardConstant as exc:
        # The decoder got this far, so the text before the constant is valid JSON and the first
        # constant outside a string is the culprit.
        found = next((m for m in _CONSTANT_OR_STRING.finditer(text) if m.group(1)), None)
        offset = found.start(1) if found else 0
        problem = f"{exc.name} is not valid JSON (RudderStack would reject it); use null or a number"
        return None, (offset, problem)
    except RecursionError:
        return None, (0, "the JSON is nested too deeply")


def _json_path(segments: Iterable[str | int]) -> str:
    parts = ["$"]
    for segment in segments:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif segment.isidentifier():
            parts.append(f".{segment}")
        else:
            parts.append(f"[{json.dumps(segment)}]")
    return "".join(parts)


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    names = {str: "a string", dict: "an object", list: "an array"}
    return names.get(type(value), f"a Python {type(value).__name__}")


# ---------------------------------------------------------------------------------------------
# From decoded JSON values to events


def _event_entry(value: Any, location: str, path: str, line: int | None,
                 counter: Iterator[int]) -> EventInput | InputError:
    if type(value) is not dict:
        return InputError(f"expected an event object, got {_json_type(value)}", line, None, path, location)
    # An event may carry any key, but a processor request never has a top-level `type`.
    if "message" not in value or "type" in value:
        return EventInput(value, None, None, location, next(counter))
    destination = value.get("destination")
    if destination is not None and not isinstance(destination, dict):
        return InputError(f"`destination` must be an object, got {_json_type(destination)}",
                          line, None, f"{path}.destination", location)
    return EventInput(value["message"], destination, value.get("metadata"), location, next(counter))


def _is_batch(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("batch"), list)
            and "type" not in value and "message" not in value)


def _document_entries(value: Any, location: str, line: int | None,
                      counter: Iterator[int]) -> list[EventInput | InputError]:
    prefix = f"{location}, " if location else ""
    if isinstance(value, list):
        return [_event_entry(element, f"{prefix}item [{i}]", f"$[{i}]", line, counter)
                for i, element in enumerate(value)]
    if _is_batch(value):
        return [_event_entry(element, f"{prefix}batch item [{i}]", f"$.batch[{i}]", line, counter)
                for i, element in enumerate(value["batch"])]
    return [_event_entry(value, location or "the event", "$", line, counter)]


def _line_entries(number: int, line: str, counter: Iterator[int]) -> list[EventInput | InputError]:
    value, failure = _decode(line)
    if failure is None:
        if type(value) is dict:  # the usual NDJSON line, kept short because it runs per line
            return [_event_entry(value, f"line {number}", "$", number, counter)]
        return _document_entries(value, f"line {number}", number, counter)
    column = failure[0] + 1
    return [InputError(failure[1], number, column, None, f"line {number}, column {column}")]


def iter_ndjson_lines(lines: Iterable[str], first_line: int = 1) -> Iterator[EventInput | InputError]:
    """One entry per event or problem, line by line, so a large file can be streamed.

    A bad line becomes an :class:`InputError` and the following lines are still read.
    """
    counter = itertools.count()
    for number, line in enumerate(lines, first_line):
        if number == first_line:
            line = line.removeprefix(_BOM)
        if line and not line.isspace():
            yield from _line_entries(number, line, counter)


def _parsed(entries: Iterable[EventInput | InputError], fmt: str, source: str) -> ParsedInput:
    items: list[EventInput] = []
    errors: list[InputError] = []
    for entry in entries:
        (items if type(entry) is EventInput else errors).append(entry)
    return ParsedInput(items, errors, fmt, source)


def _parses_alone(line: str) -> bool:
    try:  # the lenient default decoder: a line with NaN is still a complete line
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def _looks_like_ndjson(lines: list[str]) -> bool:
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
    """Parse pasted or uploaded JSON / NDJSON into events (see the module docstring)."""
    with collector_paused():
        return _parse_events_text(text, source)


def _parse_events_text(text: str, source: str) -> ParsedInput:
    text = text.removeprefix(_BOM)
    if not text or text.isspace():
        return ParsedInput([], [], "empty", source)
    # One whole-text parse is the fast path for objects and arrays; NDJSON fails it within its
    # first line, so trying costs little.
    value, failure = _decode(text)
    if failure is None:
        entries = _document_entries(value, "", None, itertools.count())
        return _parsed(entries, "array" if isinstance(value, list) else "object", source)
    lines = text.split("\n")  # json counts lines by "\n" only, and so do we
    if _looks_like_ndjson(lines):
        return _parsed(iter_ndjson_lines(lines), "ndjson", source)
    offset, problem = failure
    line, column = _line_and_column(text, offset)
    error = InputError(problem, line, column, None, f"line {line}, column {column}")
    return ParsedInput([], [error], "array" if text.lstrip().startswith("[") else "object", source)

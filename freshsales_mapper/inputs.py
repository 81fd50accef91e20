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
import csv
import functools
import gc
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema

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
def _collector_paused() -> Iterator[None]:
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
    with _collector_paused():
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


# ---------------------------------------------------------------------------------------------
# CSV

# Only cells starting like a JSON value are tried, which keeps plain text cells cheap.
_JSON_CELL_START = frozenset('-0123456789tfn"[{')


def _cell_value(cell: str) -> Any:
    if cell.lstrip()[:1] in _JSON_CELL_START:
        value, failure = _decode(cell)
        if failure is None:
            return value
    return cell


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


def _csv_columns(header: list[str], body: list[list[str]]) -> tuple[list[tuple[str, ...] | None], list[InputError]]:
    """Each column's key path (None for an unnamed, empty column) and any problem with the header."""
    columns: list[tuple[str, ...] | None] = []
    errors: list[InputError] = []
    seen: dict[str, int] = {}
    for number, raw_name in enumerate(header, 1):
        name = raw_name.strip()
        where = f"column {number}"
        if not name:
            columns.append(None)
            if any(row[number - 1] for row in body):
                errors.append(InputError(f"column {number} has values but no name", 1, None, None, where))
            continue
        if name in seen:
            errors.append(InputError(f"column `{name}` appears twice (columns {seen[name]} and {number})",
                                     1, None, None, where))
        seen[name] = number
        segments = tuple(name.split("."))
        if "" in segments:
            errors.append(InputError(f"column `{name}` has an empty part in its dotted name",
                                     1, None, None, where))
        columns.append(segments)
    return columns, errors


def _build_row(columns: list[tuple[str, ...] | None], cells: list[str], row: int) -> dict | InputError:
    built: dict[str, Any] = {}
    # Which column created each key path, leaf or intermediate, to name both sides of a conflict.
    owner: dict[tuple[str, ...], str] = {}
    leaves: set[tuple[str, ...]] = set()
    for segments, cell in zip(columns, cells, strict=True):
        if segments is None or cell == "":
            continue
        name = ".".join(segments)
        node = built
        for depth in range(1, len(segments) + 1):
            prefix = segments[:depth]
            last = depth == len(segments)
            if prefix in leaves or (last and prefix in owner):
                return InputError(f"columns `{owner[prefix]}` and `{name}` both set `{'.'.join(prefix)}` "
                                  f"in row {row}; fill only one of them", None, None,
                                  _json_path(prefix), f"row {row}")
            owner.setdefault(prefix, name)
            if last:
                node[segments[-1]] = _cell_value(cell)
                leaves.add(prefix)
            else:
                node = node.setdefault(segments[depth - 1], {})
    return built


def _first_line_of_record(text: str, record: int) -> int:
    """Physical line where CSV record ``record`` (1-based, header included) starts."""
    reader = csv.reader(io.StringIO(text))
    previous_end = 0
    try:
        for number, _ in enumerate(reader, 1):
            if number == record:
                break
            previous_end = reader.line_num
    except csv.Error:
        pass
    return previous_end + 1


def _csv_syntax_error(text: str, pandas_message: str) -> InputError:
    detail = pandas_message.replace("Error tokenizing data. C error: ", "").strip()
    record = None
    if match := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail):
        expected, record, saw = (int(g) for g in match.groups())
        detail = f"this row has {saw} cells but the header has {expected}"
    elif match := re.search(r"EOF inside string starting at row (\d+)", detail):
        record = int(match.group(1)) + 1  # pandas counts rows from 0 here
        detail = "a quoted cell starts here and is never closed"
    if record is None:
        return InputError(f"malformed CSV: {detail}", None, None, None, "the CSV")
    line = _first_line_of_record(text, record)
    return InputError(f"malformed CSV: {detail}", line, None, None, f"line {line}")


def parse_csv_text(text: str, source: str = "upload.csv") -> ParsedInput:
    """Parse CSV with a header row into events, one per row.

    * Dotted column names nest: ``context.traits.email`` becomes
      ``{"context": {"traits": {"email": ...}}}``. Every segment is an object key.
    * If any column starts with ``message.``, ``destination.`` or ``metadata.`` (or is named so),
      each row is a processor request ``{message, destination, metadata}``; every column must then
      start that way.
    * Cells: an empty cell leaves its key out. A cell that is a complete JSON value (``42``,
      ``true``, ``null``, ``{"a": 1}``, ``[1]``, ``"quoted"``) is parsed as JSON; anything else stays
      a string. So ``71010794467`` is a number; write ``"71010794467"`` (with the double quotes,
      CSV-escaped as ``\"\"\"71010794467\"\"\"``) to send a string, since RudderStack treats them
      differently. ``NaN``/``Infinity`` are not JSON and stay strings.
    * Two columns setting the same key (``traits`` and ``traits.email`` both filled in a row) are
      an error for that row. Rows whose cells are all empty are skipped.
    * Row numbers are spreadsheet rows: the header is row 1, the first event row 2.
    """
    import pandas  # deferred: pandas takes a while to import and JSON input does not need it

    text = text.removeprefix(_BOM)
    if not text.strip():
        return ParsedInput([], [], "empty", source)
    try:
        frame = pandas.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                                skip_blank_lines=False)
    except pandas.errors.ParserError as exc:
        return ParsedInput([], [_csv_syntax_error(text, str(exc))], "csv", source)
    rows = [[cell if isinstance(cell, str) else "" for cell in row] for row in frame.itertuples(index=False)]
    header, body = rows[0], rows[1:]
    columns, errors = _csv_columns(header, body)
    named = [segments for segments in columns if segments]
    as_processor = any(segments[0] in _PROCESSOR_KEYS for segments in named)
    if as_processor:
        errors += [InputError(f"column `{'.'.join(segments)}` must start with message., destination. or "
                              "metadata. like the other columns", 1, None, None, "the header")
                   for segments in named if segments[0] not in _PROCESSOR_KEYS]
    if errors:
        return ParsedInput([], errors, "csv", source)
    counter = itertools.count()
    items: list[EventInput] = []
    for row_number, cells in enumerate(body, 2):
        if not any(cells):
            continue
        built = _build_row(columns, cells, row_number)
        if isinstance(built, InputError):
            errors.append(built)
            continue
        if as_processor:
            built.setdefault("message", {})
        entry = _event_entry(built, f"row {row_number}", "$", None, counter)
        (items if type(entry) is EventInput else errors).append(entry)
    return ParsedInput(items, errors, "csv", source)


# ---------------------------------------------------------------------------------------------
# Shape checks against event_schema.json


@functools.lru_cache(maxsize=1)
def _schema_definitions() -> dict:
    text = resources.files(__package__).joinpath("event_schema.json").read_text(encoding="utf-8")
    return json.loads(text)["$defs"]


@functools.cache
def _validator(definition: str) -> jsonschema.Draft202012Validator:
    wrapper = {"$defs": _schema_definitions(), "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(wrapper)


_TYPE_WORDS = {"object": "an object", "array": "an array", "string": "a string", "number": "a number",
               "integer": "an integer", "boolean": "a boolean", "null": "null"}


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _shape_error(error: jsonschema.ValidationError, whole: str) -> tuple[list, str]:
    """(instance path of the problem, plain-language message)."""
    segments = list(error.absolute_path)
    if error.validator == "required":
        # A missing key is reported at the key's own path, where the user has to add it.
        missing = next(k for k in error.validator_value
                       if k not in error.instance and repr(k) in error.message)
        segments.append(missing)
    subject = f"`{_json_path(segments)[2:]}`" if segments else whole
    if error.validator == "required":
        return segments, f"{subject} is missing"
    if error.validator == "type":
        wanted = error.validator_value
        words = [_TYPE_WORDS.get(w, w) for w in (wanted if isinstance(wanted, list) else [wanted])]
        return segments, f"{subject} must be {_either(words)}, got {_json_type(error.instance)}"
    if error.validator == "enum":
        allowed = _either([json.dumps(v) for v in error.validator_value])
        return segments, f"{subject} must be {allowed}, got {json.dumps(error.instance)}"
    if error.validator == "minLength":
        return segments, f"{subject} must not be empty"
    return segments, error.message


def _path_order(segments: list) -> tuple:
    # Array indexes sort numerically and before keys, so "[2]" comes before "[10]".
    return tuple((0, s, "") if isinstance(s, int) else (1, 0, s) for s in segments)


def _check(definition: str, instance: Any, whole: str) -> list[ShapeError]:
    found = [_shape_error(e, whole) for e in _validator(definition).iter_errors(instance)]
    found.sort(key=lambda pair: (_path_order(pair[0]), pair[1]))
    return [ShapeError(_json_path(segments), message) for segments, message in found]


def validate_event(message: Any) -> list[ShapeError]:
    """Shape problems in a RudderStack event (the parts the Freshsales destination reads), by path."""
    return _check("event", message, "the event")


def validate_destination(config: Any) -> list[ShapeError]:
    """Shape problems in the destination settings.

    Takes the ``Config`` object; a whole destination ``{"Config": {...}}`` is accepted too.
    """
    if isinstance(config, dict) and "Config" in config:
        return _check("destination", config, "the destination")
    return _check("destinationConfig", config, "the destination Config")

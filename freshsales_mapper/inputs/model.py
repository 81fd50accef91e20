"""What parsed input is: events with their location, errors that point into the text, and the JSON helpers
every input format shares (strict decoding, JSON paths, type words). Imports only the engine's JavaScript
``undefined`` (what a processor item's missing key is)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from freshsales_mapper.engine.jsvalue import DEEPEST_VALUE, UNDEFINED, allow_deep_values

BOM = "\ufeff"
PROCESSOR_KEYS = ("message", "destination", "metadata")


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
    message: Any  # UNDEFINED when a processor item has no `message`
    destination: Any  # None for a bare message: the caller's settings apply (see ``bare``)
    metadata: Any
    location: str
    index: int
    # A RudderStack processor item ({message, destination, metadata}): its destination is used as it is,
    # even when null, missing (UNDEFINED) or not an object; RudderStack answers such items itself.
    processor: bool = False

    @property
    def bare(self) -> bool:
        """An event without settings of its own, to be sent with the caller's domain and key."""
        return self.destination is None and not self.processor


@dataclass(slots=True)
class ParsedInput:
    items: list[EventInput]
    errors: list[InputError]
    format: str  # "object", "array", "ndjson", "csv" or "empty"
    source: str = "input"
    # items and errors together in input order, when the parser kept it (see ``in_order``)
    entries: list[EventInput | InputError] | None = None

    def in_order(self) -> list[EventInput | InputError]:
        """Every event and every problem, in the order they stand in the input."""
        if self.entries is not None:
            return list(self.entries)
        return [*self.errors, *self.items]


@dataclass(frozen=True, slots=True)
class ShapeError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# ---------------------------------------------------------------------------------------------
# JSON decoding


class NonStandardConstant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> Any:
    raise NonStandardConstant(name)


def _js_integer(literal: str) -> int | float:
    """An integer literal as RudderStack's JSON.parse holds it, for literals past Python's int-string limit.

    JSON.parse makes every number a double, and no integer of thousands of digits fits one: it is
    ±Infinity, exactly what the engine already makes of any integer beyond 1.8e308 (see
    ``jsnumber.js_json_value``). ``float()`` has no digit limit and rounds such a literal to ±inf.
    """
    try:
        return int(literal)
    except ValueError:
        return float(literal)


# Python's json accepts NaN/Infinity by default; RudderStack's JSON.parse does not.
STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# Only used when the fast decoder hit the int-string limit: a Python hook per integer costs time.
HUGE_INTEGER_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_js_integer)
# Strings are skipped so that a "NaN" inside a string value is not mistaken for the constant.
_CONSTANT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


TOO_DEEP = "the JSON is nested too deeply"


def decode_json(text: str) -> tuple[Any, tuple[int, str] | None]:
    """(value, None) or (None, (offset of the problem in ``text``, what is wrong))."""
    allow_deep_values()
    try:
        try:
            return STRICT_DECODER.decode(text), None
        except ValueError as exc:
            if type(exc) is not ValueError:  # a syntax error or a constant: handled below
                raise
            return HUGE_INTEGER_DECODER.decode(text), None  # Python's int-string limit, nothing else
    except json.JSONDecodeError as exc:
        return None, (exc.pos, exc.msg)
    except NonStandardConstant as exc:
        # The decoder got this far, so the text before the constant is valid JSON and the first
        # constant outside a string is the culprit.
        found = next((m for m in _CONSTANT_OR_STRING.finditer(text) if m.group(1)), None)
        offset = found.start(1) if found else 0
        problem = f"{exc.name} is not valid JSON (RudderStack would reject it); use null or a number"
        return None, (offset, problem)
    except RecursionError:
        return None, (0, TOO_DEEP)


# ---------------------------------------------------------------------------------------------
# Bytes that are not UTF-8

# Text is decoded with "surrogateescape", so every byte that is not UTF-8 survives as one character
# U+DC80..U+DCFF (byte 0x80..0xFF) and can be pointed at, instead of failing the whole file or being
# silently replaced. Decoded UTF-8 never yields these characters, and JSON's "\udc80" escapes are ASCII
# in the text, so in the text they mean exactly "a byte that was not UTF-8".
UNDECODABLE = re.compile("[\udc80-\udcff]")


def decode_utf8(data: bytes) -> str:
    """Bytes as text; bytes that are not UTF-8 become U+DC80..U+DCFF for the parsers to report."""
    return data.decode("utf-8", "surrogateescape").removeprefix(BOM)


def has_undecodable(text: str) -> bool:
    return not text.isascii() and UNDECODABLE.search(text) is not None


def undecodable_problem(character: str) -> str:
    return f"byte 0x{ord(character) - 0xDC00:02X} is not UTF-8 text; save the file as UTF-8"


def undecodable_strings(value: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(JSON path, text) of each key or string holding a byte that was not UTF-8, in document order.

    Iterative, because the values come from input and may nest as deep as the JSON decoder allows.
    """
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while pending:
        node, where = pending.pop()
        if isinstance(node, str):
            if UNDECODABLE.search(node):
                yield where, node
        elif isinstance(node, dict):
            for key, child in reversed(node.items()):
                pending.append((child, (*where, key)))
                pending.append((key, (*where, key)))
        elif isinstance(node, list):
            pending.extend((child, (*where, i)) for i, child in reversed(list(enumerate(node))))


# How deep an event may nest: what JSON input reaches (the engine's own limit), so that CSV input,
# which builds values without recursion, never goes deeper than JSON input can.
MAX_DEPTH = DEEPEST_VALUE


def nesting(value: Any) -> int:
    """Levels of objects and arrays, counted without recursion (the value may be deeper than recursion allows)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, level = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def json_path(segments: Iterable[str | int]) -> str:
    parts = ["$"]
    for segment in segments:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif segment.isidentifier():
            parts.append(f".{segment}")
        else:
            parts.append(f"[{json.dumps(segment)}]")
    return "".join(parts)


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    names = {str: "a string", dict: "an object", list: "an array"}
    return names.get(type(value), f"a Python {type(value).__name__}")


def is_processor_item(value: dict) -> bool:
    """``{message, destination, metadata}`` (any of them, nothing else), or any object with a ``message`` but
    no ``type``: an event may carry any key, but a processor request never has a top-level ``type``."""
    if not value:
        return False
    if "message" in value:
        return "type" not in value
    return all(key in PROCESSOR_KEYS for key in value)


def event_entry(value: Any, location: str, path: str, line: int | None,
                counter: Iterator[int]) -> EventInput | InputError:
    if type(value) is not dict:
        return InputError(f"expected an event object, got {json_type(value)}", line, None, path, location)
    if not is_processor_item(value):
        return EventInput(value, None, None, location, next(counter))
    return EventInput(value.get("message", UNDEFINED), value.get("destination", UNDEFINED), value.get("metadata"),
                      location, next(counter), processor=True)



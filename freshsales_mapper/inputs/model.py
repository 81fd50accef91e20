"""What parsed input is: events with their location, errors that point into the text, and the JSON helpers
every input format shares (strict decoding, JSON paths, type words). Imports nothing from the project."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

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


def decode_json(text: str) -> tuple[Any, tuple[int, str] | None]:
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


def event_entry(value: Any, location: str, path: str, line: int | None,
                 counter: Iterator[int]) -> EventInput | InputError:
    if type(value) is not dict:
        return InputError(f"expected an event object, got {json_type(value)}", line, None, path, location)
    # An event may carry any key, but a processor request never has a top-level `type`.
    if "message" not in value or "type" in value:
        return EventInput(value, None, None, location, next(counter))
    destination = value.get("destination")
    if destination is not None and not isinstance(destination, dict):
        return InputError(f"`destination` must be an object, got {json_type(destination)}",
                          line, None, f"{path}.destination", location)
    return EventInput(value["message"], destination, value.get("metadata"), location, next(counter))



"""Text in: pasted or uploaded JSON, NDJSON and CSV become events, each with where it came from, and
problems become errors that point at a line, a column and a JSON path.

Owns parsing and shape checks (jsonschema). May import the standard library, pandas (CSV only) and
jsonschema; nothing else of the project. CSV and shape checks load on first use, so JSON input, the
CLI's case, does not pay for pandas or jsonschema at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from freshsales_mapper.inputs.json_text import collector_paused, iter_ndjson_lines, parse_events_text
from freshsales_mapper.inputs.model import EventInput, InputError, ParsedInput, ShapeError, decode_utf8

if TYPE_CHECKING:
    from freshsales_mapper.inputs.csv_text import parse_csv_text
    from freshsales_mapper.inputs.shape import validate_destination, validate_event

__all__ = ["EventInput", "InputError", "ParsedInput", "ShapeError", "collector_paused", "decode_utf8", "iter_ndjson_lines",
           "parse_csv_text", "parse_events_text", "validate_destination", "validate_event"]

_LAZY = {"parse_csv_text": "csv_text", "validate_event": "shape", "validate_destination": "shape"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value

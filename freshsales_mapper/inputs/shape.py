"""Shape checks of events and destination settings against ``event_schema.json``.

jsonschema explains every problem with its path; fastjsonschema, compiled from the same schema, only
says valid or not, but about 40 times faster, so the (usual) valid event skips the explaining pass.
Kept apart from :mod:`freshsales_mapper.inputs.json_text` (which re-exports :func:`validate_event` and
:func:`validate_destination`) because both are slow to import and parsing does not need them.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema

from freshsales_mapper.inputs.model import ShapeError, json_path, json_type


@functools.lru_cache(maxsize=1)
def _schema_definitions() -> dict:
    text = resources.files(__package__).joinpath("event_schema.json").read_text(encoding="utf-8")
    return json.loads(text)["$defs"]


def _wrapper(definition: str) -> dict:
    return {"$defs": _schema_definitions(), "$ref": f"#/$defs/{definition}"}


@functools.cache
def _validator(definition: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_wrapper(definition))


@functools.cache
def _quick_check(definition: str) -> Any:
    return fastjsonschema.compile(_wrapper(definition))


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
    subject = f"`{json_path(segments)[2:]}`" if segments else whole
    if error.validator == "required":
        return segments, f"{subject} is missing"
    if error.validator == "type":
        wanted = error.validator_value
        words = [_TYPE_WORDS.get(w, w) for w in (wanted if isinstance(wanted, list) else [wanted])]
        return segments, f"{subject} must be {_either(words)}, got {json_type(error.instance)}"
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
    try:
        _quick_check(definition)(instance)
        return []
    except fastjsonschema.JsonSchemaException:
        pass  # invalid: let jsonschema say where and why
    found = [_shape_error(e, whole) for e in _validator(definition).iter_errors(instance)]
    found.sort(key=lambda pair: (_path_order(pair[0]), pair[1]))
    return [ShapeError(json_path(segments), message) for segments, message in found]


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

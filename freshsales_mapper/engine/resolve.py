"""Resolving Freshsales fields from an event: RudderStack's ``constructPayload``, with a trace.

Every decision RudderStack makes silently (which candidate won, what was skipped and why, what a
coercion did) is recorded in a ``FieldTrace`` when ``trace`` is on. With ``trace`` off the same
decisions are made without the bookkeeping: that path serves the CLI's bulk transforms.
"""

from __future__ import annotations

import json
import math
from typing import Any

from freshsales_mapper.engine.errors import instrumentation_error
from freshsales_mapper.engine.jsvalue import (
    MAX_SAFE_INTEGER,
    UNDEFINED,
    MessageReader,
    get_path,
    is_number,
    is_set,
    js_json_value,
    js_string,
    js_trim,
    parse_float,
    radix_of,
    to_number,
    truthy,
    type_name,
)
from freshsales_mapper.engine.plan import Candidate, FieldTrace
from freshsales_mapper.engine.tables import FieldSpec

ADDRESS_PARTS = ("street", "city", "state", "country", "postalCode")


def _pass_reason(value: Any) -> str:
    if value is UNDEFINED:
        return "missing"
    if value is None:
        return "null"
    if value == "":
        return "empty"
    return "nan"


def pick_value(reader: MessageReader, spec: FieldSpec) -> tuple[Any, str | None]:
    """RudderStack's ``getValueFromMessage``: the raw value and the path it came from."""
    if spec.single:
        value = reader.get(spec.paths[0], spec.segments[0])
        return value, (spec.paths[0] if value is not UNDEFINED else None)
    known = reader.parents
    for parent, leaves in spec.runs:
        node = known.get(parent)
        if node is None:
            node = reader.parent(parent)
        if node is UNDEFINED:
            continue  # nothing under an absent parent: skip the whole run
        for leaf, path in leaves:
            value = node.get(leaf, UNDEFINED) if type(node) is dict else get_path(reader.message, path)
            if type(value) is str:
                if value:
                    return value, path
            elif value is not UNDEFINED and value is not None and is_set(value):
                return value, path
    return None, None


def coerce(value: Any, how: str | None) -> Any:
    """The ``metadata.type`` step: only defined, non-null values are converted."""
    if how is None or value is None or value is UNDEFINED:
        return value
    return to_number(value) if how == "toNumber" else parse_float(value)


def construct_payload(reader: MessageReader, specs: tuple[FieldSpec, ...], traces: list[FieldTrace] | None) -> dict:
    """Build the Freshsales object; raise RudderStack's error for the first required field unset.

    ``traces`` (when a list) receives one FieldTrace per field, in table order.
    """
    payload: dict[str, Any] = {}
    for spec in specs:
        raw, winner = pick_value(reader, spec)
        value = raw if spec.coerce is None else coerce(raw, spec.coerce)
        if type(value) is str:  # the usual case, decided without the general checks
            sent = value != ""
            if sent:
                payload[spec.dest] = value
        else:
            sent = value is not None and value is not UNDEFINED and is_set(value)
            if sent:
                payload[spec.dest] = js_json_value(value)
        if traces is not None:
            traces.append(trace_field(reader, spec, raw, winner, value, sent))
        if not sent and spec.required:
            raise instrumentation_error(f"Missing required value from {spec.label_json}")
    return payload


def trace_field(reader: MessageReader, spec: FieldSpec, raw: Any, winner: str | None, value: Any, sent: bool) -> FieldTrace:
    candidates = []
    reached = True
    for path, segs in zip(spec.paths, spec.segments, strict=True):
        found = reader.get(path, segs)
        present = found is not UNDEFINED
        if spec.single:
            outcome = "kept-as-is" if present else "missing"
        elif path == winner:
            outcome, reached = "won", False
        elif reached:
            outcome = _pass_reason(found) if not is_set(found) else "won"
        else:
            outcome = "later" if present else "not-reached"
        candidates.append(Candidate(path, outcome, found if present else None, present))
    trace = FieldTrace(
        dest=spec.dest,
        sources=spec.label if spec.label is not None else ", ".join(spec.paths),
        candidates=candidates,
        winner=winner,
        raw=None if raw is UNDEFINED else raw,
        sent=js_json_value(value) if sent else None,
        status="sent" if sent else "unset",
        coercion=spec.coerce,
        doc_note=spec.doc,
        required=spec.required,
    )
    if not sent:
        if spec.required:
            trace.status = "missing-required"
        elif raw is not None and raw is not UNDEFINED and raw != "":
            trace.status = "dropped"
    trace.warnings.extend(_coercion_warnings(spec, raw, value, sent))
    trace.warnings.extend(_shadowed_warnings(spec, candidates, raw, winner))
    if sent and spec.coerce is None:
        trace.warnings.extend(_type_warnings(spec, value))
    return trace


def _coercion_warnings(spec: FieldSpec, raw: Any, value: Any, sent: bool) -> list[str]:
    if spec.coerce is None or raw is None or raw is UNDEFINED:
        if spec.single and raw == "" and not sent:
            return [f'{spec.paths[0]} is "" (an empty string), so {spec.dest} is not sent']
        return []
    func = "Number()" if spec.coerce == "toNumber" else "parseFloat()"
    shown = js_string(raw) if isinstance(raw, str) else repr_js(raw)
    if not sent:
        return [f"{shown} is not a number for JavaScript {func}, so RudderStack drops {spec.dest} silently"]
    notes = []
    if isinstance(value, float) and math.isinf(value):
        notes.append(f"{shown} becomes Infinity, which JSON cannot carry: RudderStack sends null")
    elif isinstance(raw, str):
        text = js_trim(raw)
        if spec.coerce == "toFloat" and js_string(js_json_value(value)) != text:
            notes.append(f'parseFloat() reads only the numeric start of "{raw}": sends {js_string(js_json_value(value))}')
        elif text != raw:
            notes.append(f'surrounding whitespace of "{raw}" is ignored by Number()')
        if text == "":
            notes.append('"" becomes 0 under Number(), and 0 is sent')
        elif radix_of(text):
            notes.append(f'"{raw}" is read as a base-{radix_of(text)} literal: sends {js_string(js_json_value(value))}')
        elif "e" in text.lower() and spec.coerce == "toNumber":
            notes.append(f'"{raw}" is exponent notation: sends {js_string(js_json_value(value))}')
    elif isinstance(raw, bool):
        notes.append(f"{js_string(raw)} becomes {js_string(value)} under {func}")
    elif isinstance(raw, (list, dict)):
        notes.append(f"{type_name(raw)} becomes {js_string(js_json_value(value))} under {func}")
    if is_number(value) and not math.isinf(value) and abs(value) > MAX_SAFE_INTEGER:
        notes.append(f"past 2^53 a JavaScript number loses digits: sends {js_string(js_json_value(value))}")
    if spec.expects == "integer" and is_number(value) and not math.isinf(value) and not float(value).is_integer():
        notes.append(f"{js_string(value)} is not a whole number, but {spec.dest} is an id")
    return notes


def _shadowed_warnings(spec: FieldSpec, candidates: list[Candidate], raw: Any, winner: str | None) -> list[str]:
    """The same trait given again, differently, further down the list (traits vs context.traits).

    Only the same key counts (spelling variants folded): timestamp and originalTimestamp, or userId
    and anonymousId, are different facts that are expected to differ.
    """
    if spec.single or raw is None or winner is None:
        return []
    winner_value = js_json_value(raw)
    winner_key = _folded_leaf(winner)
    return [f"{cand.path} also holds {repr_js(cand.value)}, which differs; the earlier source wins"
            for cand in candidates
            if cand.outcome == "later" and _folded_leaf(cand.path) == winner_key and is_set(cand.value)
            and js_json_value(cand.value) != winner_value]


def _folded_leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].replace("_", "").lower()


def _type_warnings(spec: FieldSpec, value: Any) -> list[str]:
    expects = spec.expects
    if expects in ("string", "datetime") and not isinstance(value, str):
        return [f"sent as {type_name(value)}, as given; Freshsales expects a string here"]
    if expects == "integer" and not is_number(value):
        return [f"sent as given ({type_name(value)}); Freshsales expects an integer id here"]
    if expects == "array" and not isinstance(value, list):
        return [f"sent as given ({type_name(value)}); Freshsales expects a list of {{id, is_primary}}"]
    return []


def repr_js(value: Any) -> str:
    """A short display of a value as JSON would show it."""
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, (dict, list)):
        text = json.dumps(js_json_value(value), ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + "..."
    if value is None:
        return "null"
    return js_string(value)


def flatten_address(address: Any) -> str:
    """RudderStack's ``flattenAddress``: an object becomes five space-separated parts, else ""."""
    if not isinstance(address, (dict, list)):
        return ""
    parts = [address.get(p, UNDEFINED) if isinstance(address, dict) else UNDEFINED for p in ADDRESS_PARTS]
    return " ".join(js_string(v) if truthy(v) else "" for v in parts)

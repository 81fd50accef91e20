"""Resolving Freshsales fields from an event: RudderStack's ``constructPayload``, with a trace.

Every decision RudderStack makes silently (which candidate won, what was skipped and why, what a
coercion did) is recorded in a ``FieldTrace`` when ``trace`` is on. With ``trace`` off the same
decisions are made without the bookkeeping: that path serves the CLI's bulk transforms.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

from freshsales_mapper.engine.errors import instrumentation_error
from freshsales_mapper.engine.jsnumber import js_json_value, js_string, parse_float, radix_of, to_number
from freshsales_mapper.engine.jsvalue import (
    MAX_SAFE_INTEGER,
    UNDEFINED,
    MessageReader,
    get_path,
    is_number,
    is_set,
    js_trim,
    truthy,
    type_name,
)
from freshsales_mapper.engine.plan import Candidate, FieldTrace, FinalValue, ValueStep
from freshsales_mapper.engine.tables import FieldSpec
from freshsales_mapper.engine.vocabulary import CandidateOutcome, FieldStatus, ValueStepKind

ADDRESS_PARTS = ("street", "city", "state", "country", "postalCode")
WON, KEPT, MISSING, LATER, NOT_REACHED = (CandidateOutcome.WON, CandidateOutcome.KEPT_AS_IS, CandidateOutcome.MISSING,
                                          CandidateOutcome.LATER, CandidateOutcome.NOT_REACHED)


_new_tuple = tuple.__new__  # NamedTuple's own constructor costs a lambda call per pick, on the bulk hot path


def _pass_reason(value: Any) -> CandidateOutcome:
    if value is UNDEFINED:
        return CandidateOutcome.MISSING
    if value is None:
        return CandidateOutcome.NULL
    if value == "":
        return CandidateOutcome.EMPTY
    return CandidateOutcome.NAN


class Pick(NamedTuple):
    """What ``pick_value`` read: the value, where it came from, and what every candidate held, in table order."""

    value: Any  # RudderStack's result: a lone path's value as is (even UNDEFINED), else the winner's or None
    winner: str | None  # the path the value came from
    found: tuple[Any, ...] | list[Any]  # what each candidate held (UNDEFINED where absent); [] unless recorded
    single: bool = False  # a lone path: its value is kept as is

    @property
    def outcomes(self) -> tuple[CandidateOutcome, ...]:
        """Each candidate's outcome, from what this pick read (nothing is read again)."""
        if self.single:
            return (MISSING if self.winner is None else KEPT,)
        outcomes: list[CandidateOutcome] = []
        won = False
        for value in self.found:
            if won:
                outcomes.append(NOT_REACHED if value is UNDEFINED else LATER)
            elif counts_as_set(value):
                outcomes.append(WON)
                won = True
            else:
                outcomes.append(_pass_reason(value))
        return tuple(outcomes)


def pick_value(reader: MessageReader, spec: FieldSpec, record: bool = True) -> Pick:
    """RudderStack's ``getValueFromMessage``: one pass over the candidates that decides the value.

    With ``record`` the pass goes on past the winner (RudderStack stops there) so that ``found`` holds
    what every candidate held and ``outcomes`` can tell "later" (present, ignored) from "not-reached";
    without it (``trace=False``) the same pass records nothing and stops at the winner.
    """
    if spec.single:
        value = reader.get(spec.paths[0], spec.segments[0])
        return _new_tuple(Pick, (value, None if value is UNDEFINED else spec.paths[0], (value,), True))
    found: list[Any] | tuple[()] = [] if record else ()
    picked, winner = None, None
    known = reader.parents
    for parent, leaves in spec.runs:
        node = known.get(parent)
        if node is None:
            node = reader.parent(parent)
        if node is UNDEFINED:  # nothing under an absent parent: skip the whole run
            if record:
                found.extend([UNDEFINED] * len(leaves))
            continue
        for leaf, path in leaves:
            value = node.get(leaf, UNDEFINED) if type(node) is dict else get_path(reader.message, path)
            if record:
                found.append(value)
            if winner is not None:
                continue
            # counts_as_set(value), inlined: this loop is the hot path of bulk transforms
            if (value != "") if type(value) is str else (value is not UNDEFINED and value is not None
                                                         and is_set(value)):
                if not record:
                    return _new_tuple(Pick, (value, path, (), False))
                picked, winner = value, path
    return _new_tuple(Pick, (picked, winner, found, False))


def counts_as_set(value: Any) -> bool:
    """Whether ``getValueFromMessage`` takes a candidate's value: a non-empty string, or any set value."""
    if type(value) is str:
        return value != ""
    return value is not UNDEFINED and value is not None and is_set(value)




def coerce(value: Any, how: str | None) -> Any:
    """The ``metadata.type`` step: only defined, non-null values are converted."""
    if how is None or value is None or value is UNDEFINED:
        return value
    return to_number(value) if how == "toNumber" else parse_float(value)


def construct_payload(reader: MessageReader, specs: tuple[FieldSpec, ...], traces: list[FieldTrace] | None) -> dict:
    """Build the Freshsales object; raise RudderStack's error for the first required field unset.

    Each field is one pass: pick, coerce (metadata.type), then the spec's value steps (flattenAddress,
    which RudderStack applies right after constructPayload and which nothing between can observe).
    ``traces`` (when a list) receives one FieldTrace per field, in table order, built from that pass.
    """
    if traces is None:
        return build_payload(reader, specs)
    payload: dict[str, Any] = {}
    record = True
    for spec in specs:
        pick = pick_value(reader, spec, record)
        raw = pick[0]  # .value, without the descriptor call
        value = raw if spec.coerce is None else coerce(raw, spec.coerce)
        if type(value) is str:  # the usual case, decided without the general checks
            sent = value != ""
            if sent:
                payload[spec.dest] = value
        else:
            sent = value is not None and value is not UNDEFINED and is_set(value)
            if sent:  # kept as JavaScript holds it (Infinity, 2^53+ integers); emit() makes it JSON
                payload[spec.dest] = value
        flattened = None
        if sent and spec.flatten and truthy(payload[spec.dest]):
            flattened = flatten_step(payload[spec.dest])
            payload[spec.dest] = flattened.after
        if record:
            final = payload.get(spec.dest, UNDEFINED)
            trace = trace_field(spec, pick, value, final if final is UNDEFINED else js_json_value(final))
            if flattened is not None:
                trace.steps.append(flattened)
                trace.warnings.append(flattened.note)
            trace.final = final_value(spec, trace.sent, sent, trace.warnings)
            traces.append(trace)
        if not sent and spec.required:
            raise instrumentation_error(f"Missing required value from {spec.label_json}")
    return payload


def build_payload(reader: MessageReader, specs: tuple[FieldSpec, ...]) -> dict:
    """``construct_payload`` without a trace: the same decisions, first winner taken, nothing recorded.

    The bulk hot path: no Pick per field, and a run's parent object is read by plain key when it can be.
    """
    payload: dict[str, Any] = {}
    known = reader.parents
    for spec in specs:
        if spec.single:
            value = reader.get(spec.paths[0], spec.segments[0])
        else:
            value = None
            for parent, leaves in spec.runs:
                node = known.get(parent)
                if node is None:
                    node = reader.parent(parent)
                if node is UNDEFINED:
                    continue
                plain = type(node) is dict
                for leaf, path in leaves:
                    found = node.get(leaf, UNDEFINED) if plain else get_path(reader.message, path)
                    if (found != "") if type(found) is str else (found is not UNDEFINED and found is not None
                                                                 and is_set(found)):
                        value = found
                        break
                else:
                    continue
                break
        if spec.coerce is not None:
            value = coerce(value, spec.coerce)
        if (value != "") if type(value) is str else (value is not None and value is not UNDEFINED and is_set(value)):
            payload[spec.dest] = value
            if spec.flatten and truthy(value):
                payload[spec.dest] = flatten_address(value)
        elif spec.required:
            raise instrumentation_error(f"Missing required value from {spec.label_json}")
    return payload


def flatten_step(address: Any) -> ValueStep:
    """RudderStack's ``if (payload.address) payload.address = flattenAddress(payload.address)``."""
    flat = flatten_address(address)
    if isinstance(address, (dict, list)):
        note = ("flattened to \"street city state country postalCode\"; missing parts become empty strings and "
                "other keys are dropped")
    else:
        word = type_name(address)
        note = (f"{word[0].upper()}{word[1:]} address is not an object, so RudderStack blanks it to \"\" (and still "
                "sends the empty string)")
    return ValueStep(ValueStepKind.FLATTEN_ADDRESS, address, flat, note)


def trace_field(spec: FieldSpec, pick: Pick, value: Any, final: Any) -> FieldTrace:
    """The record of one field, from the pass that picked it (``final`` is UNDEFINED when nothing is sent).

    Holds the pick and the coercion; the caller appends later value steps and the final value.
    """
    raw, winner = pick.value, pick.winner
    candidates = [Candidate(path, outcome, None if found is UNDEFINED else found, found is not UNDEFINED)
                  for path, outcome, found in zip(spec.paths, pick.outcomes, pick.found, strict=True)]
    sent = final is not UNDEFINED
    trace = FieldTrace(
        dest=spec.dest,
        sources=spec.label if spec.label is not None else ", ".join(spec.paths),
        candidates=candidates,
        winner=winner,
        raw=None if raw is UNDEFINED else raw,
        sent=final if sent else None,
        status=FieldStatus.SENT if sent else FieldStatus.UNSET,
        coercion=spec.coerce,
        doc_note=spec.doc,
        required=spec.required,
    )
    if not sent:
        if spec.required:
            trace.status = FieldStatus.MISSING_REQUIRED
        elif raw is not None and raw is not UNDEFINED and raw != "":
            trace.status = FieldStatus.DROPPED
    if spec.coerce is not None and raw is not None and raw is not UNDEFINED:
        how = "JavaScript Number()" if spec.coerce == "toNumber" else "JavaScript parseFloat()"
        trace.steps.append(ValueStep(ValueStepKind.COERCE, raw, js_json_value(value), how))
    trace.warnings.extend(_coercion_warnings(spec, raw, value, sent))
    trace.warnings.extend(_shadowed_warnings(spec, candidates, raw, winner))
    return trace


def final_value(spec: FieldSpec, value: Any, sent: bool, warnings: list[str]) -> FinalValue | None:
    """The typed record of the value a field ends with; the type check runs here, on that value only."""
    if not sent:
        return None
    warning = _type_warning(spec, value) if spec.coerce is None else None
    if warning is not None:
        warnings.append(warning)
    return FinalValue(value, json_type(value), warning)


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
            if cand.outcome is CandidateOutcome.LATER and _folded_leaf(cand.path) == winner_key and is_set(cand.value)
            and js_json_value(cand.value) != winner_value]


def _folded_leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].replace("_", "").lower()


def _type_warning(spec: FieldSpec, value: Any) -> str | None:
    expects = spec.expects
    if expects in ("string", "datetime") and not isinstance(value, str):
        return f"sent as {type_name(value)}, as given; Freshsales expects a string here"
    if expects == "integer" and not is_number(value):
        return f"sent as given ({type_name(value)}); Freshsales expects an integer id here"
    if expects == "array" and not isinstance(value, list):
        return f"sent as given ({type_name(value)}); Freshsales expects a list of {{id, is_primary}}"
    return None


def json_type(value: Any) -> str:
    """The JSON type of a value: "string", "number", "boolean", "array", "object" or "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    return "array" if isinstance(value, list) else "object"


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

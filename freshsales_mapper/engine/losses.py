"""What a mapped event loses on its way to Freshsales, each loss with its own typed reason.

Read from what the plan writes (the objects in its request bodies) against the mapping tables, so the
same answer comes with or without a trace: the batch view's trace-free results and one event's detail
agree. Only the fields that can lose something are looked at (coerced ids, the address, typed fields),
so the cost per event is a handful of dictionary reads.
"""

from __future__ import annotations

import re
from typing import Any

from freshsales_mapper.engine.jsnumber import js_string
from freshsales_mapper.engine.jsvalue import UNDEFINED, MessageReader, type_name
from freshsales_mapper.engine.plan import LookupStep, Loss, Placeholder, TransformResult
from freshsales_mapper.engine.resolve import ADDRESS_PARTS, pick_value, repr_js
from freshsales_mapper.engine.tables import FieldSpec, MappingTables, load_tables
from freshsales_mapper.engine.vocabulary import LossKind

# Which object of which request body a table fills: (body key, table).
OBJECTS = {"contact": ("contact", "identify"), "sales_account": ("sales_account", "group"),
           "sales_activity": ("sales_activity", "sales_activity")}
ID_DIGITS = re.compile(r"\s*\d+\s*")
NOT_LINKED = Loss(LossKind.CONTACT_NOT_LINKED, "contact", "contact not linked",
                  "the group event has no email (traits.email, context.traits.email or properties.email), so "
                  "RudderStack upserts the sales account only and links no contact to it")


def find_losses(message: Any, result: TransformResult, tables: MappingTables | None = None) -> list[Loss]:
    """The losses of a mapped event (none for a rejected one: nothing is sent at all)."""
    if result.error is not None or not isinstance(message, dict):
        return []
    tables = tables or load_tables()
    reader: MessageReader | None = None
    losses: list[Loss] = []
    for body_key, table, written in _written_objects(result):
        if reader is None:
            reader = MessageReader(message)
        for spec in getattr(tables, table):
            loss = _field_loss(reader, spec, written.get(spec.dest, UNDEFINED), body_key)
            if loss is not None:
                losses.append(loss)
    if any(f.freshsales_event == "sales_account" for f in result.final_requests):
        losses.append(NOT_LINKED)
    return list(dict.fromkeys(losses))


def _written_objects(result: TransformResult) -> list[tuple[str, str, dict]]:
    """Each object the plan writes that a table filled: a final request's, or a group's account upsert."""
    found = []
    for step in result.steps:
        body = step.request.body
        if isinstance(step, LookupStep):
            if not step.writes or step.extracted.get("lookup") != "sales_account":
                continue
            event = "sales_account"
        else:
            event = step.freshsales_event
        if event in OBJECTS and isinstance(body, dict) and isinstance(body.get(OBJECTS[event][0]), dict):
            body_key, table = OBJECTS[event]
            found.append((body_key, table, body[body_key]))
    return found


def _field_loss(reader: MessageReader, spec: FieldSpec, written: Any, where: str) -> Loss | None:
    if spec.flatten:
        return _address_loss(reader, spec, written, where) if written is not UNDEFINED else None
    if spec.coerce is not None:
        if written is not UNDEFINED:
            return None
        raw = pick_value(reader, spec, False).value
        if raw is None or raw is UNDEFINED or raw == "":
            return None
        func = "Number()" if spec.coerce == "toNumber" else "parseFloat()"
        return Loss(LossKind.DROPPED, spec.dest, f"{spec.dest} dropped",
                    f"{repr_js(raw)} is not a number for JavaScript {func}, so RudderStack leaves {spec.dest} out")
    if written is not UNDEFINED and not isinstance(written, Placeholder) and _wrong_type(spec.expects, written):
        return Loss(LossKind.WRONG_TYPE, spec.dest, f"{spec.dest} sent as {type_name(written)}",
                    f"{where}.{spec.dest} is sent as {type_name(written)} ({repr_js(written)}); Freshsales expects "
                    f"{'an integer id' if spec.expects == 'integer' else 'a ' + spec.expects} and refuses it")
    return None


def _wrong_type(expects: str | None, value: Any) -> bool:
    """What Freshsales refuses with "The type for <field> is invalid." (as the emulator models it).

    It is lenient where the API is: digits in a string pass for an id, a number passes for text.
    """
    if isinstance(value, bool) or (isinstance(value, (dict, list)) and expects != "array"):
        return expects is not None
    if expects == "integer":
        if isinstance(value, str):
            return ID_DIGITS.fullmatch(value) is None
        return isinstance(value, float) and not value.is_integer()
    if expects == "array":
        return not isinstance(value, list)
    return False


def _address_loss(reader: MessageReader, spec: FieldSpec, written: Any, where: str) -> Loss | None:
    given = pick_value(reader, spec, False)
    if written == "":
        return Loss(LossKind.ADDRESS_BLANKED, spec.dest, 'address blanked to ""',
                    f"{given.winner} is {type_name(given.value)} ({repr_js(given.value)}), not an object, so "
                    f"RudderStack sends \"\" and overwrites the address Freshsales has for this {where}")
    if isinstance(given.value, dict):
        thrown = [key for key in given.value if key not in ADDRESS_PARTS]
        if thrown:
            return Loss(LossKind.ADDRESS_PARTS, spec.dest, "address parts dropped",
                        f"flattening keeps street, city, state, country and postalCode; {given.winner}."
                        + f", {given.winner}.".join(thrown) + " "
                        + ("is" if len(thrown) == 1 else "are") + f" thrown away ({js_string(len(thrown))} part"
                        + ("" if len(thrown) == 1 else "s") + ")")
    return None

"""Inputs no Freshsales field read: every leaf under traits, context.traits and properties."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from freshsales_mapper.engine.plan import TransformResult, UnmappedInput
from freshsales_mapper.engine.resolve import ADDRESS_PARTS
from freshsales_mapper.engine.tables import load_tables

ROOTS = ("traits", "context.traits", "properties")
ADDRESS_PATHS = ("traits.address", "context.traits.address")

# Keys people send because the public docs (or habit) name them, and what the code reads instead.
KNOWN_MISSES = {
    "LeadSourceId": "the code reads leadSourceId (lower-case l); the docs' spelling LeadSourceId is not sent",
    "salesAccountId": "the code reads salesAccounts or sales_accounts (a list of {id, is_primary}); the docs' salesAccountId is not sent",
    "parentSalesAccountid": "the code reads parentSalesAccountId (capital I); the docs' spelling is not sent",
    "owner_id": "the code reads ownerId; a snake_case owner_id is not sent",
    "externalId": "the docs map externalId to external_id, but the code has no such source; external_id comes from userId",
}


@lru_cache(maxsize=1)
def _known_keys() -> dict[str, str]:
    """Last path segments any table reads, by a case- and underscore-blind form, for near-miss hints."""
    tables = load_tables()
    known: dict[str, str] = {}
    for specs in (tables.identify, tables.group, tables.sales_activity, tables.user_email, tables.lifecycle_stage):
        for spec in specs:
            for path in spec.paths:
                last = path.rsplit(".", 1)[-1]
                known.setdefault(_fold(last), last)
    return known


def _fold(key: str) -> str:
    return re.sub(r"[_\-\s]", "", key).lower()


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaves(child, f"{path}.{key}")
    elif isinstance(value, list) and value:
        for index, child in enumerate(value):
            yield from _leaves(child, f"{path}.{index}")
    else:
        yield path, value


def _root_value(message: dict, root: str) -> Any:
    value: Any = message
    for seg in root.split("."):
        value = value.get(seg) if isinstance(value, dict) else None
    return value


def find_unmapped(message: dict, result: TransformResult) -> list[UnmappedInput]:
    read_paths = {c.path for t in result.fields for c in t.candidates}
    prefixes = tuple(p + "." for p in read_paths if p not in ADDRESS_PATHS)
    address_parts = {f"{a}.{part}" for a in ADDRESS_PATHS if a in read_paths for part in ADDRESS_PARTS}
    unmapped = []
    for root in ROOTS:
        container = _root_value(message, root)
        if not isinstance(container, dict):
            continue
        for path, value in _leaves(container, root):
            if path in read_paths or path in address_parts or path.startswith(prefixes):
                continue
            unmapped.append(UnmappedInput(path, value, _hint(path, result.event_type)))
    return unmapped


def _hint(path: str, event_type: str | None) -> str:
    parts = path.split(".")
    key = parts[-1] if not parts[-1].isdigit() else parts[-2]
    if key.startswith("cf_"):
        return "custom fields (cf_*) are not sent by RudderStack's Freshsales destination"
    if key in KNOWN_MISSES:
        return KNOWN_MISSES[key]
    if any(path.startswith(a + ".") for a in ADDRESS_PATHS):
        return "address flattening keeps only street, city, state, country and postalCode"
    near = _known_keys().get(_fold(key))
    if near and near != key:
        return f"close to {near}, which is read: key names are case-sensitive"
    with_id = _known_keys().get(_fold(key) + "id")
    if with_id:
        return f"the code reads {with_id}: Freshsales takes the id here, not a name or label"
    kind = event_type or "this"
    if event_type == "track" and not path.startswith("properties"):
        return "track events read traits only for the user's email (to find the contact)"
    if event_type == "identify" and path.startswith("properties"):
        return "identify reads properties only for email and phone"
    return f"no Freshsales field reads this key for {kind} events"

"""Inputs no Freshsales field read: every leaf under traits, context.traits and properties."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from freshsales_mapper.engine.plan import TransformResult, UnmappedInput
from freshsales_mapper.engine.resolve import ADDRESS_PARTS
from freshsales_mapper.engine.tables import load_tables

ROOTS = ("traits", "context.traits", "properties")
LISTED = 200  # unread inputs listed one by one (with a hint); past that they are only counted
ADDRESS_PATHS = ("traits.address", "context.traits.address")

# Keys people send because the public docs (or habit) name them, and what the code reads instead.
KNOWN_MISSES = {
    "LeadSourceId": "the code reads leadSourceId (lower-case l); the docs' spelling LeadSourceId is not sent",
    "salesAccountId": "the code reads salesAccounts or sales_accounts (a list of {id, is_primary}); the docs' salesAccountId is not sent",
    "parentSalesAccountid": "the code reads parentSalesAccountId (capital I); the docs' spelling is not sent",
    "owner_id": "the code reads ownerId; a snake_case owner_id is not sent",
    "externalId": "the docs map externalId to external_id, but the code has no such source; external_id comes from userId",
}


# Keys people reach for, and the keys RudderStack reads instead (last path segments, most likely first).
SYNONYMS = {
    "mobile": ("mobileNumber", "phone"), "mobilephone": ("mobileNumber",), "cell": ("mobileNumber",),
    "cellphone": ("mobileNumber",), "phonenumber": ("phone",), "workphone": ("phone",), "telephone": ("phone",),
    "tel": ("phone",), "workNumber": ("phone",), "zip": ("zipcode", "postalCode"), "postcode": ("postalCode",),
    "postal": ("postalCode",), "title": ("jobTitle",), "position": ("jobTitle",), "role": ("jobTitle",),
    "jobtitle": ("jobTitle",), "name": ("firstName", "lastName"), "fullname": ("firstName", "lastName"),
    "givenname": ("firstName",), "familyname": ("lastName",), "surname": ("lastName",), "street": ("address",),
    "province": ("state",), "region": ("state",), "timezone": ("timeZone",), "tz": ("timeZone",),
    "facebook": ("facebookUserName",), "twitter": ("twitterUserName",), "linkedin": ("linkedinUserName",),
    "owner": ("ownerId",), "territory": ("territoryId",), "leadsource": ("leadSourceId",),
    "campaign": ("campaignId",), "industry": ("industryTypeId",), "businesstype": ("businessTypeId",),
    "employees": ("numberOfEmployees",), "revenue": ("annualRevenue",), "url": ("website",), "site": ("website",),
    "lifecyclestage": ("lifecycleStageId", "lifecycleStageName"), "stage": ("lifecycleStageId", "lifecycleStageName"),
    "activitytype": ("salesActivityTypeId", "salesActivityName"), "type": ("salesActivityTypeId",),
    "outcome": ("salesActivityOutcomeId",), "description": ("notes",), "note": ("notes",),
    "start": ("startDate",), "end": ("endDate",), "mail": ("email",), "emailaddress": ("email",),
}
# Keys that belong to another call: no renaming makes this event send them.
OTHER_CALL = {
    "company": "company details reach Freshsales through a group call (a sales account named by traits.name), "
               "not through {kind}",
    "companyname": "company details reach Freshsales through a group call (a sales account named by traits.name), "
                   "not through {kind}",
    "account": "accounts reach Freshsales through a group call (sales account), not through {kind}",
}
_TABLES_BY_TYPE = {
    "identify": ("identify",),
    "group": ("group", "user_email"),
    "track": ("sales_activity", "lifecycle_stage", "user_email"),
}
# The tables RudderStack reads to build each Freshsales object, whatever point a run stopped at.
_TABLES_BY_TARGET = {
    "contact": ("identify",),
    "sales_account": ("group", "user_email"),
    "sales_activity": ("sales_activity", "user_email"),
    "lifecycle_stage": ("lifecycle_stage", "user_email"),
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


@lru_cache(maxsize=8)
def _read_for(event_type: str | None) -> dict[str, list[tuple[str, str]]]:
    """For one event type: each key RudderStack reads (last segment) -> [(full path, Freshsales field)]."""
    tables = load_tables()
    found: dict[str, list[tuple[str, str]]] = {}
    for name in _TABLES_BY_TYPE.get(event_type or "", ()):
        for spec in getattr(tables, name):
            for path in spec.paths:
                found.setdefault(path.rsplit(".", 1)[-1], []).append((path, spec.dest))
    return found


def _suggest(path: str, keys: list[str], read: dict[str, list[tuple[str, str]]],
             meant: list[str] | None = None) -> str:
    """"traits.mobileNumber (mobile_number) or traits.phone (work_number)": the same root as the input first.

    ``meant`` (when a list) receives the Freshsales fields named, in the same order.
    """
    root = path.rsplit(".", 1)[0]
    named = []
    for key in keys:
        places = read[key]
        path_read, dest = next(((p, d) for p, d in places if p.rsplit(".", 1)[0] == root), places[0])
        named.append(f"{path_read} ({dest.split(' (')[0]})")
        if meant is not None:
            meant.append(dest)
    return " or ".join(named)


def _closest(key: str, event_type: str | None) -> list[str]:
    """Keys read for this event type that the input's key probably meant: synonyms, then string similarity."""
    read = _read_for(event_type)
    if not read:
        return []
    spellings: dict[str, list[str]] = {}
    for known in read:
        spellings.setdefault(_fold(known), []).append(known)
    wanted = [k for k in SYNONYMS.get(key, SYNONYMS.get(_fold(key), ())) if k in read]
    if wanted:
        return wanted
    close = difflib.get_close_matches(_fold(key), list(spellings), n=2, cutoff=0.75)
    return [_best_spelling(key, spellings[c]) for c in close]


def _best_spelling(key: str, spellings: list[str]) -> str:
    """Of the spellings RudderStack reads (jobTitle, job_title), the one nearest to what was sent."""
    return max(spellings, key=lambda known: difflib.SequenceMatcher(None, key, known).ratio())


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


@lru_cache(maxsize=32)
def read_paths(event_type: str | None, targets: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Every path RudderStack reads for this event type and these Freshsales objects, from the tables alone.

    Without a known object (an unsupported event name) every table of the event type counts, so that a
    hint never calls unread a key RudderStack would read once the name is fixed.
    """
    tables = load_tables()
    names = [name for target in targets for name in _TABLES_BY_TARGET.get(target, ())]
    if not names:
        names = list(_TABLES_BY_TYPE.get(event_type or "", ()))
    paths = frozenset(path for name in names for spec in getattr(tables, name) for path in spec.paths)
    return paths, tuple(sorted(p + "." for p in paths if p not in ADDRESS_PATHS))


def find_unmapped(message: dict, result: TransformResult, limit: int = LISTED) -> tuple[list[UnmappedInput], int]:
    """Leaves under traits, context.traits and properties that no table of this event reads.

    Returns the first ``limit`` of them, each with its hint, and how many there are in all: counting is
    one cheap test per leaf, while a hint costs a string comparison against every key read.
    """
    read, prefixes = read_paths(result.event_type, tuple(result.targets))
    address_parts = {f"{a}.{part}" for a in ADDRESS_PATHS if a in read for part in ADDRESS_PARTS}
    unmapped: list[UnmappedInput] = []
    count = 0
    for root in ROOTS:
        container = _root_value(message, root)
        if not isinstance(container, dict):
            continue
        for path, value in _leaves(container, root):
            if path in read or path in address_parts or path.startswith(prefixes):
                continue
            count += 1
            if count <= limit:
                meant: list[str] = []
                unmapped.append(UnmappedInput(path, value, _hint(path, result.event_type, meant), tuple(meant)))
    return unmapped, count


def _hint(path: str, event_type: str | None, meant: list[str]) -> str:
    parts = path.split(".")
    key = parts[-1] if not parts[-1].isdigit() else parts[-2]
    kind = f"{event_type} events" if event_type else "this event"
    if key.startswith("cf_"):
        return "custom fields (cf_*) are not sent by RudderStack's Freshsales destination"
    if key in KNOWN_MISSES:
        return KNOWN_MISSES[key]
    if any(path.startswith(a + ".") for a in ADDRESS_PATHS):
        meant.append("address")
        return "address flattening keeps only street, city, state, country and postalCode"
    read = _read_for(event_type)
    same = [k for k in read if _fold(k) == _fold(key) and k != key]
    if same:
        return f"did you mean {_suggest(path, [_best_spelling(key, same)], read, meant)}? Key names are case-sensitive"
    other_call = next((OTHER_CALL[_fold(p)] for p in parts[1:] if _fold(p) in OTHER_CALL), None)
    if other_call and event_type != "group":
        return other_call.format(kind=kind)
    closest = [k for k in _closest(key, event_type) if k != key]
    if closest:
        return f"not read for {kind}: did you mean {_suggest(path, closest, read, meant)}?"
    with_id = _known_keys().get(_fold(key) + "id")
    if with_id and with_id in read:
        return f"RudderStack reads {_suggest(path, [with_id], read, meant)}: Freshsales takes the id here, not a name or label"
    near = _known_keys().get(_fold(key))
    if near and near != key:
        return f"close to {near}, which other event types read: key names are case-sensitive"
    if event_type == "track" and not path.startswith("properties"):
        return "track events read traits only for the user's email (to find the contact)"
    if event_type == "identify" and path.startswith("properties"):
        return "identify reads properties only for email and phone"
    return f"no Freshsales field reads this key for {kind}"

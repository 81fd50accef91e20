"""One RudderStack event in, a plan of Freshsales requests out: RudderStack's Freshsales transformer.

The control flow, the order of checks and every error text follow rudder-transformer's
``src/v0/destinations/freshsales``; the lookups it makes while transforming go through a resolver
and are recorded as plan steps. Identify and group live here, track in ``track.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from freshsales_mapper.engine.errors import (
    RudderError,
    crash_error,
    explain,
    instrumentation_error,
    network_instrumentation_error,
)
from freshsales_mapper.engine.event_run import ACCOUNT_UPSERT, CONTACT_UPSERT, EventRun, prop, raise_network
from freshsales_mapper.engine.jsnumber import display_string, js_json_value, js_string
from freshsales_mapper.engine.jsvalue import UNDEFINED, JsTypeError, allow_deep_values, truthy
from freshsales_mapper.engine.losses import find_losses
from freshsales_mapper.engine.plan import FinalRequest, TransformResult
from freshsales_mapper.engine.reach import trace_past_error
from freshsales_mapper.engine.resolvers import Resolver
from freshsales_mapper.engine.route import RouteNote, route_item
from freshsales_mapper.engine.tables import MappingTables, load_tables
from freshsales_mapper.engine.track import track_requests
from freshsales_mapper.engine.unmapped import find_unmapped

NOTE_TRACK_UNDOCUMENTED = "The public docs say nothing of track; the code supports sales activities and lifecycle stages."
NOTE_GROUP_WRITES = ("While transforming this group event RudderStack itself calls Freshsales: it upserts the "
                     "contact and the account (both writes), which the docs do not mention.")


def transform_event(message: Any, destination: Any, resolver: Resolver, *, trace: bool = True,
                    tables: MappingTables | None = None, metadata: Any = UNDEFINED,
                    losses: bool = False) -> TransformResult:
    """Transform one processor item: RudderStack's route (``engine.route``), then its Freshsales destination.

    ``UNDEFINED`` stands for a key the item does not have. Never raises for anything the event or settings
    contain, and never changes them. ``result.losses`` is filled with a trace, or without one when
    ``losses`` is set (a few reads per event; bulk transforms leave it off).
    """
    allow_deep_values()
    routed = route_item(message, destination, metadata)
    if routed.error is not None:
        result = TransformResult(event_type=None, route=routed.notes)
        result.error = explain(crash_error(routed.error))
        return result
    message, destination = routed.message, routed.destination
    run = EventRun(message, destination, resolver, tables or load_tables(), trace)
    run.result.route = routed.notes
    try:
        finals = _process(run)
        run.result.steps.extend(finals)
    except RudderError as err:
        run.result.error = explain(err)
    except JsTypeError as err:  # String()/Number() of an object with its own toString key
        run.result.error = explain(crash_error(str(err)))
    if trace:
        run.result.notes.extend(settings_notes(destination))
        if run.result.error is not None and isinstance(message, dict):
            trace_past_error(run)
        if isinstance(message, dict):
            run.result.unmapped, run.result.unmapped_count = find_unmapped(message, run.result)
    if (trace or losses) and run.result.error is None:
        run.result.losses = find_losses(message, run.result, run.tables)
        run.result.route = with_consequences(routed.notes, run.result)
    return run.result


def with_consequences(notes: list[RouteNote], result: TransformResult) -> list[RouteNote]:
    """Say which Freshsales fields lost their value because a template took it out of the event."""
    told = []
    for note in notes:
        path = note.source.removeprefix("message.")
        if note.removed and note.source.startswith("message."):
            lost = sorted({t.dest for t in result.fields if t.status != "sent"
                           and any(c.path == path or c.path.startswith(path + ".") for c in t.candidates)})
            if lost:
                note = dataclasses.replace(note, text=note.text.rstrip(".") + f", so {', '.join(lost)} "
                                           f"{'is' if len(lost) == 1 else 'are'} not sent.")
        told.append(note)
    return told


def settings_notes(destination: Any) -> list[str]:
    """What the destination settings will do that their owner may not expect."""
    config = destination.get("Config") if isinstance(destination, dict) else None
    if not isinstance(config, dict):
        return ["The destination has no Config object: RudderStack fails on such settings."]
    notes = []
    domain = config.get("domain", UNDEFINED)
    if not isinstance(domain, str) or "." not in domain or "/" in domain or ":" in domain:
        notes.append(f"RudderStack uses the domain setting as is (https://{display_string(domain)}/crm/...). The docs "
                     "call it the subdomain, but the code needs the full host, e.g. acme.myfreshworks.com.")
    if not truthy(config.get("apiKey", UNDEFINED)):
        notes.append(f"There is no API key: RudderStack would send 'Authorization: Token token="
                     f"{display_string(config.get('apiKey', UNDEFINED))}'.")
    return notes


def _process(run: EventRun) -> list[FinalRequest]:
    message = run.message
    if message is None or message is UNDEFINED:  # a template like {{ message || "x" }} took it away
        raise crash_error(f"Cannot read properties of {js_string(message)} (reading 'type')")
    kind = message.get("type", UNDEFINED) if isinstance(message, dict) else UNDEFINED
    if not truthy(kind):
        raise instrumentation_error("Message Type is not present. Aborting message.")
    if not isinstance(kind, str):
        raise crash_error("message.type.toLowerCase is not a function")
    kind = kind.lower()
    run.result.event_type = kind
    if kind == "identify":
        run.result.targets.append("contact")
        return [_identify(run)]
    if kind == "track":
        run.result.notes.append(NOTE_TRACK_UNDOCUMENTED)
        return track_requests(run)
    if kind == "group":
        run.result.targets.append("sales_account")
        return [_group(run)]
    raise instrumentation_error(f"message type {kind} not supported")


def _identify(run: EventRun) -> FinalRequest:
    contact = run.payload(run.tables.identify, "contact")
    body = {"contact": contact, "unique_identifier": {"emails": contact.get("emails")}}
    return run.emit(CONTACT_UPSERT, body, "contact")


def _group(run: EventRun) -> FinalRequest:
    account = run.payload(run.tables.group, "sales_account")
    email = run.user_email("sales_account")
    if not truthy(email):
        body = {"unique_identifier": {"name": account.get("name")}, "sales_account": account}
        return run.emit(ACCOUNT_UPSERT, body, "sales_account")
    run.result.notes.append(NOTE_GROUP_WRITES)
    linked = _accounts_with_new_one(run, account, email)
    body = {"contact": {"sales_accounts": js_json_value(linked)}, "unique_identifier": {"emails": js_json_value(email)}}
    return run.emit(CONTACT_UPSERT, body, "contact_sales_accounts")


def _accounts_with_new_one(run: EventRun, account: dict, email: Any) -> list:
    lookup_body = {"unique_identifier": {"emails": email}, "contact": {"emails": email}}
    status, response = run.call("read the contact's sales accounts (creates the contact if missing)",
                                "contact_with_accounts", "POST", CONTACT_UPSERT + "?include=sales_accounts",
                                lookup_body, writes=True)
    if status not in (200, 201):
        raise_network("failed to fetch user accountDetails", status, response)
    existing = prop(prop(response, "contact"), "sales_accounts")
    if not truthy(existing):
        raise network_instrumentation_error("Fails in fetching user accountDetails")
    status, reply = run.call("upsert the sales account to learn its id", "sales_account", "POST", ACCOUNT_UPSERT,
                             {"unique_identifier": {"name": account.get("name")}, "sales_account": account}, writes=True)
    if status not in (200, 201):
        raise_network("failed to create/update group", status, reply)
    account_id = prop(prop(reply, "sales_account"), "id")
    if not truthy(account_id):
        raise network_instrumentation_error("Fails in fetching accountId.")
    new_link = {"id": account_id, "is_primary": False}
    if _js_length_positive(existing):
        if isinstance(existing, dict):
            raise crash_error("accountDetails is not iterable")
        return [*existing, new_link]
    new_link["is_primary"] = True
    return [new_link]


def _js_length_positive(value: Any) -> bool:
    if isinstance(value, (list, str)):
        return len(value) > 0
    if isinstance(value, dict):
        length = value.get("length", UNDEFINED)
        return isinstance(length, (int, float)) and not isinstance(length, bool) and length > 0
    return False

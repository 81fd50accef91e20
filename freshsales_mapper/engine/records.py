"""Freshsales records as a CRM user reads them: the cards a plan would create, or what Freshsales stored.

A plan speaks in request bodies (``first_name``, ``{{contact.id}}``, ``sales_accounts: [{id, is_primary}]``);
a sales team speaks of "Amara Okafor, CTO at Acme, owner 7, lifecycle stage Lead". ``record_cards`` turns
the one into the other. Offline, the cards say what the records *would be*, and an id only Freshsales can
answer reads "assigned by Freshsales". Given the records Freshsales stored (read back after a send), the
cards show those values instead, so a card never claims more than the plan or the CRM says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from freshsales_mapper.engine.plan import FinalRequest, LookupStep, Placeholder, TransformResult

ASSIGNED = "assigned by Freshsales"


class RecordKind(StrEnum):
    CONTACT = "contact"
    SALES_ACCOUNT = "sales_account"
    SALES_ACTIVITY = "sales_activity"

    @property
    def title(self) -> str:
        return {"contact": "Contact", "sales_account": "Sales account", "sales_activity": "Sales activity"}[self]


class CardState(StrEnum):
    WOULD_BE = "would be"  # built from the plan: nothing was sent
    STORED = "stored"  # read back from Freshsales (or the emulator) after a send


@dataclass(frozen=True)
class CardLine:
    label: str
    value: str
    assigned: bool = False  # the value is an id only Freshsales can give (offline placeholder)


@dataclass(frozen=True)
class RecordCard:
    kind: RecordKind
    name: str  # the card's heading: a person's name, an account name, an activity title
    action: str  # what the event does to it, for a person: "upserted", "created", "linked to the account"
    state: CardState
    lines: tuple[CardLine, ...]
    record_id: str = ""  # "" until Freshsales has stored it
    step: int = -1  # index in ``result.steps`` of the request that creates or changes the record

    def value(self, label: str) -> str | None:
        return next((line.value for line in self.lines if line.label == label), None)


Names = Mapping[str, Mapping[str, str]]  # field ("owner_id", ...) -> id as text -> what the account calls it


def record_cards(result: TransformResult, stored: Iterable[Mapping[str, Any]] | None = None,
                 names: Names | None = None) -> list[RecordCard]:
    """The records the event creates or updates, in plan order, one card per record.

    ``stored``: what Freshsales holds after a send, as ``{"kind": "contact"|..., "id": ..., "record": {...}}``
    (the readback). A card whose record is there is built from the stored record; the others stay "would be".
    ``names``: the account's names for ids (``{"owner_id": {"7": "Priya Patel"}}``; also
    ``lifecycle_stage_id`` and ``sales_activity_type_id``), used where a card would show a bare id.
    """
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for entry in stored or ():
        record = entry.get("record")
        if isinstance(record, Mapping):
            by_kind.setdefault(str(entry.get("kind")), []).append(record)
    drafts = _drafts(result)
    cards = []
    for kind, action, fields, step in drafts:
        record = _stored_for(kind, fields, by_kind.get(kind, []))
        cards.append(_card(kind, action, record if record is not None else fields,
                           CardState.STORED if record is not None else CardState.WOULD_BE, step, names or {}))
    return cards


def stored_cards(kind: RecordKind, records: Iterable[Mapping[str, Any]], names: Names | None = None
                 ) -> list[RecordCard]:
    """Cards for records as Freshsales stores them (a read-back list, the emulator's records)."""
    return [_card(kind, "", record, CardState.STORED, -1, names or {}) for record in records]


# ---- plan -> records --------------------------------------------------------------------------------

Draft = tuple[RecordKind, str, dict[str, Any], int]


def _drafts(result: TransformResult) -> list[Draft]:
    """(kind, action, fields as in a Freshsales body, step index) for every record the plan touches."""
    drafts: list[Draft] = []
    if not result.ok:
        return drafts
    looked_up = {s.extracted.get("lookup"): s for s in result.lookups}
    index = {id(s): n for n, s in enumerate(result.steps)}
    for step in result.final_requests:
        at = index[id(step)]
        body = step.request.body if isinstance(step.request.body, dict) else {}
        event = step.freshsales_event
        if event == "contact":
            drafts.append((RecordKind.CONTACT, "upserted", dict(_obj(body, "contact")), at))
        elif event == "sales_account":
            drafts.append((RecordKind.SALES_ACCOUNT, "upserted", dict(_obj(body, "sales_account")), at))
        elif event == "contact_sales_accounts":
            account_step = looked_up.get("sales_account")
            account = dict(_obj(account_step.request.body, "sales_account")) if account_step else {}
            contact = {"emails": _obj(body, "unique_identifier").get("emails"),
                       "sales_accounts": _obj(body, "contact").get("sales_accounts"),
                       "_account_name": account.get("name")}
            contact_step = looked_up.get("contact_with_accounts")
            if contact_step is not None:
                contact["id"] = _reply_id(contact_step, "contact")
            if account_step is not None:
                account["id"] = _reply_id(account_step, "sales_account")
            drafts.append((RecordKind.SALES_ACCOUNT, "upserted", account,
                           index[id(account_step)] if account_step else at))
            drafts.append((RecordKind.CONTACT, "linked to the account", contact, at))
        elif event == "sales_activity":
            activity = dict(_obj(body, "sales_activity"))
            contact_step = looked_up.get("contact")
            if contact_step is not None:
                activity["_contact_email"] = _obj(contact_step.request.body, "unique_identifier").get("emails")
            type_step = looked_up.get("sales_activity_types")
            if type_step is not None:
                activity["_type_name"] = type_step.extracted.get("name")
            drafts.append((RecordKind.SALES_ACTIVITY, "created", activity, at))
        elif event == "lifecycle_stage":
            contact = {"emails": _obj(body, "unique_identifier").get("emails"),
                       "lifecycle_stage_id": _obj(body, "contact").get("lifecycle_stage_id")}
            stage_step = looked_up.get("lifecycle_stages")
            if stage_step is not None:
                contact["_stage_name"] = stage_step.extracted.get("name")
            drafts.append((RecordKind.CONTACT, "lifecycle stage moved", contact, at))
    return drafts


def _obj(body: Any, key: str) -> Mapping[str, Any]:
    value = body.get(key) if isinstance(body, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _reply_id(step: LookupStep | FinalRequest, key: str) -> Any:
    reply = getattr(step, "reply", None)
    return _obj(reply.body, key).get("id") if reply is not None else None


def _stored_for(kind: RecordKind, fields: Mapping[str, Any], records: list[Mapping[str, Any]]
                ) -> Mapping[str, Any] | None:
    """The stored record this draft became: by id when the plan knows it, else by email or name."""
    wanted_id = fields.get("id")
    if wanted_id is not None and not isinstance(wanted_id, Placeholder):
        match = next((r for r in records if str(r.get("id")) == str(wanted_id)), None)
        if match is not None:
            return _with_hints(match, fields)
    if kind == RecordKind.CONTACT:
        email = _first_email(fields.get("emails")).lower()
        match = next((r for r in records if email and email in
                      {_first_email(r.get("emails")).lower(), str(r.get("email") or "").lower()}), None)
    elif kind == RecordKind.SALES_ACCOUNT:
        name = str(fields.get("name") or "").lower()
        match = next((r for r in records if name and str(r.get("name") or "").lower() == name), None)
    else:
        match = records[0] if len(records) == 1 else None
    return _with_hints(match, fields) if match is not None else None


def _with_hints(record: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The stored record plus the plan's names for things the record only holds as ids."""
    return {**record, **{k: v for k, v in fields.items() if k.startswith("_")}}


# ---- records -> cards ---------------------------------------------------------------------------------

def _card(kind: RecordKind, action: str, fields: Mapping[str, Any], state: CardState, step: int,
          names: Names) -> RecordCard:
    lines: list[CardLine] = []

    def named(field: str, word: str = "") -> Any:
        """The account's name for the id in ``field`` ("Priya Patel (user 7)"), else the id as given."""
        value = fields.get(field)
        if value is None or isinstance(value, Placeholder):
            return value
        name = names.get(field, {}).get(text(value))
        label = f"{word} {text(value)}".strip()
        return f"{name} ({label})" if name else label

    def add(label: str, *values: Any, sep: str = " ") -> None:
        if any(isinstance(v, Placeholder) for v in values):
            lines.append(CardLine(label, ASSIGNED, assigned=True))
            return
        shown = [text(v) for v in values]
        joined = sep.join(s for s in shown if s)
        if joined:
            lines.append(CardLine(label, joined))

    if kind == RecordKind.CONTACT:
        name = " ".join(s for s in (text(fields.get("first_name")), text(fields.get("last_name"))) if s)
        add("Email", _all_emails(fields.get("emails")) or fields.get("email"))
        add("Phones", fields.get("work_number"), fields.get("mobile_number"), sep=" · ")
        add("Job title", fields.get("job_title"))
        _address(add, fields)
        add("Owner", named("owner_id", "user"))
        add("Lifecycle stage", fields.get("_stage_name") or named("lifecycle_stage_id", "stage"))
        add("Linked account", _account_link(fields))
        heading = name or _first_email(fields.get("emails")) or text(fields.get("email")) or "Contact"
    elif kind == RecordKind.SALES_ACCOUNT:
        add("Website", fields.get("website"))
        add("Employees", _grouped(fields.get("number_of_employees")))
        add("Revenue", _grouped(fields.get("annual_revenue")))
        add("Phone", fields.get("phone"))
        _address(add, fields)
        add("Owner", named("owner_id", "user"))
        heading = text(fields.get("name")) or "Sales account"
    else:
        add("Type", fields.get("_type_name") or fields.get("sales_activity_name")
            or named("sales_activity_type_id", "type"))
        add("When", fields.get("start_date"), fields.get("end_date"), sep=" – ")
        add("Owner", named("owner_id", "user"))
        add("On contact", _activity_target(fields))
        add("Notes", fields.get("notes"))
        heading = text(fields.get("title")) or text(fields.get("sales_activity_name")) or "Sales activity"
    record_id = fields.get("id")
    if isinstance(record_id, Placeholder) or record_id is None:
        shown_id = ""
        lines.append(CardLine("Id", ASSIGNED, assigned=True))
    else:
        shown_id = text(record_id)
        lines.append(CardLine("Id", shown_id))
    return RecordCard(kind, heading, action, state, tuple(lines), shown_id, step)


def _address(add: Any, fields: Mapping[str, Any]) -> None:
    """One "Address" line per line of a postal address (street, then city/state/zip, then country)."""
    city = ", ".join(s for s in (text(fields.get(k)) for k in ("city", "state", "zipcode")) if s)
    add("Address", fields.get("address"), city, fields.get("country"), sep="\n")


def _grouped(value: Any) -> Any:
    """Large counts and amounts with thousands separators, as a CRM shows them (8,500,000)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return f"{int(value):,}"
    return value


def _account_link(fields: Mapping[str, Any]) -> Any:
    links = fields.get("sales_accounts")
    name = fields.get("_account_name")
    ids = [link.get("id") for link in links if isinstance(link, Mapping)] if isinstance(links, list) else []
    if any(isinstance(i, Placeholder) for i in ids) and name:
        return f"{text(name)} (id {ASSIGNED})"
    if name and ids:
        return f"{text(name)} (id {', '.join(text(i) for i in ids)})"
    if ids:
        return ", ".join(f"account {text(i)}" for i in ids)
    return name


def _activity_target(fields: Mapping[str, Any]) -> Any:
    email = _first_email(fields.get("_contact_email"))
    target = fields.get("targetable_id")
    targets = fields.get("targetables")
    if target is None and isinstance(targets, list) and targets and isinstance(targets[0], Mapping):
        target = targets[0].get("id")
    if isinstance(target, Placeholder):
        return f"{email} (id {ASSIGNED})" if email else target
    if email and target is not None:
        return f"{email} (contact {text(target)})"
    return email or (f"contact {text(target)}" if target is not None else None)


def _all_emails(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(e for e in (_first_email(v) for v in value) if e)
    return _first_email(value)


def _first_email(value: Any) -> str:
    if isinstance(value, Mapping):
        return text(value.get("value"))
    if isinstance(value, list):
        return next((e for e in (_first_email(v) for v in value) if e), "")
    return text(value)


def text(value: Any) -> str:
    """A value as a CRM shows it: strings as they are, numbers without ``.0``, anything else as JSON."""
    if value is None or isinstance(value, Placeholder):
        return "" if value is None else ASSIGNED
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)

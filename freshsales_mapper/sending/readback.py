"""After a send: read back the records an event touched and compare them, field by field, with what was sent.

Each delivered write (a contact or sales account upsert, a sales activity, the upserts RudderStack makes
while it transforms included) names the record it touched
(``record_id`` on its request entry). ``read_back`` GETs each record once by id through the client (so
the reads count against its rate budget, like every other call) and says for every field sent what
Freshsales stored:

* ``same``: stored as sent;
* ``normalised``: stored in Freshsales' own type or form (``"12"`` sent, ``12`` stored; an email string
  stored as the primary entry of an ``emails`` list);
* ``different``: stored, but not as sent (another request, or a rule of the account, changed it);
* ``ignored``: Freshsales keeps no such field on this record type, so what was sent is gone;
* ``not sent``: a field this event did not send, holding what Freshsales had (or its default).

The result is plain data (``to_json``): ``[{kind, id, fields: [{field, sent, stored, same, reason}],
record, error}]``, where ``record`` is the record as Freshsales returned it (cards show it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from freshsales_mapper.engine.plan import HttpRequest
from freshsales_mapper.sending.client import FreshsalesClient
from freshsales_mapper.sending.domain import API_PREFIX
from freshsales_mapper.sending.outcomes import EventOutcome

_API = API_PREFIX.rstrip("/")  # "/crm/sales/api"
# Write path -> (record kind, the collection its GET reads, the key the record sits under in a body).
_WRITES = {"/contacts/upsert": ("contact", "contacts"), "/sales_accounts/upsert": ("sales_account", "sales_accounts"),
           "/sales_activities": ("sales_activity", "sales_activities")}
# Fields Freshsales fills itself: not "kept" values a user would look for among the fields not sent.
_SYSTEM = frozenset({"id", "display_name", "avatar", "links", "created_at", "updated_at", "last_seen", "lead_score",
                     "last_contacted", "open_deals_amount", "won_deals_amount", "emails", "email", "is_deleted"})


class FieldReadback(StrEnum):
    SAME = "same"
    NORMALISED = "normalised"
    DIFFERENT = "different"
    IGNORED = "ignored"
    NOT_SENT = "not sent"


@dataclass
class FieldComparison:
    field: str
    sent: Any
    stored: Any
    same: bool | None  # None: nothing was sent for it
    reason: FieldReadback


@dataclass
class RecordReadback:
    kind: str  # "contact", "sales_account", "sales_activity"
    id: int
    fields: list[FieldComparison] = field(default_factory=list)
    record: dict | None = None  # as Freshsales returned it
    error: str | None = None  # why it could not be read

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def read_back(client: FreshsalesClient, outcome: EventOutcome) -> list[RecordReadback]:
    """The records a delivered event touched, each read once and compared with what was sent to it."""
    sent: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in outcome.requests:
        path = urlsplit(entry.get("url", "")).path.removeprefix(_API).rstrip("/")
        write = _WRITES.get(path)
        body = entry.get("body")
        # Lookups count too: RudderStack upserts a group's sales account while it transforms.
        if not entry.get("ok") or write is None or not isinstance(body, dict):
            continue
        record_id = entry.get("record_id")
        if not isinstance(record_id, int):
            continue
        values = body.get(write[0])
        sent.setdefault((write[0], record_id), {}).update(values if isinstance(values, dict) else {})
    collections = {kind: collection for kind, collection in _WRITES.values()}
    found = []
    for (kind, record_id), values in sent.items():
        url = f"https://{client.domain}{_API}/{collections[kind]}/{record_id}"
        reply = client.execute(HttpRequest("GET", url, {}, None))
        record = reply.body.get(kind) if reply.ok and isinstance(reply.body, dict) else None
        if not isinstance(record, dict):
            found.append(RecordReadback(kind, record_id, error=f"could not be read back: {reply.message}"))
            continue
        found.append(RecordReadback(kind, record_id, compare(values, record), record))
    return found


def compare(sent: dict[str, Any], stored: dict[str, Any]) -> list[FieldComparison]:
    """Every field sent, then every field Freshsales holds that was not sent (see the module)."""
    fields = []
    for name, value in sent.items():
        if name == "emails" and isinstance(value, str) and "emails" in stored:
            kept = stored.get("email")
            reason = FieldReadback.NORMALISED if kept == value else FieldReadback.DIFFERENT
            fields.append(FieldComparison(name, value, kept, kept == value, reason))
        elif name not in stored:
            fields.append(FieldComparison(name, value, None, False, FieldReadback.IGNORED))
        else:
            kept = stored[name]
            reason = (FieldReadback.SAME if kept == value and type(kept) is type(value) else
                      FieldReadback.NORMALISED if _loosely_equal(value, kept) else FieldReadback.DIFFERENT)
            fields.append(FieldComparison(name, value, kept, reason != FieldReadback.DIFFERENT, reason))
    for name, kept in stored.items():
        if name not in sent and name not in _SYSTEM and kept not in (None, "", [], {}) and \
                not isinstance(kept, (dict, list)):
            fields.append(FieldComparison(name, None, kept, None, FieldReadback.NOT_SENT))
    return fields


def _loosely_equal(sent: Any, stored: Any) -> bool:
    """The same value in another type: "12" and 12, 12.0 and 12, "true" and true."""
    if sent == stored:
        return True
    return sent is not None and stored is not None and str(sent).strip().lower() == str(stored).strip().lower()

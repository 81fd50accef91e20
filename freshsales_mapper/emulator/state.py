"""The emulator's record store: contacts, sales accounts and sales activities, validated like Freshsales.

Transport-free: ``EmulatorState`` takes parsed JSON bodies and returns the bodies Freshsales would
answer, raising ``ApiError`` for the 400/404 answers. ``freshsales_mapper.emulator.server`` routes HTTP
requests to it and serialises the calls.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from freshsales_mapper.emulator import seed as seed

ACTIVITY_TARGETS = {"contact": "Contact", "salesaccount": "SalesAccount", "deal": "Deal"}


class ApiError(Exception):
    def __init__(self, status: int, *messages: str):
        super().__init__("; ".join(messages))
        self.status, self.messages = status, list(messages)


def error_body(status: int, *messages: str) -> dict[str, Any]:
    return {"errors": {"code": status, "message": list(messages)}}


def _now() -> str:
    return datetime.now().astimezone().replace(microsecond=0).isoformat()


# Freshsales keeps ids in signed 64-bit columns; anything larger cannot name a record.
MAX_ID = 2**63 - 1


def _as_id(field: str, value: Any) -> int | None:
    """Ids arrive as numbers or numeric strings (RudderStack forwards strings as given)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        # Thousands of digits would trip Python's int-string limit; no id is that long anyway.
        number = int(value) if len(value.strip()) <= 30 else MAX_ID + 1
    else:
        raise ApiError(400, f"The type for {field} is invalid.")
    if not 0 <= number <= MAX_ID:
        raise ApiError(400, f"The value for {field} is out of range.")
    return number


def _as_text(field: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ApiError(400, f"The type for {field} is invalid.")


def _as_date(field: str, value: Any) -> str:
    try:
        return datetime.fromisoformat(value).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid date for {field}: use ISO 8601, e.g. 2024-05-04T17:00:00+05:30") from None


def _object(body: Any, key: str, required: bool = True) -> dict[str, Any]:
    value = body.get(key) if isinstance(body, dict) else None
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{key} must be a JSON object")
    return value


def _common_fields(data: dict[str, Any], text: tuple[str, ...], ids: tuple[str, ...]) -> dict[str, Any]:
    changes = {f: _as_text(f, data[f]) for f in text if f in data}
    changes.update({f: _as_id(f, data[f]) for f in ids if f in data})
    if "custom_field" in data and not isinstance(data["custom_field"], dict):
        raise ApiError(400, "The type for custom_field is invalid.")
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ApiError(400, "The type for tags is invalid.")
        changes["tags"] = list(tags)
    return changes


def _apply(record: dict[str, Any], changes: dict[str, Any], data: dict[str, Any]) -> None:
    record.update(changes)
    record["custom_field"].update(data.get("custom_field") or {})
    record["updated_at"] = _now()


class EmulatorState:
    """The account's records. Not locked itself: EmulatorServer serialises every call."""

    def __init__(self) -> None:
        self.contacts: dict[int, dict[str, Any]] = {}
        self.accounts: dict[int, dict[str, Any]] = {}
        self.activities: dict[int, dict[str, Any]] = {}
        self.next_ids = dict(seed.FIRST_IDS)

    def _new_id(self, kind: str) -> int:
        self.next_ids[kind] += 1
        return self.next_ids[kind] - 1

    # ---- contacts ----
    def upsert_contact(self, body: Any, include_accounts: bool) -> dict[str, Any]:
        unique = _object(body, "unique_identifier", required=False)
        email = unique.get("emails")
        if not isinstance(email, str) or not email.strip():
            raise ApiError(400, "unique_identifier must contain emails (a non-empty string)")
        data = _object(body, "contact", required=False)
        changes = self._contact_changes(data)
        links = self._account_links(data["sales_accounts"]) if "sales_accounts" in data else None
        record = self._find_contact(email)
        new_email = changes.pop("email", None)
        if new_email and (other := self._find_contact(new_email)) is not None and other is not record:
            raise ApiError(400, "Emails has already been taken")
        self._check_status_matches_stage(record or dict.fromkeys(seed.CONTACT_ID_FIELDS), changes)
        if record is None:
            record = seed.new_contact(self._new_id("contact"), self._new_id("email"), email.strip(), _now())
            self.contacts[record["id"]] = record
        if new_email:
            record["email"] = record["emails"][0]["value"] = new_email
        _apply(record, changes, data)
        if links is not None:
            record["sales_accounts"] = links
        names = " ".join(n for n in (record["first_name"], record["last_name"]) if n)
        record["display_name"] = names or record["email"]
        return {"contact": self.render_contact(record, include_accounts)}

    def _find_contact(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().casefold()
        return next((c for c in self.contacts.values() if c["email"].casefold() == wanted), None)

    def _contact_changes(self, data: dict[str, Any]) -> dict[str, Any]:
        changes = _common_fields(data, seed.CONTACT_TEXT_FIELDS, seed.CONTACT_ID_FIELDS)
        for key in ("emails", "email"):
            if key in data:
                value = data[key]
                if not isinstance(value, str) or not value.strip():
                    raise ApiError(400, f"The type for {key} is invalid.")
                changes["email"] = value.strip()
        if "subscription_status" in data:
            changes["subscription_status"] = data["subscription_status"]
        stage = changes.get("lifecycle_stage_id")
        if stage is not None and not any(s["id"] == stage for s in seed.LIFECYCLE_STAGES):
            raise ApiError(400, "Invalid lifecycle stage provided.")
        status = changes.get("contact_status_id")
        if status is not None and not any(s["id"] == status for s in seed.CONTACT_STATUSES):
            raise ApiError(400, "Invalid contact status provided.")
        return changes

    @staticmethod
    def _check_status_matches_stage(record: dict[str, Any], changes: dict[str, Any]) -> None:
        """Each contact status belongs to one lifecycle stage (reference §6 relations)."""
        status_id = changes.get("contact_status_id")
        if status_id is not None and "lifecycle_stage_id" not in changes:
            changes["lifecycle_stage_id"] = next(
                s["lifecycle_stage_id"] for s in seed.CONTACT_STATUSES if s["id"] == status_id)
        stage_id = changes.get("lifecycle_stage_id", record["lifecycle_stage_id"])
        if stage_id is None:
            return
        stage = next(s for s in seed.LIFECYCLE_STAGES if s["id"] == stage_id)
        if "contact_status_id" in changes:
            if changes["contact_status_id"] not in (None, *stage["contact_status_ids"]):
                raise ApiError(400, "Invalid contact status provided.")
        elif record["contact_status_id"] not in stage["contact_status_ids"]:
            # Moving to another stage puts the contact in that stage's first status.
            changes["contact_status_id"] = stage["contact_status_ids"][0]

    def _account_links(self, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise ApiError(400, "The type for sales_accounts is invalid.")
        links: list[dict[str, Any]] = []
        for item in value:
            account_id = _as_id("sales_accounts", item.get("id"))
            if account_id is None or account_id not in self.accounts:
                raise ApiError(400, f"Sales account with id {item.get('id')} does not exist")
            if all(link["id"] != account_id for link in links):
                links.append({"id": account_id, "is_primary": item.get("is_primary") is True})
        return links

    def render_contact(self, record: dict[str, Any], include_accounts: bool) -> dict[str, Any]:
        shown = copy.deepcopy(record)
        links = shown.pop("sales_accounts")
        if include_accounts:
            shown["sales_accounts"] = [seed.account_partial(self.accounts[link["id"]], link["is_primary"])
                                       for link in links]
        return shown

    # ---- sales accounts ----
    def upsert_account(self, body: Any) -> dict[str, Any]:
        name = _object(body, "unique_identifier", required=False).get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "unique_identifier must contain name (a non-empty string)")
        data = _object(body, "sales_account", required=False)
        changes = _common_fields(data, seed.ACCOUNT_TEXT_FIELDS, seed.ACCOUNT_ID_FIELDS)
        if "annual_revenue" in data:
            revenue = data["annual_revenue"]
            if revenue is not None and (isinstance(revenue, bool) or not isinstance(revenue, (int, float))):
                raise ApiError(400, "The type for annual_revenue is invalid.")
            changes["annual_revenue"] = revenue
        record = self._find_account(name)
        if "name" in data:
            rename = _as_text("name", data["name"])
            if not rename or not rename.strip():
                raise ApiError(400, "Name can't be blank")
            clash = self._find_account(rename)
            if clash is not None and clash is not record:
                raise ApiError(400, "Name has already been taken")
            changes["name"] = rename.strip()
        if record is None:
            record = seed.new_account(self._new_id("sales_account"), name.strip(), _now())
            self.accounts[record["id"]] = record
        _apply(record, changes, data)
        return {"sales_account": copy.deepcopy(record)}

    def _find_account(self, name: str) -> dict[str, Any] | None:
        wanted = name.strip().casefold()
        return next((a for a in self.accounts.values() if a["name"].casefold() == wanted), None)

    # ---- sales activities ----
    def create_activity(self, body: Any) -> dict[str, Any]:
        data = _object(body, "sales_activity")
        required = ("title", "start_date", "end_date", "sales_activity_type_id", "targetable_type",
                    "targetable_id")
        missing = [f"{f} can't be blank" for f in required if data.get(f) in (None, "")]
        if missing:
            raise ApiError(400, *missing)
        fields = _common_fields(data, seed.ACTIVITY_TEXT_FIELDS, seed.ACTIVITY_ID_FIELDS)
        fields["title"] = _as_text("title", data["title"])
        for key in ("start_date", "end_date", "checkedin_at"):
            if data.get(key) is not None:
                fields[key] = _as_date(key, data[key])
        type_id = _as_id("sales_activity_type_id", data["sales_activity_type_id"])
        if not any(t["id"] == type_id for t in seed.SALES_ACTIVITY_TYPES):
            raise ApiError(400, f"Invalid sales activity type: {type_id}")
        outcome = fields.get("sales_activity_outcome_id")
        if outcome is not None and not any(o["id"] == outcome and o["sales_activity_type_id"] == type_id
                                           for o in seed.SALES_ACTIVITY_OUTCOMES):
            raise ApiError(400, f"Invalid sales activity outcome for type {type_id}: {outcome}")
        target_type = ACTIVITY_TARGETS.get(str(data["targetable_type"]).casefold())
        if target_type is None:
            raise ApiError(400, "targetable_type must be Contact, SalesAccount or Deal")
        target_id = _as_id("targetable_id", data["targetable_id"])
        known = {"Contact": self.contacts, "SalesAccount": self.accounts}.get(target_type)
        if known is not None and target_id not in known:
            raise ApiError(400, f"{target_type} with id {target_id} does not exist")
        record = seed.new_activity(self._new_id("sales_activity"), _now())
        fields.update({"sales_activity_type_id": type_id, "targetable_type": target_type,
                       "targetable_id": target_id, "conversation_time": fields["end_date"],
                       "targetables": [{"id": target_id, "type": target_type}]})
        _apply(record, fields, data)
        self.activities[record["id"]] = record
        return {"sales_activity": copy.deepcopy(record)}

    # ---- persistence ----
    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "next_ids": self.next_ids, "contacts": list(self.contacts.values()),
                "accounts": list(self.accounts.values()), "activities": list(self.activities.values())}

    def load_json(self, data: dict[str, Any]) -> None:
        self.next_ids.update(data["next_ids"])
        self.contacts = {c["id"]: c for c in data["contacts"]}
        self.accounts = {a["id"]: a for a in data["accounts"]}
        self.activities = {a["id"]: a for a in data["activities"]}

"""Demo account configuration and record shapes for the local Freshsales emulator.

Ids and names come from the recorded replies in the shared ``networks.json`` where it has them (the
sales activity types and lifecycle stages of the "acme" set, extended with the other ones recorded
from RudderStack's mocks) so that events written against those recordings resolve the same ids here.
Everything else is invented demo data in the same shapes (reference §6).
"""

from __future__ import annotations

from typing import Any

CONTACT_RECORD_TYPE_ID = "71010794476"
ACCOUNT_RECORD_TYPE_ID = "71010794477"

# Where new ids start; real ids are ~11-digit integers and we keep them out of 32-bit range on purpose.
FIRST_IDS = {
    "contact": 70042006456,
    "email": 70037311213,
    "sales_account": 70003771396,
    "sales_activity": 70000912345,
}

USERS = [
    {"id": 70000062681, "display_name": "Dana Demo", "email": "dana.demo@example.com",
     "is_active": True, "work_number": None, "mobile_number": None},
    {"id": 70000062682, "display_name": "Sam Sample", "email": "sam.sample@example.com",
     "is_active": True, "work_number": "15550100", "mobile_number": None},
    # The owners sample_events/ and the sample generator use, so their ownerId values are real users here.
    {"id": 70054866612, "display_name": "Priya Patel", "email": "priya.patel@example.com",
     "is_active": True, "work_number": None, "mobile_number": None},
    {"id": 70054866613, "display_name": "Marco Rossi", "email": "marco.rossi@example.com",
     "is_active": True, "work_number": None, "mobile_number": None},
    {"id": 70054866619, "display_name": "Lena Vogel", "email": "lena.vogel@example.com",
     "is_active": True, "work_number": None, "mobile_number": None},
]

TERRITORIES = [
    {"id": 70000013021, "name": "North America", "position": 1},
    {"id": 70000013022, "name": "EMEA", "position": 2},
    {"id": 70000013023, "name": "APAC", "position": 3},
    {"id": 70000090119, "name": "Nordics", "position": 4},  # the territoryId the samples send
]

# (id, name, type, default, statuses); the first three stages are exactly the "acme" recording's.
_STAGES = [
    (71012139274, "Sales Qualified Lead start", "Sales Qualified Lead", True,
     [(70000697858, "Demo scheduled", "Open"), (70000697859, "Negotiation", "Open"),
      (70000697860, "Lost", "Closed Lost")]),
    (71012139273, "Lead", "Lead", True,
     [(70000697854, "New", "Open"), (70000697855, "Contacted", "Open"),
      (70000697856, "Interested", "Open"), (70000697857, "Unqualified", "Closed Lost")]),
    (71012806409, "final Customer", "Custom", False,
     [(70000736543, "Onboarding", "Closed Won"), (70000736544, "Renewal due", "Closed Won")]),
    (71012139275, "Customer", "Customer", True,
     [(70000697861, "Won", "Closed Won"), (70000697862, "Churned", "Closed Lost")]),
    # The lifecycleStageId the samples send as a numeric string ("71010794467", converted and sent).
    (71010794467, "Marketing Qualified Lead", "Custom", False,
     [(70000697863, "Nurturing", "Open"), (70000697864, "Disqualified", "Closed Lost")]),
]

LIFECYCLE_STAGES = [
    {"id": sid, "name": name, "position": pos, "disabled": False, "default": default, "type": kind,
     "contact_status_ids": [status[0] for status in statuses]}
    for pos, (sid, name, kind, default, statuses) in enumerate(_STAGES, start=1)
]

CONTACT_STATUSES = [
    {"id": status_id, "name": name, "position": pos, "partial": True, "forecast_type": forecast,
     "lifecycle_stage_id": sid}
    for sid, _name, _kind, _default, statuses in _STAGES
    for pos, (status_id, name, forecast) in enumerate(statuses, start=1)
]


def _named(first_id: int, names: list[str]) -> list[dict[str, Any]]:
    return [{"id": first_id + i, "name": name, "position": i + 1, "partial": True}
            for i, name in enumerate(names)]


LEAD_SOURCES = _named(70000193450, [
    "Web", "Organic Search", "Email", "Phone", "Chat", "Web Form", "Referral", "Direct",
    "Paid Search", "Blogs", "Social Media", "Display Ads", "Events", "Webinar"])

# A subset of the 68 default industries: enough to pick from in a demo.
INDUSTRY_TYPES = _named(70000221310, [
    "Accounting", "Airlines/Aviation", "Automotive", "Banking", "Biotechnology", "Chemicals",
    "Computer Software", "Construction", "Consumer Goods", "Education Management", "Financial Services",
    "Food & Beverages", "Government Administration", "Health Care", "Hospitality", "Insurance",
    "Internet", "Logistics and Supply Chain", "Marketing and Advertising", "Media Production",
    "Retail", "Telecommunications", "Utilities", "Venture Capital"])

BUSINESS_TYPES = _named(70000118720, [
    "Analyst", "Competitor", "Customer", "Integrator", "Investor", "Partner", "Press", "Prospect",
    "Reseller", "Other"])

# (id, name, internal_name, is_default, is_checkedin, show_in_conversation). The first three are the
# "acme" recording; the rest are the other recorded types minus a second "Phone" (names must stay
# unique, because RudderStack resolves a type by its exact name).
_ACTIVITY_TYPES = [
    (70000666879, "own-calender", "cappointment", False, False, True),
    (70000663932, "fb-support", "facebook", False, False, True),
    (70000646201, "Phone", "phone", True, False, True),
    (70000663746, "twitter sales", "twitter", False, False, True),
    (70000646396, "linked sales", "linkedin", False, False, True),
    (70000642330, "facebook sales", "facebook", False, False, True),
    (70000612897, "Chat", "chat", True, False, True),
    (70000612899, "Meeting", "appointment", True, True, True),
    (70000612900, "Task", "task", True, False, True),
    (70000612901, "Email", "email", True, False, True),
    (70000612902, "SMS Outgoing", "sms_outgoing", True, False, True),
    (70000612903, "Reminder", "reminder", True, False, False),
    (70000612904, "SMS Incoming", "sms_incoming", True, False, True),
]

SALES_ACTIVITY_TYPES = [
    {"partial": True, "id": tid, "name": name, "internal_name": internal, "show_in_conversation": shown,
     "position": pos, "is_default": default, "is_checkedin": checkin}
    for pos, (tid, name, internal, default, checkin, shown) in enumerate(_ACTIVITY_TYPES, start=1)
]

_OUTCOME_NAMES = {
    70000646201: ["Interested", "Left voicemail", "No response", "Not interested"],
    70000612899: ["Interested", "Not interested", "Rescheduled"],
    70000612901: ["Replied", "No response"],
}
SALES_ACTIVITY_OUTCOMES = [
    {"partial": True, "id": 70000301000 + type_id % 1000 * 10 + pos, "name": name,
     "sales_activity_type_id": type_id, "position": pos}
    for type_id, names in _OUTCOME_NAMES.items()
    for pos, name in enumerate(names, start=1)
]

_ENTITY_TYPES = [(70000612899, ["In person", "Online meeting"]), (70000646201, ["Outgoing call", "Incoming call"])]
_TYPE_NAMES = {tid: name for tid, name, *_rest in _ACTIVITY_TYPES}
SALES_ACTIVITY_ENTITY_TYPES = [
    {"partial": True, "id": 70000402000 + type_id % 1000 * 10 + pos, "name": name,
     "sales_activity_type_id": type_id, "position": pos, "sales_activity_type_name": _TYPE_NAMES[type_id]}
    for type_id, names in _ENTITY_TYPES
    for pos, name in enumerate(names, start=1)
]

LISTS = [
    {"id": 70000053624, "name": "Sample list"},
    {"id": 70000056575, "name": "list1-test"},
    {"id": 70000058627, "name": "Jio 5G Group"},
    {"id": 70000058628, "name": "Airtel 5G Group"},
    {"id": 70000059716, "name": "Voda 5G"},
]

# GET /selector/<path> -> (top-level key, items). Owners answer under "users" (reference gotcha 1).
SELECTORS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "owners": ("users", USERS),
    "territories": ("territories", TERRITORIES),
    "contact_statuses": ("contact_statuses", CONTACT_STATUSES),
    "lifecycle_stages": ("lifecycle_stages", LIFECYCLE_STAGES),
    "lead_sources": ("lead_sources", LEAD_SOURCES),
    "industry_types": ("industry_types", INDUSTRY_TYPES),
    "business_types": ("business_types", BUSINESS_TYPES),
    "sales_activity_types": ("sales_activity_types", SALES_ACTIVITY_TYPES),
    "sales_activity_outcomes": ("sales_activity_outcomes", SALES_ACTIVITY_OUTCOMES),
    "sales_activity_entity_types": ("sales_activity_entity_types", SALES_ACTIVITY_ENTITY_TYPES),
}

# ---- record shapes: every key a real reply carries, unset ones as null (reference §2 "Nulls") ----

CONTACT_TEXT_FIELDS = (
    "first_name", "last_name", "job_title", "work_number", "mobile_number", "address", "city", "state",
    "zipcode", "country", "time_zone", "external_id", "subscription_types", "medium", "keyword",
    "facebook", "twitter", "linkedin")
CONTACT_ID_FIELDS = (
    "owner_id", "territory_id", "lead_source_id", "campaign_id", "contact_status_id", "lifecycle_stage_id")

ACCOUNT_TEXT_FIELDS = (
    "address", "city", "state", "zipcode", "country", "website", "phone", "facebook", "twitter", "linkedin")
ACCOUNT_ID_FIELDS = (
    "industry_type_id", "business_type_id", "territory_id", "owner_id", "parent_sales_account_id",
    "number_of_employees")

ACTIVITY_TEXT_FIELDS = ("notes", "location", "latitude", "longitude")
ACTIVITY_ID_FIELDS = ("owner_id", "creater_id", "sales_activity_outcome_id")


def new_contact(contact_id: int, email_id: int, email: str, now: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": contact_id, "first_name": None, "last_name": None, "display_name": email,
                              "avatar": None, "email": email,
                              "emails": [{"id": email_id, "value": email, "is_primary": True, "label": None,
                                          "_destroy": False}]}
    record.update(dict.fromkeys(CONTACT_TEXT_FIELDS))
    record.update(dict.fromkeys(CONTACT_ID_FIELDS))
    record.update({
        "last_seen": None, "lead_score": 0, "last_contacted": None, "open_deals_amount": None,
        "won_deals_amount": None, "links": _links("contacts", contact_id, (
            "conversations", "timeline_feeds", "document_associations", "notes", "tasks", "appointments",
            "reminders", "duplicates", "connections")),
        "last_contacted_sales_activity_mode": None, "custom_field": {}, "created_at": now, "updated_at": now,
        "last_contacted_mode": None, "recent_note": None, "won_deals_count": None,
        "last_contacted_via_sales_activity": None, "completed_sales_sequences": None,
        "active_sales_sequences": None, "web_form_ids": None, "open_deals_count": None,
        "last_assigned_at": None, "tags": [], "is_deleted": False, "team_user_ids": None, "work_email": None,
        "subscription_status": 1, "subscription_types": "2;3;4;5;1", "customer_fit": 0,
        "record_type_id": CONTACT_RECORD_TYPE_ID, "whatsapp_subscription_status": 2,
        "sms_subscription_status": 2, "last_seen_chat": None, "first_seen_chat": None, "locale": None,
        "total_sessions": None, "phone_numbers": [], "sales_accounts": []})
    return record


def new_account(account_id: int, name: str, now: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": account_id, "name": name}
    record.update(dict.fromkeys(ACCOUNT_TEXT_FIELDS))
    record.update(dict.fromkeys(ACCOUNT_ID_FIELDS))
    record.update({
        "annual_revenue": None, "open_deals_amount": None, "open_deals_count": None, "won_deals_amount": None,
        "won_deals_count": None, "last_contacted": None, "last_contacted_mode": None,
        "links": _links("sales_accounts", account_id,
                        ("conversations", "document_associations", "notes", "tasks", "appointments")),
        "custom_field": {}, "created_at": now, "updated_at": now, "avatar": None, "recent_note": None,
        "last_contacted_via_sales_activity": None, "last_contacted_sales_activity_mode": None,
        "completed_sales_sequences": None, "active_sales_sequences": None, "last_assigned_at": None,
        "tags": [], "is_deleted": False, "team_user_ids": None, "has_connections": False,
        "record_type_id": ACCOUNT_RECORD_TYPE_ID})
    return record


def new_activity(activity_id: int, now: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": activity_id}
    record.update(dict.fromkeys((
        "title", "start_date", "end_date", "sales_activity_type_id", "notes", "owner_id",
        "sales_activity_outcome_id", "remote_id", "import_id", "creater_id", "updater_id", "conversation_time",
        "targetable_id", "targetable_type", "latitude", "longitude", "location", "checkedin_at",
        "conversation_id", "checkedout_latitude", "checkedout_longitude", "checkedout_location",
        "checkedout_at", "checkedin_duration", "completed_date")))
    record.update({"created_at": now, "updated_at": now, "custom_field": {},
                   "status": False, "targetables": []})
    return record


def account_partial(account: dict[str, Any], is_primary: bool) -> dict[str, Any]:
    """The short form a contact read with ``include=sales_accounts`` embeds (reference §3.3)."""
    return {"partial": True, "id": account["id"], "name": account["name"], "avatar": account["avatar"],
            "website": account["website"], "last_contacted": account["last_contacted"],
            "record_type_id": account["record_type_id"], "is_primary": is_primary}


def _links(resource: str, record_id: int, names: tuple[str, ...]) -> dict[str, str]:
    return {name: f"/crm/sales/{resource}/{record_id}/{name}" for name in names}

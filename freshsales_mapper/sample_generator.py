"""Realistic, reproducible RudderStack events for demos, load tests and ``sample_events/``.

The mix follows what a Freshsales destination sees in practice, including the mistakes users
make (see ``MIX`` and ``MISTAKES``). The same ``seed`` always gives the same events: nothing reads
the clock or global random state.

    python -m freshsales_mapper.sample_generator --count 240 --seed 7 > events.ndjson
    python -m freshsales_mapper.sample_generator --count 10 --seed 11 --processor > body.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Names and ids as the "acme" Freshsales account (shared/conformance/networks.json) knows them, so
# that lookups by name succeed there. "own-calender" is spelled as that account spells it.
SALES_ACTIVITY_TYPES = {"own-calender": 70000666879, "fb-support": 70000663932, "Phone": 70000646201}
LIFECYCLE_STAGES = {"Sales Qualified Lead start": 71012139274, "Lead": 71012139273,
                    "final Customer": 71012806409}

# Percentages of each kind of event; they add up to 100.
MIX = {"identify": 45, "group": 20, "sales_activity": 15, "lifecycle_stage": 10, "mistake": 10}
MISTAKES = ("missing_email", "email_only_in_properties", "numeric_string_ids", "string_address",
            "custom_traits", "page", "screen", "unsupported_event")

FIRST_NAMES = ("Amara", "Ben", "Chloé", "Diego", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Jia",
               "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás")
LAST_NAMES = ("Okafor", "Müller", "Nakamura", "Silva", "O'Neil", "Kowalski", "Haddad", "Lindqvist",
              "Patel", "Moreau", "Novak", "García", "Chen", "Byrne", "Adeyemi", "Rossi")
COMPANIES = ("Northwind Traders", "Bluebird Logistics", "Copperleaf Analytics", "Driftwood Studios",
             "Evergreen Dental", "Fjord Robotics", "Granite Peak Insurance", "Harbor & Finch",
             "Ironbark Foods", "Juniper Health")
# (street, city, state, country, postal code); the streets are made up.
ADDRESSES = (("12 Harbour Road", "Sydney", "NSW", "Australia", "2000"),
             ("48 Elm Street", "Austin", "TX", "USA", "78701"),
             ("7 Rue des Lilas", "Lyon", "Auvergne-Rhône-Alpes", "France", "69003"),
             ("221 Canal Walk", "Manchester", "England", "UK", "M1 3HB"),
             ("90 MG Road", "Bengaluru", "Karnataka", "India", "560001"),
             ("3 Kongens Gade", "Copenhagen", "Capital Region", "Denmark", "1264"))
LIBRARIES = ({"name": "RudderLabs JavaScript SDK", "version": "3.7.2"},
             {"name": "rudder-analytics-python", "version": "2.1.0"},
             {"name": "@rudderstack/rudder-sdk-node", "version": "2.0.9"})
UNSUPPORTED_EVENTS = ("Order Completed", "Demo Booked", "Trial Started", "Product Viewed")
OWNER_IDS = ("70054866612", "70054866613", "70054866619")
START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _Person:
    first: str
    last: str
    email: str
    phone: str
    user_id: str
    anonymous_id: str
    company: str
    address: tuple[str, str, str, str, str]


def _ascii_slug(text: str) -> str:
    """"García" -> "garcia": email local parts and hosts stay plain ASCII."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


def _person(rng: random.Random) -> _Person:
    first, last, company = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(COMPANIES)
    domain = _ascii_slug(company.split()[0]) + ".example.com"  # .example: never a real inbox
    return _Person(first, last, f"{_ascii_slug(first)}.{_ascii_slug(last)}@{domain}",
                   f"+1-{rng.randint(201, 989)}-555-01{rng.randint(0, 99):02d}",  # 555-01xx: fictional
                   f"usr_{rng.getrandbits(40):010x}", str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                   company, rng.choice(ADDRESSES))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _envelope(rng: random.Random, person: _Person, moment: datetime, event_type: str) -> dict:
    sent = moment + timedelta(milliseconds=rng.randint(40, 900))
    return {
        "type": event_type,
        "messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "anonymousId": person.anonymous_id,
        "userId": person.user_id,
        "channel": rng.choice(("web", "server")),
        "context": {"library": dict(rng.choice(LIBRARIES)), "locale": "en-US"},
        "originalTimestamp": _iso(moment),
        "sentAt": _iso(sent),
        "timestamp": _iso(sent + timedelta(milliseconds=rng.randint(5, 60))),
    }


def _address(person: _Person) -> dict:
    street, city, state, country, postal = person.address
    return {"street": street, "city": city, "state": state, "country": country, "postalCode": postal}


def _identify(rng: random.Random, person: _Person, moment: datetime) -> dict:
    event = _envelope(rng, person, moment, "identify")
    first_key, last_key = rng.choice((("firstName", "lastName"), ("first_name", "last_name")))
    event["traits"] = {"email": person.email, first_key: person.first, last_key: person.last,
                       "phone": person.phone, "address": _address(person),
                       "company": {"name": person.company}}
    if rng.random() < 0.3:
        event["traits"]["title"] = rng.choice(("Head of Operations", "CTO", "Office Manager"))
    return event


def _group(rng: random.Random, person: _Person, moment: datetime, with_email: bool) -> dict:
    event = _envelope(rng, person, moment, "group")
    street, city, state, country, postal = person.address
    event["groupId"] = f"acct_{rng.getrandbits(32):08x}"
    event["traits"] = {"name": person.company, "phone": person.phone, "website":
                       f"https://www.{_ascii_slug(person.company.split()[0])}.example.com",
                       "numberOfEmployees": rng.choice((8, 25, 51, 140, 600)),
                       "annualRevenue": rng.choice((250000, 1200000, 8500000)),
                       "address": street, "city": city, "state": state, "country": country,
                       "zipcode": postal}
    if with_email:  # the user's email makes RudderStack link the contact to the account
        event["context"]["traits"] = {"email": person.email}
    return event


def _track(rng: random.Random, person: _Person, moment: datetime, name: str, properties: dict) -> dict:
    event = _envelope(rng, person, moment, "track")
    event["event"] = name
    event["context"]["traits"] = {"email": person.email}
    event["properties"] = properties
    return event


def _sales_activity(rng: random.Random, person: _Person, moment: datetime, by_name: bool) -> dict:
    type_name = rng.choice(sorted(SALES_ACTIVITY_TYPES))
    start = moment + timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 6))
    properties: dict[str, Any] = {
        "title": f"{type_name} with {person.first} {person.last}", "startDate": _iso(start),
        "endDate": _iso(start + timedelta(minutes=rng.choice((15, 30, 60)))),
        "ownerId": rng.choice(OWNER_IDS)}
    if by_name:
        properties["salesActivityName"] = type_name
    else:  # ids arrive as strings or numbers depending on the sending code
        type_id = SALES_ACTIVITY_TYPES[type_name]
        properties["salesActivityTypeId"] = rng.choice((type_id, str(type_id)))
    event = _track(rng, person, moment, "sales_activity", properties)
    # Sales activities target context.externalId; without an id the contact is found by email.
    event["context"]["externalId"] = {"type": "Contact"}
    return event


def _lifecycle_stage(rng: random.Random, person: _Person, moment: datetime, by_name: bool) -> dict:
    stage = rng.choice(sorted(LIFECYCLE_STAGES))
    if by_name:
        properties: dict[str, Any] = {"lifecycleStageName": stage}
    else:
        properties = {"lifecycleStageId": rng.choice((LIFECYCLE_STAGES[stage], str(LIFECYCLE_STAGES[stage])))}
    return _track(rng, person, moment, "lifecycle_stage", properties)


def _mistake(rng: random.Random, person: _Person, moment: datetime, kind: str) -> dict:
    if kind in ("page", "screen"):
        event = _envelope(rng, person, moment, kind)
        event["name"] = rng.choice(("Pricing", "Checkout", "Dashboard"))
        event["properties"] = {"path": "/" + event["name"].lower()}
        return event
    if kind == "unsupported_event":
        return _track(rng, person, moment, rng.choice(UNSUPPORTED_EVENTS), {"plan": "Growth"})
    event = _identify(rng, person, moment)
    traits = event["traits"]
    if kind == "missing_email":
        del traits["email"]
    elif kind == "email_only_in_properties":
        event["properties"] = {"email": traits.pop("email")}
    elif kind == "numeric_string_ids":
        # The first is read as a number; "12abc" is not a number and is silently dropped.
        traits.update(lifecycleStageId="71010794467", ownerId="12abc", territoryId="70000090119")
    elif kind == "string_address":
        street, city, *_ = person.address
        traits["address"] = f"{street}, {city}"
    elif kind == "custom_traits":  # Freshsales custom fields are not mapped by RudderStack
        traits.update(cf_plan=rng.choice(("Starter", "Growth", "Enterprise")), cf_seats=rng.randint(3, 80))
    return event


def _quotas(count: int) -> dict[str, int]:
    """How many events of each kind: proportional to MIX, rounding by largest remainder."""
    exact = {kind: count * share / 100 for kind, share in MIX.items()}
    quotas = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(MIX, key=lambda kind: exact[kind] - quotas[kind], reverse=True)
    for kind in by_remainder[: count - sum(quotas.values())]:
        quotas[kind] += 1
    return quotas


def generate_labelled_events(count: int, seed: int = 0) -> list[tuple[str, dict]]:
    """Like :func:`generate_events`, each event paired with its kind.

    Kinds: ``identify``, ``group:with_email``, ``group:without_email``, ``sales_activity:by_id``,
    ``sales_activity:by_name``, ``lifecycle_stage:by_id``, ``lifecycle_stage:by_name`` and
    ``mistake:<one of MISTAKES>``.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    rng = random.Random(seed)
    kinds = [kind for kind, quota in _quotas(count).items() for _ in range(quota)]
    rng.shuffle(kinds)
    labelled = []
    moment = START
    for kind in kinds:
        moment += timedelta(seconds=rng.randint(5, 900), milliseconds=rng.randint(0, 999))
        person = _person(rng)
        if kind == "identify":
            labelled.append(("identify", _identify(rng, person, moment)))
        elif kind == "mistake":
            mistake = rng.choice(MISTAKES)
            labelled.append((f"mistake:{mistake}", _mistake(rng, person, moment, mistake)))
        elif kind == "group":
            with_email = rng.random() < 0.5
            label = "group:with_email" if with_email else "group:without_email"
            labelled.append((label, _group(rng, person, moment, with_email)))
        else:
            by_name = rng.random() < 0.5
            build = _sales_activity if kind == "sales_activity" else _lifecycle_stage
            labelled.append((f"{kind}:{'by_name' if by_name else 'by_id'}", build(rng, person, moment, by_name)))
    return labelled


def generate_events(n: int, seed: int = 0) -> list[dict]:
    """``n`` realistic RudderStack events in the proportions of ``MIX``, the same for the same seed."""
    return [event for _, event in generate_labelled_events(n, seed)]


def processor_items(events: list[dict], domain: str = "acme.myfreshworks.com", api_key: str = "demo-key",
                    mappings: list[dict] | None = None) -> list[dict]:
    """Wrap events as a RudderStack processor request body: ``[{message, destination, metadata}]``."""
    items = []
    for event in events:
        config: dict[str, Any] = {"apiKey": api_key, "domain": domain}
        if mappings is not None:  # RudderStack leaves the setting out when it was never filled in
            config["rudderEventsToFreshsalesEvents"] = [dict(m) for m in mappings]
        items.append({"message": event, "destination": {"Config": config},
                      "metadata": {"messageId": event.get("messageId")}})
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processor", action="store_true",
                        help="print a processor request body (JSON array) instead of NDJSON")
    args = parser.parse_args(argv)
    events = generate_events(args.count, args.seed)
    if args.processor:
        json.dump(processor_items(events), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.writelines(json.dumps(event, ensure_ascii=False) + "\n" for event in events)
    return 0


if __name__ == "__main__":
    sys.exit(main())

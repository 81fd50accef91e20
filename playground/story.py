"""A batch told as a story: "226 contacts upserted · 10 accounts · 36 activities · 14 not sent: 9 have no email, 5 …".

Pure (no Streamlit): counts records by Freshsales object from the same cards the single view shows, and
the events that send nothing by RudderStack's reason in a person's words. Before a send the records are
what *would be* written; after one, each event's outcome (delivered, failed, unknown, skipped) is used.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.records import RecordKind, record_cards
from freshsales_mapper.engine.vocabulary import MappingOutcome

WOULD_SEND = "would be sent"
SKIPPED = str(MappingOutcome.SKIPPED)  # before a send too: RudderStack rejects the event, so it never goes
OBJECT_WORDS = {RecordKind.CONTACT: ("contact", "contacts"), RecordKind.SALES_ACCOUNT: ("account", "accounts"),
                RecordKind.SALES_ACTIVITY: ("activity", "activities")}
OBJECT_ORDER = ("contact", "sales account", "sales activity")
_REASONS = (  # (pattern of RudderStack's error, what the events are, after "9 …": reads with 1 and with 9)
    (re.compile(r"email", re.I), "without an email"),
    (re.compile(r"Message Type is not present", re.I), "without a type"),
    (re.compile(r'Missing required value from \W*([\w.]+)', re.I), "without {0}"),
    (re.compile(r"message type (.*) not supported", re.I), "{0} events (not supported)"),
    (re.compile(r"event name (.*) is not supported", re.I), "track events mapped to nothing Freshsales knows"),
    (re.compile(r"Event is a required field", re.I), "track events without an event name"),
    (re.compile(r"lifecycle", re.I), "lifecycle stage updates without a known stage"),
    (re.compile(r"targetable_id", re.I), "sales activities not on a contact"),
    (re.compile(r"sales activit", re.I), "sales activities without a known type"),
)


def reason_words(message: str) -> str:
    """RudderStack's error as the end of "5 …": "without an email"."""
    for pattern, words in _REASONS:
        match = pattern.search(message)
        if match:
            return words.format(*(g.strip() for g in match.groups()))
    return "failing: " + (message if len(message) <= 60 else message[:59] + "…")


@dataclass(frozen=True)
class Story:
    sentence: str
    chart: pd.DataFrame  # columns: object, outcome, records


def batch_story(results: Sequence[TransformResult], unreadable: int = 0,
                outcomes: Sequence[str | None] | None = None) -> Story:
    """The story of a batch. ``outcomes``: after a send, each event's outcome word (None: not sent yet)."""
    records: Counter[tuple[str, str]] = Counter()
    actions: Counter[RecordKind] = Counter()
    moved = 0
    not_sent: Counter[str] = Counter()
    troubles: Counter[str] = Counter()  # after a send: events that failed, are unknown or were not sent yet
    for number, result in enumerate(results):
        outcome = outcomes[number] if outcomes is not None and number < len(outcomes) else None
        if result.error is not None:
            not_sent[reason_words(result.error.message)] += 1
            records[("rejected event", outcome or SKIPPED)] += 1
            continue
        if outcomes is not None and outcome != "delivered":
            troubles[outcome or "not sent yet"] += 1
        for card in record_cards(result):
            if outcomes is not None:
                records[(card.kind.title.lower(), outcome or "not sent yet")] += 1
                if outcome != "delivered":
                    continue
            else:
                records[(card.kind.title.lower(), WOULD_SEND)] += 1
            if card.action == "lifecycle stage moved":
                moved += 1
            elif card.action != "linked to the account":
                actions[card.kind] += 1
    parts = []
    verbs = {RecordKind.CONTACT: "upserted", RecordKind.SALES_ACCOUNT: "", RecordKind.SALES_ACTIVITY: ""}
    for kind in OBJECT_WORDS:
        count = actions[kind]
        if count or kind == RecordKind.CONTACT:
            one, many = OBJECT_WORDS[kind]
            verb = verbs[kind] if not parts else ""
            parts.append(" ".join(w for w in (str(count), one if count == 1 else many, verb) if w))
    if moved:
        parts.append(f"{moved} lifecycle stage{'s' if moved != 1 else ''} moved")
    for word in ("failed", "unknown", "not sent yet"):
        if troubles[word]:
            parts.append(f"{troubles[word]} event{'s' if troubles[word] != 1 else ''} {word}")
    rejected = sum(not_sent.values())
    if rejected:  # the words the send and the CLI use for the same events
        reasons = ", ".join(f"{count} {words}" for words, count in not_sent.most_common())
        parts.append(f"{rejected} skipped, RudderStack rejects {'it' if rejected == 1 else 'them'}: {reasons}")
    if unreadable:
        parts.append(f"{unreadable} unreadable")
    if outcomes is None:
        parts[0] = parts[0].replace("upserted", "would be upserted")
    sentence = " · ".join(parts)
    chart = pd.DataFrame([{"object": obj, "outcome": outcome, "records": count}
                          for (obj, outcome), count in sorted(records.items())],
                         columns=["object", "outcome", "records"])
    return Story(sentence, chart)

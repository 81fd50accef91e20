"""RudderStack's errors for the Freshsales destination, and what they mean to a person.

The message text and status code are RudderStack's own (they are what a user sees in the
RudderStack dashboard); the explanation, the fix and the retry/drop disposition are ours.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from freshsales_mapper.engine.jsnumber import js_json_value
from freshsales_mapper.engine.plan import TransformFailure

_TAGS_BASE = {"destType": "FRESHSALES", "feature": "processor", "implementation": "native", "module": "destination"}


class RudderError(Exception):
    """An error RudderStack raises while transforming; ``str()`` is its exact error text."""

    def __init__(self, message: str, status: int, stat_tags: dict[str, str],
                 destination_response: Any = None, crashed: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.stat_tags = stat_tags
        self.destination_response = destination_response
        self.crashed = crashed

    @property
    def error_text(self) -> str:
        """What RudderStack puts in the ``error`` field: JSON when Freshsales' reply is attached."""
        if self.destination_response is None:
            return self.message
        return json.dumps({"message": self.message, "destinationResponse": js_json_value(self.destination_response)},
                          separators=(",", ":"), ensure_ascii=False)


def instrumentation_error(message: str) -> RudderError:
    return RudderError(message, 400, {**_TAGS_BASE, "errorCategory": "dataValidation", "errorType": "instrumentation"})


def network_instrumentation_error(message: str, destination_response: Any = None) -> RudderError:
    tags = {**_TAGS_BASE, "errorCategory": "network", "errorType": "aborted", "meta": "instrumentation"}
    return RudderError(message, 400, tags, destination_response)


def network_error(message: str, error_status: Any, destination_response: Any) -> RudderError:
    """RudderStack's NetworkError: the status is Freshsales' ``errors.code`` when numeric, else 500."""
    numeric = isinstance(error_status, (int, float)) and not isinstance(error_status, bool)
    # Freshsales' code as JavaScript holds it: one number type, so 429.0 is 429 (statusCode prints 429).
    status = error_status if not numeric else _js_integral(error_status)
    status = status if numeric else 500
    probe = _loose_number(error_status)
    if probe is not None and 500 <= probe < 600:
        error_type = "retryable"
    elif numeric and error_status == 429:
        error_type = "throttled"
    else:
        error_type = "aborted"
    tags = {**_TAGS_BASE, "errorCategory": "network", "errorType": error_type}
    return RudderError(message, status, tags, destination_response)


def _js_integral(number: int | float) -> int | float:
    finite = isinstance(number, int) or math.isfinite(number)
    return js_json_value(number) if finite else number  # Infinity stays a number here; JSON prints null


def crash_error(message: str) -> RudderError:
    """RudderStack itself failed with a JavaScript error (a TypeError on an unexpected value)."""
    return RudderError(message, 500, {"errorCategory": "transformation"}, crashed=True)


def _loose_number(value: Any) -> float | None:
    """JavaScript's relational comparison coerces strings: ``'503' >= 500`` is true."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or "0")
        except ValueError:
            return None
    return None


# (pattern on RudderStack's message, explanation, fix). First match wins.
_EXPLANATIONS: tuple[tuple[str, str, str], ...] = (
    (r'^Missing required value from "emailOnly"$',
     "An identify event needs the user's email (and nothing else): RudderStack looks in traits.email, context.traits.email, then properties.email.",
     "Add `traits.email` or `context.traits.email` to the event."),
    (r'^Missing required value from "name"$',
     "A group event needs the account name (and nothing else): RudderStack looks in traits.name, then context.traits.name.",
     "Add `traits.name` (the sales account's name) to the group event."),
    (r'^Missing required value from "context\.externalId\.type"$',
     "A sales activity needs the type of record it is about, read from context.externalId.type (an object, not the usual array). "
     "In all it needs properties.title, properties.startDate, properties.endDate, properties.ownerId and context.externalId.type; its type as properties.salesActivityTypeId or properties.salesActivityName; and context.externalId.id, or (type Contact) the user's email to find the contact.",
     'Add `context.externalId: {"type": "Contact", "id": <record id>}` (type Contact, SalesAccount or Deal).'),
    (r'^Missing required value from "properties\.(\w+)"$',
     "A sales activity needs properties.title, properties.startDate, properties.endDate, properties.ownerId and context.externalId.type; its type as properties.salesActivityTypeId or properties.salesActivityName; and context.externalId.id, or (type Contact) the user's email to find the contact.",
     "Add the named property to the track event's properties."),
    (r"^Message Type is not present",
     "The event has no `type` (or an empty one), so RudderStack cannot tell what to do with it.",
     'Set `type` to "identify", "group" or "track".'),
    (r"^message type .* not supported$",
     "The Freshsales destination handles only identify, group and track events (the type is lower-cased first; spaces count).",
     'Send identify, group or track; other types (page, screen, alias) are not delivered to Freshsales.'),
    (r"^Event is a required field and should be a string$",
     "A track event needs `event` as a non-empty string.",
     'Set `event` to "sales_activity", "lifecycle_stage", or a name mapped in rudderEventsToFreshsalesEvents.'),
    (r"^event name .* is not supported",
     "The event name is neither mapped in rudderEventsToFreshsalesEvents nor, after lower-casing and turning spaces into _, sales_activity or lifecycle_stage.",
     "Map the event in the destination setting rudderEventsToFreshsalesEvents, or rename it."),
    (r"^Either of sales activity name or sales activity type id",
     "A sales activity needs properties.title, properties.startDate, properties.endDate, properties.ownerId and context.externalId.type; its type as properties.salesActivityTypeId or properties.salesActivityName; and context.externalId.id, or (type Contact) the user's email to find the contact.",
     "Add `properties.salesActivityTypeId` (a type id) or `properties.salesActivityName` (an exact type name)."),
    (r"^targetable_id is required",
     "Without context.externalId.id RudderStack can only find the record when the type is Contact (by email).",
     "Add `context.externalId.id`, or use type Contact with the user's email."),
    (r"^Either of email or targetable_id is required",
     "For a Contact sales activity without context.externalId.id, RudderStack needs the user's email to find the contact.",
     "Add `context.externalId.id` or the user's email (`traits.email`, `context.traits.email` or `properties.email`)."),
    (r"^sales Activity .* doesn't exists",
     "No sales activity type in Freshsales has exactly this name (the match is case-sensitive and exact).",
     "Use a name from Admin Settings > Sales activities, or pass `properties.salesActivityTypeId`."),
    (r"^email is required for updating life Cycle Stages",
     "A lifecycle stage change needs the user's email (to find the contact) and properties.lifecycleStageId or properties.lifecycleStageName.",
     "Add `traits.email`, `context.traits.email` or `properties.email`."),
    (r"^Either of lifecycleStageName or lifecycleStageId",
     "A lifecycle stage change needs the user's email (to find the contact) and properties.lifecycleStageId or properties.lifecycleStageName.",
     "Add `properties.lifecycleStageId` or an exact `properties.lifecycleStageName`."),
    (r"^failed to fetch lifeCycleStages with",
     "No lifecycle stage in Freshsales has exactly this name (case-sensitive, exact).",
     "Use a stage name from Admin Settings > Lifecycle stages, or pass `properties.lifecycleStageId`."),
    (r"^failed to (fetch|create)",
     "A call RudderStack makes to Freshsales while transforming failed; the reply is attached.",
     "Check the API key and domain; on 429 wait for the rate limit window; on 5xx try again later."),
    (r"^Fails in fetching|^Failed in fetching|^Unable to fetch correct list",
     "Freshsales answered, but not with the data RudderStack expected.",
     "Check that the domain points at a Freshsales account and that the API key's user can see contacts and accounts."),
)


_COMPILED = tuple((re.compile(pattern), explanation, fix) for pattern, explanation, fix in _EXPLANATIONS)


def explain(error: RudderError) -> TransformFailure:
    explanation, fix = _match(error)
    retried = error.status >= 500 or error.status == 429
    return TransformFailure(
        message=error.error_text,
        status=error.status,
        stat_tags=error.stat_tags,
        explanation=explanation,
        fix=fix,
        disposition="retried" if retried else "dropped",
        crashed=error.crashed,
    )


# Crashes RudderStack's route or JavaScript itself causes, in plain words (pattern, explanation, fix).
_CRASHES = tuple((re.compile(pattern), explanation, fix) for pattern, explanation, fix in (
    (r"reading 'Config'\)$",
     "The item has no destination (or it is null): RudderStack's route reads destination.Config to fill its "
     "dynamic settings and crashes before the Freshsales code runs.",
     "Give the item a destination object with a Config, or send the bare event with your settings."),
    (r"^Cannot convert object to primitive value$",
     "A value RudderStack turns into a number or text is an object with its own `toString` key; JavaScript "
     "cannot convert such an object and throws.",
     "Send the field as a plain string or number, or rename the object's `toString` key."),
    (r"^Cannot convert undefined or null to object$|^Cannot set unsafe key|^Cannot delete property",
     "A {{ path || default }} setting read its value through a key with dots in it (or an array's length, or "
     "a prototype key), and RudderStack's unset-value then fails to remove it from the event.",
     "Point the template at a path made of plain keys (no dots inside a key)."),
    (r"^Cannot read properties of undefined \(reading 'type'\)$",
     "A {{ message || ... }} setting took the whole message out of the item before the destination ran.",
     "Point the template at a field inside the message, e.g. {{ message.userId || \"default\" }}."),
))


def _match(error: RudderError) -> tuple[str, str]:
    if error.crashed:
        for pattern, explanation, fix in _CRASHES:
            if pattern.search(error.message):
                return f"{explanation} RudderStack answers 500, so the event is retried and fails the same way.", fix
        return ("RudderStack's transformer itself crashed on an unexpected value "
                f"({error.message}); it answers 500, so the event is retried and fails the same way each time.",
                "Fix the value's type in the event (for example, make `type` and `event` strings).")
    for pattern, explanation, fix in _COMPILED:
        if pattern.search(error.message):
            if error.status == 401 or "Incorrect or expired API key" in error.error_text:
                fix = "The API key was refused: copy it again from Freshsales (Profile Settings > API Settings)."
            return explanation, fix
    return "RudderStack rejected the event.", "Read the error text above."

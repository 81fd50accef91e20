"""What transforming one event produces: an ordered plan of HTTP requests plus the trace behind it.

A plan has two kinds of step. *Lookups* are calls RudderStack itself makes to Freshsales while it
transforms (some of them write: an upsert creates the contact or account if it is missing). *Final
requests* are what RudderStack hands to its router to deliver. Both are plain data so that the UI,
the CLI and the sender all read the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from freshsales_mapper.engine.vocabulary import (
    CandidateOutcome,
    FieldStatus,
    LossKind,
    MappingOutcome,
    StepKind,
    ValueStepKind,
)


class Placeholder(str):
    """A value that depends on a lookup the offline resolver could not answer.

    It is a ``str`` so that it serialises as itself (``"{{step 1: contact.id}}"``) wherever a real
    id would stand; ``isinstance(v, Placeholder)`` tells the UI to mark it.
    """

    __slots__ = ()


@dataclass
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: Any = None  # JSON-able; None for GET

    @property
    def path(self) -> str:
        """The URL from ``/crm/...`` on (the host is the user's domain setting)."""
        marker = self.url.find("/crm/")
        return self.url[marker:] if marker >= 0 else self.url


@dataclass
class Reply:
    """A Freshsales answer to a lookup, as RudderStack's network layer sees it."""

    status: int
    body: Any
    placeholder: bool = False  # True when the offline resolver invented it
    source: str = ""  # "offline", "replay", "live", "unreachable"
    note: str = ""


@dataclass
class LookupStep:
    """A call made *during* transformation (RudderStack's own HTTP call, not the final delivery)."""

    purpose: str  # one line for a human: "read the contact's sales accounts"
    request: HttpRequest
    writes: bool  # an upsert: creates or updates a record even though RudderStack only "transforms"
    reply: Reply | None = None
    extracted: dict[str, Any] = field(default_factory=dict)  # what the engine took from the reply

    kind = StepKind.LOOKUP


@dataclass
class FinalRequest:
    """A request RudderStack emits for delivery; ``produces`` says what Freshsales record it touches."""

    request: HttpRequest
    freshsales_event: str  # "contact", "sales_account", "contact_sales_accounts", "sales_activity", "lifecycle_stage"

    kind = StepKind.FINAL


@dataclass
class Candidate:
    path: str
    outcome: CandidateOutcome
    value: Any = None
    found: bool = False


@dataclass(frozen=True)
class ValueStep:
    """One change to a field's value after it was picked (a coercion, the address flattening)."""

    kind: ValueStepKind
    before: Any
    after: Any
    note: str = ""  # what the step did, for a person; "" when it needs no comment


@dataclass(frozen=True)
class FinalValue:
    """The value a field ends with, after every step: what the request body holds for it.

    ``json_type`` is the JSON type of that value ("string", "number", "boolean", "array", "object",
    "null"); ``type_warning`` is the type check's complaint about it (``None`` when it fits).
    """

    value: Any
    json_type: str
    type_warning: str | None = None


@dataclass
class FieldTrace:
    """How one Freshsales field got its value (or why it has none).

    Built in the same pass that picks the value, so the trace and the request cannot disagree.
    Attributes added by the one-pass trace (issues 7 and 11), besides the older ones: ``steps`` (the
    ``ValueStep``s applied after picking, in order), ``final`` (a ``FinalValue``: the value sent, or
    for a ``used`` field the value acted on; ``None`` when the field has none). ``status`` is a
    ``FieldStatus`` and each candidate's ``outcome`` a ``CandidateOutcome`` (both compare equal to
    their old words).
    """

    dest: str
    sources: str  # the table's sourceKeys, as RudderStack names them ("emailOnly", "properties.title")
    candidates: list[Candidate]
    winner: str | None  # the source path whose value was taken
    raw: Any = None
    sent: Any = None  # the final value when one is sent (equals final.value), else None
    status: FieldStatus = FieldStatus.UNSET
    coercion: str | None = None  # "toNumber", "toFloat"
    warnings: list[str] = field(default_factory=list)
    doc_note: str | None = None
    required: bool = False
    section: str = ""  # which object the field belongs to: "contact", "sales_account", "sales_activity", ...
    steps: list[ValueStep] = field(default_factory=list)
    final: FinalValue | None = None
    not_reached: str = ""  # "not reached: RudderStack stopped at ...": traced past a rejection, never run by it


@dataclass
class UnmappedInput:
    path: str
    value: Any
    hint: str
    fields: tuple[str, ...] = ()  # the Freshsales fields the input most likely meant, most likely first


@dataclass
class TransformFailure:
    """RudderStack's error for the event, plus what a person needs to act on it."""

    message: str  # RudderStack's exact error text
    status: int
    stat_tags: dict[str, str]
    explanation: str
    fix: str
    disposition: str  # "retried" or "dropped" (what RudderStack's server does with the event)
    crashed: bool = False  # RudderStack itself hit a JavaScript error
    # Every other requirement the event misses, "end_date ← properties.endDate": RudderStack names one per run.
    also_missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Loss:
    """Something a mapped event loses on the way to Freshsales, and why."""

    kind: LossKind
    field: str  # the Freshsales field ("owner_id", "address"), or "contact" for a link not made
    text: str  # a short phrase for a headline: "owner_id dropped", 'address blanked to ""'
    detail: str  # one sentence: what was given and what happens to it


@dataclass
class TransformResult:
    """Everything known about one input event."""

    event_type: str | None
    steps: list[LookupStep | FinalRequest] = field(default_factory=list)
    fields: list[FieldTrace] = field(default_factory=list)
    unmapped: list[UnmappedInput] = field(default_factory=list)  # the first engine.unmapped.LISTED of them
    unmapped_count: int = 0  # how many inputs no field reads, listed or not
    notes: list[str] = field(default_factory=list)  # event-level warnings and doc-vs-code notes
    error: TransformFailure | None = None
    route: list[Any] = field(default_factory=list)  # engine.route.RouteNote: what RudderStack's route did first
    targets: list[str] = field(default_factory=list)  # Freshsales objects RudderStack built or tried to build
    losses: list[Loss] = field(default_factory=list)  # with a trace (or engine.losses.find_losses without one)

    @property
    def outcome(self) -> MappingOutcome:
        if self.error is not None:
            return MappingOutcome.SKIPPED
        return MappingOutcome.LOSSY if self.losses else MappingOutcome.MAPPED

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def lookups(self) -> list[LookupStep]:
        return [s for s in self.steps if isinstance(s, LookupStep)]

    @property
    def final_requests(self) -> list[FinalRequest]:
        return [s for s in self.steps if isinstance(s, FinalRequest)]

    @property
    def has_placeholders(self) -> bool:
        return any(s.reply is not None and s.reply.placeholder for s in self.lookups)

"""The four outcomes a sent event can have, one vocabulary for the sender, the journal, the CLI and the UI,
and the record of what happened to one event (EventOutcome)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from freshsales_mapper.engine.plan import Loss
from freshsales_mapper.engine.vocabulary import SKIPPED_LABEL


class SendOutcome(StrEnum):
    """What happened to one event (or one request) sent to Freshsales.

    A ``StrEnum``: it compares equal to, and serialises as, its word, so JSON output and journals read
    the same as before the enum existed.
    """

    DELIVERED = "delivered"  # Freshsales answered 2xx to every final request
    FAILED = "failed"  # refused, never sent, or stopped early; sending again is safe
    UNKNOWN = "unknown"  # a create was sent but no clear answer came back: it may exist already
    SKIPPED = "skipped"  # RudderStack itself rejects the event, or a dry run

    @property
    def title(self) -> str:
        return self.value.capitalize()

    @property
    def label(self) -> str:
        """The word with what it means where that is not obvious: "skipped (RudderStack rejects it)"."""
        return SKIPPED_LABEL if self is SendOutcome.SKIPPED else self.value

    @property
    def colour(self) -> str:
        """A Streamlit colour name for badges and messages."""
        return _COLOURS[self]

    @property
    def needs_action(self) -> bool:
        """Failed and unknown events are what a user must look at (and what makes the CLI exit 1)."""
        return self in (SendOutcome.FAILED, SendOutcome.UNKNOWN)


DRY_RUN = "dry run: "  # how a dry run's reasons start: skipped because nothing is sent, not rejected
REFUSED_LABEL = "failed: refused by Freshsales"  # fix the cause; resuming would fail the same way
RETRYABLE_LABEL = "failed: a retry can fix it"  # a connection error, a 429, a 5xx on a read or upsert
_COLOURS = {SendOutcome.DELIVERED: "green", SendOutcome.FAILED: "red", SendOutcome.UNKNOWN: "orange",
            SendOutcome.SKIPPED: "gray"}


@dataclass
class EventOutcome:
    """What happened to one input event. Never holds the API key or request headers."""

    index: int | None  # position in the batch, 0-based; None for an input entry that could not be read
    key: str  # the journal key: sha256 of message + domain, "#" occurrence
    status: SendOutcome
    http_status: int | None  # status of the last HTTP call made for the event (None: no answer / none made)
    reason: str
    retryable: bool  # sending again is safe and might succeed
    record_id: int | None  # contact, account or activity id from the last final request's response
    response: Any  # Freshsales' body for the last final request
    requests: list[dict] = field(default_factory=list)  # every HTTP call made for the event, lookups included
    location: str = ""  # where the event was in the input ("line 3", "item [2]")
    losses: list[Loss] = field(default_factory=list)  # what the mapped event loses on the way (engine.losses)
    readback: list[dict] | None = None  # with send --readback: the records as Freshsales stored them (readback.py)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def refused(self) -> bool:
        """Freshsales answered 4xx and sending the same again fails the same way (400, 404, 422, 401...)."""
        return (self.status == SendOutcome.FAILED and not self.retryable and self.http_status is not None
                and 400 <= self.http_status < 500)

    @property
    def rejected(self) -> bool:
        """Skipped because RudderStack rejects the event (not because a dry run sends nothing)."""
        return self.status == SendOutcome.SKIPPED and not self.reason.startswith(DRY_RUN)

    @property
    def label(self) -> str:
        """The outcome in the words the page and the CLI share: a failure says whether a retry can fix it."""
        if self.status == SendOutcome.SKIPPED and not self.rejected:
            return "skipped (dry run)"
        if self.status != SendOutcome.FAILED:
            return self.status.label
        if self.refused:
            return REFUSED_LABEL
        return RETRYABLE_LABEL if self.retryable else "failed"

    @classmethod
    def unreadable(cls, problem: Any) -> EventOutcome:
        """The outcome of an input entry that could not be read (an InputError): failed, nothing sent."""
        return cls(None, "", SendOutcome.FAILED, None, f"not sent: the input could not be read: {problem.message}",
                   False, None, None, location=str(problem.location or problem.path or ""))

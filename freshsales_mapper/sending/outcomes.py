"""The four outcomes a sent event can have, one vocabulary for the sender, the journal, the CLI and the UI."""

from __future__ import annotations

from enum import StrEnum


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
    def colour(self) -> str:
        """A Streamlit colour name for badges and messages."""
        return _COLOURS[self]

    @property
    def needs_action(self) -> bool:
        """Failed and unknown events are what a user must look at (and what makes the CLI exit 1)."""
        return self in (SendOutcome.FAILED, SendOutcome.UNKNOWN)


_COLOURS = {SendOutcome.DELIVERED: "green", SendOutcome.FAILED: "red", SendOutcome.UNKNOWN: "orange",
            SendOutcome.SKIPPED: "gray"}

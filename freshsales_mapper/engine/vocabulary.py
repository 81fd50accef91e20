"""The engine's words as types: field statuses, candidate outcomes, value steps and plan step kinds.

They are ``StrEnum`` so that JSON, the CLI and old string comparisons keep the same words
(``FieldStatus.SENT == "sent"``), while code that branches on them can be checked. The playground
maps each member to its own colour and word (``playground/tables.py``); nothing parses display text.
"""

from __future__ import annotations

from enum import StrEnum


class FieldStatus(StrEnum):
    """What became of one Freshsales field."""

    SENT = "sent"  # a value is in the request body
    USED = "used"  # read outside constructPayload (the user's email, a lifecycle stage) and acted on
    UNSET = "unset"  # no source held a usable value
    DROPPED = "dropped"  # a source held a value, but a coercion turned it into nothing
    MISSING_REQUIRED = "missing-required"  # required and unset: RudderStack stops with an error


class MappingOutcome(StrEnum):
    """What became of one input event, from best to worst; a lossy event is mapped but lost something."""

    MAPPED = "mapped"  # RudderStack maps it and nothing the event gave is lost on the way
    LOSSY = "lossy"  # mapped, but a value is dropped, blanked or thrown away, or a link is not made
    # RudderStack rejects it, so nothing reaches Freshsales: the word a send uses for the same event
    SKIPPED = "skipped"
    UNREADABLE = "unreadable"  # the input could not be read as an event

    @property
    def label(self) -> str:
        """The word with what it means, as the page and the CLI's tables show it."""
        return _MAPPING_LABELS.get(self, self.value)


SKIPPED_LABEL = "skipped (RudderStack rejects it)"  # one phrase for Preview, Sandbox, Live and the CLI
_MAPPING_LABELS = {MappingOutcome.SKIPPED: SKIPPED_LABEL, MappingOutcome.UNREADABLE: "unreadable (not an event)"}


class LossKind(StrEnum):
    """Why a mapped event lost something: each loss has its own reason."""

    DROPPED = "dropped"  # a coercion turned the given value into nothing, so the field is left out
    ADDRESS_BLANKED = "address-blanked"  # an address that is not an object is sent as "" (overwrites Freshsales')
    ADDRESS_PARTS = "address-parts-dropped"  # flattening keeps five parts and throws the other keys away
    CONTACT_NOT_LINKED = "contact-not-linked"  # a group without an email upserts the account but links no contact
    WRONG_TYPE = "wrong-type"  # sent in a type Freshsales refuses for that field


class CandidateOutcome(StrEnum):
    """What RudderStack's ``getValueFromMessage`` made of one source path of a field."""

    WON = "won"  # the first candidate holding a set value: its value is taken
    KEPT_AS_IS = "kept-as-is"  # a lone path: its value is taken whatever it is, even ""
    MISSING = "missing"  # not in the event
    NULL = "null"  # present as null: passed over
    EMPTY = "empty"  # present as "": passed over
    NAN = "nan"  # present as NaN: passed over
    LATER = "later"  # present, after the winner: never looked at
    NOT_REACHED = "not-reached"  # absent, after the winner

    @property
    def passed_over(self) -> bool:
        """Present in the event but skipped because RudderStack does not count the value as set."""
        return self in (CandidateOutcome.NULL, CandidateOutcome.EMPTY, CandidateOutcome.NAN)


class ValueStepKind(StrEnum):
    """A change applied to a field's value after it was picked, in the order the engine applies them."""

    COERCE = "coerce"  # the table's metadata.type: JavaScript Number() or parseFloat()
    FLATTEN_ADDRESS = "flattenAddress"  # RudderStack's flattenAddress(), declared in the tables' sidecar
    LOOKED_UP = "lookedUp"  # replaced (or added) by an id RudderStack looked up while transforming


class StepKind(StrEnum):
    """The two kinds of plan step."""

    LOOKUP = "lookup"  # a call RudderStack makes while transforming
    FINAL = "final"  # a request RudderStack hands to its router for delivery

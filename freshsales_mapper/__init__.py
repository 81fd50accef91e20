"""Freshsales mapper: what RudderStack's Freshsales destination sends, exactly, and why.

A RudderStack event goes in; the Freshsales requests RudderStack would make come out, with a
field-by-field trace of why each value was chosen, dropped or changed. Basic use::

    >>> import freshsales_mapper as fm
    >>> settings = fm.destination("acme.myfreshworks.com", "my-api-key-1234")
    >>> result = fm.transform({"type": "identify", "traits": {"email": "ada@example.com"}}, settings)
    >>> [(step.request.method, step.request.url) for step in result.final_requests]
    [('POST', 'https://acme.myfreshworks.com/crm/sales/api/contacts/upsert')]
    >>> fm.processor_response(result)[0]["output"]["headers"]["Authorization"]
    'Token token=****1234'

Lookups RudderStack makes while transforming (reading a contact's accounts, finding a sales activity
type) are answered offline by placeholders unless you pass ``lookups=fm.replay_lookups(...)``
(recorded replies) or ``lookups=fm.live_lookups(client)`` (the real account; these calls write);
``fm.record_lookups(...)`` keeps the answers of a live session for replaying it offline later.

Sending for real goes through :class:`FreshsalesClient` (safe hosts, retries that never duplicate a
write, rate limits) with :func:`send` or :class:`BatchSender`; :class:`EmulatorServer` is a local
Freshsales to try it on, which misbehaves on demand with :class:`Faults`. The HTTP stack is imported
only when one of those is first used. :func:`record_cards` says what a result becomes in Freshsales,
the way a CRM user reads it.
After a send, ``fm.read_back(client, outcome)`` reads back the records a delivered event touched and
says, field by field, whether Freshsales stored what was sent (same, normalised, different, ignored).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# First: from here on, Ctrl-C in the command line ends with one line, not a traceback (see the module).
from freshsales_mapper import interrupt as _interrupt  # noqa: F401
from freshsales_mapper.api import (
    destination,
    live_lookups,
    record_lookups,
    replay_lookups,
    send,
    transform,
    transform_batch,
)
from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.records import record_cards
from freshsales_mapper.engine.resolvers import OfflineResolver, RecordingResolver, ReplayResolver
from freshsales_mapper.engine.views import processor_response

if TYPE_CHECKING:
    from freshsales_mapper.emulator.faults import Faults
    from freshsales_mapper.emulator.server import EmulatorServer
    from freshsales_mapper.sending.client import FreshsalesClient
    from freshsales_mapper.sending.live_resolver import LiveResolver
    from freshsales_mapper.sending.readback import read_back
    from freshsales_mapper.sending.sender import BatchSender, EventOutcome

__version__ = "0.1.0"

__all__ = [
    "BatchSender",
    "EmulatorServer",
    "EventOutcome",
    "Faults",
    "FreshsalesClient",
    "LiveResolver",
    "OfflineResolver",
    "RecordingResolver",
    "ReplayResolver",
    "TransformResult",
    "destination",
    "live_lookups",
    "processor_response",
    "read_back",
    "record_cards",
    "record_lookups",
    "replay_lookups",
    "send",
    "transform",
    "transform_batch",
]

# Imported on first use: requests and the threaded server cost time that transforming does not need.
_LAZY = {
    "BatchSender": "freshsales_mapper.sending.sender",
    "EventOutcome": "freshsales_mapper.sending.sender",
    "FreshsalesClient": "freshsales_mapper.sending.client",
    "LiveResolver": "freshsales_mapper.sending.live_resolver",
    "EmulatorServer": "freshsales_mapper.emulator.server",
    "read_back": "freshsales_mapper.sending.readback",
    "Faults": "freshsales_mapper.emulator.faults",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

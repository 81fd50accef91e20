"""Answers the engine's lookups by really calling Freshsales (or the emulator) through the client."""

from __future__ import annotations

from typing import ClassVar

from freshsales_mapper.engine.plan import LookupStep, Reply
from freshsales_mapper.sending.client import FreshsalesClient


class LiveResolver:
    """Answers the engine's lookups by really calling Freshsales (or the emulator)."""

    _NETWORK_BODIES: ClassVar[dict[str, str]] = {
        "refused": "[ECONNREFUSED] :: Connection refused",
        "proxy": "[ECONNREFUSED] :: Connection refused",
        "deadline": "[ETIMEDOUT] :: Operation timed out",
        "unresolved": "[ENOTFOUND] :: Host not found",
        "connect_timeout": "[ETIMEDOUT] :: Operation timed out",
        "read_timeout": "[ETIMEDOUT] :: Operation timed out",
        "dropped": "[ECONNRESET] :: Connection reset by peer",
    }

    def __init__(self, client: FreshsalesClient):
        self.client = client

    def __repr__(self) -> str:
        return f"LiveResolver({self.client!r})"

    def lookup(self, step: LookupStep) -> Reply:
        reply = self.client.execute(step.request)
        if reply.status is None:
            # RudderStack's HTTP wrapper reports an unreachable host as a 500 with the error code as text.
            return Reply(status=500, body=self._NETWORK_BODIES[reply.network_error or "dropped"],
                         source="live", note=reply.message)
        return Reply(status=reply.status, body=reply.body, source="live", note="" if reply.ok else reply.message)

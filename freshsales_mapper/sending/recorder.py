"""What went over the wire for one event: every call the sender made, as entries a person can read."""

from __future__ import annotations

import dataclasses
from typing import Any

from freshsales_mapper.engine.plan import HttpRequest
from freshsales_mapper.sending.client import FreshsalesClient
from freshsales_mapper.sending.replies import ClientReply

_RECORD_KEYS = ("sales_activity", "contact", "sales_account")


class Recorder:
    """Stands in for the client in front of LiveResolver: passes calls through and notes each one."""

    def __init__(self, client: FreshsalesClient):
        self.client = client
        self.calls: list[tuple[str, HttpRequest, ClientReply]] = []

    def execute(self, request: HttpRequest, *, idempotent: bool | None = None, kind: str = "lookup") -> ClientReply:
        # RudderStack glues "https://" + the domain setting + the path; the client sends the path to its own
        # validated host, so a setting typed as "https://acme.myfreshworks.com/" still reaches Freshsales.
        request = dataclasses.replace(request, url=f"https://{self.client.domain}{request.path}")
        reply = self.client.execute(request, idempotent=idempotent)
        self.calls.append((kind, request, reply))
        return reply

    def entries(self) -> list[dict]:
        return [request_entry(kind, request, reply, self.client.base_url) for kind, request, reply in self.calls]


def request_entry(kind: str, request: HttpRequest, reply: ClientReply | None, base_url: str | None) -> dict:
    url = base_url + request.path if base_url else request.url
    entry: dict[str, Any] = {"kind": kind, "method": request.method.upper(), "url": url}
    if reply is None:  # a dry run: planned, not sent
        entry.update(status=None, ok=None, outcome="planned", message="", attempts=0)
    else:
        entry.update(status=reply.status, ok=reply.ok, outcome=reply.outcome, message=reply.message,
                     attempts=reply.attempts)
        if reply.ok:  # which record a write touched (a lookup's upsert too), for reading it back (readback.py)
            entry["record_id"] = record_id(reply.body)
    entry["body"] = request.body  # what was (or would be) sent; keys travel only in headers, never shown
    return entry


def record_id(body: Any) -> int | None:
    if not isinstance(body, dict):
        return None
    for name in _RECORD_KEYS:
        record = body.get(name)
        if isinstance(record, dict):
            value = record.get("id")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None

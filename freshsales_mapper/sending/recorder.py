"""What went over the wire for one event: every call the sender made, as entries a person can read.

Each entry (``EventOutcome.requests``) holds ``kind``, ``method``, ``url`` (the real one, real ids in it),
``status``, ``ok``, ``outcome``, ``message``, ``attempts``, ``elapsed_ms``, ``headers`` (as sent, the API key
masked), ``body`` (as sent), ``answer`` (Freshsales' reply body, the key masked, cut when long: see
:data:`ANSWER_CHARS`) and, for a write that went through, ``record_id``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from freshsales_mapper.engine.plan import HttpRequest
from freshsales_mapper.engine.views import masked_headers
from freshsales_mapper.sending.client import FreshsalesClient
from freshsales_mapper.sending.replies import ClientReply

_RECORD_KEYS = ("sales_activity", "contact", "sales_account")
# Freshsales' answers are a few KB; a longer one (a hostile or broken server) is kept as the start of its JSON
# text, so that an outcome, a JSON line or a saved run never grows with what a server chose to send.
ANSWER_CHARS = 20_000


class Recorder:
    """Stands in for the client in front of LiveResolver: passes calls through and notes each one."""

    def __init__(self, client: FreshsalesClient):
        self.client = client
        self.calls: list[tuple[str, HttpRequest, ClientReply]] = []

    def execute(self, request: HttpRequest, *, idempotent: bool | None = None, kind: str = "lookup") -> ClientReply:
        """Send through the client and note the call.

        Its time is the reply's ``elapsed_ms``, which the client measures over the whole call: every attempt,
        the waits between retries (a ``Retry-After`` Freshsales asked for included) and its own rate-limit
        waits, as the user waited for the answer.
        """
        # RudderStack glues "https://" + the domain setting + the path; the client sends the path to its own
        # validated host, so a setting typed as "https://acme.myfreshworks.com/" still reaches Freshsales.
        request = dataclasses.replace(request, url=f"https://{self.client.domain}{request.path}")
        reply = self.client.execute(request, idempotent=idempotent)
        self.calls.append((kind, request, reply))
        return reply

    def entries(self) -> list[dict]:
        return [request_entry(kind, request, reply, self.client.base_url) for kind, request, reply in self.calls]


def request_entry(kind: str, request: HttpRequest, reply: ClientReply | None, base_url: str | None) -> dict:
    """One call as a JSON-ready dict; ``reply`` None is a dry run's planned request (nothing sent)."""
    url = base_url + request.path if base_url else request.url
    entry: dict[str, Any] = {"kind": kind, "method": request.method.upper(), "url": url}
    if reply is None:  # a dry run: planned, not sent
        entry.update(status=None, ok=None, outcome="planned", message="", attempts=0, elapsed_ms=None,
                     headers=masked_headers(request.headers))
    else:
        entry.update(status=reply.status, ok=reply.ok, outcome=reply.outcome, message=reply.message,
                     attempts=reply.attempts,
                     elapsed_ms=round(reply.elapsed_ms, 1),
                     headers=dict(reply.headers))
        if reply.ok:  # which record a write touched (a lookup's upsert too), for reading it back (readback.py)
            entry["record_id"] = record_id(reply.body)
    entry["body"] = request.body  # what was (or would be) sent; the key travels only in the headers, masked
    entry.update(answer_fields(reply.body if reply is not None else None))
    return entry


def answer_fields(body: Any) -> dict[str, Any]:
    """``{"answer": body}``, or for a long one the first ANSWER_CHARS characters of its JSON text and a note."""
    if body is None or isinstance(body, (bool, int, float)):
        return {"answer": body}
    try:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    except (ValueError, RecursionError):  # nested deeper than JSON can be written back
        return {"answer": None, "answer_note": "not kept: Freshsales' answer is nested too deeply to write out"}
    if len(text) <= ANSWER_CHARS:
        return {"answer": body}
    return {"answer": text[:ANSWER_CHARS],
            "answer_note": f"cut: the first {ANSWER_CHARS:,} of {len(text):,} characters of Freshsales' answer"}


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

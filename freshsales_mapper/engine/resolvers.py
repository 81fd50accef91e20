"""Answers to the lookups RudderStack makes while transforming.

Three resolvers share one interface, ``resolver.lookup(step) -> Reply``:

* ``OfflineResolver``: no network; every id that depends on Freshsales is a ``Placeholder``.
* ``ReplayResolver``: recorded replies matched by method and full URL (``networks.json`` format).
* the live resolver, ``freshsales_mapper.sending.client.LiveResolver``, which really calls Freshsales.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from freshsales_mapper.engine.plan import LookupStep, Placeholder, Reply


class Resolver(Protocol):
    def lookup(self, step: LookupStep) -> Reply: ...


class OfflineResolver:
    """Invents a successful reply whose ids are placeholders naming the step they come from."""

    def lookup(self, step: LookupStep) -> Reply:
        what = step.extracted.get("lookup")
        name = step.extracted.get("name")
        if what == "contact_with_accounts":
            body: Any = {"contact": {"id": Placeholder("{{contact.id}}"), "sales_accounts": []}}
            note = ("offline: assumed the contact has no sales accounts yet, so the new account is "
                    "primary; if it has some, RudderStack re-sends them first and adds this one as "
                    "is_primary false")
        elif what == "contact":
            body = {"contact": {"id": Placeholder("{{contact.id}}")}}
            note = "offline: the contact id is only known after Freshsales answers the upsert"
        elif what == "sales_account":
            body = {"sales_account": {"id": Placeholder("{{sales_account.id}}")}}
            note = "offline: the account id is only known after Freshsales answers the upsert"
        elif what in ("sales_activity_types", "lifecycle_stages"):
            label = what[:-1].replace("_", " ")
            body = {what: [{"id": Placeholder(f"{{{{id of {label} {name!s}}}}}"), "name": name}]}
            note = (f"offline: assumed a {label} named {name!s} exists (RudderStack matches the "
                    "name exactly, case-sensitive)")
        else:
            raise ValueError(f"offline resolver cannot answer {step.request.method} {step.request.url}")
        return Reply(status=200, body=body, placeholder=True, source="offline", note=note)


RECORDING_SHAPE = "{request: {method, url}, response: {status, body}}"


def is_recording(entry: Any) -> bool:
    """Whether ``entry`` is one recorded reply (the format of the conformance cases' networks.json)."""
    return (isinstance(entry, dict) and isinstance(entry.get("request"), dict)
            and isinstance(entry.get("response"), dict) and isinstance(entry["request"].get("method"), str)
            and isinstance(entry["request"].get("url"), str))


class ReplayResolver:
    """Recorded replies keyed by method and full URL, whatever the request body.

    :raises ValueError: when ``recordings`` is not a list of :data:`RECORDING_SHAPE` entries.
    """

    def __init__(self, recordings: Iterable[dict]):
        self._replies: dict[tuple[str, str], dict] = {}
        if not isinstance(recordings, list | tuple):
            raise ValueError(f"recorded replies must be a list of {RECORDING_SHAPE}")
        for index, entry in enumerate(recordings):
            if not is_recording(entry):
                raise ValueError(f"recorded replies must be a list of {RECORDING_SHAPE}; item [{index}] is not")
            req = entry["request"]
            self._replies.setdefault((req["method"].upper(), req["url"]), entry["response"])

    def lookup(self, step: LookupStep) -> Reply:
        recorded = self._replies.get((step.request.method.upper(), step.request.url))
        if recorded is None:
            return unreachable_reply(f"no recorded reply for {step.request.method} {step.request.url}")
        return Reply(status=int(recorded.get("status", 200)), body=recorded.get("body"), source="replay")


def unreachable_reply(note: str) -> Reply:
    """What RudderStack's network layer reports when the host cannot be reached at all.

    Its HTTP wrapper turns a refused connection into status 500 with this text as the body.
    """
    return Reply(status=500, body="[ECONNREFUSED] :: Connection refused", source="unreachable", note=note)


class RecordingResolver:
    """Passes each lookup to another resolver and keeps its request and reply, in the format
    :class:`ReplayResolver` reads (``networks.json``'s), so a live session can be replayed offline."""

    def __init__(self, inner: Resolver):
        self.inner = inner
        self.recordings: list[dict] = []

    def lookup(self, step: LookupStep) -> Reply:
        reply = self.inner.lookup(step)
        if not reply.placeholder:  # offline placeholders are not Freshsales answers
            self.recordings.append({"request": {"method": step.request.method.upper(), "url": step.request.url},
                                    "response": {"status": reply.status, "body": reply.body}})
        return reply

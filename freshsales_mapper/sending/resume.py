"""What identifies an event and each of its requests in the journal, so a rerun resumes by matching.

An event's key is the SHA-256 of the canonical JSON of its message and its Freshsales domain (never the
API key) plus ``#n``, its occurrence within the batch, so two identical events are two keys.

A request's key is what it is: method, path (with query) and the hash of its canonical body, plus
``#n`` for a repeat within one event. A rerun re-plans each unfinished event and sends exactly the
requests whose keys the journal does not list as delivered, so a changed mapping can never make a
request count as delivered when it was never sent.

An event's plan fingerprint hashes the request keys of its offline plan (no lookups: placeholders
instead of looked-up ids). A delivered event is trusted without re-planning only while its fingerprint
is unchanged; after a mapping change it is re-planned and whatever is new is sent.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from freshsales_mapper.engine.plan import FinalRequest, HttpRequest
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending.domain import DomainError, normalize_domain


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode()


def destination_config(destination: Any) -> dict:
    config = destination.get("Config") if isinstance(destination, dict) else None
    return config if isinstance(config, dict) else {}


def _domain_for_key(destination: Any) -> str:
    domain = destination_config(destination).get("domain")
    if not isinstance(domain, str):
        return json.dumps(domain)
    try:
        return normalize_domain(domain)
    except DomainError:
        return domain.strip()


def event_digest(message: Any, destination: Any) -> str:
    """SHA-256 of the canonical JSON of the message and the destination's domain (not its API key)."""
    canonical = json.dumps({"message": message, "domain": _domain_for_key(destination)}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    # surrogatepass: a lone surrogate ("\ud800") is valid in a JavaScript string and so in an event.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def event_keys(items: Iterable[EventInput]) -> list[str]:
    seen: Counter[str] = Counter()
    keys = []
    for item in items:
        digest = event_digest(item.message, item.destination)
        seen[digest] += 1
        keys.append(f"{digest}#{seen[digest]}")
    return keys


def request_keys(requests: Iterable[HttpRequest]) -> list[str]:
    """``METHOD /path?query sha256(body)[:32]#n`` per request, n counting repeats within the list."""
    seen: Counter[str] = Counter()
    keys = []
    for request in requests:
        what = f"{request.method.upper()} {request.path} {hashlib.sha256(_canonical(request.body)).hexdigest()[:32]}"
        seen[what] += 1
        keys.append(f"{what}#{seen[what]}")
    return keys


def final_request_keys(finals: Iterable[FinalRequest]) -> list[str]:
    return request_keys(final.request for final in finals)


def plan_fingerprint(item: EventInput) -> str:
    """A short hash of the event's offline plan: it changes when the mapping would send something else."""
    result = transform_event(item.message, item.destination, OfflineResolver(), trace=False)
    keys = final_request_keys(result.final_requests) if result.error is None else [f"error {result.error.message}"]
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]

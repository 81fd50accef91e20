"""Send events to Freshsales for real (or to the local emulator), one outcome per event, resumable.

Each event is transformed with live lookups (RudderStack's own calls to Freshsales, made for real and
in order), then its final requests are delivered in order. Every input event ends with exactly one
``EventOutcome``:

* ``delivered``: every final request got a 2xx (or an earlier run delivered it: see the journal);
* ``failed``: Freshsales refused a request, could not be reached, or a lookup failed; ``retryable``
  says whether sending again could help (429, 5xx, network trouble) and is safe;
* ``unknown``: a request that must not be repeated (creating a sales activity) was sent but no answer
  came back. It is never resent automatically: check Freshsales first;
* ``skipped``: RudderStack rejects the event itself (a transform error, nothing to retry), or a dry run.

A JSONL journal makes a batch resumable. After each finished event one line
``{key, index, status, http_status, record_id, reason, at, finals_delivered}`` is appended, flushed
and fsync'd; just before a request that must not be repeated, a ``status: "sending"`` line is
written, so a crash or Ctrl-C in the middle of it reads back as unknown rather than as never sent.
On a re-run the last line for each key decides:

* ``delivered``: not resent; the outcome is ``delivered`` with the reason "delivered in an earlier
  run; not resent" (and that run's HTTP status and record id), so the batch reads as complete;
* ``unknown`` or ``sending``: not resent; the outcome is ``unknown`` and its reason says to check
  Freshsales and delete the journal line(s) with that key to send it again;
* ``failed`` or ``skipped``: transformed and sent again. When an earlier run had delivered the first
  final requests of an event (``finals_delivered``), those are not sent again.

An event's key is the SHA-256 of the canonical JSON of its message and its Freshsales domain (never
the API key) plus ``#n``, its occurrence within the batch, so two identical events are two keys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from freshsales_mapper.engine.plan import FinalRequest, HttpRequest, TransformResult
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending.client import FreshsalesClient
from freshsales_mapper.sending.domain import DomainError, normalize_domain
from freshsales_mapper.sending.journal import STATUSES, JournalError, JournalWriter, now_iso, read_journal
from freshsales_mapper.sending.live_resolver import LiveResolver
from freshsales_mapper.sending.replies import ClientReply

__all__ = ["STATUSES", "BatchSender", "EventOutcome", "JournalError", "client_factory", "event_digest", "read_journal",
           "summarize", "summary_line"]

logger = logging.getLogger(__name__)

RESENT_NEVER = ("delivered", "unknown", "sending")

# What each kind of final request does, for reasons a person reads (and the summary groups by).
_DONE = {
    "contact": "contact upserted",
    "sales_account": "sales account upserted",
    "contact_sales_accounts": "contact linked to its sales account",
    "sales_activity": "sales activity created",
    "lifecycle_stage": "contact's lifecycle stage set",
}
_RECORD_KEYS = ("sales_activity", "contact", "sales_account")


@dataclass
class EventOutcome:
    """What happened to one input event. Never holds the API key or request headers."""

    index: int  # position in the batch, 0-based
    key: str  # the journal key: sha256 of message + domain, "#" occurrence
    status: str  # "delivered", "failed", "skipped" or "unknown"
    http_status: int | None  # status of the last HTTP call made for the event (None: no answer / none made)
    reason: str
    retryable: bool  # sending again is safe and might succeed
    record_id: int | None  # contact, account or activity id from the last final request's response
    response: Any  # Freshsales' body for the last final request
    requests: list[dict] = field(default_factory=list)  # every HTTP call made for the event, lookups included
    location: str = ""  # where the event was in the input ("line 3", "item [2]")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---- event keys and settings ---------------------------------------------------------------------

def _config(destination: Any) -> dict:
    config = destination.get("Config") if isinstance(destination, dict) else None
    return config if isinstance(config, dict) else {}


def _domain_for_key(destination: Any) -> str:
    domain = _config(destination).get("domain")
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


def destination_settings(destination: Any) -> tuple[str, str]:
    """(domain, api key) from a destination, or ValueError saying what is missing."""
    config = _config(destination)
    domain, api_key = config.get("domain"), config.get("apiKey")
    if not isinstance(domain, str) or not domain.strip():
        raise ValueError("the destination has no Config.domain (the Freshsales domain)")
    if not isinstance(api_key, str) or not api_key.strip():
        raise ValueError("the destination has no Config.apiKey (the Freshsales API key)")
    return domain, api_key


def client_factory(**options: Any) -> Callable[[str, str], FreshsalesClient]:
    """A factory making ``FreshsalesClient(domain, api_key, **options)``: pass ``base_url`` for the emulator."""
    return lambda domain, api_key: FreshsalesClient(domain, api_key, **options)


# ---- recording what went over the wire -----------------------------------------------------------

class _Recorder:
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
        return [_request_entry(kind, request, reply, self.client.base_url) for kind, request, reply in self.calls]


def _request_entry(kind: str, request: HttpRequest, reply: ClientReply | None, base_url: str | None) -> dict:
    url = base_url + request.path if base_url else request.url
    entry: dict[str, Any] = {"kind": kind, "method": request.method.upper(), "url": url}
    if reply is None:  # a dry run: planned, not sent
        entry.update(status=None, ok=None, outcome="planned", message="", attempts=0)
    else:
        entry.update(status=reply.status, ok=reply.ok, outcome=reply.outcome, message=reply.message,
                     attempts=reply.attempts)
    entry["body"] = request.body  # what was (or would be) sent; keys travel only in headers, never shown
    return entry


def _span(first: int, last: int) -> str:
    return f"request {first}" if first == last else f"requests {first}-{last}"


def _record_id(body: Any) -> int | None:
    if not isinstance(body, dict):
        return None
    for name in _RECORD_KEYS:
        record = body.get(name)
        if isinstance(record, dict):
            value = record.get("id")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


# ---- the sender ----------------------------------------------------------------------------------

class BatchSender:
    """Sends a batch of events and returns one outcome per event, in input order.

    ``target`` is a ``FreshsalesClient`` (used for every event, with its own domain and key; not closed
    here) or a factory ``(domain, api_key) -> FreshsalesClient`` called once per distinct destination
    (clients reused across the batch and closed at the end).
    """

    def __init__(self, target: FreshsalesClient | Callable[[str, str], FreshsalesClient], *,
                 journal_path: str | os.PathLike | None = None,
                 on_progress: Callable[[int, int, EventOutcome], None] | None = None, dry_run: bool = False):
        if isinstance(target, FreshsalesClient):
            self._shared: FreshsalesClient | None = target
            self._factory = None
        elif callable(target):
            self._shared, self._factory = None, target
        else:
            raise TypeError("BatchSender needs a FreshsalesClient or a factory (domain, api_key) -> client")
        self.journal_path = os.fspath(journal_path) if journal_path is not None else None
        self.on_progress = on_progress
        self.dry_run = dry_run
        self._clients: dict[tuple[str, str], FreshsalesClient] = {}
        self._journal: JournalWriter | None = None

    def __repr__(self) -> str:
        return f"BatchSender(journal={self.journal_path!r}, dry_run={self.dry_run})"

    def send(self, items: list[EventInput]) -> list[EventOutcome]:
        earlier = read_journal(self.journal_path) if self.journal_path else {}
        keys = event_keys(items)
        outcomes: list[EventOutcome] = []
        try:
            if self.journal_path and not self.dry_run:
                self._journal = JournalWriter(self.journal_path)
            for index, (item, key) in enumerate(zip(items, keys, strict=True)):
                outcome = self._one(index, key, item, earlier.get(key))
                outcomes.append(outcome)
                if self.on_progress is not None:
                    self.on_progress(index + 1, len(items), outcome)
        finally:
            self._close()
        return outcomes

    def _close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    # ---- one event ----
    def _one(self, index: int, key: str, item: EventInput, earlier: dict | None) -> EventOutcome:
        outcome = EventOutcome(index=index, key=key, status="skipped", http_status=None, reason="",
                               retryable=False, record_id=None, response=None, location=item.location)
        if earlier is not None and earlier["status"] in RESENT_NEVER:
            return self._from_journal(outcome, earlier)
        if self.dry_run:
            return self._dry_run(outcome, item)
        resume_from = earlier.get("finals_delivered", 0) if earlier else 0
        try:
            return self._send_event(outcome, item, resume_from)
        except Exception as exc:  # a bug must not cost the event its outcome, nor the batch its journal
            logger.exception("sending event %d (%s) failed unexpectedly", index, item.location)
            outcome.status, outcome.retryable = "unknown", False
            outcome.reason = (f"internal error while sending ({type(exc).__name__}); its requests may or may not "
                              "have reached Freshsales: check there before sending it again")
            return self._finish(outcome, resume_from)

    def _send_event(self, outcome: EventOutcome, item: EventInput, resume_from: int) -> EventOutcome:
        try:
            client = self._client_for(item.destination)
        except ValueError as exc:  # DomainError is a ValueError too
            outcome.status, outcome.reason = "failed", f"not sent: {exc}"
            return self._finish(outcome, resume_from)
        recorder = _Recorder(client)
        result = transform_event(item.message, item.destination, LiveResolver(recorder), trace=False)
        if result.error is not None:
            self._rejected(outcome, result, recorder)
            outcome.requests = recorder.entries()
            return self._finish(outcome, resume_from)
        delivered = self._deliver(outcome, result.final_requests, recorder, resume_from)
        outcome.requests = recorder.entries()
        return self._finish(outcome, delivered)

    def _client_for(self, destination: Any) -> FreshsalesClient:
        if self._shared is not None:
            return self._shared
        domain, api_key = destination_settings(destination)
        # Keyed by a digest so the key itself sits only inside the client.
        slot = (normalize_domain(domain), hashlib.sha256(api_key.strip().encode()).hexdigest())
        if slot not in self._clients:
            assert self._factory is not None
            self._clients[slot] = self._factory(domain, api_key)
        return self._clients[slot]

    def _rejected(self, outcome: EventOutcome, result: TransformResult, recorder: _Recorder) -> None:
        """A transform error: Freshsales' fault (failed) or the event's own (skipped)."""
        error = result.error
        assert error is not None
        writes = [step.purpose for step, (_k, _r, reply) in zip(result.lookups, recorder.calls, strict=False)
                  if step.writes and reply.ok]
        wrote = (f" Note: RudderStack's own calls had already written to Freshsales before it stopped "
                 f"({'; '.join(writes)}).") if writes else ""
        last = recorder.calls[-1][2] if recorder.calls else None
        outcome.http_status = last.status if last else None
        if last is not None and not last.ok:
            # A lookup Freshsales refused or never answered: the event itself may be fine.
            outcome.status = "failed"
            outcome.retryable = last.retryable
            advice = ("retrying could help (lookups are reads and upserts, safe to repeat)" if last.retryable
                      else "retrying will not help until that is fixed")
            outcome.reason = (f"a lookup RudderStack makes while transforming failed: {last.message}; "
                              f"RudderStack then rejects the event with \"{error.message}\"; {advice}.{wrote}")
            return
        outcome.status = "skipped"
        stop = "" if error.message.rstrip()[-1:] in ".!?" else "."
        outcome.reason = f"RudderStack rejects the event: {error.message.rstrip()}{stop} {error.explanation}{wrote}"

    def _deliver(self, outcome: EventOutcome, finals: list[FinalRequest], recorder: _Recorder,
                 resume_from: int) -> int:
        """Send the final requests in order, stopping at the first that is not delivered.

        Returns how many of them are delivered now (those of an earlier run included).
        """
        total = len(finals)
        done: list[str] = []
        for number, final in enumerate(finals):
            if number < resume_from:
                continue
            idempotent = FreshsalesClient.is_idempotent(final.request)
            if not idempotent:
                self._journal_write(outcome, "sending", number,
                                    f"sending request {number + 1} of {total} ({final.freshsales_event}); "
                                    "if this is the last line for the event, its outcome is unknown")
            reply = recorder.execute(final.request, idempotent=idempotent, kind="final")
            outcome.http_status, outcome.response = reply.status, reply.body
            if not reply.ok:
                self._not_delivered(outcome, reply, number, total, final, idempotent)
                return number
            done.append(_DONE.get(final.freshsales_event, final.freshsales_event))
            outcome.record_id = _record_id(reply.body)
            if reply.message != f"HTTP {reply.status}":  # e.g. a 200 whose body is not JSON
                done[-1] += f" ({reply.message})"
        outcome.status, outcome.retryable = "delivered", False
        if resume_from:
            done.insert(0, f"{_span(1, resume_from)} delivered in an earlier run, not resent")
        outcome.reason = "; ".join(done) if done else "nothing to send"
        return total

    @staticmethod
    def _not_delivered(outcome: EventOutcome, reply: ClientReply, number: int, total: int, final: FinalRequest,
                       idempotent: bool) -> None:
        where = f"request {number + 1} of {total} ({final.freshsales_event})" if total > 1 else final.freshsales_event
        earlier = f"; {_span(1, number)} delivered and not to be sent again" if number else ""
        later = f"; {_span(number + 2, total)} not sent" if number + 1 < total else ""
        if reply.outcome == "unknown" and not idempotent:
            outcome.status, outcome.retryable = "unknown", False
            outcome.reason = (f"{where}: {reply.message.rstrip('.')}. Check Freshsales for the record; it is not resent "
                              "automatically (with a journal: delete this event's lines to send it again)"
                              f"{earlier}{later}")
            return
        outcome.status, outcome.retryable = "failed", reply.retryable
        advice = " Retrying could help." if reply.retryable else ""
        outcome.reason = f"{where}: {reply.message.rstrip('.')}.{advice}{earlier}{later}"

    def _from_journal(self, outcome: EventOutcome, earlier: dict) -> EventOutcome:
        outcome.http_status = earlier.get("http_status")
        outcome.record_id = earlier.get("record_id")
        when = earlier.get("at", "?")
        if earlier["status"] == "delivered":
            outcome.status = "delivered"
            outcome.reason = "delivered in an earlier run; not resent"
        else:
            outcome.status = "unknown"
            outcome.reason = (f"outcome unknown since an earlier run ({when}); not resent: check Freshsales for "
                              f"the record, and to send it again delete the journal lines with key {outcome.key}")
        if self.dry_run:
            outcome.status = "skipped"
            outcome.reason = f"dry run: would not send ({outcome.reason.split(';')[0]})"
        return outcome

    def _dry_run(self, outcome: EventOutcome, item: EventInput) -> EventOutcome:
        result = transform_event(item.message, item.destination, OfflineResolver(), trace=False)
        outcome.requests = [_request_entry(step.kind, step.request, None, None) for step in result.steps]
        if result.error is not None:
            outcome.reason = f"dry run: RudderStack would reject the event: {result.error.message}"
        else:
            outcome.reason = f"dry run: would send {len(result.steps)} request(s)"
        return outcome

    def _finish(self, outcome: EventOutcome, finals_delivered: int) -> EventOutcome:
        self._journal_write(outcome, outcome.status, finals_delivered, outcome.reason)
        logger.debug("event %d (%s): %s, HTTP %s", outcome.index, outcome.location, outcome.status,
                     outcome.http_status)
        return outcome

    def _journal_write(self, outcome: EventOutcome, status: str, finals_delivered: int, reason: str) -> None:
        if self._journal is None:
            return
        self._journal.write({"key": outcome.key, "index": outcome.index, "status": status,
                             "http_status": outcome.http_status, "record_id": outcome.record_id,
                             "reason": reason, "at": now_iso(), "finals_delivered": finals_delivered})


# ---- summaries -----------------------------------------------------------------------------------

def summarize(outcomes: list[EventOutcome]) -> dict[str, Any]:
    """Counts by status and by reason, HTTP calls made, and a one-line summary (``line``)."""
    by_status = {status: 0 for status in STATUSES}
    by_status.update(Counter(o.status for o in outcomes))
    by_reason = Counter(f"{o.status}: {o.reason}" for o in outcomes)
    summary: dict[str, Any] = {
        "total": len(outcomes),
        "by_status": by_status,
        "by_reason": dict(by_reason.most_common()),
        "retryable": sum(o.retryable for o in outcomes if o.status == "failed"),
        "http_requests": sum(r["outcome"] != "planned" for o in outcomes for r in o.requests),
    }
    summary["line"] = summary_line(summary)
    return summary


def summary_line(summary: dict[str, Any] | list[EventOutcome]) -> str:
    if isinstance(summary, list):
        summary = summarize(summary)
    counts = summary["by_status"]
    failed = f"{counts['failed']} failed" + (f" ({summary['retryable']} retryable)" if summary["retryable"] else "")
    return (f"{summary['total']} event(s): {counts['delivered']} delivered, {failed}, {counts['unknown']} unknown, "
            f"{counts['skipped']} skipped; {summary['http_requests']} HTTP request(s)")

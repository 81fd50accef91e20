"""Send events to Freshsales for real (or to the local emulator), one outcome per event, resumable.

Each event is transformed with live lookups (RudderStack's own calls to Freshsales, made for real and
in order), then its final requests are delivered in order. Every input event ends with exactly one
``EventOutcome`` whose ``status`` is a :class:`SendOutcome`:

* ``delivered``: every final request got a 2xx (or an earlier run delivered it: see the journal);
* ``failed``: Freshsales refused a request, could not be reached, a lookup failed, or the batch was
  stopped early (circuit breaker); ``retryable`` says whether sending again could help and is safe;
* ``unknown``: a request that must not be repeated (creating a sales activity) was sent but no clear
  answer came back (no answer, a broken connection, or a 5xx): it may exist. Never resent
  automatically; ``resend_unknown=True`` (``send --resend-unknown``) resends after the user checked;
* ``skipped``: RudderStack rejects the event itself (a transform error, nothing to retry), or a dry run.

The journal (JSONL, locked for the run, bound to the accounts it sends to: see ``journal.py``) gets,
after its header line, one line per finished event, ``{key, index, status,
http_status, record_id, reason, at, plan, sent, pending}``; just before a request that must not be
repeated, a ``status: "sending"`` line names it in ``pending``, so a crash in the middle of it reads
back as unknown. ``sent`` lists the request keys (see ``resume.py``) delivered so far. On a rerun the
last line for each key decides:

* ``delivered`` with an unchanged plan fingerprint: not resent ("delivered in an earlier run");
* ``unknown`` or ``sending``: not resent, the outcome is ``unknown`` (unless ``resend_unknown``);
* otherwise (failed, skipped, or delivered under another mapping): planned again with live lookups,
  and exactly the final requests whose keys are not in ``sent`` are sent.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from typing import Any

from freshsales_mapper.engine.plan import FinalRequest, TransformResult
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.route import route_item
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending.breaker import CircuitBreaker
from freshsales_mapper.sending.client import FreshsalesClient
from freshsales_mapper.sending.domain import normalize_domain
from freshsales_mapper.sending.journal import (
    STATUSES,
    Journal,
    JournalError,
    JournalWriteError,
    now_iso,
    read_journal,
)
from freshsales_mapper.sending.live_resolver import LiveResolver
from freshsales_mapper.sending.outcomes import DRY_RUN, EventOutcome, SendOutcome
from freshsales_mapper.sending.recorder import Recorder, record_id, request_entry
from freshsales_mapper.sending.replies import ClientReply
from freshsales_mapper.sending.resume import (
    destination_config,
    event_digest,
    event_keys,
    final_request_keys,
    plan_fingerprint,
)
from freshsales_mapper.sending.summary import summarize, summary_line
from freshsales_mapper.sending.target import SendTarget

__all__ = ["STATUSES", "BatchSender", "EventOutcome", "JournalError", "JournalWriteError", "SendOutcome",
           "client_factory", "event_digest", "read_journal", "summarize", "summary_line"]

logger = logging.getLogger(__name__)

# What each kind of final request does, for reasons a person reads (and the summary groups by).
_DONE = {
    "contact": "contact upserted",
    "sales_account": "sales account upserted",
    "contact_sales_accounts": "contact linked to its sales account",
    "sales_activity": "sales activity created",
    "lifecycle_stage": "contact's lifecycle stage set",
}


def destination_settings(destination: Any) -> tuple[str, str]:
    """(domain, api key) from a destination, or ValueError saying what is missing."""
    config = destination_config(destination)
    domain, api_key = config.get("domain"), config.get("apiKey")
    if not isinstance(domain, str) or not domain.strip():
        raise ValueError("the destination has no Config.domain (the Freshsales domain)")
    if not isinstance(api_key, str) or not api_key.strip():
        raise ValueError("the destination has no Config.apiKey (the Freshsales API key)")
    return domain, api_key


def routed_destination(item: EventInput) -> Any:
    """The destination RudderStack's route hands the Freshsales code for this item: ``{{ ... }}`` templates
    in the settings filled from the event, so the client holds the key and domain RudderStack would use."""
    routed = route_item(item.message, item.destination)
    return item.destination if routed.error is not None else routed.destination


def client_factory(**options: Any) -> Callable[[str, str], FreshsalesClient]:
    """A factory making ``FreshsalesClient(domain, api_key, **options)``: pass ``base_url`` for the emulator."""
    return lambda domain, api_key: FreshsalesClient(domain, api_key, **options)


class BatchSender:
    """Sends a batch of events and returns one outcome per event, in input order.

    :param target: a :class:`FreshsalesClient` used for every event (not closed here), or a factory
        ``(domain, api_key) -> FreshsalesClient`` called once per distinct destination (those clients are
        reused across the batch and closed at the end).
    :param journal_path: a JSONL journal making the batch resumable (see the module docstring); locked
        for the run, so a second run on it raises :class:`JournalBusy` (a :class:`JournalError`).
    :param on_progress: called ``(done, total, outcome)`` as soon as each event's outcome is known.
    :param dry_run: transform offline and list the requests that would be sent; send nothing.
    :param resend_unknown: send events whose outcome is unknown in the journal again (after the user has
        checked Freshsales); requests the journal lists as delivered are still not resent.
    :param on_warning: called with a sentence for things worth telling (a repaired journal line).
    :param stalls_in_a_row: consecutive events that cannot connect or time out before the batch stops.
    :param resend_refused: send again the events an earlier run's journal says Freshsales refused for
        good (a 400, 404 or 422: not retryable). True (the CLI: the user reruns after fixing the cause);
        the page's Resume passes False, so it sends only what a retry can fix.
    :raises JournalWriteError: from :meth:`send` when the journal cannot be written (e.g. a full disk).
    """

    def __init__(self, target: FreshsalesClient | Callable[[str, str], FreshsalesClient], *,
                 journal_path: str | os.PathLike | None = None,
                 on_progress: Callable[[int, int, EventOutcome], None] | None = None, dry_run: bool = False,
                 resend_unknown: bool = False, on_warning: Callable[[str], None] | None = None,
                 stalls_in_a_row: int = 3, resend_refused: bool = True):
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
        self.resend_unknown = resend_unknown
        self.on_warning = on_warning
        self.stalls_in_a_row = stalls_in_a_row
        self.resend_refused = resend_refused
        self._clients: dict[tuple[str, str], FreshsalesClient] = {}
        self._breakers: dict[int, CircuitBreaker] = {}
        self._journal: Journal | None = None

    def __repr__(self) -> str:
        return f"BatchSender(journal={self.journal_path!r}, dry_run={self.dry_run})"

    def send(self, items: list[EventInput]) -> list[EventOutcome]:
        outcomes: list[EventOutcome] = []
        try:
            earlier: dict[str, dict] = {}
            if self.journal_path and not self.dry_run:
                self._journal = Journal(self.journal_path, targets=self._targets(items), on_warning=self.on_warning)
                earlier = self._journal.entries
            elif self.journal_path and os.path.lexists(self.journal_path):  # a dry run builds no client needlessly
                earlier = read_journal(self.journal_path, self._targets(items))
            for index, (item, key) in enumerate(zip(items, event_keys(items), strict=True)):
                outcome = self._one(index, key, item, earlier.get(key))
                outcomes.append(outcome)
                if self.on_progress is not None:
                    self.on_progress(index + 1, len(items), outcome)
        finally:
            self._close()
        return outcomes

    def _targets(self, items: list[EventInput]) -> list[SendTarget]:
        """The accounts this batch sends to, which its journal must belong to."""
        if self._shared is not None:
            return [self._shared.target]
        targets = set()
        for item in items:
            try:
                targets.add(self._client_for(routed_destination(item)).target)
            except ValueError:  # DomainError too: that event fails alone, with its reason
                continue
        return sorted(targets)

    def _close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    # ---- one event ----
    def _one(self, index: int, key: str, item: EventInput, earlier: dict | None) -> EventOutcome:
        outcome = EventOutcome(index=index, key=key, status=SendOutcome.SKIPPED, http_status=None, reason="",
                               retryable=False, record_id=None, response=None, location=item.location)
        plan = self._plan(item) if self.journal_path else None
        if earlier is not None and self._settled(earlier, plan):
            return self._from_journal(outcome, earlier)
        if self.dry_run:
            return self._dry_run(outcome, item)
        sent = list(earlier.get("sent", [])) if earlier else []
        try:
            return self._send_event(outcome, item, sent, plan)
        except JournalWriteError:
            raise
        except Exception as exc:  # a bug must not cost the event its outcome, nor the batch its journal
            logger.exception("sending event %d (%s) failed unexpectedly", index, item.location)
            outcome.status, outcome.retryable = SendOutcome.UNKNOWN, False
            outcome.reason = (f"internal error while sending ({type(exc).__name__}); its requests may or may not "
                              "have reached Freshsales: check there before sending it again")
            return self._finish(outcome, sent, plan)

    @staticmethod
    def _plan(item: EventInput) -> str | None:
        try:
            return plan_fingerprint(item)
        except Exception:  # no fingerprint: a delivered event is then re-planned, and only new requests sent
            logger.exception("planning event %d (%s) offline failed", item.index, item.location)
            return None

    def _settled(self, earlier: dict, plan: str | None) -> bool:
        """Whether the journal's word on this event stands, so nothing is sent for it."""
        if earlier["status"] in ("unknown", "sending"):
            return not self.resend_unknown
        if earlier["status"] == "delivered":
            return earlier.get("plan") in (None, plan)  # journals without plans predate mapping checks
        if earlier["status"] == "failed" and earlier.get("retryable") is False:
            return not self.resend_refused and earlier.get("plan") in (None, plan)
        return False

    def _send_event(self, outcome: EventOutcome, item: EventInput, sent: list[str],
                    plan: str | None) -> EventOutcome:
        try:
            client = self._client_for(routed_destination(item))
        except ValueError as exc:  # DomainError is a ValueError too
            outcome.status, outcome.reason = SendOutcome.FAILED, f"not sent: {exc}"
            return self._finish(outcome, sent, plan)
        breaker = self._breakers.setdefault(id(client), CircuitBreaker(self.stalls_in_a_row))
        if breaker.open:
            outcome.status, outcome.retryable = SendOutcome.FAILED, True
            outcome.reason = f"not sent: {breaker.reason}"
            return outcome  # no journal line: the earlier one (if any) still says what is delivered
        recorder = Recorder(client)
        result = transform_event(item.message, item.destination, LiveResolver(recorder), trace=False, losses=True)
        outcome.losses = result.losses
        pending = None
        if result.error is not None:
            self._rejected(outcome, result, recorder)
        else:
            sent, pending = self._deliver(outcome, result.final_requests, recorder, sent, plan)
        outcome.requests = recorder.entries()
        breaker.record(reply for _kind, _request, reply in recorder.calls)
        return self._finish(outcome, sent, plan, pending)

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

    def _rejected(self, outcome: EventOutcome, result: TransformResult, recorder: Recorder) -> None:
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
            outcome.status = SendOutcome.FAILED
            outcome.retryable = last.retryable
            advice = ("retrying could help (lookups are reads and upserts, safe to repeat)" if last.retryable
                      else "retrying will not help until that is fixed")
            outcome.reason = (f"a lookup RudderStack makes while transforming failed: {last.message}; "
                              f"RudderStack then rejects the event with \"{error.message}\"; {advice}.{wrote}")
            return
        outcome.status = SendOutcome.SKIPPED
        stop = "" if error.message.rstrip()[-1:] in ".!?" else "."
        outcome.reason = f"RudderStack rejects the event: {error.message.rstrip()}{stop} {error.explanation}{wrote}"

    def _deliver(self, outcome: EventOutcome, finals: list[FinalRequest], recorder: Recorder,
                 sent: list[str], plan: str | None) -> tuple[list[str], str | None]:
        """Send, in order, the final requests not yet delivered, stopping at the first that is not.

        Returns the request keys delivered so far (earlier runs' included) and the key of a request whose
        outcome is unknown, if any.
        """
        total = len(finals)
        sent = list(sent)
        done: list[str] = []
        earlier = 0
        for number, (final, key) in enumerate(zip(finals, final_request_keys(finals), strict=True)):
            if key in sent:
                earlier += 1
                continue
            idempotent = FreshsalesClient.is_idempotent(final.request)
            if not idempotent:
                self._journal_write(outcome, "sending", sent, plan, key,
                                    f"sending request {number + 1} of {total} ({final.freshsales_event}); "
                                    "if this is the last line for the event, its outcome is unknown")
            reply = recorder.execute(final.request, idempotent=idempotent, kind="final")
            outcome.http_status, outcome.response = reply.status, reply.body
            if not reply.ok:
                self._not_delivered(outcome, reply, number, total, final, idempotent, earlier + len(done))
                return sent, key if outcome.status == SendOutcome.UNKNOWN else None
            sent.append(key)
            done.append(_DONE.get(final.freshsales_event, final.freshsales_event))
            outcome.record_id = record_id(reply.body)
            if reply.message != f"HTTP {reply.status}":  # e.g. a 200 whose body is not JSON
                done[-1] += f" ({reply.message})"
        outcome.status, outcome.retryable = SendOutcome.DELIVERED, False
        if earlier:
            done.insert(0, f"{earlier} request(s) delivered in an earlier run, not resent")
        outcome.reason = "; ".join(done) if done else "nothing to send"
        return sent, None

    @staticmethod
    def _not_delivered(outcome: EventOutcome, reply: ClientReply, number: int, total: int, final: FinalRequest,
                       idempotent: bool, delivered: int) -> None:
        where = f"request {number + 1} of {total} ({final.freshsales_event})" if total > 1 else final.freshsales_event
        before = f"; {delivered} request(s) delivered and not to be sent again" if delivered else ""
        later = f"; {total - number - 1} later request(s) not sent" if number + 1 < total else ""
        if reply.outcome == SendOutcome.UNKNOWN and not idempotent:
            outcome.status, outcome.retryable = SendOutcome.UNKNOWN, False
            outcome.reason = (f"{where}: {reply.message.rstrip('.')}. Check Freshsales for the record; it is not "
                              f"resent unless you ask to resend unknown events{before}{later}")
            return
        outcome.status, outcome.retryable = SendOutcome.FAILED, reply.retryable
        advice = " Retrying could help." if reply.retryable else ""
        outcome.reason = f"{where}: {reply.message.rstrip('.')}.{advice}{before}{later}"

    def _from_journal(self, outcome: EventOutcome, earlier: dict) -> EventOutcome:
        outcome.http_status = earlier.get("http_status")
        outcome.record_id = earlier.get("record_id")
        when = earlier.get("at", "?")
        if earlier["status"] == "delivered":
            outcome.status = SendOutcome.DELIVERED
            outcome.reason = "delivered in an earlier run; not resent"
        elif earlier["status"] == "failed":
            outcome.status, outcome.retryable = SendOutcome.FAILED, False
            outcome.reason = (f"refused by Freshsales in an earlier run ({when}): {earlier.get('reason', '')}; not "
                              "resent, as sending it unchanged would be refused again")
        else:
            outcome.status = SendOutcome.UNKNOWN
            outcome.reason = (f"outcome unknown since an earlier run ({when}); not resent: check Freshsales for "
                              f"the record, and resend unknown events if it is not there (key {outcome.key})")
        if self.dry_run:
            outcome.status = SendOutcome.SKIPPED
            outcome.reason = f"{DRY_RUN}would not send ({outcome.reason.split(';')[0]})"
        return outcome

    def _dry_run(self, outcome: EventOutcome, item: EventInput) -> EventOutcome:
        result = transform_event(item.message, item.destination, OfflineResolver(), trace=False, losses=True)
        outcome.losses = result.losses
        outcome.requests = [request_entry(step.kind, step.request, None, None) for step in result.steps]
        if result.error is not None:
            outcome.reason = f"{DRY_RUN}RudderStack would reject the event: {result.error.message}"
        else:
            outcome.reason = f"{DRY_RUN}would send {len(result.steps)} request(s)"
        return outcome

    def _finish(self, outcome: EventOutcome, sent: list[str], plan: str | None,
                pending: str | None = None) -> EventOutcome:
        self._journal_write(outcome, outcome.status, sent, plan, pending, outcome.reason)
        logger.debug("event %d (%s): %s, HTTP %s", outcome.index, outcome.location, outcome.status,
                     outcome.http_status)
        return outcome

    def _journal_write(self, outcome: EventOutcome, status: str, sent: list[str], plan: str | None,
                       pending: str | None, reason: str) -> None:
        if self._journal is None:
            return
        self._journal.write({"key": outcome.key, "index": outcome.index, "status": str(status),
                             "http_status": outcome.http_status, "record_id": outcome.record_id,
                             "retryable": outcome.retryable,
                             "reason": reason, "at": now_iso(), "plan": plan, "sent": sent, "pending": pending})

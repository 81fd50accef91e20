"""One send of one batch, run in a background thread so that reruns of the page never interrupt it.

The page only reads a job's progress. A job owns its journal file: starting the same job again resumes
it (the sender skips what the journal says was delivered, and resends an unknown outcome only when the
user asks for it with "Resend unknown").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending import SendOutcome
from freshsales_mapper.sending.readback import read_back
from freshsales_mapper.sending.sender import BatchSender, EventOutcome, summarize

ClientMaker = Callable[[], object]  # () -> FreshsalesClient, made in the worker thread


@dataclass
class SendJob:
    batch_id: str
    target: str  # for people: "the sandbox at http://127.0.0.1:…" / "acme.myfreshworks.com"
    journal_path: str
    total: int
    runs: int = 0
    done: int = 0
    outcomes: list[EventOutcome] = field(default_factory=list)  # this run's, as they come
    earlier: dict[int, EventOutcome] = field(default_factory=dict)  # by event index, from the runs before
    error: str | None = None  # the run stopped before every event had an outcome
    notices: list[str] = field(default_factory=list)  # waits and retries announced while sending
    started_at: float = 0.0
    finished_at: float = 0.0
    read_back: bool = True  # after the send, GET each record a delivered event touched (one call per record)
    # Called in the worker thread once a run ends (Live: saves the run record, see live_runs.py).
    on_finish: Callable[[SendJob], None] | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def counts(self) -> dict[str, int]:
        with self._lock:
            return summarize(list(self.outcomes))["by_status"]

    @property
    def complete(self) -> bool:
        """Every event has an outcome and none is worth resuming: only failures a retry can fix are (a
        connection error, a 429, a 5xx on a read or upsert), not Freshsales' refusals (400, 404, 422)."""
        if self.running or self.error or len(self.outcomes) < self.total:
            return False
        return not any(o.status == SendOutcome.FAILED and o.retryable for o in self.outcomes)

    @property
    def unknown(self) -> int:
        with self._lock:
            return sum(o.status == SendOutcome.UNKNOWN for o in self.outcomes)

    def start(self, items: list[EventInput], make_client: ClientMaker, *, resend_unknown: bool = False) -> None:
        """Send (or resume) in a thread; a job that is running is never started twice.

        ``resend_unknown``: also send the events whose outcome is unknown (the user has checked Freshsales).
        """
        with self._lock:
            if self.running:
                return
            self.runs += 1
            self.earlier.update({o.index: o for o in self.outcomes})
            self.done, self.outcomes, self.error, self.notices = 0, [], None, []
            self.started_at, self.finished_at = time.monotonic(), 0.0
            self._thread = threading.Thread(target=self._run, args=(items, make_client, resend_unknown),
                                            name=f"playground-send-{self.batch_id[:8]}", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def snapshot(self) -> tuple[int, list[EventOutcome]]:
        with self._lock:
            return self.done, list(self.outcomes)

    def latest(self) -> list[EventOutcome]:
        """Each event's latest outcome across runs, by position: totals that do not restart with a resumed run."""
        with self._lock:
            merged = {**self.earlier, **{o.index: o for o in self.outcomes}}
        return [merged[index] for index in sorted(merged)]

    def _progress(self, done: int, _total: int, outcome: EventOutcome) -> None:
        with self._lock:
            self.done = done
            self.outcomes.append(outcome)

    def notice(self, message: str) -> None:
        with self._lock:
            self.notices.append(message)

    def _read_back(self, client, outcomes: list[EventOutcome]) -> None:
        """What Freshsales stored for each event this run delivered, through the same client (and rate budget).

        A record that cannot be read says why in its entry; the send's outcomes stand either way.
        """
        delivered = [o for o in outcomes if o.status == SendOutcome.DELIVERED and o.readback is None]
        if delivered:
            self.notice(f"Reading back the records {len(delivered)} delivered event(s) touched")
        for outcome in delivered:
            outcome.readback = [record.to_json() for record in read_back(client, outcome)]

    def _run(self, items: list[EventInput], make_client: ClientMaker, resend_unknown: bool) -> None:
        client = None
        try:
            client = make_client()
            client.on_progress = self.notice  # Retry-After waits and retries, shown on the page
            outcomes = BatchSender(client, journal_path=self.journal_path, on_progress=self._progress,
                                   resend_refused=False,
                                   resend_unknown=resend_unknown, on_warning=self.notice).send(items)
            with self._lock:
                self.outcomes, self.done = outcomes, len(outcomes)
            if self.read_back:
                self._read_back(client, outcomes)
        except Exception as exc:  # shown on the page; the journal keeps what was done
            with self._lock:
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if client is not None:
                client.close()
            self.finished_at = time.monotonic()
            if self.on_finish is not None:
                try:
                    self.on_finish(self)
                except Exception as exc:  # the journal still holds every outcome; say why the record lags
                    self.notice(f"the run record could not be saved ({type(exc).__name__}: {exc}); the journal "
                                "still holds every outcome")

"""When the client sends a request again, how long it waits first, and the total time it may take.

urllib3's ``Retry`` is the policy: which statuses are worth another attempt, how many attempts, the
backoff schedule and reading ``Retry-After``. The client drives it from its own loop (rather than
mounting it in an adapter) so that a caller's ``requests.Session`` and its mounted adapters are used as
they are, so that body errors (a reset mid-body) count as failures too, and so that one deadline
covers every attempt, every wait and slow bodies alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

# Statuses worth sending again: 429 always (Freshsales did not act on it); server and gateway errors only
# when repeating the request is harmless (reads and upserts), because the write behind a 5xx may have
# happened: a sales activity answered 500 is "unknown", never sent twice.
RETRY_ALWAYS = frozenset({429})
RETRY_IF_IDEMPOTENT = frozenset({500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Network failures where nothing reached the server, so even a create may be sent again.
NOTHING_SENT = frozenset({"refused", "unresolved", "connect_timeout", "proxy"})
MAX_BACKOFF = 30.0
# What Freshsales asked for is reported as asked (waits over --max-retry-wait are refused, not shortened).
_NO_RETRY_AFTER_CAP = 10**9


def sleep(seconds: float) -> None:
    """Every wait of the retry loop goes through here (tests scale it)."""
    time.sleep(seconds)


def policy(max_retries: int, backoff_factor: float, idempotent: bool) -> Retry:
    """A fresh urllib3 ``Retry`` for one request: ``max_retries`` more attempts, the first at once, then
    ``backoff_factor × 2^(n-1)`` seconds (capped); gateway errors are retried only when repeating is harmless."""
    return Retry(total=max_retries, redirect=0, raise_on_redirect=False, raise_on_status=False,
                 allowed_methods=None, status_forcelist=RETRY_ALWAYS | (RETRY_IF_IDEMPOTENT if idempotent else set()),
                 backoff_factor=backoff_factor, backoff_max=MAX_BACKOFF, respect_retry_after_header=False,
                 retry_after_max=_NO_RETRY_AFTER_CAP)


def next_attempt(current: Retry, method: str, url: str) -> Retry | None:
    """The policy after one more failed attempt, or None when no attempt is left."""
    try:
        return current.increment(method, url)
    except MaxRetryError:
        return None


def status_is_retried(current: Retry, method: str, status: int) -> bool:
    return current.is_retry(method, status)


def failure_is_retried(kind: str, idempotent: bool) -> bool:
    """Network failure kinds: nothing-sent ones always; a broken or silent answer only when repeating is safe."""
    return kind in NOTHING_SENT or (idempotent and kind in ("read_timeout", "dropped"))


def retry_after_seconds(current: Retry, value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (a number or an HTTP date); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        return float(current.parse_retry_after(value))
    except InvalidHeader:
        return None


@dataclass
class Budget:
    """The time one request may still take: its deadline counts attempts and retry waits, not the client's
    own rate-limit pacing (which can last an hour and is not the server's doing)."""

    seconds: float
    spent: float = 0.0
    _since: float | None = field(default=None, repr=False)

    def start(self) -> None:
        self._since = time.monotonic()

    def stop(self) -> None:
        if self._since is not None:
            self.spent += time.monotonic() - self._since
            self._since = None

    @property
    def remaining(self) -> float:
        running = time.monotonic() - self._since if self._since is not None else 0.0
        return self.seconds - self.spent - running

    @property
    def expired(self) -> bool:
        return self.remaining <= 0


class DeadlineExceeded(Exception):
    """The request's total deadline passed while its answer was still arriving."""


def until_clock(seconds: float) -> str:
    """The local time ``seconds`` from now as HH:MM, for "rerun then"."""
    return datetime.fromtimestamp(time.time() + seconds).astimezone().strftime("%H:%M")

"""When the client sends a request again, how long it waits first, and the total time it may take.

The client runs its own retry loop (rather than urllib3's ``Retry`` inside an adapter) so that a
caller's ``requests.Session`` and its mounted adapters are used as they are, and so that one deadline
covers every attempt, every wait and slow bodies alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses worth sending again: 429 always (Freshsales did not act on it); gateway errors only when
# repeating the request is harmless, because the write behind a 502-504 may have happened.
RETRY_ALWAYS = frozenset({429})
RETRY_IF_IDEMPOTENT = frozenset({502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Network failures where nothing reached the server, so even a create may be sent again.
NOTHING_SENT = frozenset({"refused", "unresolved", "connect_timeout", "proxy"})
MAX_BACKOFF = 30.0


def sleep(seconds: float) -> None:
    """Every wait of the retry loop goes through here (tests scale it)."""
    time.sleep(seconds)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (a number or an HTTP date); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def backoff(factor: float, retry_number: int) -> float:
    """urllib3's schedule: the first retry at once, then factor × 2^(n-1), capped."""
    return 0.0 if retry_number <= 1 else min(factor * 2 ** (retry_number - 1), MAX_BACKOFF)


def status_is_retried(status: int, idempotent: bool) -> bool:
    return status in RETRY_ALWAYS or (idempotent and status in RETRY_IF_IDEMPOTENT)


def failure_is_retried(kind: str, idempotent: bool) -> bool:
    """Network failure kinds: nothing-sent ones always; a broken or silent answer only when repeating is safe."""
    return kind in NOTHING_SENT or (idempotent and kind in ("read_timeout", "dropped"))


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

"""A client-side request budget per minute and per hour, shared by the sender and the emulator."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Per-minute and per-hour budgets over sliding windows; thread-safe.

    ``margin`` widens the windows a little because the server counts a request when it arrives,
    slightly after we counted it here; without it a full budget could spill over the server's window.
    """

    def __init__(self, per_minute: int | None = 400, per_hour: int | None = 1000, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 margin: float = 1.0):
        self._windows = [(limit, seconds + margin, collections.deque())
                         for limit, seconds in ((per_minute, 60.0), (per_hour, 3600.0)) if limit]
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._windows)

    def try_acquire(self) -> float:
        """Take one slot now and return 0, or return how many seconds to wait before one is free."""
        with self._lock:
            now = self._clock()
            wait = 0.0
            for limit, seconds, stamps in self._windows:
                while stamps and stamps[0] <= now - seconds:
                    stamps.popleft()
                if len(stamps) >= limit:
                    wait = max(wait, stamps[0] + seconds - now)
            if wait > 0:
                return wait
            for _limit, _seconds, stamps in self._windows:
                stamps.append(now)
            return 0.0

    def acquire(self, on_wait: Callable[[float], None] | None = None) -> float:
        """Block until a slot is free and take it; returns the seconds spent waiting."""
        waited = 0.0
        while (wait := self.try_acquire()) > 0:
            if on_wait is not None:
                on_wait(wait)
            self._sleep(wait)
            waited += wait
        return waited

    def status(self) -> tuple[int, int, float] | None:
        """(limit, remaining, seconds until the oldest counted request leaves) of the tighter window."""
        with self._lock:
            now = self._clock()
            tightest = None
            for limit, seconds, stamps in self._windows:
                while stamps and stamps[0] <= now - seconds:
                    stamps.popleft()
                reset = stamps[0] + seconds - now if stamps else 0.0
                candidate = (limit, max(limit - len(stamps), 0), reset)
                if tightest is None or candidate[1] < tightest[1]:
                    tightest = candidate
            return tightest

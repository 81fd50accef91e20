"""Faults on demand: how the emulator misbehaves, so retries, unknown outcomes and Resume can be shown live.

Four faults, each off by default and settable while the emulator runs (``EmulatorServer.set_faults``):

* ``fail_rate``: the share of requests answered 500 *before* anything is done (safe to retry);
* ``throttle_rate``: the share answered 429 with ``Retry-After: retry_after`` seconds (Freshsales' rate limit);
* ``activity_fail_rate``: the share of sales-activity creations answered 500 *after* the activity was
  stored, which is what makes a sender's outcome "unknown" (it cannot tell whether Freshsales kept it);
* ``latency_ms``: added to every answer.

The dice are one seeded ``random.Random``, so the same seed fails the same requests in the same order.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass
from enum import StrEnum

MAX_RETRY_AFTER = 120
MAX_LATENCY_MS = 60_000


class Fault(StrEnum):
    """What the dice decided for one request."""

    NONE = "none"
    FAIL = "fail"  # 500 before doing anything
    THROTTLE = "throttle"  # 429 with Retry-After


@dataclass(frozen=True)
class Faults:
    """How the emulator misbehaves: shares (0-1) of requests failed or throttled, and added latency.

    ``Faults()`` behaves. Give it to ``EmulatorServer(faults=...)`` or ``server.set_faults(...)``.
    """

    fail_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after: int = 1
    activity_fail_rate: float = 0.0
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fail_rate", "throttle_rate", "activity_fail_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
        if isinstance(self.retry_after, bool) or not isinstance(self.retry_after, int) \
                or not 0 <= self.retry_after <= MAX_RETRY_AFTER:
            raise ValueError(f"retry_after must be whole seconds between 0 and {MAX_RETRY_AFTER}, "
                             f"got {self.retry_after!r}")
        if isinstance(self.latency_ms, bool) or not isinstance(self.latency_ms, (int, float)) \
                or not 0 <= self.latency_ms <= MAX_LATENCY_MS:
            raise ValueError(f"latency_ms must be between 0 and {MAX_LATENCY_MS}, got {self.latency_ms!r}")

    @property
    def active(self) -> bool:
        return self != Faults()

    def describe(self) -> list[str]:
        """The active faults in words, for a banner or a log line; [] when the emulator behaves."""
        words = []
        if self.fail_rate:
            words.append(f"{self.fail_rate:.0%} of requests fail with 500 before doing anything")
        if self.throttle_rate:
            words.append(f"{self.throttle_rate:.0%} of requests get 429 with Retry-After {self.retry_after} s")
        if self.activity_fail_rate:
            words.append(f"{self.activity_fail_rate:.0%} of sales activities get 500 after they were created")
        if self.latency_ms:
            words.append(f"{self.latency_ms:g} ms added to every answer")
        return words

    def replace(self, **changes: float) -> Faults:
        return dataclasses.replace(self, **changes)


class FaultDice:
    """The faults in force and the seeded dice that apply them; safe to use from many threads."""

    def __init__(self, faults: Faults | None = None, seed: int = 0):
        self._lock = threading.Lock()
        self._faults = faults or Faults()
        self._random = random.Random(seed)

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set(self, faults: Faults, seed: int | None = None) -> None:
        """New faults from the next request on; a ``seed`` restarts the dice (repeatable demos and tests)."""
        if not isinstance(faults, Faults):
            raise TypeError("faults must be a Faults")
        with self._lock:
            self._faults = faults
            if seed is not None:
                self._random = random.Random(seed)

    def before(self) -> Fault:
        """Decide for a request about to be handled: fail it, throttle it, or let it through."""
        with self._lock:
            faults = self._faults
            if faults.fail_rate and self._random.random() < faults.fail_rate:
                return Fault.FAIL
            if faults.throttle_rate and self._random.random() < faults.throttle_rate:
                return Fault.THROTTLE
            return Fault.NONE

    def after_activity(self) -> bool:
        """Whether a sales activity that was just stored is answered 500 anyway."""
        with self._lock:
            rate = self._faults.activity_fail_rate
            return bool(rate) and self._random.random() < rate

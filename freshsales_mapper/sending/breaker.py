"""The circuit breaker: when Freshsales refuses the key, keeps timing out, or asks for a long wait, the
rest of the batch is not sent (each remaining event is "failed" with that reason, and a rerun once the
cause is fixed sends it), instead of spending requests and minutes on answers already known."""

from __future__ import annotations

from collections.abc import Iterable

from freshsales_mapper.sending.replies import ClientReply
from freshsales_mapper.sending.retry import until_clock

REFUSED_KEY = frozenset({401, 403})
# Network failures that mean "the other end is unreachable or silent", as opposed to a single broken reply.
STALLS = frozenset({"refused", "unresolved", "connect_timeout", "proxy", "read_timeout", "deadline"})


class CircuitBreaker:
    """Watches each event's replies; once open (``reason`` set) it stays open for the rest of the batch.

    :param stalls_in_a_row: how many consecutive events that could not connect or timed out open it.
    """

    def __init__(self, stalls_in_a_row: int = 3):
        self.stalls_in_a_row = stalls_in_a_row
        self.stalls = 0
        self.reason: str | None = None

    @property
    def open(self) -> bool:
        return self.reason is not None

    def record(self, replies: Iterable[ClientReply]) -> None:
        """Take note of one event's replies (lookups and final requests, in order)."""
        replies = list(replies)
        for reply in replies:
            if reply.status in REFUSED_KEY:
                self.reason = (f"Freshsales refused the API key (HTTP {reply.status}), so the rest of the batch "
                               "was not sent; check the key and its permissions, then rerun")
                return
            if reply.wait_requested is not None:
                seconds = reply.wait_requested
                self.reason = f"Freshsales asked to wait {seconds:.0f} s (until {until_clock(seconds)}); rerun then"
                return
        if not replies:
            return
        if replies[-1].network_error in STALLS:
            self.stalls += 1
            if self.stalls >= self.stalls_in_a_row:
                self.reason = (f"{self.stalls} events in a row could not connect or got no answer in time "
                               f"(last: {replies[-1].message}); the rest of the batch was not sent: rerun once "
                               "Freshsales is reachable")
        else:
            self.stalls = 0

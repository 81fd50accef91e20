"""urllib3 Retry policies that count attempts and pass every retry through the rate limiter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from urllib3.util.retry import Retry

from freshsales_mapper.rate_limit import RateLimiter


class Attempt(threading.local):
    """Per-thread bookkeeping for the request being sent (urllib3 calls Retry.increment in our thread)."""

    retries = 0
    exhausted = False
    limiter: RateLimiter | None = None
    progress: Callable[[str], None] | None = None
    label = ""


attempt = Attempt()


class TrackedRetry(Retry):
    """urllib3's Retry that counts attempts and sends each retry through our rate limiter."""

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        attempt.retries += 1
        try:
            following = super().increment(*args, **kwargs)
        except Exception:
            attempt.exhausted = True
            raise
        cause = following.history[-1] if following.history else None
        reason = (f"HTTP {cause.status}" if cause and cause.status
                  else type(cause.error).__name__ if cause and cause.error else "an error")
        if attempt.progress is not None:
            attempt.progress(f"retrying {attempt.label} after {reason} (attempt {attempt.retries + 1})")
        if attempt.limiter is not None:
            attempt.limiter.acquire()
        return following


class UnprocessedOnlyRetry(TrackedRetry):
    """For requests that must not run twice: retry only when the server surely did not act on them.

    A refused connection and a 429 qualify; a read timeout, a dropped connection or a 5xx do not.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return status_code == 429 and self._is_method_retryable(method)


def retry_policy(cls: type[TrackedRetry], max_retries: int, backoff_factor: float, *, reads: bool) -> Retry:
    return cls(total=max_retries, connect=max_retries, read=max_retries if reads else False,
               status=max_retries, other=0, redirect=False, allowed_methods=frozenset({"GET", "POST"}),
               status_forcelist=frozenset({429, 502, 503, 504}) if reads else frozenset({429}),
               backoff_factor=backoff_factor, respect_retry_after_header=True, raise_on_status=False,
               retry_after_max=120)


# ---- replies -------------------------------------------------------------------------------------

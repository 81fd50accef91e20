"""The Freshsales HTTP client: safe hosts, a client-side rate limit, retries that never duplicate writes.

The engine builds requests against whatever the user typed as the domain; this client sends them only
to ``https://<org>.myfreshworks.com`` / ``<org>.freshworks.com`` (or a loopback emulator), because the
API key travels in every request and must never reach another host.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from freshsales_mapper.engine.plan import HttpRequest
from freshsales_mapper.engine.secret import mask_key
from freshsales_mapper.rate_limit import RateLimiter
from freshsales_mapper.sending.domain import API_PREFIX, DomainError, loopback_base_url, normalize_domain
from freshsales_mapper.sending.replies import ClientReply, network_error_kind, parse_error_body, short_text
from freshsales_mapper.sending.retry import TrackedRetry, UnprocessedOnlyRetry, attempt, retry_policy

__all__ = ["ClientReply", "DomainError", "FreshsalesClient", "normalize_domain", "parse_error_body"]

logger = logging.getLogger(__name__)


class _Secret:
    """Holds the API key so that reprs, tracebacks with locals and ``vars()`` show only the mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return mask_key(self._value)

    __str__ = __repr__


class FreshsalesClient:
    def __init__(self, domain: str, api_key: str, *, base_url: str | None = None,
                 connect_timeout: float = 3.05, read_timeout: float = 10, max_retries: int = 3,
                 backoff_factor: float = 0.5, rate_limit_per_minute: int | None = 400,
                 rate_limit_per_hour: int | None = 1000, on_progress: Callable[[str], None] | None = None,
                 session: requests.Session | None = None, limiter: RateLimiter | None = None):
        self.domain = normalize_domain(domain)
        self._local = bool(base_url)
        self.base_url = loopback_base_url(base_url) if base_url else f"https://{self.domain}"
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("the Freshsales API key is empty")
        if re.search(r"[^\x21-\x7e]", api_key.strip()):
            raise ValueError("the Freshsales API key contains spaces or characters a header cannot carry")
        self._key = _Secret(api_key.strip())
        self.timeout = (connect_timeout, read_timeout)
        self.limiter = limiter or RateLimiter(rate_limit_per_minute, rate_limit_per_hour)
        self.on_progress = on_progress
        self._session = session or requests.Session()
        # Two adapters, chosen per request: upserts and reads may be resent, a sales activity may not.
        # The session prepares requests and supplies proxy/TLS settings; the adapters send them.
        self._resendable = HTTPAdapter(pool_maxsize=8, max_retries=retry_policy(
            TrackedRetry, max_retries, backoff_factor, reads=True))
        self._send_once = HTTPAdapter(pool_maxsize=8, max_retries=retry_policy(
            UnprocessedOnlyRetry, max_retries, backoff_factor, reads=False))

    def __repr__(self) -> str:
        return f"FreshsalesClient(base_url={self.base_url!r}, api_key={mask_key(self._key.reveal())!r})"

    def close(self) -> None:
        self._resendable.close()
        self._send_once.close()
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def is_idempotent(request: HttpRequest) -> bool:
        """Reads and upserts give the same result when repeated; creating a sales activity does not."""
        path = urlsplit(request.url).path.rstrip("/")
        return request.method.upper() == "GET" or path.endswith("/upsert")

    def execute(self, request: HttpRequest, *, idempotent: bool | None = None) -> ClientReply:
        """Send one planned request; network and HTTP failures come back as a ClientReply, never raised."""
        method = request.method.upper()
        if method not in ("GET", "POST"):
            raise ValueError(f"the Freshsales client only sends GET and POST, not {request.method}")
        parts = urlsplit(request.url)
        if not parts.path.startswith(API_PREFIX):
            raise ValueError(f"not a Freshsales API path: {parts.path!r} (expected {API_PREFIX}...)")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if idempotent is None:
            idempotent = self.is_idempotent(request)
        label = f"{method} {target}"
        started = time.perf_counter()
        self.limiter.acquire(on_wait=lambda s: self._progress(
            f"client rate limit reached: waiting {s:.1f} s before {label}"))

        prepared = self._session.prepare_request(requests.Request(
            method, self.base_url + target,
            headers={"Authorization": f"Token token={self._key.reveal()}", "Content-Type": "application/json"},
            data=None if request.body is None else json.dumps(request.body).encode("utf-8")))
        adapter = self._resendable if idempotent else self._send_once
        attempt.retries, attempt.exhausted = 0, False
        attempt.limiter, attempt.progress, attempt.label = self.limiter, self.on_progress, label
        try:
            response = adapter.send(prepared, timeout=self.timeout, **self._send_settings(prepared.url))
        except requests.RequestException as exc:
            reply = self._network_failure(exc, label, idempotent, attempt.retries or 1, started)
        else:
            attempts = attempt.retries + (0 if attempt.exhausted else 1)
            reply = self._http_reply(response, idempotent, attempts, started)
        finally:
            attempt.limiter = attempt.progress = None
        logger.debug("%s -> %s %s in %d attempt(s), %.0f ms", label, reply.status, reply.outcome,
                     reply.attempts, reply.elapsed_ms)
        return reply

    def _send_settings(self, url: str) -> dict[str, Any]:
        if self._local:
            return {"proxies": {}, "verify": True, "cert": None}  # an emulator on this machine: never proxied
        settings = self._session.merge_environment_settings(url, {}, False, None, None)
        return {"proxies": settings["proxies"], "verify": settings["verify"], "cert": settings["cert"]}

    def _progress(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)

    def _scrub(self, text: str) -> str:
        key = self._key.reveal()
        return text.replace(key, mask_key(key)) if key in text else text

    def _http_reply(self, response: requests.Response, idempotent: bool, attempts: int,
                    started: float) -> ClientReply:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        text = self._scrub(response.text)
        try:
            body: Any = json.loads(text) if text.strip() else None
            malformed = False
        except ValueError:
            body, malformed = text, True
        elapsed = (time.perf_counter() - started) * 1000
        if 200 <= status < 300:
            message = f"HTTP {status}" + (f", but the body is not valid JSON: {short_text(text, 80)!r}" if malformed else "")
            return ClientReply(status, body, True, "delivered", message, False, attempts, elapsed)
        message = self._scrub(parse_error_body(status, body if not malformed else text, content_type))
        # A gateway error on a request that must not repeat may hide a write that did happen.
        outcome = "unknown" if not idempotent and status in (502, 504) else "failed"
        retryable = status == 429 or (idempotent and status >= 500)
        if attempts > 1:
            message += f" (after {attempts} attempts)"
        return ClientReply(status, body, False, outcome, message, retryable, attempts, elapsed)

    def _network_failure(self, exc: requests.RequestException, label: str, idempotent: bool, attempts: int,
                         started: float) -> ClientReply:
        kind = network_error_kind(exc)
        where = self.base_url
        if kind in ("refused", "unresolved", "connect_timeout"):
            why = {"refused": "connection refused", "unresolved": "the host name could not be resolved",
                   "connect_timeout": f"no connection within {self.timeout[0]} s"}[kind]
            message, outcome, retryable = f"could not connect to {where} ({why}); nothing was sent", "failed", True
        else:
            why = (f"no answer within {self.timeout[1]} s" if kind == "read_timeout"
                   else "the connection broke before a complete answer arrived")
            effect = "may or may not have taken effect"
            if idempotent:
                message = f"{label} to {where}: {why}; it {effect}, and repeating it is safe"
            else:
                message = (f"{label} to {where}: {why}; it {effect}, and it was not retried because "
                           "sending it again could create a duplicate")
            outcome, retryable = "unknown", idempotent
        if attempts > 1:
            message += f" (after {attempts} attempts)"
        elapsed = (time.perf_counter() - started) * 1000
        return ClientReply(None, None, False, outcome, self._scrub(message), retryable, attempts, elapsed, kind)

"""The Freshsales HTTP client: safe hosts, a client-side rate limit, retries that never duplicate writes.

The engine builds requests against whatever the user typed as the domain; this client sends them only
to ``https://<org>.myfreshworks.com`` / ``<org>.freshworks.com`` (or a loopback emulator), because the
API key travels in every request and must never reach another host.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from urllib3.util.retry import Retry

from freshsales_mapper.engine.plan import HttpRequest
from freshsales_mapper.engine.views import masked_headers
from freshsales_mapper.rate_limit import RateLimiter
from freshsales_mapper.sending import retry
from freshsales_mapper.sending.auth import TokenAuth
from freshsales_mapper.sending.domain import API_PREFIX, DomainError, loopback_base_url, normalize_domain
from freshsales_mapper.sending.masking import KeyMasker
from freshsales_mapper.sending.outcomes import SendOutcome
from freshsales_mapper.sending.replies import ClientReply, network_error_kind, parse_error_body, short_text
from freshsales_mapper.sending.target import SendTarget

__all__ = ["ClientReply", "DomainError", "FreshsalesClient", "normalize_domain", "parse_error_body"]

logger = logging.getLogger(__name__)

_BODY_READ = 65536
MAX_REPLY_BYTES = 10 * 1024 * 1024


class ReplyTooLarge(Exception):
    """The answer went past ``max_reply_bytes``; reading stopped there."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status
_TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, retry.DeadlineExceeded, OSError)


class FreshsalesClient:
    """Sends planned requests to one Freshsales account (or a loopback emulator) and says what came of each.

    :param domain: the Freshsales domain as a user types it (``acme``, ``acme.myfreshworks.com``,
        ``https://acme.freshworks.com/``); anything that is not a Freshsales host raises :class:`DomainError`.
    :param api_key: the API key, sent as ``Authorization: Token token=<key>`` through :class:`TokenAuth`
        (so ``~/.netrc`` never replaces it) and masked in every reply, message and ``repr``.
    :param base_url: send to this loopback URL (``http://127.0.0.1:PORT``, ``localhost`` or ``[::1]``)
        instead of the real host: the local emulator. Never proxied.
    :param connect_timeout: seconds to wait for a connection, per attempt.
    :param read_timeout: seconds to wait for each piece of the answer, per attempt.
    :param request_deadline: seconds one request may take in all, across its retries, the waits between
        them and slow bodies (a server trickling bytes is cut off here). The client's own rate-limit
        waits are not counted.
    :param max_retries: how many times a request may be sent again (429s, connection failures, and for
        reads and upserts also 500 and 502-504, timeouts and connections broken mid-answer).
    :param backoff_factor: wait ``backoff_factor × 2^(n-1)`` seconds before retry ``n`` (the first at once).
    :param max_retry_wait: the longest ``Retry-After`` waited for; a longer one ends the request at once
        with ``reply.wait_requested`` set, for the caller to stop and report "rerun then".
    :param rate_limit_per_minute: client-side budget per minute (None: off), shared by retries.
    :param rate_limit_per_hour: client-side budget per hour (None: off).
    :param on_progress: called with a sentence whenever the client waits (rate limit, Retry-After) or retries.
    :param session: a :class:`requests.Session` to send through: its mounted adapters, hooks, cookies
        and proxy/TLS settings are all used. The caller keeps ownership (``close`` does not close it).
    :param limiter: a :class:`RateLimiter` to share between clients (replaces the two budgets above).
    :param max_reply_bytes: the largest answer read, after decompression (default 10 MB; Freshsales'
        answers are a few KB). A larger one, or a gzip bomb, is cut off there: the reply says "reply too
        large", and a sales activity's outcome is unknown (it may have been created).
    """

    def __init__(self, domain: str, api_key: str, *, base_url: str | None = None,
                 connect_timeout: float = 3.05, read_timeout: float = 10, request_deadline: float = 30.0,
                 max_retries: int = 3, backoff_factor: float = 0.5, max_retry_wait: float = 30.0,
                 rate_limit_per_minute: int | None = 400, rate_limit_per_hour: int | None = 1000,
                 on_progress: Callable[[str], None] | None = None, session: requests.Session | None = None,
                 limiter: RateLimiter | None = None, max_reply_bytes: int = MAX_REPLY_BYTES):
        self.domain = normalize_domain(domain)
        self.max_reply_bytes = max_reply_bytes
        self._local = bool(base_url)
        self.base_url = loopback_base_url(base_url) if base_url else f"https://{self.domain}"
        self._auth = TokenAuth(api_key)
        self._masker = KeyMasker(self._auth.key.reveal())
        self.timeout = (connect_timeout, read_timeout)
        self.request_deadline = request_deadline
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.max_retry_wait = max_retry_wait
        self.limiter = limiter or RateLimiter(rate_limit_per_minute, rate_limit_per_hour)
        self.on_progress = on_progress
        self._own_session = session is None
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"FreshsalesClient(base_url={self.base_url!r}, api_key={self._auth.key!r})"

    @property
    def target(self) -> SendTarget:
        """The account this client sends to, as a journal records it (a key fingerprint, never the key)."""
        return SendTarget.of(self.base_url, self.domain, self._auth.key.reveal())

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mask(self, text: str) -> str:
        """``text`` with this client's key masked in any spelling (for callers building their own messages)."""
        return self._masker.text(text)

    @staticmethod
    def is_idempotent(request: HttpRequest) -> bool:
        """Reads and upserts give the same result when repeated; creating a sales activity does not."""
        path = urlsplit(request.url).path.rstrip("/")
        return request.method.upper() == "GET" or path.endswith("/upsert")

    def execute(self, request: HttpRequest, *, idempotent: bool | None = None) -> ClientReply:
        """Send one planned request; network and HTTP failures come back as a ClientReply, never raised.

        :param request: the engine's planned request; only its method, path, query and body are used (the
            host is always this client's).
        :param idempotent: whether sending it twice is harmless; inferred from the request when None.
        """
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
        prepared = self._session.prepare_request(requests.Request(
            method, self.base_url + target, auth=self._auth, headers={"Content-Type": "application/json"},
            data=None if request.body is None else json.dumps(request.body).encode("utf-8")))
        settings = self._send_settings(prepared.url)
        budget = retry.Budget(self.request_deadline)
        policy = retry.policy(self.max_retries, self.backoff_factor, idempotent)
        started = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            self.limiter.acquire(on_wait=lambda s: self._progress(
                f"client rate limit reached: waiting {s:.1f} s before {label}"))
            budget.start()
            try:
                response, content = self._attempt(prepared, settings, budget)
            except ReplyTooLarge as exc:
                budget.stop()
                reply = self._too_large(exc.status, label, idempotent, attempts, started)
                break
            except _TRANSPORT_ERRORS as exc:
                budget.stop()
                kind = "deadline" if isinstance(exc, retry.DeadlineExceeded) else network_error_kind(exc)
                policy = self._retry_after_failure(kind, idempotent, policy, budget, prepared, label, attempts)
                if policy is not None:
                    continue
                reply = self._network_failure(kind, label, idempotent, attempts, started)
                break
            budget.stop()
            decision = self._retry_wait(response, policy, budget, prepared, label, attempts, started)
            if isinstance(decision, ClientReply):
                reply = decision
                break
            if decision is None:
                reply = self._http_reply(response, content, idempotent, attempts, started)
                break
            policy, wait = decision
            self._pause(wait, budget)
        reply.headers = self._shown_headers(prepared)
        logger.debug("%s -> %s %s in %d attempt(s), %.0f ms", label, reply.status, reply.outcome,
                     reply.attempts, reply.elapsed_ms)
        return reply

    def _shown_headers(self, prepared: requests.PreparedRequest) -> dict[str, str]:
        """The headers as sent (the session's own included), with the key masked in every spelling."""
        headers = masked_headers({str(name): str(value) for name, value in prepared.headers.items()})
        return {name: self._masker.text(value) for name, value in headers.items()}

    # ---- one attempt ----
    def _attempt(self, prepared: requests.PreparedRequest, settings: dict[str, Any],
                 budget: retry.Budget) -> tuple[requests.Response, bytes]:
        if budget.expired:
            raise retry.DeadlineExceeded()
        read_timeout = max(min(self.timeout[1], budget.remaining), 0.001)
        response = self._session.send(prepared.copy(), timeout=(self.timeout[0], read_timeout), stream=True,
                                      allow_redirects=False, **settings)
        try:
            chunks = []
            size = 0
            # read1 returns what one socket read brings, so a server trickling bytes is noticed between reads;
            # urllib3 decompresses at most what is asked for, so a gzip bomb is stopped at the cap as well.
            while chunk := response.raw.read1(_BODY_READ, decode_content=True):
                size += len(chunk)
                if size > self.max_reply_bytes:
                    raise ReplyTooLarge(response.status_code)
                chunks.append(chunk)
                if budget.expired:
                    raise retry.DeadlineExceeded()
            content = b"".join(chunks)
        finally:
            response.close()
        return response, content

    def _send_settings(self, url: str) -> dict[str, Any]:
        if self._local:
            return {"proxies": {}, "verify": True, "cert": None}  # an emulator on this machine: never proxied
        settings = self._session.merge_environment_settings(url, {}, False, None, None)
        return {"proxies": settings["proxies"], "verify": settings["verify"], "cert": settings["cert"]}

    # ---- retries ----
    def _retry_after_failure(self, kind: str, idempotent: bool, policy: Retry, budget: retry.Budget,
                             prepared: requests.PreparedRequest, label: str, attempts: int) -> Retry | None:
        """The policy for the next attempt after a network failure, or None to give up."""
        if kind == "deadline" or not retry.failure_is_retried(kind, idempotent):
            return None
        following = retry.next_attempt(policy, prepared.method, prepared.url)
        if following is None:
            return None
        wait = following.get_backoff_time()
        if wait >= budget.remaining:
            return None
        self._progress(f"retrying {label} after a network failure ({kind.replace('_', ' ')}), "
                       f"attempt {attempts + 1}")
        self._pause(wait, budget)
        return following

    def _retry_wait(self, response: requests.Response, policy: Retry, budget: retry.Budget,
                    prepared: requests.PreparedRequest, label: str, attempts: int,
                    started: float) -> tuple[Retry, float] | ClientReply | None:
        """(next policy, seconds to wait) to send again, None to keep this answer, or a reply ending the request."""
        status = response.status_code
        if not retry.status_is_retried(policy, prepared.method, status):
            return None
        following = retry.next_attempt(policy, prepared.method, prepared.url)
        if following is None:
            return None
        asked = (retry.retry_after_seconds(policy, response.headers.get("Retry-After"))
                 if status in retry.RETRY_AFTER_STATUSES else None)
        if asked is not None and asked > self.max_retry_wait:
            return self._wait_refused(status, asked, label, attempts, started)
        wait = asked if asked is not None else following.get_backoff_time()
        if wait >= budget.remaining:
            return None  # no time left to wait: keep this answer
        if asked:
            self._progress(f"Freshsales asked to wait {asked:.0f} s (HTTP {status}); waiting before retrying {label}")
        else:
            self._progress(f"retrying {label} after HTTP {status} (attempt {attempts + 1})")
        return following, wait

    def _wait_refused(self, status: int, asked: float, label: str, attempts: int, started: float) -> ClientReply:
        message = (f"Freshsales asked to wait {asked:.0f} s (until {retry.until_clock(asked)}); rerun then "
                   f"({label}, HTTP {status}; waits over {self.max_retry_wait:.0f} s are not waited for)")
        elapsed = (time.perf_counter() - started) * 1000
        return ClientReply(status, None, False, SendOutcome.FAILED, message, True, attempts, elapsed,
                           wait_requested=asked)

    def _pause(self, seconds: float, budget: retry.Budget) -> None:
        if seconds <= 0:
            return
        budget.start()
        retry.sleep(seconds)
        budget.stop()

    def _progress(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)

    # ---- replies ----
    def _http_reply(self, response: requests.Response, content: bytes, idempotent: bool, attempts: int,
                    started: float) -> ClientReply:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        response._content = content  # lets requests pick the text encoding as usual
        text = response.text
        try:
            body: Any = self._masker.value(json.loads(text)) if text.strip() else None
            malformed = False
        except (ValueError, RecursionError):
            body, malformed = self._masker.text(text), True
        elapsed = (time.perf_counter() - started) * 1000
        if 200 <= status < 300:
            message = f"HTTP {status}" + (
                f", but the body is not valid JSON: {short_text(body, 80)!r}" if malformed else "")
            return ClientReply(status, body, True, SendOutcome.DELIVERED, message, False, attempts, elapsed)
        if 300 <= status < 400:
            where = urlsplit(self._masker.text(response.headers.get("Location", ""))).netloc or "elsewhere"
            message = (f"HTTP {status}: a redirect to {where}, not followed (the API key is only sent to "
                       f"{self.base_url})")
        else:
            message = self._masker.text(parse_error_body(status, body, content_type))
        # A server error on a request that must not repeat may hide a write that did happen.
        outcome = SendOutcome.UNKNOWN if not idempotent and status >= 500 else SendOutcome.FAILED
        retryable = status == 429 or (idempotent and status >= 500)
        if attempts > 1:
            message += f" (after {attempts} attempts)"
        return ClientReply(status, body, False, outcome, message, retryable, attempts, elapsed)

    def _too_large(self, status: int, label: str, idempotent: bool, attempts: int, started: float) -> ClientReply:
        message = (f"{label}: reply too large: Freshsales' answer (HTTP {status}) is over {self.max_reply_bytes} "
                   "bytes, so it was not read")
        if idempotent:
            outcome = SendOutcome.FAILED
        else:
            outcome = SendOutcome.UNKNOWN
            message += "; the sales activity may have been created: check Freshsales before sending it again"
        elapsed = (time.perf_counter() - started) * 1000
        return ClientReply(status, None, False, outcome, self._masker.text(message), False, attempts, elapsed,
                           "too_large")

    def _network_failure(self, kind: str, label: str, idempotent: bool, attempts: int,
                         started: float) -> ClientReply:
        where = self.base_url
        if kind in retry.NOTHING_SENT:
            why = {"refused": "connection refused", "unresolved": "the host name could not be resolved",
                   "connect_timeout": f"no connection within {self.timeout[0]} s",
                   "proxy": "the proxy refused the connection"}[kind]
            message, outcome, retryable = (f"could not connect to {where} ({why}); nothing was sent",
                                           SendOutcome.FAILED, True)
        else:
            why = {"read_timeout": f"no answer within {self.timeout[1]} s",
                   "deadline": f"no complete answer within the request deadline of {self.request_deadline:g} s"
                   }.get(kind, "the connection broke before a complete answer arrived")
            effect = "may or may not have taken effect"
            if idempotent:
                message = f"{label} to {where}: {why}; it {effect}, and repeating it is safe"
            else:
                message = (f"{label} to {where}: {why}; it {effect}, and it was not retried because "
                           "sending it again could create a duplicate")
            outcome, retryable = SendOutcome.UNKNOWN, idempotent
        if attempts > 1:
            message += f" (after {attempts} attempts)"
        elapsed = (time.perf_counter() - started) * 1000
        return ClientReply(None, None, False, outcome, self._masker.text(message), retryable, attempts, elapsed,
                           kind)

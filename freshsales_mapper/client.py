"""The Freshsales HTTP client: safe hosts, a client-side rate limit, retries that never duplicate writes.

The engine builds requests against whatever the user typed as the domain; this client sends them only
to ``https://<org>.myfreshworks.com`` / ``<org>.freshworks.com`` (or a loopback emulator), because the
API key travels in every request and must never reach another host.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from .plan import HttpRequest, LookupStep, Reply
from .secret import mask_key

__all__ = ["ClientReply", "DomainError", "FreshsalesClient", "LiveResolver", "RateLimiter", "mask_key",
           "normalize_domain", "parse_error_body"]

logger = logging.getLogger(__name__)

API_PREFIX = "/crm/sales/api/"
FRESHSALES_SUFFIXES = (".myfreshworks.com", ".freshworks.com")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


class DomainError(ValueError):
    """The configured Freshsales domain (or emulator base URL) is not a place we may send the key to."""


def normalize_domain(text: str) -> str:
    """Return the Freshsales host for what a user typed, or raise ``DomainError`` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise DomainError("the Freshsales domain is empty; enter e.g. acme.myfreshworks.com")
    host = text.strip().lower()
    if re.search(r"\s", host):
        raise DomainError(f"the domain {text.strip()!r} contains whitespace")
    if host.startswith("http://"):
        raise DomainError("use https:// (or no scheme): Freshsales is only reached over HTTPS, "
                          "and the API key must not travel unencrypted")
    if host.startswith("https://"):
        host = host[len("https://"):]
    elif "://" in host:
        raise DomainError(f"unsupported scheme in {text.strip()!r}; use https:// or just the host")
    if "@" in host:
        raise DomainError("the domain must not contain credentials (user:password@); "
                          "the API key goes in its own field")
    if "?" in host or "#" in host:
        raise DomainError("the domain must not contain a query (?) or fragment (#)")
    host = host.removesuffix("/")
    if "/" in host:
        raise DomainError("enter only the host, without a path: /crm/sales/api/... is added automatically")
    if ":" in host:
        raise DomainError("the domain must not contain a port; Freshsales is always on the HTTPS port")
    if "." not in host:
        host += ".myfreshworks.com"
    suffix = next((s for s in FRESHSALES_SUFFIXES if host.endswith(s) or host == s[1:]), None)
    if suffix is None:
        legacy = " (freshsales.io is the retired Classic API)" if host.endswith(".freshsales.io") else ""
        raise DomainError(f"{host} is not a Freshsales host{legacy}; the API key is only sent to "
                          "<org>.myfreshworks.com or <org>.freshworks.com")
    label = host[: -len(suffix)] if host.endswith(suffix) else ""
    if not label:
        raise DomainError(f"{host} lacks your organisation's name in front (e.g. acme{suffix})")
    if "." in label or not _LABEL.match(label):
        raise DomainError(f"{label!r} is not a valid organisation name: use one label of letters, "
                          "digits and hyphens (not at either end)")
    return host


def _loopback_base_url(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in ("http", "https") or not loopback:
        raise DomainError(f"base_url must be an http(s) URL on this machine (127.0.0.1, localhost or ::1), "
                          f"got {base_url!r}; real Freshsales is reached through the domain setting")
    if parts.username or parts.password or parts.path.strip("/") or parts.query or parts.fragment:
        raise DomainError("base_url must be scheme://host:port only, without credentials, path or query")
    return f"{parts.scheme}://{parts.netloc}"


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


# ---- retries -------------------------------------------------------------------------------------

class _Attempt(threading.local):
    """Per-thread bookkeeping for the request being sent (urllib3 calls Retry.increment in our thread)."""

    retries = 0
    exhausted = False
    limiter: RateLimiter | None = None
    progress: Callable[[str], None] | None = None
    label = ""


_attempt = _Attempt()


class _TrackedRetry(Retry):
    """urllib3's Retry that counts attempts and sends each retry through our rate limiter."""

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        _attempt.retries += 1
        try:
            following = super().increment(*args, **kwargs)
        except Exception:
            _attempt.exhausted = True
            raise
        cause = following.history[-1] if following.history else None
        reason = (f"HTTP {cause.status}" if cause and cause.status
                  else type(cause.error).__name__ if cause and cause.error else "an error")
        if _attempt.progress is not None:
            _attempt.progress(f"retrying {_attempt.label} after {reason} (attempt {_attempt.retries + 1})")
        if _attempt.limiter is not None:
            _attempt.limiter.acquire()
        return following


class _UnprocessedOnlyRetry(_TrackedRetry):
    """For requests that must not run twice: retry only when the server surely did not act on them.

    A refused connection and a 429 qualify; a read timeout, a dropped connection or a 5xx do not.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return status_code == 429 and self._is_method_retryable(method)


def _retry_policy(cls: type[_TrackedRetry], max_retries: int, backoff_factor: float, *, reads: bool) -> Retry:
    return cls(total=max_retries, connect=max_retries, read=max_retries if reads else False,
               status=max_retries, other=0, redirect=False, allowed_methods=frozenset({"GET", "POST"}),
               status_forcelist=frozenset({429, 502, 503, 504}) if reads else frozenset({429}),
               backoff_factor=backoff_factor, respect_retry_after_header=True, raise_on_status=False,
               retry_after_max=120)


# ---- replies -------------------------------------------------------------------------------------

@dataclass
class ClientReply:
    """What happened to one request.

    ``outcome``: "delivered" (2xx), "failed" (Freshsales refused it, or it was never sent), "unknown"
    (it was sent but no answer came back, so it may or may not have taken effect).
    ``retryable``: sending it again is both safe (no duplicate) and possibly useful.
    ``network_error``: "", "refused", "unresolved", "connect_timeout", "read_timeout" or "dropped".
    """

    status: int | None
    body: Any
    ok: bool
    outcome: str
    message: str
    retryable: bool
    attempts: int
    elapsed_ms: float
    network_error: str = ""


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_error_body(status: int, body: Any, content_type: str | None = "") -> str:
    """One readable sentence for any Freshsales error body shape (reference §7.1) or a stray proxy page."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        if not text:
            return f"HTTP {status} with an empty body"
        if "html" in (content_type or "").lower() or text[:1] == "<":
            title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL) or \
                re.search(r"<h1[^>]*>(.*?)</h1>", text, re.IGNORECASE | re.DOTALL)
            inner = _short(re.sub(r"<[^>]+>", " ", title.group(1)), 80) if title else ""
            return f"HTTP {status} with an HTML page" + (f" ({inner})" if inner else "")
        try:
            body = json.loads(text)
        except ValueError:
            if "json" in (content_type or "").lower() or text[:1] in "{[":
                return f"HTTP {status} with a body that is not valid JSON: {_short(text, 80)!r}"
            return f"HTTP {status}: {_short(text)}"
    if body is None:
        return f"HTTP {status} with an empty body"
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and "message" in errors:
            message = errors["message"]
            text = "; ".join(str(m) for m in message) if isinstance(message, list) else str(message)
            code = errors.get("code")
            extra = f" (error code {code})" if code is not None and code != status else ""
            return f"HTTP {status}: {_short(text, 300)}{extra}"
        if body.get("login") == "failed":
            return f"HTTP {status}: {body.get('message') or 'login failed'} (login failed; check the API key)"
        if "error_code" in body and len(body) == 1:
            return f"HTTP {status}: error code {body['error_code']}"
    return f"HTTP {status}: {_short(json.dumps(body, ensure_ascii=False))}"


def _network_error_kind(exc: BaseException) -> str:
    """Walk requests' and urllib3's wrappers down to what actually went wrong."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NameResolutionError):
            return "unresolved"
        if isinstance(current, NewConnectionError):
            return "refused"
        if isinstance(current, requests.ConnectTimeout):
            return "connect_timeout"
        if isinstance(current, (requests.ReadTimeout, ReadTimeoutError)):
            return "read_timeout"
        pending.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        pending.extend(x for x in (getattr(current, "reason", None), current.__cause__, current.__context__)
                       if isinstance(x, BaseException))
    return "dropped"


# ---- the client ----------------------------------------------------------------------------------

class FreshsalesClient:
    def __init__(self, domain: str, api_key: str, *, base_url: str | None = None,
                 connect_timeout: float = 3.05, read_timeout: float = 10, max_retries: int = 3,
                 backoff_factor: float = 0.5, rate_limit_per_minute: int | None = 400,
                 rate_limit_per_hour: int | None = 1000, on_progress: Callable[[str], None] | None = None,
                 session: requests.Session | None = None, limiter: RateLimiter | None = None):
        self.domain = normalize_domain(domain)
        self._local = bool(base_url)
        self.base_url = _loopback_base_url(base_url) if base_url else f"https://{self.domain}"
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
        self._resendable = HTTPAdapter(pool_maxsize=8, max_retries=_retry_policy(
            _TrackedRetry, max_retries, backoff_factor, reads=True))
        self._send_once = HTTPAdapter(pool_maxsize=8, max_retries=_retry_policy(
            _UnprocessedOnlyRetry, max_retries, backoff_factor, reads=False))

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
        _attempt.retries, _attempt.exhausted = 0, False
        _attempt.limiter, _attempt.progress, _attempt.label = self.limiter, self.on_progress, label
        try:
            response = adapter.send(prepared, timeout=self.timeout, **self._send_settings(prepared.url))
        except requests.RequestException as exc:
            reply = self._network_failure(exc, label, idempotent, _attempt.retries or 1, started)
        else:
            attempts = _attempt.retries + (0 if _attempt.exhausted else 1)
            reply = self._http_reply(response, idempotent, attempts, started)
        finally:
            _attempt.limiter = _attempt.progress = None
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
            message = f"HTTP {status}" + (f", but the body is not valid JSON: {_short(text, 80)!r}" if malformed else "")
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
        kind = _network_error_kind(exc)
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


class LiveResolver:
    """Answers the engine's lookups by really calling Freshsales (or the emulator)."""

    _NETWORK_BODIES: ClassVar[dict[str, str]] = {
        "refused": "[ECONNREFUSED] :: Connection refused",
        "unresolved": "[ENOTFOUND] :: Host not found",
        "connect_timeout": "[ETIMEDOUT] :: Operation timed out",
        "read_timeout": "[ETIMEDOUT] :: Operation timed out",
        "dropped": "[ECONNRESET] :: Connection reset by peer",
    }

    def __init__(self, client: FreshsalesClient):
        self.client = client

    def __repr__(self) -> str:
        return f"LiveResolver({self.client!r})"

    def lookup(self, step: LookupStep) -> Reply:
        reply = self.client.execute(step.request)
        if reply.status is None:
            # RudderStack's HTTP wrapper reports an unreachable host as a 500 with the error code as text.
            return Reply(status=500, body=self._NETWORK_BODIES[reply.network_error or "dropped"],
                         source="live", note=reply.message)
        return Reply(status=reply.status, body=reply.body, source="live", note="" if reply.ok else reply.message)

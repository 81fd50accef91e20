"""A local Freshsales emulator: a real HTTP server that answers like Freshsales (reference doc §3-§7).

It lets the playground and the tests send real requests, with real ids coming back, without a
Freshsales account. Choices where Freshsales' behaviour is unconfirmed, so nobody mistakes them for
facts: contacts match their email case-insensitively and accounts their name case-insensitively;
unknown body keys are ignored; client-sent ``created_at``/``updated_at`` are not honoured; every
success is 200 (Freshsales' upserts answer 200 even on create); a rejected (429) request does not use
up budget; ``X-RateLimit-Reset`` is seconds until the oldest counted request leaves the window.
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qs, urlsplit

from freshsales_mapper.emulator import seed as seed
from freshsales_mapper.emulator.faults import Fault, FaultDice, Faults
from freshsales_mapper.emulator.front_page import front_page
from freshsales_mapper.emulator.state import ApiError, EmulatorState, error_body
from freshsales_mapper.emulator.state_file import check_writable, save_atomically
from freshsales_mapper.emulator.transport import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    LISTEN_BACKLOG,
    MAX_BODY_BYTES,
    Answer,
    Handler,
    HttpServer,
    Page,
)
from freshsales_mapper.engine.secret import mask_key
from freshsales_mapper.rate_limit import RateLimiter

logger = logging.getLogger(__name__)

API = "/crm/sales/api"
MAX_ID_DIGITS = 19  # ids are signed 64-bit numbers; a longer one names no record
MAX_BODY_DEPTH = 100  # nesting of objects and arrays in a request body


class LoggedRequest(NamedTuple):
    method: str
    path: str
    status: int


# ---- routing -------------------------------------------------------------------------------------

Route = Callable[[EmulatorState, re.Match[str], dict[str, list[str]], Any], dict[str, Any]]


def _includes_accounts(query: dict[str, list[str]]) -> bool:
    return any("sales_accounts" in value.split(",") for value in query.get("include", []))


def _get(table: str, render: Callable[[EmulatorState, dict[str, Any], dict[str, list[str]]], dict[str, Any]]
         ) -> Route:
    def read(state: EmulatorState, match: re.Match[str], query: dict[str, list[str]], _body: Any) -> dict:
        digits = match["id"]
        record = getattr(state, table).get(int(digits)) if len(digits) <= MAX_ID_DIGITS else None
        if record is None:
            raise ApiError(404, "Record not found")
        return render(state, record, query)
    return read


def _selector(state: EmulatorState, match: re.Match[str], _query: dict, _body: Any) -> dict:
    name, type_id = match["name"], match["type_id"]
    if type_id is not None:  # /selector/sales_activity_types/{id}/sales_activity_outcomes
        return {"sales_activity_outcomes": [o for o in seed.SALES_ACTIVITY_OUTCOMES
                                            if o["sales_activity_type_id"] == int(type_id)]}
    if name not in seed.SELECTORS:
        raise ApiError(404, f"Unknown selector {name}")
    key, items = seed.SELECTORS[name]
    return {key: copy.deepcopy(items)}


ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    ("POST", re.compile(rf"{API}/contacts/upsert"),
     lambda s, _m, q, b: s.upsert_contact(b, _includes_accounts(q))),
    ("POST", re.compile(rf"{API}/sales_accounts/upsert"), lambda s, _m, _q, b: s.upsert_account(b)),
    ("POST", re.compile(rf"{API}/sales_activities"), lambda s, _m, _q, b: s.create_activity(b)),
    ("GET", re.compile(rf"{API}/contacts/(?P<id>\d+)"),
     _get("contacts", lambda s, r, q: {"contact": s.render_contact(r, _includes_accounts(q))})),
    ("GET", re.compile(rf"{API}/sales_accounts/(?P<id>\d+)"),
     _get("accounts", lambda _s, r, _q: {"sales_account": copy.deepcopy(r)})),
    ("GET", re.compile(rf"{API}/sales_activities/(?P<id>\d+)"),
     _get("activities", lambda _s, r, _q: {"sales_activity": copy.deepcopy(r)})),
    ("GET", re.compile(rf"{API}/selector/(?P<name>\w+)(?:/(?P<type_id>\d+)/sales_activity_outcomes)?"),
     _selector),
    ("GET", re.compile(rf"{API}/lists"),
     lambda _s, _m, _q, _b: {"lists": copy.deepcopy(seed.LISTS),
                             "meta": {"total_pages": 1, "total": len(seed.LISTS)}}),
]


# ---- the server ----------------------------------------------------------------------------------

class EmulatorServer:
    """A local Freshsales: start it, point a client's ``base_url`` at ``.base_url``, read back what it stored.

    :param host: the address to listen on (keep it loopback: the emulator has no TLS).
    :param port: the port; 0 picks a free one (read it back from ``.port`` / ``.base_url`` after ``start``).
    :param api_key: the only key accepted; other keys get Freshsales' 401 body.
    :param rate_limit_per_minute: answer 429 with ``Retry-After`` past this many requests a minute (None: off).
    :param rate_limit_per_hour: the same per hour (None: off).
    :param latency_ms: delay every answer by this much (cut short by ``stop``).
    :param fail_rate: the share (0-1) of requests answered with a 500; chosen with ``seed``.
    :param faults: every fault at once (``faults.Faults``: also 429s and 500s after a sales activity was
        created); overrides ``latency_ms`` and ``fail_rate``. :meth:`set_faults` changes them while running.
    :param state_file: keep the records in this JSON file, loaded at start and saved as they change.
    :param seed: seeds the random failures, so a run can be repeated.
    :param clock: the time source of the rate limiter (tests run it faster).
    :param backlog: the listen queue length.
    :param header_timeout: seconds a client may take to send its request head.
    :param body_timeout: seconds a client may take to send its body.
    :param max_body_bytes: larger bodies are answered 413 without being read.
    :param idle_timeout: stop by itself after this many seconds without a request or a :meth:`touch`
        (``None``: never), then call ``on_idle`` (from a short-lived thread of its own).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = "emulator-key", *,
                 rate_limit_per_minute: int | None = None, rate_limit_per_hour: int | None = None,
                 latency_ms: float = 0, fail_rate: float = 0.0, state_file: str | os.PathLike | None = None,
                 seed: int = 0, clock: Callable[[], float] = time.monotonic,
                 backlog: int = LISTEN_BACKLOG, header_timeout: float = HEADER_TIMEOUT,
                 body_timeout: float = BODY_TIMEOUT, max_body_bytes: int = MAX_BODY_BYTES,
                 idle_timeout: float | None = None, on_idle: Callable[[], None] | None = None,
                 faults: Faults | None = None):
        if not api_key:
            raise ValueError("the emulator needs an API key to check requests against")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"the port must be a whole number from 0 to 65535 (0 picks a free one), got {port!r}")
        if not isinstance(host, str) or not host.strip():
            # "" would bind every interface: a local emulator is reachable from elsewhere only when asked by name
            raise ValueError('the host must be an address to listen on, e.g. 127.0.0.1 (or 0.0.0.0 for every '
                             'interface, on purpose)')
        for name, limit in (("rate_limit_per_minute", rate_limit_per_minute),
                            ("rate_limit_per_hour", rate_limit_per_hour)):
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
                raise ValueError(f"{name} must be a whole number of at least 1 (or None for no limit), got {limit!r}")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, got {fail_rate}")
        self._dice = FaultDice(faults or Faults(fail_rate=fail_rate, latency_ms=latency_ms), seed)
        if min(header_timeout, body_timeout, idle_timeout or 1) <= 0 or max_body_bytes < 0 or backlog < 1:
            raise ValueError("timeouts must be positive, the body limit and backlog at least 0 and 1")
        self.host, self.port = host, port
        self._key = api_key.encode()
        self.backlog, self.header_timeout, self.body_timeout = backlog, header_timeout, body_timeout
        self.max_body_bytes = max_body_bytes
        self.idle_timeout, self._on_idle = idle_timeout, on_idle
        self._last_activity = time.monotonic()
        self._lifecycle = threading.Lock()  # stop() may come from the page and from the idle check at once
        self._expiring = False
        self.stopped_idle = False  # it stopped by itself after idle_timeout
        self._limiter = RateLimiter(rate_limit_per_minute, rate_limit_per_hour, clock=clock, margin=0.0)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._log: deque[LoggedRequest] = deque(maxlen=1000)
        self.state = EmulatorState()
        self.state_file = os.fspath(state_file) if state_file else None
        if self.state_file and os.path.exists(self.state_file):
            try:
                with open(self.state_file, encoding="utf-8") as handle:
                    self.state.load_json(json.load(handle))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{self.state_file} is not an emulator state file ({exc!r})") from None
        if self.state_file:
            check_writable(self.state_file)
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None

    # ---- faults on demand ----
    @property
    def faults(self) -> Faults:
        return self._dice.faults

    def set_faults(self, faults: Faults, seed: int | None = None) -> None:
        """Misbehave this way from the next request on (``Faults()`` behaves); ``seed`` restarts the dice."""
        self._dice.set(faults, seed)

    @property
    def fail_rate(self) -> float:
        return self.faults.fail_rate

    @fail_rate.setter
    def fail_rate(self, rate: float) -> None:
        self.set_faults(self.faults.replace(fail_rate=rate))

    @property
    def latency_ms(self) -> float:
        return self.faults.latency_ms

    @latency_ms.setter
    def latency_ms(self, milliseconds: float) -> None:
        self.set_faults(self.faults.replace(latency_ms=milliseconds))

    def __repr__(self) -> str:
        return f"EmulatorServer({self.host}:{self.port}, api_key={mask_key(self._key.decode())!r})"

    # ---- lifecycle ----
    def start(self) -> Self:
        self._stopping.clear()
        self._expiring, self.stopped_idle = False, False
        self.touch()
        self._httpd = HttpServer((self.host, self.port), Handler, self.backlog)
        self._httpd.emulator = self
        self.port = self._httpd.server_address[1]
        # A short poll interval keeps stop() quick; tests start and stop many emulators.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="freshsales-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cuts short any simulated latency
        with self._lifecycle:
            if self._httpd is not None:
                self._httpd.shutdown()
                self._httpd.close_connections()  # a stopped server must not keep answering on keep-alive sockets
                self._httpd.server_close()
                self._httpd = None
            if self._thread is not None:
                self._thread.join(5)
                self._thread = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def touch(self) -> None:
        """Count as activity (someone is looking at this emulator), postponing the idle stop."""
        self._last_activity = time.monotonic()

    def check_idle(self) -> None:
        """Called by the serving loop a few times a second: start the idle stop once it is due."""
        if (self.idle_timeout is None or self._expiring
                or time.monotonic() - self._last_activity < self.idle_timeout):
            return
        self._expiring = True
        # Not from the serving thread itself: stop() waits for that thread's loop to end.
        threading.Thread(target=self._expire, name="freshsales-emulator-idle-stop", daemon=True).start()

    def _expire(self) -> None:
        self.stop()
        self.stopped_idle = True
        if self._on_idle is not None:
            try:
                self._on_idle()
            except Exception:
                logger.exception("the emulator's on_idle callback failed")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ---- read-back for tests and the UI ----
    def contacts(self) -> list[dict[str, Any]]:
        """Stored contacts; ``sales_accounts`` holds the associations as ``{id, is_primary}``."""
        with self._lock:
            return copy.deepcopy(list(self.state.contacts.values()))

    def accounts(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.state.accounts.values()))

    def activities(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.state.activities.values()))

    @property
    def request_log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    # ---- one request, independent of the transport ----
    def handle(self, method: str, target: str, authorization: str | None, raw_body: bytes) -> Answer:
        self.touch()
        latency_ms = self.latency_ms
        if latency_ms and self._stopping.wait(latency_ms / 1000):
            return Answer(503, error_body(503, "The emulator is shutting down"), {})
        expected = b"Token token=" + self._key
        if method == "GET" and urlsplit(target).path in ("", "/"):
            answer = Answer(200, self._front_page(), {})  # a person opened the address: say what this is
        elif not hmac.compare_digest((authorization or "").encode("utf-8", "replace"), expected):
            # Before the budget: requests with a wrong key are nobody's, so they cannot use up the account's.
            answer = Answer(401, {"login": "failed", "message": "Incorrect or expired API key"}, {})
        elif (wait := self._limiter.try_acquire()) > 0:
            answer = Answer(429, error_body(429, "Too many requests"), {"Retry-After": str(math.ceil(wait))})
        else:
            answer = self._answer(method, target, raw_body)
        if self._limiter.enabled:
            limit, remaining, reset = self._limiter.status()
            answer.headers.update({"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                                   "X-RateLimit-Reset": str(math.ceil(reset))})
        with self._lock:
            self._log.append(LoggedRequest(method, target, answer.status))
        return answer

    def _front_page(self) -> Page:
        with self._lock:
            counts = (len(self.state.contacts), len(self.state.accounts), len(self.state.activities))
        return Page(front_page(self.base_url, *counts))

    def _answer(self, method: str, target: str, raw_body: bytes) -> Answer:
        url = urlsplit(target)
        route = next(((match, handler) for verb, pattern, handler in ROUTES
                      if verb == method and (match := pattern.fullmatch(url.path.rstrip("/")))), None)
        if route is None:
            return Answer(404, error_body(404, f"No route for {method} {url.path}"), {})
        match, handler = route
        body = None
        if method == "POST":
            body, problem = _decoded_body(raw_body)
            if problem:
                return Answer(400, error_body(400, problem), {})
        with self._lock:
            # One seeded generator: the same seed fails the same requests when they arrive in the same order.
            fault = self._dice.before()
            if fault == Fault.FAIL:
                return Answer(500, error_body(500, "Internal server error"), {})
            if fault == Fault.THROTTLE:
                return Answer(429, error_body(429, "Too many requests"),
                              {"Retry-After": str(self.faults.retry_after)})
            saving = method == "POST" and self.state_file
            before = copy.deepcopy(self.state.to_json()) if saving else None
            try:
                result = handler(self.state, match, parse_qs(url.query), body)
            except ApiError as exc:
                return Answer(exc.status, error_body(exc.status, *exc.messages), {})
            if saving:
                try:
                    save_atomically(self.state_file, self.state.to_json())
                except OSError as exc:
                    # Memory and file must agree: a record the file does not hold would vanish on restart
                    # although the client was told nothing was stored. So the change is undone.
                    self.state = EmulatorState()
                    self.state.load_json(before)
                    logger.error("emulator: cannot save the state file %s: %s", self.state_file, exc.strerror)
                    return Answer(500, error_body(500, "The emulator could not save its state file; nothing "
                                                       "was stored"), {})
            if "sales_activity" in result and method == "POST" and self._dice.after_activity():
                return Answer(500, error_body(500, "Internal server error"), {})  # stored, but the client never knows
        return Answer(200, result, {})


def _decoded_body(raw: bytes) -> tuple[Any, str | None]:
    """(body, None), or (None, what is wrong with it) for a 400."""
    try:
        body = json.loads(raw or b"null")
    except RecursionError:
        return None, f"The request body nests deeper than {MAX_BODY_DEPTH} levels"
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # Python's int-string limit: thousands of digits
            return None, "The request body has a number with too many digits"
        return None, "The request body is not valid JSON"
    if _depth(body) > MAX_BODY_DEPTH:
        return None, f"The request body nests deeper than {MAX_BODY_DEPTH} levels"
    return body, None


def _depth(value: Any) -> int:
    """Nesting of objects and arrays, without recursion (the point is to refuse what would recurse too deep)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in node if isinstance(child, (dict, list)))
    return deepest

"""A local Freshsales emulator: a real HTTP server that answers like Freshsales (reference doc §3-§7).

It lets the playground and the tests send real requests, with real ids coming back, without a
Freshsales account. Choices where Freshsales' behaviour is unconfirmed, so nobody mistakes them for
facts: contacts match their email case-insensitively and accounts their name case-insensitively;
unknown body keys are ignored; client-sent ``created_at``/``updated_at`` are not honoured; every
success is 200 (Freshsales' upserts answer 200 even on create); a rejected (429) request does not use
up budget; ``X-RateLimit-Reset`` is seconds until the oldest counted request leaves the window.
"""

from __future__ import annotations

import contextlib
import copy
import hmac
import json
import logging
import math
import os
import random
import re
import socket
import socketserver
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qs, urlsplit

from freshsales_mapper.emulator import seed as seed
from freshsales_mapper.emulator.state import ApiError, EmulatorState, error_body
from freshsales_mapper.engine.secret import mask_key
from freshsales_mapper.rate_limit import RateLimiter

logger = logging.getLogger(__name__)

API = "/crm/sales/api"


class Answer(NamedTuple):
    status: int
    body: Any
    headers: dict[str, str]


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
        record = getattr(state, table).get(int(match["id"]))
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
    """Start it, point a client's ``base_url`` at ``.base_url``, read back what it stored."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = "emulator-key", *,
                 rate_limit_per_minute: int | None = None, rate_limit_per_hour: int | None = None,
                 latency_ms: float = 0, fail_rate: float = 0.0, state_file: str | os.PathLike | None = None,
                 seed: int = 0, clock: Callable[[], float] = time.monotonic):
        if not api_key:
            raise ValueError("the emulator needs an API key to check requests against")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, got {fail_rate}")
        self.host, self.port = host, port
        self._key = api_key.encode()
        self.latency_ms, self.fail_rate = latency_ms, fail_rate
        self._limiter = RateLimiter(rate_limit_per_minute, rate_limit_per_hour, clock=clock, margin=0.0)
        self._random = random.Random(seed)
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
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"EmulatorServer({self.host}:{self.port}, api_key={mask_key(self._key.decode())!r})"

    # ---- lifecycle ----
    def start(self) -> Self:
        self._stopping.clear()
        self._httpd = _HttpServer((self.host, self.port), _Handler)
        self._httpd.emulator = self
        self.port = self._httpd.server_address[1]
        # A short poll interval keeps stop() quick; tests start and stop many emulators.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="freshsales-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cuts short any simulated latency
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()  # a stopped server must not keep answering on keep-alive sockets
            self._httpd.server_close()
            self._httpd = None

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
        if self.latency_ms and self._stopping.wait(self.latency_ms / 1000):
            return Answer(503, error_body(503, "The emulator is shutting down"), {})
        wait = self._limiter.try_acquire()
        if wait > 0:
            answer = Answer(429, error_body(429, "Too many requests"), {"Retry-After": str(math.ceil(wait))})
        else:
            answer = self._answer(method, target, authorization, raw_body)
        if self._limiter.enabled:
            limit, remaining, reset = self._limiter.status()
            answer.headers.update({"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                                   "X-RateLimit-Reset": str(math.ceil(reset))})
        with self._lock:
            self._log.append(LoggedRequest(method, target, answer.status))
        return answer

    def _answer(self, method: str, target: str, authorization: str | None, raw_body: bytes) -> Answer:
        expected = b"Token token=" + self._key
        if not hmac.compare_digest((authorization or "").encode("utf-8", "replace"), expected):
            return Answer(401, {"login": "failed", "message": "Incorrect or expired API key"}, {})
        url = urlsplit(target)
        route = next(((match, handler) for verb, pattern, handler in ROUTES
                      if verb == method and (match := pattern.fullmatch(url.path.rstrip("/")))), None)
        if route is None:
            return Answer(404, error_body(404, f"No route for {method} {url.path}"), {})
        match, handler = route
        body = None
        if method == "POST":
            try:
                body = json.loads(raw_body or b"null")
            except ValueError:
                return Answer(400, error_body(400, "The request body is not valid JSON"), {})
        with self._lock:
            # One seeded generator: the same seed fails the same requests when they arrive in the same order.
            if self.fail_rate and self._random.random() < self.fail_rate:
                return Answer(500, error_body(500, "Internal server error"), {})
            try:
                result = handler(self.state, match, parse_qs(url.query), body)
            except ApiError as exc:
                return Answer(exc.status, error_body(exc.status, *exc.messages), {})
            if method == "POST" and self.state_file:
                self._save()
        return Answer(200, result, {})

    def _save(self) -> None:
        """Write to a temporary file and rename it, so a crash never leaves half a state file."""
        folder = os.path.dirname(os.path.abspath(self.state_file))
        handle, temporary = tempfile.mkstemp(prefix=".emulator-", suffix=".json", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self.state.to_json(), out)
            os.replace(temporary, self.state_file)
        except BaseException:
            os.unlink(temporary)
            raise


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    emulator: EmulatorServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can hang without DNS; we never need it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver calls this from inside its except block, so the traceback is available.
        logger.debug("emulator connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients exercise their connection pools
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed ACK
    # (~40 ms per answer on Linux), which would make every local demo and test crawl.
    disable_nagle_algorithm = True
    server_version = "FreshsalesEmulator/1.0"
    server: _HttpServer

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True  # we cannot tell where this body ends
            answer = Answer(400, error_body(400, "Send the body with a Content-Length"), {})
        else:
            raw = self.rfile.read(length) if length else b""
            try:
                answer = self.server.emulator.handle(self.command, self.path, self.headers.get("Authorization"),
                                                     raw)
            except Exception:
                logger.exception("emulator bug while answering %s %s", self.command, self.path)
                answer = Answer(500, error_body(500, "Internal server error"), {})
        payload = json.dumps(answer.body).encode("utf-8")
        try:
            self.send_response(answer.status)
            for name, value in {"Content-Type": "application/json; charset=utf-8",
                                "Content-Length": str(len(payload)), **answer.headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timeout): nothing to answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("emulator: " + format, *args)

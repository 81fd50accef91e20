"""A local Freshsales emulator: a real HTTP server that answers like Freshsales (reference doc §3-§7).

It lets the playground and the tests send real requests, with real ids coming back, without a
Freshsales account. Choices where Freshsales' behaviour is unconfirmed, so nobody mistakes them for
facts: contacts match their email case-insensitively and accounts their name case-insensitively;
unknown body keys are ignored; client-sent ``created_at``/``updated_at`` are not honoured; every
success is 200 (Freshsales' upserts answer 200 even on create); a rejected (429) request does not use
up budget; ``X-RateLimit-Reset`` is seconds until the oldest counted request leaves the window.
"""

from __future__ import annotations

import argparse
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
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qs, urlsplit

from . import emulator_seed as seed
from .client import RateLimiter, mask_key

logger = logging.getLogger(__name__)

API = "/crm/sales/api"
ACTIVITY_TARGETS = {"contact": "Contact", "salesaccount": "SalesAccount", "deal": "Deal"}


class ApiError(Exception):
    def __init__(self, status: int, *messages: str):
        super().__init__("; ".join(messages))
        self.status, self.messages = status, list(messages)


class Answer(NamedTuple):
    status: int
    body: Any
    headers: dict[str, str]


class LoggedRequest(NamedTuple):
    method: str
    path: str
    status: int


def error_body(status: int, *messages: str) -> dict[str, Any]:
    return {"errors": {"code": status, "message": list(messages)}}


def _now() -> str:
    return datetime.now().astimezone().replace(microsecond=0).isoformat()


def _as_id(field: str, value: Any) -> int | None:
    """Ids arrive as numbers or numeric strings (RudderStack forwards strings as given)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    raise ApiError(400, f"The type for {field} is invalid.")


def _as_text(field: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ApiError(400, f"The type for {field} is invalid.")


def _as_date(field: str, value: Any) -> str:
    try:
        return datetime.fromisoformat(value).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid date for {field}: use ISO 8601, e.g. 2024-05-04T17:00:00+05:30") from None


def _object(body: Any, key: str, required: bool = True) -> dict[str, Any]:
    value = body.get(key) if isinstance(body, dict) else None
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{key} must be a JSON object")
    return value


def _common_fields(data: dict[str, Any], text: tuple[str, ...], ids: tuple[str, ...]) -> dict[str, Any]:
    changes = {f: _as_text(f, data[f]) for f in text if f in data}
    changes.update({f: _as_id(f, data[f]) for f in ids if f in data})
    if "custom_field" in data and not isinstance(data["custom_field"], dict):
        raise ApiError(400, "The type for custom_field is invalid.")
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ApiError(400, "The type for tags is invalid.")
        changes["tags"] = list(tags)
    return changes


def _apply(record: dict[str, Any], changes: dict[str, Any], data: dict[str, Any]) -> None:
    record.update(changes)
    record["custom_field"].update(data.get("custom_field") or {})
    record["updated_at"] = _now()


class EmulatorState:
    """The account's records. Not locked itself: EmulatorServer serialises every call."""

    def __init__(self) -> None:
        self.contacts: dict[int, dict[str, Any]] = {}
        self.accounts: dict[int, dict[str, Any]] = {}
        self.activities: dict[int, dict[str, Any]] = {}
        self.next_ids = dict(seed.FIRST_IDS)

    def _new_id(self, kind: str) -> int:
        self.next_ids[kind] += 1
        return self.next_ids[kind] - 1

    # ---- contacts ----
    def upsert_contact(self, body: Any, include_accounts: bool) -> dict[str, Any]:
        unique = _object(body, "unique_identifier", required=False)
        email = unique.get("emails")
        if not isinstance(email, str) or not email.strip():
            raise ApiError(400, "unique_identifier must contain emails (a non-empty string)")
        data = _object(body, "contact", required=False)
        changes = self._contact_changes(data)
        links = self._account_links(data["sales_accounts"]) if "sales_accounts" in data else None
        record = self._find_contact(email)
        new_email = changes.pop("email", None)
        if new_email and (other := self._find_contact(new_email)) is not None and other is not record:
            raise ApiError(400, "Emails has already been taken")
        self._check_status_matches_stage(record or dict.fromkeys(seed.CONTACT_ID_FIELDS), changes)
        if record is None:
            record = seed.new_contact(self._new_id("contact"), self._new_id("email"), email.strip(), _now())
            self.contacts[record["id"]] = record
        if new_email:
            record["email"] = record["emails"][0]["value"] = new_email
        _apply(record, changes, data)
        if links is not None:
            record["sales_accounts"] = links
        names = " ".join(n for n in (record["first_name"], record["last_name"]) if n)
        record["display_name"] = names or record["email"]
        return {"contact": self.render_contact(record, include_accounts)}

    def _find_contact(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().casefold()
        return next((c for c in self.contacts.values() if c["email"].casefold() == wanted), None)

    def _contact_changes(self, data: dict[str, Any]) -> dict[str, Any]:
        changes = _common_fields(data, seed.CONTACT_TEXT_FIELDS, seed.CONTACT_ID_FIELDS)
        for key in ("emails", "email"):
            if key in data:
                value = data[key]
                if not isinstance(value, str) or not value.strip():
                    raise ApiError(400, f"The type for {key} is invalid.")
                changes["email"] = value.strip()
        if "subscription_status" in data:
            changes["subscription_status"] = data["subscription_status"]
        stage = changes.get("lifecycle_stage_id")
        if stage is not None and not any(s["id"] == stage for s in seed.LIFECYCLE_STAGES):
            raise ApiError(400, "Invalid lifecycle stage provided.")
        status = changes.get("contact_status_id")
        if status is not None and not any(s["id"] == status for s in seed.CONTACT_STATUSES):
            raise ApiError(400, "Invalid contact status provided.")
        return changes

    @staticmethod
    def _check_status_matches_stage(record: dict[str, Any], changes: dict[str, Any]) -> None:
        """Each contact status belongs to one lifecycle stage (reference §6 relations)."""
        status_id = changes.get("contact_status_id")
        if status_id is not None and "lifecycle_stage_id" not in changes:
            changes["lifecycle_stage_id"] = next(
                s["lifecycle_stage_id"] for s in seed.CONTACT_STATUSES if s["id"] == status_id)
        stage_id = changes.get("lifecycle_stage_id", record["lifecycle_stage_id"])
        if stage_id is None:
            return
        stage = next(s for s in seed.LIFECYCLE_STAGES if s["id"] == stage_id)
        if "contact_status_id" in changes:
            if changes["contact_status_id"] not in (None, *stage["contact_status_ids"]):
                raise ApiError(400, "Invalid contact status provided.")
        elif record["contact_status_id"] not in stage["contact_status_ids"]:
            # Moving to another stage puts the contact in that stage's first status.
            changes["contact_status_id"] = stage["contact_status_ids"][0]

    def _account_links(self, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise ApiError(400, "The type for sales_accounts is invalid.")
        links: list[dict[str, Any]] = []
        for item in value:
            account_id = _as_id("sales_accounts", item.get("id"))
            if account_id is None or account_id not in self.accounts:
                raise ApiError(400, f"Sales account with id {item.get('id')} does not exist")
            if all(link["id"] != account_id for link in links):
                links.append({"id": account_id, "is_primary": item.get("is_primary") is True})
        return links

    def render_contact(self, record: dict[str, Any], include_accounts: bool) -> dict[str, Any]:
        shown = copy.deepcopy(record)
        links = shown.pop("sales_accounts")
        if include_accounts:
            shown["sales_accounts"] = [seed.account_partial(self.accounts[link["id"]], link["is_primary"])
                                       for link in links]
        return shown

    # ---- sales accounts ----
    def upsert_account(self, body: Any) -> dict[str, Any]:
        name = _object(body, "unique_identifier", required=False).get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "unique_identifier must contain name (a non-empty string)")
        data = _object(body, "sales_account", required=False)
        changes = _common_fields(data, seed.ACCOUNT_TEXT_FIELDS, seed.ACCOUNT_ID_FIELDS)
        if "annual_revenue" in data:
            revenue = data["annual_revenue"]
            if revenue is not None and (isinstance(revenue, bool) or not isinstance(revenue, (int, float))):
                raise ApiError(400, "The type for annual_revenue is invalid.")
            changes["annual_revenue"] = revenue
        record = self._find_account(name)
        if "name" in data:
            rename = _as_text("name", data["name"])
            if not rename or not rename.strip():
                raise ApiError(400, "Name can't be blank")
            clash = self._find_account(rename)
            if clash is not None and clash is not record:
                raise ApiError(400, "Name has already been taken")
            changes["name"] = rename.strip()
        if record is None:
            record = seed.new_account(self._new_id("sales_account"), name.strip(), _now())
            self.accounts[record["id"]] = record
        _apply(record, changes, data)
        return {"sales_account": copy.deepcopy(record)}

    def _find_account(self, name: str) -> dict[str, Any] | None:
        wanted = name.strip().casefold()
        return next((a for a in self.accounts.values() if a["name"].casefold() == wanted), None)

    # ---- sales activities ----
    def create_activity(self, body: Any) -> dict[str, Any]:
        data = _object(body, "sales_activity")
        required = ("title", "start_date", "end_date", "sales_activity_type_id", "targetable_type",
                    "targetable_id")
        missing = [f"{f} can't be blank" for f in required if data.get(f) in (None, "")]
        if missing:
            raise ApiError(400, *missing)
        fields = _common_fields(data, seed.ACTIVITY_TEXT_FIELDS, seed.ACTIVITY_ID_FIELDS)
        fields["title"] = _as_text("title", data["title"])
        for key in ("start_date", "end_date", "checkedin_at"):
            if data.get(key) is not None:
                fields[key] = _as_date(key, data[key])
        type_id = _as_id("sales_activity_type_id", data["sales_activity_type_id"])
        if not any(t["id"] == type_id for t in seed.SALES_ACTIVITY_TYPES):
            raise ApiError(400, f"Invalid sales activity type: {type_id}")
        outcome = fields.get("sales_activity_outcome_id")
        if outcome is not None and not any(o["id"] == outcome and o["sales_activity_type_id"] == type_id
                                           for o in seed.SALES_ACTIVITY_OUTCOMES):
            raise ApiError(400, f"Invalid sales activity outcome for type {type_id}: {outcome}")
        target_type = ACTIVITY_TARGETS.get(str(data["targetable_type"]).casefold())
        if target_type is None:
            raise ApiError(400, "targetable_type must be Contact, SalesAccount or Deal")
        target_id = _as_id("targetable_id", data["targetable_id"])
        known = {"Contact": self.contacts, "SalesAccount": self.accounts}.get(target_type)
        if known is not None and target_id not in known:
            raise ApiError(400, f"{target_type} with id {target_id} does not exist")
        record = seed.new_activity(self._new_id("sales_activity"), _now())
        fields.update({"sales_activity_type_id": type_id, "targetable_type": target_type,
                       "targetable_id": target_id, "conversation_time": fields["end_date"],
                       "targetables": [{"id": target_id, "type": target_type}]})
        _apply(record, fields, data)
        self.activities[record["id"]] = record
        return {"sales_activity": copy.deepcopy(record)}

    # ---- persistence ----
    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "next_ids": self.next_ids, "contacts": list(self.contacts.values()),
                "accounts": list(self.accounts.values()), "activities": list(self.activities.values())}

    def load_json(self, data: dict[str, Any]) -> None:
        self.next_ids.update(data["next_ids"])
        self.contacts = {c["id"]: c for c in data["contacts"]}
        self.accounts = {a["id"]: a for a in data["accounts"]}
        self.activities = {a["id"]: a for a in data["activities"]}


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
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can hang without DNS; we never need it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver calls this from inside its except block, so the traceback is available.
        logger.debug("emulator connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients exercise their connection pools
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


# ---- command line --------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--api-key", metavar="KEY", default=None,
                        help='key clients must send (default: $FRESHSALES_API_KEY, else "emulator-key")')
    parser.add_argument("--rate-limit-per-minute", type=int, metavar="N", help="answer 429 beyond N a minute")
    parser.add_argument("--rate-limit-per-hour", type=int, metavar="N", help="answer 429 beyond N an hour")
    parser.add_argument("--latency-ms", type=float, default=0, metavar="N", help="delay every answer")
    parser.add_argument("--fail-rate", type=float, default=0.0, metavar="P",
                        help="fraction of requests that fail with 500 before doing anything (0-1)")
    parser.add_argument("--state", metavar="FILE", help="keep records in this JSON file across restarts")


def run(args: argparse.Namespace) -> int:
    key = args.api_key or os.environ.get("FRESHSALES_API_KEY") or "emulator-key"
    try:
        server = EmulatorServer(args.host, args.port, key, rate_limit_per_minute=args.rate_limit_per_minute,
                                rate_limit_per_hour=args.rate_limit_per_hour, latency_ms=args.latency_ms,
                                fail_rate=args.fail_rate, state_file=args.state).start()
    except (OSError, ValueError) as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr, flush=True)
        return 2
    print(f"Freshsales emulator on {server.base_url} (API key {mask_key(key)}); Ctrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()

"""What one request to Freshsales came to (ClientReply), and Freshsales' error bodies in plain words."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError, ReadTimeoutError

from freshsales_mapper.sending.outcomes import SendOutcome


@dataclass
class ClientReply:
    """What happened to one request.

    ``outcome``: "delivered" (2xx), "failed" (Freshsales refused it, or it was never sent), "unknown"
    (it was sent but no answer came back, so it may or may not have taken effect).
    ``retryable``: sending it again is both safe (no duplicate) and possibly useful.
    ``network_error``: "", "refused", "proxy" (the proxy refused the tunnel), "unresolved", "connect_timeout", "read_timeout", "dropped" (the
    connection broke, e.g. reset mid-body), "deadline" (the request's total deadline passed) or "too_large"
    (the answer was over the client's ``max_reply_bytes``).
    ``wait_requested``: seconds Freshsales asked to wait (Retry-After) when that was longer than the
    client waits; the request was not retried.
    ``headers``: the request's headers as the client sent them, the API key masked (``Token token=****abcd``).
    """

    status: int | None
    body: Any
    ok: bool
    outcome: SendOutcome
    message: str
    retryable: bool
    attempts: int
    elapsed_ms: float
    network_error: str = ""
    wait_requested: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


def short_text(text: str, limit: int = 160) -> str:
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
            inner = short_text(re.sub(r"<[^>]+>", " ", title.group(1)), 80) if title else ""
            return f"HTTP {status} with an HTML page" + (f" ({inner})" if inner else "")
        try:
            body = json.loads(text)
        except ValueError:
            if "json" in (content_type or "").lower() or text[:1] in "{[":
                return f"HTTP {status} with a body that is not valid JSON: {short_text(text, 80)!r}"
            return f"HTTP {status}: {short_text(text)}"
    if body is None:
        return f"HTTP {status} with an empty body"
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and "message" in errors:
            message = errors["message"]
            text = "; ".join(str(m) for m in message) if isinstance(message, list) else str(message)
            code = errors.get("code")
            extra = f" (error code {code})" if code is not None and code != status else ""
            return f"HTTP {status}: {short_text(text, 300)}{extra}"
        if body.get("login") == "failed":
            return f"HTTP {status}: {body.get('message') or 'login failed'} (login failed; check the API key)"
        if "error_code" in body and len(body) == 1:
            return f"HTTP {status}: error code {body['error_code']}"
    return f"HTTP {status}: {short_text(json.dumps(body, ensure_ascii=False))}"


def network_error_kind(exc: BaseException) -> str:
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
        if isinstance(current, requests.exceptions.ProxyError):
            return "proxy"
        if isinstance(current, NewConnectionError):
            return "refused"
        if isinstance(current, requests.ConnectTimeout):
            return "connect_timeout"
        if isinstance(current, (requests.ReadTimeout, ReadTimeoutError, TimeoutError)):
            return "read_timeout"
        pending.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        pending.extend(x for x in (getattr(current, "reason", None), current.__cause__, current.__context__)
                       if isinstance(x, BaseException))
    return "dropped"


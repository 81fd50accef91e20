"""How requests are shown: masked headers (the ``YOUR_API_KEY`` placeholder stays readable), cURL, processor items."""

from __future__ import annotations

import json
import re
from typing import Any

from freshsales_mapper.engine.jsvalue import deeper_than
from freshsales_mapper.engine.plan import HttpRequest, Placeholder, TransformResult
from freshsales_mapper.engine.views import TOKEN_PREFIX, curl_command, masked_headers
from freshsales_mapper.engine.views import processor_items as rudderstack_items
from freshsales_mapper.engine.vocabulary import StepKind

from .pipeline import PLACEHOLDER_KEY

_PLACEHOLDER_AUTH = TOKEN_PREFIX + PLACEHOLDER_KEY

STEP_WORDS = {StepKind.LOOKUP: "lookup while transforming", StepKind.FINAL: "request RudderStack delivers"}


def shown_headers(headers: dict[str, str]) -> dict[str, str]:
    if headers.get("Authorization") == _PLACEHOLDER_AUTH:
        return dict(headers)
    return masked_headers(headers)


def shown_request(request: HttpRequest) -> HttpRequest:
    return HttpRequest(request.method, request.url, shown_headers(request.headers), request.body)


def request_dict(request: HttpRequest) -> dict:
    shown = shown_request(request)
    return {"method": shown.method, "url": shown.url, "headers": shown.headers, "body": shown.body}


def curl(request: HttpRequest) -> str:
    # The headers are masked already, so "reveal" only keeps the placeholder as typed.
    return printable(curl_command(shown_request(request), reveal_key=True))


def processor_items(result: TransformResult, metadata: Any) -> list[dict]:
    # shown_headers masks like views.masked_processor_items, but keeps the YOUR_API_KEY placeholder readable.
    items = rudderstack_items(result, metadata)
    for item in items:
        output = item.get("output")
        if output is not None:
            output["headers"] = shown_headers(output["headers"])
    return items


def placeholders_in(value: Any) -> list[str]:
    """Placeholder ids (``{{contact.id}}``) anywhere inside a request body, in order, once each."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Placeholder):
            if str(node) not in found:
                found.append(str(node))
        elif isinstance(node, dict):
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return found


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """Text the browser can be sent: a lone surrogate (valid in a JavaScript string, so in an event, but
    not in UTF-8) is shown as its JSON escape ``\\ud800``, which is also how RudderStack sends it."""
    if text.isascii():
        return text
    return LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_text(value: Any) -> str:
    """A value as JSON, so that ``"42"`` and ``42`` look different (RudderStack treats them differently)."""
    if value is None:
        return ""
    try:
        return printable(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return printable(str(value))


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&])")


# GFM turns bare "http://…" and "www.…" into links after escapes are resolved, so backslashes cannot stop it;
# an invisible word joiner inside the marker does.
# The same holds for GFM's email autolink ("a.b@c.com" becomes a mailto: link): a joiner before "@" stops it.
AUTOLINK_MARKERS = re.compile(r"(?i)(?<=https)(?=://)|(?<=http)(?=://)|(?<=ftp)(?=://)|(?<=www)(?=\.)|(?<=[\w.+-])(?=@)")
WORD_JOINER = "\u2060"


def markdown_literal(text: str) -> str:
    """The one way the page shows a value from an event, a setting, a link or a reply inside Markdown: shown
    exactly as given, every Markdown and HTML character escaped, no bare URL made a link, line breaks as spaces."""
    flat = AUTOLINK_MARKERS.sub(WORD_JOINER, printable(" ".join(str(text).split())))
    return MARKDOWN_SPECIALS.sub(r"\\\1", flat)


def step_title(number: int, step: Any) -> str:
    kind = STEP_WORDS[step.kind]
    return f"Step {number} · {kind} · {step.request.method} {step.request.path}"


def body_text(value: Any) -> str:
    """Indented JSON for a code block (placeholders print as their ``{{…}}`` text).

    A value nested deeper than 64 levels stays on one line: indenting 10,000 levels would be ~100 MB of
    spaces, and the stdlib indents in pure Python (minutes at that depth).
    """
    indent = None if deeper_than(value, 64) else 2
    return printable(json.dumps(value, ensure_ascii=False, indent=indent, default=str))

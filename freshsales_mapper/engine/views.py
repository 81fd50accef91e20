"""Ways to look at a plan: RudderStack's processor items, plain requests, and cURL commands."""

from __future__ import annotations

import json
import shlex
from typing import Any

from freshsales_mapper.engine.plan import HttpRequest, TransformResult
from freshsales_mapper.engine.secret import mask_key

TOKEN_PREFIX = "Token token="


def processor_items(result: TransformResult, metadata: Any = None) -> list[dict]:
    """RudderStack's processor response items for one input (one per final request, or one error)."""
    if result.error is not None:
        return [{"error": result.error.message, "statusCode": result.error.status,
                 "statTags": result.error.stat_tags, "metadata": metadata}]
    return [{"output": processor_output(step.request), "statusCode": 200, "metadata": metadata}
            for step in result.final_requests]


def processor_output(request: HttpRequest) -> dict:
    return {
        "version": "1",
        "type": "REST",
        "method": request.method,
        "endpoint": request.url,
        "headers": request.headers,
        "params": {},
        "body": {"JSON": request.body if request.body is not None else {}, "JSON_ARRAY": {}, "XML": {}, "FORM": {}},
        "files": {},
        "userId": "",
    }


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    shown = dict(headers)
    auth = shown.get("Authorization")
    if isinstance(auth, str) and auth.startswith(TOKEN_PREFIX):
        shown["Authorization"] = TOKEN_PREFIX + mask_key(auth[len(TOKEN_PREFIX):])
    return shown


def request_view(request: HttpRequest, *, reveal_key: bool = False) -> dict:
    return {
        "method": request.method,
        "url": request.url,
        "headers": request.headers if reveal_key else masked_headers(request.headers),
        "body": request.body,
    }


def curl_command(request: HttpRequest, *, reveal_key: bool = False) -> str:
    headers = request.headers if reveal_key else masked_headers(request.headers)
    parts = ["curl", "-X", request.method, shlex.quote(request.url)]
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.body is not None:
        parts += ["--data-raw", shlex.quote(json.dumps(request.body, ensure_ascii=False))]
    return " \\\n  ".join([" ".join(parts[:4])] + [" ".join(parts[i:i + 2]) for i in range(4, len(parts), 2)])


def masked_processor_items(result: TransformResult, metadata: Any = None) -> list[dict]:
    """Processor items for display and export: the same, with the key in headers masked."""
    items = processor_items(result, metadata)
    for item in items:
        if "output" in item:
            item["output"] = {**item["output"], "headers": masked_headers(item["output"]["headers"])}
    return items


def processor_response(result: TransformResult, metadata: Any = None, *, reveal_key: bool = False) -> list[dict]:
    """RudderStack's processor items for one input; the key in headers is masked unless ``reveal_key=True``.

    ``reveal_key=True`` gives the items exactly as RudderStack outputs them (the key in clear), for a
    program that compares or forwards them; anything a person reads keeps the default.
    """
    return processor_items(result, metadata) if reveal_key else masked_processor_items(result, metadata)

"""``transform``: show what RudderStack would send, without sending."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from typing import Any

from freshsales_mapper.cli.common import EXIT_OK, InputProblem, add_input_arguments, json_bytes, read_events
from freshsales_mapper.cli.parallel import default_jobs, rendered_in_order
from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.resolvers import OfflineResolver, ReplayResolver, Resolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import curl_command, masked_processor_items, processor_items, request_view
from freshsales_mapper.inputs import EventInput


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.description = (
        "Transform RudderStack events into the Freshsales requests RudderStack would make. "
        "Input: RudderStack's processor request body (a JSON array of {message, destination, "
        "metadata}), one such object, NDJSON of either, or bare messages with --domain and "
        "--api-key. Output: a JSON array of RudderStack processor items, each echoing its "
        "input's metadata. Events RudderStack rejects are error items, not failures (exit 0); "
        "unreadable input exits 2 naming the line and column."
    )
    add_input_arguments(sub)
    source = sub.add_mutually_exclusive_group()
    source.add_argument("--offline", action="store_true",
                        help="answer lookups with placeholders, no network (the default)")
    source.add_argument("--replay", metavar="FILE",
                        help="answer lookups from recorded replies: a JSON list of {request: {method, url}, "
                             "response: {status, body}} (or a networks.json object with --network)")
    sub.add_argument("--network", help="with --replay of a networks.json object: which named set to use")
    sub.add_argument("--view", choices=("processor", "requests", "curl", "explain"), default="processor",
                     help="processor: RudderStack's items (exact, key included, as RudderStack outputs it); "
                          "requests: method/url/headers/body with the key masked; curl: commands, key "
                          "masked; explain: the full field-by-field trace")
    sub.add_argument("--mask-key", action="store_true", help="mask the API key in processor items too")
    sub.add_argument("--jobs", type=int, default=0, metavar="N",
                     help="processes for large inputs (default: one per available core from 2,000 events on; "
                          "1 keeps everything in this process); the output order is always the input order")


def run(args: argparse.Namespace) -> int:
    resolver = _resolver(args)
    items = read_events(args)
    trace = args.view == "explain"
    render = _renderer(args)

    def render_slice(part: list[EventInput]) -> bytes:
        return b",".join(json_bytes(entry) for item in part
                         for entry in render(transform_event(item.message, item.destination, resolver, trace=trace),
                                             item))

    jobs = args.jobs or default_jobs(len(items))
    out = sys.stdout.buffer
    out.write(b"[" + b",".join(part for part in rendered_in_order(items, render_slice, jobs) if part) + b"]\n")
    out.flush()
    return EXIT_OK



def _renderer(args: argparse.Namespace) -> Callable[[TransformResult, EventInput], list]:
    if args.view == "processor":
        items_of = masked_processor_items if args.mask_key else processor_items
        return lambda result, item: items_of(result, item.metadata)
    if args.view == "requests":
        return lambda result, item: [_with_steps(result, item, request_view)]
    if args.view == "curl":
        return lambda result, item: [_with_steps(result, item, curl_command)]
    return lambda result, item: [explain_json(result, item)]


def _with_steps(result: TransformResult, item: EventInput, show: Callable) -> dict:
    entry: dict[str, Any] = {"input": item.location, "metadata": item.metadata,
                             "steps": [{"kind": s.kind, "request": show(s.request)} for s in result.steps]}
    if result.error:
        entry["error"] = dataclasses.asdict(result.error)
    return entry


def explain_json(result: TransformResult, item: EventInput) -> dict:
    """The whole result as JSON data, with every request's key masked."""
    data = dataclasses.asdict(result)
    for step, shown in zip(result.steps, data["steps"], strict=True):
        shown["kind"] = step.kind
        shown["request"] = request_view(step.request)
    return {"input": item.location, "metadata": item.metadata, **data}


def _resolver(args: argparse.Namespace) -> Resolver:
    if not args.replay:
        return OfflineResolver()
    try:
        with open(args.replay, encoding="utf-8") as handle:
            recorded = json.load(handle)
    except OSError as exc:
        raise InputProblem(f"cannot read --replay file {args.replay}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputProblem(f"--replay file {args.replay} is not JSON: line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg}") from None
    if isinstance(recorded, dict):
        if args.network not in recorded:
            names = ", ".join(sorted(recorded))
            raise InputProblem(f"--replay file {args.replay} holds named sets ({names}): choose one with --network")
        recorded = recorded[args.network]
    if not isinstance(recorded, list) or not all(_is_recording(e) for e in recorded):
        raise InputProblem(f"--replay file {args.replay} must be a list of "
                           "{request: {method, url}, response: {status, body}}")
    return ReplayResolver(recorded)


def _is_recording(entry: Any) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("request"), dict)
            and isinstance(entry.get("response"), dict) and "method" in entry["request"] and "url" in entry["request"])

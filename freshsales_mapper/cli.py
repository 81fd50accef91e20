"""``python -m freshsales_mapper``: transform events offline, send them, or run the local emulator."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import orjson

from .inputs import EventInput, parse_events_text
from .parallel import default_jobs, rendered_in_order
from .plan import TransformResult
from .resolvers import OfflineResolver, ReplayResolver, Resolver
from .transform import transform_event
from .views import curl_command, masked_processor_items, processor_items, request_view

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
API_KEY_ENV = "FRESHSALES_API_KEY"


class InputProblem(Exception):
    """Input the CLI cannot use; the message says what and where. Exit code 2."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except InputProblem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `... | head` closed the pipe: not an error worth a traceback
        return EXIT_OK


# Subcommands living in their own modules, imported only when chosen (the HTTP stack is slow to import).
OTHER_COMMANDS = {
    "send": ("send_cli", "transform and really send events to Freshsales (or the local emulator)"),
    "emulator": ("emulator", "run a local Freshsales emulator for demos and tests"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m freshsales_mapper",
        description="See, check and send what RudderStack sends to Freshsales.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_transform(commands)
    chosen = next((a for a in argv or [] if not a.startswith("-")), None)
    for name, (module_name, help_text) in OTHER_COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(f"{__package__}.{module_name}")
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    return parser


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by transform and send: where events come from and the settings for bare ones."""
    parser.add_argument("input", nargs="?", default="-", metavar="INPUT|-",
                        help="events file (JSON object, JSON array or NDJSON); - or nothing reads stdin")
    parser.add_argument("--domain", help="Freshsales domain for bare messages, e.g. acme.myfreshworks.com")
    parser.add_argument("--api-key", help=f"API key for bare messages (or set {API_KEY_ENV}, which keeps it "
                                          "out of shell history)")
    parser.add_argument("--event-map", action="append", default=[], metavar="FROM=TO",
                        help="rudderEventsToFreshsalesEvents entry for bare messages (repeatable), "
                             "e.g. 'Demo Booked=sales_activity'")


def _add_transform(commands: Any) -> None:
    sub = commands.add_parser(
        "transform", help="show what RudderStack would send, without sending",
        description="Transform RudderStack events into the Freshsales requests RudderStack would make. "
                    "Input: RudderStack's processor request body (a JSON array of {message, destination, "
                    "metadata}), one such object, NDJSON of either, or bare messages with --domain and "
                    "--api-key. Output: a JSON array of RudderStack processor items, each echoing its "
                    "input's metadata. Events RudderStack rejects are error items, not failures (exit 0); "
                    "unreadable input exits 2 naming the line and column.",
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
    sub.set_defaults(run=run_transform)


def run_transform(args: argparse.Namespace) -> int:
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


def json_bytes(value: Any) -> bytes:
    """Compact JSON, as JSON.stringify writes it; orjson is fast, the stdlib takes what orjson refuses."""
    try:
        return orjson.dumps(value)
    except TypeError:  # integers past 64 bits, lone surrogates
        return json.dumps(value, separators=(",", ":")).encode("utf-8")


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


def read_events(args: argparse.Namespace) -> list[EventInput]:
    """Parse the input; every problem is reported (with line and column) before anything runs."""
    source = "stdin" if args.input == "-" else args.input
    try:
        if args.input == "-":
            text = sys.stdin.read()
        else:
            with open(args.input, encoding="utf-8-sig") as handle:
                text = handle.read()
    except OSError as exc:
        raise InputProblem(f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputProblem(f"{source} is not UTF-8 text (byte {exc.start})") from None
    parsed = parse_events_text(text, source)
    if parsed.errors:
        raise InputProblem("\n".join(f"{source}: {e}" for e in parsed.errors))
    bare = [item for item in parsed.items if item.destination is None]
    if bare:
        settings = bare_destination(args, bare[0].location)
        parsed.items = [dataclasses.replace(i, destination=settings) if i.destination is None else i
                        for i in parsed.items]
    return parsed.items


def bare_destination(args: argparse.Namespace, first_location: str) -> dict:
    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    if not args.domain or not api_key:
        raise InputProblem(f"{first_location} is a bare message (no destination settings): give --domain and "
                           f"--api-key (or {API_KEY_ENV}), or wrap it as {{message, destination, metadata}}")
    mappings = []
    for entry in args.event_map:
        source, sep, target = entry.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise InputProblem(f"--event-map {entry!r}: expected FROM=TO, e.g. 'Demo Booked=sales_activity'")
        mappings.append({"from": source.strip(), "to": target.strip()})
    config: dict[str, Any] = {"apiKey": api_key, "domain": args.domain}
    if mappings:
        config["rudderEventsToFreshsalesEvents"] = mappings
    return {"Config": config}

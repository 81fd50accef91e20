"""``transform``: show what RudderStack would send, without sending."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import shutil
import sys
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, BinaryIO

from freshsales_mapper.cli.common import EXIT_OK, InputEntries, InputProblem, add_input_arguments, input_error_item
from freshsales_mapper.cli.output import (
    Style,
    add_output_arguments,
    choose_style,
    explain_text,
    json_array_member,
    output_frame,
    problem_text,
    shell_text,
)
from freshsales_mapper.cli.parallel import PARALLEL_FROM, EntrySink, default_jobs, read_ahead, write_in_order
from freshsales_mapper.engine.jsvalue import UNDEFINED
from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.resolvers import OfflineResolver, ReplayResolver, Resolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import curl_command, processor_response, request_view
from freshsales_mapper.inputs import EventInput, InputError


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
                     help="processor: RudderStack's items (exact, with the key masked unless --reveal-key); "
                          "requests: method/url/headers/body; curl: shell commands, one per request, ready to "
                          "paste; explain: the field-by-field trace (a table per event on a terminal)")
    sub.add_argument("--reveal-key", action="store_true",
                     help="show the API key in clear, as RudderStack's own output carries it (masked by default)")
    sub.add_argument("--mask-key", action="store_true", help="mask the API key (the default; kept for old scripts)")
    add_output_arguments(sub)
    sub.set_defaults(preview=True)  # bare messages without a key preview with Token token=YOUR_API_KEY
    sub.add_argument("--jobs", type=int, default=0, metavar="N",
                     help="processes for large inputs (default: one per available core from 2,000 events on; "
                          "1 keeps everything in this process); the output order is always the input order")


def run(args: argparse.Namespace) -> int:
    try:
        style = choose_style(args, terminal=sys.stdout.isatty())
    except ValueError as exc:
        raise InputProblem(str(exc)) from None
    if args.jobs < 0:
        raise InputProblem("--jobs must be 0 (one per core for large inputs) or more")
    resolver = _resolver(args)
    source = InputEntries(args)
    count, entries = read_ahead(source, PARALLEL_FROM)  # enough to tell a large input from a small one
    trace = args.view == "explain"
    render = _renderer(args, style)
    separator = "\n" if style is Style.TABLE else ""  # shell blocks end with their own blank line

    def transformed(item: EventInput) -> TransformResult:
        metadata = item.metadata if not item.processor or item.metadata is not None else UNDEFINED
        return transform_event(item.message, item.destination, resolver, trace=trace, metadata=metadata)

    text = style in (Style.SHELL, Style.TABLE)
    member = None if text else json_array_member(style)

    def render_slice(part: Iterable[EventInput | InputError], sink: EntrySink) -> None:
        # One event at a time, written as soon as it is rendered: memory follows one event, not the batch.
        for item in part:
            if text:
                shown = problem_text(item, style) if isinstance(item, InputError) else render(transformed(item), item)
                sink.entry(shown.encode("utf-8", "backslashreplace"))  # a lone surrogate shows as \ud800
            else:
                entries = [input_error_item(item)] if isinstance(item, InputError) else render(transformed(item), item)
                for entry in entries:
                    sink.entry(member(entry))

    jobs = args.jobs or default_jobs(count)
    out = sys.stdout.buffer
    opening, between, closing, empty = output_frame(style, separator)
    sink = EntrySink(_Opening(out, opening), between)
    write_in_order(entries, render_slice, jobs, sink, reopen=source.reopen if source.reopenable() else None)
    out.write(closing if sink.written else empty)
    out.flush()
    return EXIT_OK


class _Opening:
    """A stream that writes ``opening`` before its first bytes (so an empty output can differ)."""

    def __init__(self, stream: BinaryIO, opening: bytes):
        self.stream, self.opening = stream, opening

    def write(self, data: bytes) -> int:
        if self.opening:
            self.stream.write(self.opening)
            self.opening = b""
        return self.stream.write(data)


def _renderer(args: argparse.Namespace, style: Style) -> Callable[[TransformResult, EventInput], Any]:
    reveal = args.reveal_key
    if args.view == "processor":
        return lambda result, item: processor_response(result, item.metadata, reveal_key=reveal)
    if args.view == "requests":
        return lambda result, item: [_with_steps(result, item, partial(request_view, reveal_key=reveal))]
    if args.view == "curl" and style is Style.SHELL:
        return lambda result, item: shell_text(result, item.location,
                                               [curl_command(s.request, reveal_key=reveal) for s in result.steps])
    if args.view == "curl":
        return lambda result, item: [_with_steps(result, item, partial(curl_command, reveal_key=reveal))]
    if style is Style.TABLE:
        width = shutil.get_terminal_size((120, 24)).columns
        return lambda result, item: explain_text(result, item.location, width)
    return lambda result, item: [explain_json(result, item, reveal_key=reveal)]


def _with_steps(result: TransformResult, item: EventInput, show: Callable) -> dict:
    entry: dict[str, Any] = {"input": item.location, "metadata": item.metadata,
                             "steps": [{"kind": s.kind, "request": show(s.request)} for s in result.steps]}
    if result.error:
        entry["error"] = dataclasses.asdict(result.error)
    return entry


def explain_json(result: TransformResult, item: EventInput, *, reveal_key: bool = False) -> dict:
    """The whole result as JSON data, with every request's key masked unless asked otherwise."""
    data = plain_data(result)
    for step, shown in zip(result.steps, data["steps"], strict=True):
        shown["kind"] = step.kind
        shown["request"] = request_view(step.request, reveal_key=reveal_key)
    return {"input": item.location, "metadata": item.metadata, "outcome": result.outcome.value, **data}


_JSON_LEAVES = (str, int, float, bool, type(None))


def plain_data(value: Any) -> Any:
    """``dataclasses.asdict`` for a result whose fields hold event values nested thousands deep.

    asdict asks ``hasattr`` of every nested value, which costs more the deeper the stack (seconds at
    10,000 levels); JSON data is told apart by its type first. Enum members are written as their value.
    """
    if isinstance(value, _JSON_LEAVES):
        return value.value if isinstance(value, enum.Enum) else value
    if type(value) is dict:
        return {key: plain_data(child) for key, child in value.items()}
    if type(value) in (list, tuple):
        return [plain_data(child) for child in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _resolver(args: argparse.Namespace) -> Resolver:
    if not args.replay:
        if args.network is not None:
            raise InputProblem("--network chooses a named set of a --replay file; give --replay too")
        return OfflineResolver()
    try:
        with open(args.replay, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputProblem(f"cannot read --replay file {args.replay}: {exc.strerror}") from None
    try:
        recorded = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputProblem(f"--replay file {args.replay} is not UTF-8 text (byte {exc.start} is not)") from None
    except json.JSONDecodeError as exc:
        raise InputProblem(f"--replay file {args.replay} is not JSON: line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg}") from None
    except RecursionError:
        raise InputProblem(f"--replay file {args.replay} nests too deeply to be recorded replies") from None
    if isinstance(recorded, list) and args.network is not None:
        raise InputProblem(f"--network {args.network}: the --replay file {args.replay} is one list of replies, "
                           "not a networks.json object of named sets; leave --network out")
    if isinstance(recorded, dict):
        if args.network not in recorded:
            names = ", ".join(sorted(recorded))
            raise InputProblem(f"--replay file {args.replay} holds named sets ({names}): choose one with --network")
        recorded = recorded[args.network]
    try:
        return ReplayResolver(recorded)
    except ValueError as exc:
        raise InputProblem(f"--replay file {args.replay}: {exc}") from None

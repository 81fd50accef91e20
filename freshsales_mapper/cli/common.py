"""What every subcommand shares: where events come from, settings for bare messages, exit codes, JSON out."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import orjson

from freshsales_mapper.engine.secret import PLACEHOLDER_KEY
from freshsales_mapper.inputs import EventInput, InputError, decode_utf8, parse_events_text

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# About 1.5 million events; every event is held parsed in memory (about 0.35 KB each beyond its text).
MAX_INPUT_BYTES = 1 << 30
_READ_CHUNK = 1 << 22
API_KEY_ENV = "FRESHSALES_API_KEY"


class InputProblem(Exception):
    """Input the CLI cannot use; the message says what and where. Exit code 2."""


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by transform and send: where events come from and the settings for bare ones."""
    parser.add_argument("input", nargs="?", default="-", metavar="INPUT|-",
                        help="events file (JSON object, JSON array or NDJSON); - or nothing reads stdin")
    parser.add_argument("--domain", help="Freshsales domain for bare messages, e.g. acme.myfreshworks.com")
    parser.add_argument("--api-key", help=f"API key for bare messages (or set {API_KEY_ENV}, which keeps it "
                                          "out of shell history)")
    parser.add_argument("--max-input-bytes", type=int, default=MAX_INPUT_BYTES, metavar="N",
                        help=f"read at most N bytes of input (default {MAX_INPUT_BYTES >> 20} MiB); past that the "
                             "command stops with exit 2, so an input with no end (/dev/zero, a stream that never "
                             "closes its pipe with data) cannot exhaust memory")
    parser.add_argument("--event-map", action="append", default=[], metavar="FROM=TO",
                        help="rudderEventsToFreshsalesEvents entry for bare messages (repeatable), "
                             "e.g. 'Demo Booked=sales_activity'")



def json_bytes(value: Any) -> bytes:
    """Compact JSON, as JSON.stringify writes it; orjson is fast, the stdlib takes what orjson refuses."""
    try:
        return orjson.dumps(value)
    except TypeError:  # integers past 64 bits, lone surrogates
        return json.dumps(value, separators=(",", ":")).encode("utf-8")



def read_entries(args: argparse.Namespace) -> list[EventInput | InputError]:
    """Every item of the input in order, each an event to answer or a problem to answer with an error item.

    Only input of which nothing at all can be read (unreadable file, one broken JSON document, no line
    that parses) raises :class:`InputProblem` (exit 2). Bare messages get the --domain/--api-key settings;
    processor items keep their own destination whatever it holds.
    """
    source = "stdin" if args.input == "-" else args.input
    limit = getattr(args, "max_input_bytes", MAX_INPUT_BYTES)
    if limit <= 0:
        raise InputProblem("--max-input-bytes must be more than 0")
    try:
        if args.input == "-":
            data = _read_capped(sys.stdin.buffer, limit, source)
        else:
            with open(args.input, "rb") as handle:
                data = _read_capped(handle, limit, source)
    except OSError as exc:
        raise InputProblem(f"cannot read {source}: {exc.strerror}") from None
    except MemoryError:
        raise InputProblem(f"{source} does not fit in memory; split it into smaller files") from None
    text = decode_utf8(data)  # the parser points at each byte that is not UTF-8 and reads the rest
    del data
    parsed = parse_events_text(text, source)
    if parsed.errors and not parsed.items:
        raise InputProblem("\n".join(f"{source}: {e}" for e in parsed.errors))
    entries = parsed.in_order()
    for problem in parsed.errors:  # also answered in place, by an error item naming the same spot
        print(f"{source}: {problem}", file=sys.stderr)
    bare = [item for item in parsed.items if item.bare]
    if bare:
        try:
            settings = bare_destination(args, bare[0].location)
        except InputProblem as exc:
            if len(bare) == len(parsed.items):
                raise  # nothing could be transformed: a usage error
            print(f"{source}: {exc}", file=sys.stderr)
            return [InputError(_NO_SETTINGS, None, None, None, entry.location)
                    if isinstance(entry, EventInput) and entry.bare else entry for entry in entries]
        for item in bare:  # in place: a copy of every item would double the peak memory of a large input
            item.destination = settings
    return entries


def _read_capped(handle: Any, limit: int, source: str) -> bytes:
    """The whole input, or InputProblem once it passes ``limit`` bytes (it may have no end at all)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := handle.read(min(_READ_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise InputProblem(f"{source} is larger than {limit} bytes (--max-input-bytes), or has no end; "
                               "split it into smaller files, or raise --max-input-bytes")
    return b"".join(chunks)


_NO_SETTINGS = "a bare message (no destination settings): give --domain and --api-key, or wrap it as {message, destination}"


def input_error_item(problem: InputError) -> dict:
    """The answer for an input item that could not be read or used: an error item naming where it is."""
    return {"error": str(problem), "statusCode": 400,
            "statTags": {"errorCategory": "dataValidation", "errorType": "instrumentation", "meta": "unreadable-input"},
            "metadata": None}


def bare_destination(args: argparse.Namespace, first_location: str) -> dict:
    """The settings for bare messages. A preview (``transform``) needs no key: like the page, it shows
    ``Token token=YOUR_API_KEY``; sending needs the real one."""
    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    if not api_key and getattr(args, "preview", False):
        api_key = PLACEHOLDER_KEY
    if not args.domain or not api_key:
        needs = "--domain" if api_key else f"--domain and --api-key (or {API_KEY_ENV})"
        raise InputProblem(f"{first_location} is a bare message (no destination settings): give {needs}, "
                           "or wrap it as {message, destination, metadata}")
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

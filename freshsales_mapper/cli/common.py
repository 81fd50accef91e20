"""What every subcommand shares: where events come from, settings for bare messages, exit codes, JSON out."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

import orjson

from freshsales_mapper.inputs import EventInput, decode_utf8, parse_events_text

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
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
    parser.add_argument("--event-map", action="append", default=[], metavar="FROM=TO",
                        help="rudderEventsToFreshsalesEvents entry for bare messages (repeatable), "
                             "e.g. 'Demo Booked=sales_activity'")



def json_bytes(value: Any) -> bytes:
    """Compact JSON, as JSON.stringify writes it; orjson is fast, the stdlib takes what orjson refuses."""
    try:
        return orjson.dumps(value)
    except TypeError:  # integers past 64 bits, lone surrogates
        return json.dumps(value, separators=(",", ":")).encode("utf-8")



def read_events(args: argparse.Namespace) -> list[EventInput]:
    """Parse the input; every problem is reported (with line and column) before anything runs."""
    source = "stdin" if args.input == "-" else args.input
    try:
        if args.input == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.input, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        raise InputProblem(f"cannot read {source}: {exc.strerror}") from None
    text = decode_utf8(data)  # the parser points at each byte that is not UTF-8 and reads the rest
    del data
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

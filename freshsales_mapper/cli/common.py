"""What every subcommand shares: where events come from, settings for bare messages, exit codes, JSON out."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from freshsales_mapper.engine.secret import PLACEHOLDER_KEY
from freshsales_mapper.inputs import EventInput, InputError
from freshsales_mapper.inputs.json_stream import DocumentError, stream_events

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# Input is parsed as it is read, so memory does not grow with it; the cap stops an input with no end.
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
    """Every item of the input in order, as a list (see :func:`iter_entries`)."""
    return list(iter_entries(args))


def iter_entries(args: argparse.Namespace) -> Iterator[EventInput | InputError]:
    """Every item of the input in order, each an event to answer or a problem to answer with an error item,
    read and parsed as they are used, so that memory follows one event and not the input.

    Input of which nothing at all can be read (unreadable file, one broken JSON document, no line that
    parses) raises :class:`InputProblem` (exit 2) before the first item. A large document that breaks
    after some items raises it after them, naming the line and column. Bare messages get the
    --domain/--api-key settings; processor items keep their own destination whatever it holds.
    """
    source = "stdin" if args.input == "-" else args.input
    limit = getattr(args, "max_input_bytes", MAX_INPUT_BYTES)
    if limit <= 0:
        raise InputProblem("--max-input-bytes must be more than 0")
    try:
        handle = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InputProblem(f"cannot read {source}: {exc.strerror}") from None
    try:
        read = _capped_reader(handle, limit, source)
        yield from _usable(stream_events(read, source), args, source)
    except DocumentError as exc:
        _drain(read)  # an input past the cap is refused for that, as before it was parsed
        raise InputProblem(f"{source}: {exc.error}") from None
    except OSError as exc:
        raise InputProblem(f"cannot read {source}: {exc.strerror}") from None
    except MemoryError:
        raise InputProblem(f"{source} does not fit in memory; split it into smaller files") from None
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def _usable(entries: Iterator[EventInput | InputError], args: argparse.Namespace,
            source: str) -> Iterator[EventInput | InputError]:
    """The entries, with the settings for bare messages; problems are also said on stderr.

    Entries are held back until the first event that can be answered: if none comes, the input is a
    usage error (exit 2) and nothing is written. Only the held entries are in memory at once.
    """
    held: list[EventInput | InputError] = []
    problems: list[InputError] = []
    settings: dict | None = None
    settings_problem: InputProblem | None = None
    for entry in entries:
        if type(entry) is EventInput and entry.bare:
            if settings is None and settings_problem is None:
                try:
                    settings = bare_destination(args, entry.location)
                except InputProblem as exc:
                    settings_problem = exc
            if settings is not None:
                entry.destination = settings  # in place: a copy of every item would double its memory
            else:
                entry = InputError(_NO_SETTINGS, None, None, None, entry.location)
                if held is not None:
                    held.append(entry)
                    continue
        elif type(entry) is InputError and held is not None:
            problems.append(entry)
        if held is None:
            if type(entry) is InputError and entry.message is not _NO_SETTINGS:
                print(f"{source}: {entry}", file=sys.stderr)
            yield entry
            continue
        held.append(entry)
        if type(entry) is EventInput:  # the first event that can be answered: what was held goes out
            for problem in problems:
                print(f"{source}: {problem}", file=sys.stderr)
            if settings_problem is not None:
                print(f"{source}: {settings_problem}", file=sys.stderr)
            yield from held
            held = None
    if held is None:
        return
    if settings_problem is not None:  # every event is a bare message: nothing could be transformed
        for problem in problems:
            print(f"{source}: {problem}", file=sys.stderr)
        raise settings_problem
    if problems:
        raise InputProblem("\n".join(f"{source}: {e}" for e in problems))


def _capped_reader(handle: Any, limit: int, source: str) -> Callable[[int], bytes]:
    """``handle.read``, raising InputProblem once the input passes ``limit`` bytes (it may have no end at all).

    A regular file larger than the limit is refused before anything is read.
    """
    size = 0
    too_large = InputProblem(f"{source} is larger than {limit} bytes (--max-input-bytes), or has no end; "
                             "split it into smaller files, or raise --max-input-bytes")
    try:
        status = os.fstat(handle.fileno())
        if stat.S_ISREG(status.st_mode) and status.st_size - handle.tell() > limit:
            raise too_large
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a file descriptor (tests give a BytesIO): counted as it is read

    def read(wanted: int) -> bytes:
        nonlocal size
        chunk = handle.read(min(wanted, limit + 1 - size))
        size += len(chunk)
        if size > limit:
            raise too_large
        return chunk

    return read


def _drain(read: Callable[[int], bytes]) -> None:
    """Read the rest of the input, keeping nothing; raises InputProblem if it passes the cap."""
    with contextlib.suppress(OSError):
        while read(_READ_CHUNK):
            pass


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

"""What every subcommand shares: where events come from, settings for bare messages, exit codes, JSON out."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import stat
import sys
from collections.abc import Iterator
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
    """Every item of the input in order, as a list (see :class:`InputEntries`)."""
    return list(InputEntries(args))


class InputEntries:
    """Every item of the input in order, each an event to answer or a problem to answer with an error item,
    read and parsed as they are used, so that memory follows one event and not the input.

    Input of which nothing at all can be read (unreadable file, one broken JSON document, no line that
    parses) raises :class:`InputProblem` (exit 2) before the first item. A large document that breaks
    after some items raises it after them, naming the line and column. Bare messages get the
    --domain/--api-key settings; processor items keep their own destination whatever it holds.
    """

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.source = "stdin" if args.input == "-" else args.input
        self.limit = getattr(args, "max_input_bytes", MAX_INPUT_BYTES)
        self.handle: Any = None
        self.size = 0  # bytes read so far
        self._entries = self._read()

    def __iter__(self) -> Iterator[EventInput | InputError]:
        return self._entries

    def __next__(self) -> EventInput | InputError:
        return next(self._entries)

    def reopenable(self) -> bool:
        """Whether a forked child can read the input on its own: a regular file, not a pipe (whose bytes
        go to whoever reads them first)."""
        try:
            return stat.S_ISREG(os.fstat(self.handle.fileno()).st_mode)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return False

    def reopen(self) -> bool:
        """Go on reading through a file description of this process's own (in a forked child), so that
        it reads the same bytes as the parent without moving the parent's place; False if it cannot."""
        if not self.reopenable():
            return False
        try:
            position = self.handle.tell()
            own = open(f"/proc/self/fd/{self.handle.fileno()}", "rb")  # noqa: SIM115 - closed by _read
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return False
        own.seek(position)
        self.handle = own
        return True

    def _read(self) -> Iterator[EventInput | InputError]:
        if self.limit <= 0:
            raise InputProblem("--max-input-bytes must be more than 0")
        try:
            self.handle = sys.stdin.buffer if self.args.input == "-" else open(self.args.input, "rb")  # noqa: SIM115
        except OSError as exc:
            raise InputProblem(f"cannot read {self.source}: {exc.strerror}") from None
        try:
            self._refuse_a_file_past_the_cap()
            yield from _usable(stream_events(self.read, self.source), self.args, self.source)
        except DocumentError as exc:
            with contextlib.suppress(OSError):  # an input past the cap is refused for that, as before
                while self.read(_READ_CHUNK):
                    pass
            raise InputProblem(f"{self.source}: {exc.error}") from None
        except OSError as exc:
            raise InputProblem(f"cannot read {self.source}: {exc.strerror}") from None
        except MemoryError:
            raise InputProblem(f"{self.source} does not fit in memory; split it into smaller files") from None
        finally:
            if self.handle is not sys.stdin.buffer:
                self.handle.close()

    def read(self, wanted: int) -> bytes:
        """Up to ``wanted`` bytes; InputProblem once the input passes the cap (it may have no end at all)."""
        chunk = self.handle.read(min(wanted, self.limit + 1 - self.size))
        self.size += len(chunk)
        if self.size > self.limit:
            raise self._too_large()
        return chunk

    def _refuse_a_file_past_the_cap(self) -> None:
        """A regular file larger than the cap is refused before anything is read or written."""
        try:
            status = os.fstat(self.handle.fileno())
            remaining = status.st_size - self.handle.tell()
        except (OSError, ValueError, io.UnsupportedOperation):
            return  # not a file descriptor: counted as it is read
        if stat.S_ISREG(status.st_mode) and remaining > self.limit:
            raise self._too_large()

    def _too_large(self) -> InputProblem:
        return InputProblem(f"{self.source} is larger than {self.limit} bytes (--max-input-bytes), or has no end; "
                            "split it into smaller files, or raise --max-input-bytes")


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

"""The send journal: JSONL lines saying what became of each event, so a batch can resume without resending.

The resume rules are described in ``sender.py``; this module owns the file: an exclusive lock for the
whole run (two runs on one journal would both send everything), a torn last line repaired on startup,
and every append flushed and fsync'd, with a write error (a full disk) stopping the run cleanly.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Callable
from datetime import datetime

from freshsales_mapper.sending.outcomes import SendOutcome

STATUSES = tuple(SendOutcome)
JOURNAL_STATUSES = (*STATUSES, "sending")
_KEY_AT_START = re.compile(r'\{"key": "([0-9a-f]{64}#[0-9]+)"')


class JournalError(ValueError):
    """The journal file cannot be used; the message names the file (and the line)."""


class JournalBusy(JournalError):
    """Another run holds the journal's lock."""


class JournalWriteError(JournalError):
    """Appending to the journal failed (e.g. the disk is full); the run stops rather than go unrecorded."""


def read_journal(path: str | os.PathLike) -> dict[str, dict]:
    """The last journal entry for each key; {} when the file does not exist yet. Reads without locking."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise JournalError(f"cannot read the journal {os.fspath(path)}: {exc.strerror}") from None
    return parse_journal(data, os.fspath(path))


def parse_journal(data: bytes, path: str) -> dict[str, dict]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JournalError(f"the journal {path} is not UTF-8 text (byte {exc.start})") from None
    latest: dict[str, dict] = {}
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        problem = _journal_line_problem(line)
        if problem is None:
            entry = json.loads(line)
            latest[entry["key"]] = entry
            continue
        torn = number == len(lines) and not text.endswith("\n")
        hint = (" (it is incomplete: an earlier run stopped while writing it; check Freshsales for that "
                "event, then delete the line)" if torn else "; fix or delete that line")
        raise JournalError(f"journal {path}, line {number}: {problem}{hint}")
    return latest


def _journal_line_problem(line: str) -> str | None:
    try:
        entry = json.loads(line)
    except ValueError as exc:
        return f"not JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(entry, dict):
        return "not a JSON object"
    if not isinstance(entry.get("key"), str) or not entry["key"]:
        return "no \"key\""
    if entry.get("status") not in JOURNAL_STATUSES:
        return f"unknown status {entry.get('status')!r}"
    if not isinstance(entry.get("sent", []), list):
        return "\"sent\" is not a list"
    return None


class Journal:
    """A journal opened for one run: locked, repaired, read, then appended to.

    :param path: the JSONL file (created if missing).
    :param on_warning: called with a sentence when a torn last line is repaired.
    :raises JournalBusy: another run holds the lock.
    :raises JournalError: the file cannot be opened or a line other than the last is corrupt.
    """

    def __init__(self, path: str | os.PathLike, *, on_warning: Callable[[str], None] | None = None):
        self.path = os.fspath(path)
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot open the journal {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise JournalBusy(f"the journal {self.path} is in use by another send that is still running; wait "
                              "for it to finish, or give this run its own --journal") from None
        try:
            self.entries = self._load(on_warning)
        except Exception:
            os.close(self._fd)
            raise

    def _load(self, on_warning: Callable[[str], None] | None) -> dict[str, dict]:
        data = b""
        while chunk := os.pread(self._fd, 1 << 20, len(data)):
            data += chunk
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        if tail.strip() and _journal_line_problem(tail.decode("utf-8", "replace")) is not None:
            entries = parse_journal(data[:cut], self.path)
            os.ftruncate(self._fd, cut)
            self._size = cut
            match = _KEY_AT_START.match(tail.decode("utf-8", "replace"))
            shown = tail[:80].decode("utf-8", "replace")
            if match:
                earlier = entries.get(match[1], {})
                entry = {"key": match[1], "index": earlier.get("index"), "status": "unknown", "http_status": None,
                         "record_id": None, "sent": earlier.get("sent", []), "pending": None, "at": now_iso(),
                         "reason": "an earlier run stopped while writing this event's journal line, so whether "
                                   "its requests reached Freshsales is unknown"}
                self.write(entry)
                entries[entry["key"]] = entry
            if on_warning is not None:
                marked = "; that event is marked unknown" if match else ""
                on_warning(f"the journal {self.path} ended with an incomplete line (an earlier run stopped while "
                           f"writing it): removed {shown!r}{marked}")
            return entries
        if tail.strip():  # a complete entry that only lacks its newline
            self._size = len(data)
            self._append(b"\n")
            data += b"\n"
        self._size = len(data)
        return parse_journal(data, self.path)

    def write(self, entry: dict) -> None:
        """Append one line, flushed to disk; on failure remove any partial line and raise JournalWriteError."""
        # ASCII-only: a lone surrogate from an event's text cannot make the file unreadable as UTF-8.
        self._append((json.dumps(entry) + "\n").encode("ascii"))

    def _append(self, line: bytes) -> None:
        try:
            written = 0
            while written < len(line):
                written += os.write(self._fd, line[written:])
            os.fsync(self._fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)  # no torn line left behind
            raise JournalWriteError(f"cannot write the journal {self.path}: {exc.strerror}; sending stopped so "
                                    "that no event goes unrecorded") from None
        self._size += len(line)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")

"""The send journal: JSONL lines saying what became of each event, so a batch can resume without resending.

The resume rules are described in ``sender.py``; this module owns the file: an exclusive lock for the
whole run (two runs on one journal would both send everything), a torn last line repaired on startup,
and every append flushed and fsync'd, with a write error (a full disk) stopping the run cleanly.

A journal identifies itself: its first line is a header, ``{"journal": "freshsales-mapper send journal",
"version": 1, "targets": [...]}``, naming the accounts (see ``target.py``) whose outcomes it holds. Only
such a file is ever repaired, resumed or appended to; any other file (notes, a key file, the input
itself) is refused untouched, and so is a journal of another account, whose outcomes would make a
resume skip events that account never got. Symbolic links and anything but a regular file are refused
too, and a repair reports how many bytes it removed, never what they said.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import stat
from collections.abc import Callable
from datetime import datetime

from freshsales_mapper.sending.outcomes import SendOutcome
from freshsales_mapper.sending.target import SendTarget

STATUSES = tuple(SendOutcome)
JOURNAL_STATUSES = (*STATUSES, "sending")
_KEY_AT_START = re.compile(r'\{"key": "([0-9a-f]{64}#[0-9]+)"')
JOURNAL_FORMAT = "freshsales-mapper send journal"
JOURNAL_VERSION = 1
_NEW_FILE = ("; give --journal the name of a new file (it is created) or of a journal an earlier send wrote: "
             "an existing file is never overwritten")


class JournalError(ValueError):
    """The journal file cannot be used; the message names the file (and the line)."""


class JournalBusy(JournalError):
    """Another run holds the journal's lock."""


class JournalWriteError(JournalError):
    """Appending to the journal failed (e.g. the disk is full); the run stops rather than go unrecorded."""


def read_journal(path: str | os.PathLike, targets: list[SendTarget] | None = None) -> dict[str, dict]:
    """The last journal entry for each key; {} when the file does not exist yet. Reads without locking.

    :raises JournalError: the file is not a journal, or (with ``targets``) a journal of another account.
    """
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise JournalError(_open_problem(path, exc)) from None
    try:
        _check_regular(fd, path)
        data = _read_all(fd)
    finally:
        os.close(fd)
    if not data:
        return {}
    header = _header(data, path)
    if targets is not None:
        _check_targets(header, targets, path)
    return parse_journal(data, path)


def parse_journal(data: bytes, path: str) -> dict[str, dict]:
    """The entries of a journal's bytes, the header line (checked by the caller) left out."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JournalError(f"the journal {path} is not UTF-8 text (byte {exc.start})") from None
    latest: dict[str, dict] = {}
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if number == 1 or not line.strip():
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


def journal_header(targets: list[SendTarget]) -> dict:
    return {"journal": JOURNAL_FORMAT, "version": JOURNAL_VERSION, "created": now_iso(),
            "targets": [target.to_json() for target in sorted(set(targets))]}


def _header(data: bytes, path: str) -> dict:
    """The header of a journal's bytes, or JournalError saying the file is not a journal (never quoting it)."""
    first = data.split(b"\n", 1)[0]
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("journal") != JOURNAL_FORMAT:
        older = " (a journal written before journals named their account has none either)" if (
            first.startswith(b'{"key": ')) else ""
        raise JournalError(f"{path} is not a send journal: its first line is not a journal header{older}; "
                           f"it was left as it is ({len(data)} bytes){_NEW_FILE}")
    if header.get("version") != JOURNAL_VERSION:
        raise JournalError(f"the journal {path} is of version {header.get('version')!r}; this version reads "
                           f"version {JOURNAL_VERSION} only{_NEW_FILE}")
    return header


def header_targets(header: dict) -> list[SendTarget]:
    targets = header.get("targets")
    return [t for t in map(SendTarget.from_json, targets) if t] if isinstance(targets, list) else []


def _check_targets(header: dict, targets: list[SendTarget], path: str) -> None:
    known = header_targets(header)
    foreign = sorted(set(targets) - set(known))
    if foreign:
        owner = "; ".join(t.describe() for t in known) or "no account"
        raise JournalError(
            f"the journal {path} belongs to {owner}, not to {foreign[0].describe()}: what it says was "
            "delivered was delivered there, so resuming with it would skip events this account never got. "
            "Give this send its own --journal, or send to the account the journal belongs to")


def _open_problem(path: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return (f"the journal {path} is a symbolic link; journals are opened only as regular files "
                "(give the real path, or a new file)")
    return f"cannot open the journal {path}: {exc.strerror}"


def _check_regular(fd: int, path: str) -> None:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise JournalError(f"the journal {path} is not a regular file (a pipe, a device or a folder)"
                           f"{_NEW_FILE}")


def _read_all(fd: int) -> bytes:
    data = b""
    while chunk := os.pread(fd, 1 << 20, len(data)):
        data += chunk
    return data


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
    """A journal opened for one run: locked, checked, repaired, read, then appended to.

    :param path: the JSONL file (created, with its header, if missing).
    :param targets: the accounts this run sends to; a journal that names other accounts is refused.
    :param on_warning: called with a sentence when a torn last line is repaired.
    :raises JournalBusy: another run holds the lock.
    :raises JournalError: the file cannot be opened, is not a journal, belongs to another account, or a
        line other than the last is corrupt. The file is then left exactly as it was.
    """

    def __init__(self, path: str | os.PathLike, *, targets: list[SendTarget],
                 on_warning: Callable[[str], None] | None = None):
        self.path = os.fspath(path)
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK,
                               0o600)
        except OSError as exc:
            raise JournalError(_open_problem(self.path, exc)) from None
        try:
            _check_regular(self._fd, self.path)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise JournalBusy(f"the journal {self.path} is in use by another send that is still running; wait "
                              "for it to finish, or give this run its own --journal") from None
        except BaseException:
            os.close(self._fd)
            raise
        try:
            self.entries = self._load(targets, on_warning)
        except BaseException:
            os.close(self._fd)
            raise

    def _load(self, targets: list[SendTarget], on_warning: Callable[[str], None] | None) -> dict[str, dict]:
        data = _read_all(self._fd)
        self._size = len(data)
        if not data:
            self._append((json.dumps(journal_header(targets)) + "\n").encode("ascii"))
            return {}
        _check_targets(_header(data, self.path), targets, self.path)
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        if cut and tail.strip() and _journal_line_problem(tail.decode("utf-8", "replace")) is not None:
            entries = parse_journal(data[:cut], self.path)
            os.ftruncate(self._fd, cut)
            self._size = cut
            match = _KEY_AT_START.match(tail.decode("utf-8", "replace"))
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
                           f"writing it): removed its {len(tail)} byte(s){marked}")
            return entries
        if tail.strip():  # a complete line (the header, or an entry) that only lacks its newline
            self._append(b"\n")
            data += b"\n"
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

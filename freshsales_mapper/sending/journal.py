"""The send journal: one JSONL line per finished event, so a batch can resume without resending.

The format and the resume rules are described in ``sender.py``; this module reads and writes lines.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

STATUSES = ("delivered", "failed", "skipped", "unknown")
JOURNAL_STATUSES = (*STATUSES, "sending")


class JournalError(ValueError):
    """The journal file cannot be read or understood; the message names the file and line."""


def read_journal(path: str | os.PathLike) -> dict[str, dict]:
    """The last journal entry for each key; {} when the file does not exist yet."""
    latest: dict[str, dict] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return latest
    except OSError as exc:
        raise JournalError(f"cannot read the journal {os.fspath(path)}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise JournalError(f"the journal {os.fspath(path)} is not UTF-8 text (byte {exc.start})") from None
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
        raise JournalError(f"journal {os.fspath(path)}, line {number}: {problem}{hint}")
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
    if not isinstance(entry.get("finals_delivered", 0), int):
        return "\"finals_delivered\" is not a number"
    return None


class JournalWriter:
    """Appends one line per entry, flushed and fsync'd, so a crash loses at most the line being written."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        try:
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path}: {exc.strerror}") from None

    def write(self, entry: dict) -> None:
        self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")

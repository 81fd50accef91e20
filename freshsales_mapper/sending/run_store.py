"""Runs that outlive the page: each Live send's journal and outcomes kept in one folder on this machine.

The folder is ``$FRESHSALES_MAPPER_RUNS_DIR`` if set, else ``$XDG_STATE_HOME/freshsales-mapper/runs``,
else ``~/.local/state/freshsales-mapper/runs``. It is created mode 0700 (and tightened to 0700 if it
exists looser); every file in it is created mode 0600.

A run is two files named by its id:

* ``<id>.journal.jsonl``: the send journal (``journal.py``). Its header binds it to its target; the
  sender appends one line per event, so an interrupted run resumes from it.
* ``<id>.run.json``: the run record, ``{"run": "freshsales-mapper run", "version": 1, id, batch,
  generation, created, updated, runs, mappings, target, total, counts, events, outcomes}``: the target as
  :meth:`SendTarget.to_json` writes it (domain, URL and a key fingerprint, never the key), the events as
  they were sent (their own API keys masked), and each event's latest outcome as ``EventOutcome.to_json``
  writes it. So a run can be listed, reopened and shown without the page that sent it.

The ``batch`` is :func:`batch_identity`: a digest of the events' content, the mapping settings and the
target (domain and key fingerprint), so the same events sent with the same settings to the same account
find their earlier run (and its journal), and are resumed rather than sent twice.

Records are written atomically (a 0600 temporary file, then ``os.replace``). Files are opened without
following symbolic links and must be regular files. Anything in the folder that is not a readable run (a
corrupt record, a stray file, a left-over temporary file) is listed as unreadable, by name, and never
deleted or changed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freshsales_mapper.engine.jsvalue import UNDEFINED
from freshsales_mapper.engine.plan import Loss
from freshsales_mapper.engine.vocabulary import LossKind
from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending.journal import JournalError, now_iso, read_journal
from freshsales_mapper.sending.outcomes import EventOutcome, SendOutcome
from freshsales_mapper.sending.target import SendTarget

RUNS_DIR_ENV = "FRESHSALES_MAPPER_RUNS_DIR"
RUN_FORMAT = "freshsales-mapper run"
RUN_VERSION = 1
RUN_SUFFIX = ".run.json"
JOURNAL_SUFFIX = ".journal.jsonl"
MAX_RECORD_BYTES = 512 * 1024 * 1024  # a record is read whole; a bigger file is not one this module wrote
_EVENT_FIELDS = ("message", "destination", "metadata")


class RunStoreError(ValueError):
    """A run file cannot be used; the message names the file, never quotes it."""


def default_runs_dir() -> Path:
    """Where runs are kept when no folder is given (see the module docstring)."""
    given = os.environ.get(RUNS_DIR_ENV, "").strip()
    if given:
        return Path(given).expanduser()
    state = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "freshsales-mapper" / "runs"


# ---- events and outcomes as JSON ----

def event_json(item: EventInput) -> dict[str, Any]:
    """One event as sent: its message (and a processor item's destination and metadata), where it was."""
    fields = {"message": item.message} if item.bare else {
        name: getattr(item, name) for name in _EVENT_FIELDS if getattr(item, name) is not UNDEFINED}
    return {**fields, "processor": item.processor, "location": item.location}


def event_input(value: dict[str, Any], index: int) -> EventInput:
    """An event as :func:`event_json` wrote it, ready to send again."""
    processor = bool(value.get("processor"))
    if not processor and "destination" not in value:
        return EventInput(value.get("message"), None, None, str(value.get("location", "")), index)
    return EventInput(value.get("message", UNDEFINED), value.get("destination", UNDEFINED),
                      value.get("metadata", UNDEFINED), str(value.get("location", "")), index, processor=processor)


def batch_identity(events: Iterable[dict[str, Any]], mappings: Any, target: SendTarget) -> str:
    """What makes two sends "the same batch": the events' content (not where they were in the input), the
    mapping settings and the target's domain and key fingerprint (never the key)."""
    document = {"events": [{k: v for k, v in e.items() if k != "location"} for e in events],
                "mappings": mappings, "domain": target.domain, "url": target.url, "key": target.key}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:32]


def outcome_from_json(value: dict[str, Any]) -> EventOutcome:
    """An EventOutcome as ``to_json`` wrote it."""
    losses = [Loss(LossKind(loss["kind"]), loss["field"], loss["text"], loss["detail"])
              for loss in value.get("losses") or []]
    return EventOutcome(
        index=value["index"], key=value["key"], status=SendOutcome(value["status"]),
        http_status=value.get("http_status"), reason=str(value.get("reason", "")),
        retryable=bool(value.get("retryable")), record_id=value.get("record_id"), response=value.get("response"),
        requests=list(value.get("requests") or []), location=str(value.get("location", "")), losses=losses,
        readback=value.get("readback"))


def outcome_from_journal(entry: dict[str, Any], location: str) -> EventOutcome:
    """What a journal line says of an event (an event caught mid-request is unknown, as a resume treats it)."""
    status = entry["status"] if entry["status"] in tuple(SendOutcome) else SendOutcome.UNKNOWN
    reason = str(entry.get("reason") or "") if status == entry["status"] else (
        "an earlier run stopped while sending this event, so whether its request reached Freshsales is unknown")
    return EventOutcome(entry.get("index"), entry["key"], SendOutcome(status), entry.get("http_status"), reason,
                        bool(entry.get("retryable")), entry.get("record_id"), None, location=location)


# ---- the record ----

@dataclass
class RunRecord:
    id: str
    batch: str  # batch_identity(...)
    generation: int  # 0, then one more for every confirmed "Send again" of the same batch
    target: SendTarget
    events: list[dict[str, Any]]  # event_json(...) of each event, in batch order
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # each event's latest, EventOutcome.to_json()
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)
    runs: int = 0  # how many times the batch was sent (or resumed) in this run
    mappings: list[list[str]] = field(default_factory=list)  # the event mappings ([from, to]) it was sent with

    @property
    def total(self) -> int:
        return len(self.events)

    @property
    def counts(self) -> dict[str, int]:
        counts = {str(s): 0 for s in SendOutcome}
        for outcome in self.outcomes:
            counts[str(outcome["status"])] = counts.get(str(outcome["status"]), 0) + 1
        return counts

    def items(self) -> list[EventInput]:
        return [event_input(event, index) for index, event in enumerate(self.events)]

    def to_json(self) -> dict[str, Any]:
        return {"run": RUN_FORMAT, "version": RUN_VERSION, "id": self.id, "batch": self.batch,
                "generation": self.generation, "created": self.created, "updated": self.updated,
                "runs": self.runs, "mappings": self.mappings, "target": self.target.to_json(), "total": self.total, "counts": self.counts,
                "events": self.events, "outcomes": self.outcomes}

    @classmethod
    def from_json(cls, value: Any, name: str) -> RunRecord:
        if not isinstance(value, dict) or value.get("run") != RUN_FORMAT:
            raise RunStoreError(f"{name} is not a run record")
        if value.get("version") != RUN_VERSION:
            raise RunStoreError(f"{name} is a run record of version {value.get('version')!r}; this version reads "
                                f"version {RUN_VERSION} only")
        target = SendTarget.from_json(value.get("target"))
        events, outcomes = value.get("events"), value.get("outcomes")
        texts = [value.get(k) for k in ("id", "batch", "created", "updated")]
        if (target is None or not all(isinstance(t, str) and t for t in texts) or not isinstance(events, list)
                or not all(isinstance(e, dict) for e in events) or not isinstance(outcomes, list)
                or not isinstance(value.get("generation"), int) or not isinstance(value.get("runs"), int)):
            raise RunStoreError(f"{name} is a damaged run record (a field is missing or of the wrong type)")
        try:
            for outcome in outcomes:
                outcome_from_json(outcome)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise RunStoreError(f"{name} is a damaged run record (an outcome cannot be read)") from None
        mappings = value.get("mappings", [])
        if not isinstance(mappings, list) or not all(
                isinstance(m, list) and len(m) == 2 and all(isinstance(p, str) for p in m) for m in mappings):
            raise RunStoreError(f"{name} is a damaged run record (its mappings are not [from, to] pairs)")
        return cls(value["id"], value["batch"], value["generation"], target, events, outcomes,
                   value["created"], value["updated"], value["runs"], mappings)


@dataclass(frozen=True)
class UnreadableRun:
    name: str  # the file's name in the folder
    problem: str


# ---- the folder ----

class RunStore:
    """The runs folder: records and journals of earlier sends. Reading it never changes it."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else default_runs_dir()

    def ensure(self) -> Path:
        """The folder, created (with its parents) mode 0700 if missing, and tightened to 0700 if looser."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = self.folder.stat()
        if not stat.S_ISDIR(info.st_mode):
            raise RunStoreError(f"the runs folder {self.folder} is not a folder")
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(self.folder, 0o700)
        return self.folder

    def new_id(self, batch: str, generation: int) -> str:
        # The time first, so a listing by name is by age too; the random part keeps two equal batches apart.
        stamp = now_iso()[:19].replace("-", "").replace(":", "")
        return f"{stamp}-{batch[:12]}-{generation}-{secrets.token_hex(3)}"

    def journal_path(self, run_id: str) -> str:
        _check_id(run_id)
        return str(self.folder / f"{run_id}{JOURNAL_SUFFIX}")

    def save(self, record: RunRecord) -> None:
        """Write the record atomically (a 0600 temporary file replaced into place); its ``updated`` is now."""
        _check_id(record.id)
        record.updated = now_iso()
        folder = self.ensure()
        try:
            data = json.dumps(record.to_json(), ensure_ascii=True, default=str).encode("ascii")
        except (ValueError, RecursionError) as exc:
            raise RunStoreError(f"the run {record.id} cannot be written as JSON ({type(exc).__name__})") from None
        final = folder / f"{record.id}{RUN_SUFFIX}"
        temporary = folder / f".{record.id}{RUN_SUFFIX}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if final.is_symlink() or (final.exists() and not final.is_file()):
                raise RunStoreError(f"{final.name} in the runs folder is not a regular file; the run was not saved")
            os.replace(temporary, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        with contextlib.suppress(OSError):  # the rename itself, durable too
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def load(self, run_id: str) -> RunRecord:
        _check_id(run_id)
        return self._read(f"{run_id}{RUN_SUFFIX}")

    def listing(self, limit: int | None = None) -> tuple[list[RunRecord], list[UnreadableRun]]:
        """Every run, newest first, and every file that is not part of a readable run.

        ``limit``: read only the newest ``limit`` records (by the time their id starts with), so a folder of
        thousands of runs lists quickly; the others are neither read nor listed.
        """
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            return [], [UnreadableRun(str(self.folder), f"the runs folder cannot be read: {exc.strerror}")]
        records = sorted((n for n in names if n.endswith(RUN_SUFFIX) and not n.startswith(".")), reverse=True)
        skipped = set(records[limit:]) if limit is not None else set()
        runs, unreadable = [], []
        for name in names:
            if name in skipped:
                continue
            if name.endswith(RUN_SUFFIX) and not name.startswith("."):
                try:
                    record = self._read(name)
                except RunStoreError as exc:
                    unreadable.append(UnreadableRun(name, str(exc)))
                    continue
                runs.append(record)
            elif name.endswith(JOURNAL_SUFFIX) and f"{name[:-len(JOURNAL_SUFFIX)]}{RUN_SUFFIX}" in names:
                continue  # a run's journal: read with its record
            else:
                unreadable.append(UnreadableRun(name, _stray(name)))
        runs.sort(key=lambda r: (r.updated, r.id), reverse=True)
        return runs, unreadable

    def latest_for(self, batch: str) -> RunRecord | None:
        """The newest run of this batch (its highest generation), if any; damaged files are passed over."""
        try:
            names = [n for n in os.listdir(self.folder) if f"-{batch[:12]}-" in n and n.endswith(RUN_SUFFIX)]
        except OSError:
            return None
        found = []
        for name in names:  # ids carry the batch's start (new_id), so only this batch's records are read
            with contextlib.suppress(RunStoreError):
                record = self._read(name)
                if record.batch == batch:
                    found.append(record)
        return max(found, key=lambda r: (r.generation, r.updated), default=None)

    def outcomes(self, record: RunRecord) -> list[EventOutcome]:
        """Each event's latest outcome: the record's, or the journal's where the journal knows more (a run
        that stopped before it could update its record). Sorted by event."""
        by_index = {}
        for value in record.outcomes:
            outcome = outcome_from_json(value)
            by_index[outcome.index] = outcome
        try:
            entries = read_journal(self.journal_path(record.id), [record.target])
        except JournalError:
            entries = {}
        for entry in entries.values():
            index = entry.get("index")
            if not isinstance(index, int) or not 0 <= index < record.total:
                continue
            known = by_index.get(index)
            if known is None or (known.key == entry["key"] and str(entry.get("at", "")) > record.updated):
                by_index[index] = outcome_from_journal(entry, str(record.events[index].get("location", "")))
        return [by_index[i] for i in sorted(by_index)]

    def _read(self, name: str) -> RunRecord:
        path = self.folder / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RunStoreError(f"{name} is a symbolic link; runs are read only from regular files") from None
            raise RunStoreError(f"{name} cannot be opened: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise RunStoreError(f"{name} is not a regular file")
            if info.st_size > MAX_RECORD_BYTES:
                raise RunStoreError(f"{name} is too large ({info.st_size:,} bytes) to be a run record")
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
        finally:
            os.close(fd)
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise RunStoreError(f"{name} is not a run record (not JSON)") from None
        record = RunRecord.from_json(value, name)
        if f"{record.id}{RUN_SUFFIX}" != name:
            raise RunStoreError(f"{name} names another run ({record.id!r}) inside")
        return record


def record_outcomes(outcomes: Iterable[EventOutcome]) -> list[dict[str, Any]]:
    """Outcomes as a record keeps them (JSON-ready, by event)."""
    return [o.to_json() for o in sorted(outcomes, key=lambda o: -1 if o.index is None else o.index)]


def _stray(name: str) -> str:
    if name.startswith(".") and name.endswith(".tmp"):
        return "a temporary file left by a save that did not finish; it was left as it is"
    if name.endswith(JOURNAL_SUFFIX):
        return "a journal without its run record; it was left as it is"
    return "not a run file; it was left as it is"


def _check_id(run_id: str) -> None:
    if not run_id or not all(c.isalnum() or c in "-_" for c in run_id) or not run_id.isascii():
        raise RunStoreError("a run id is letters, digits, '-' and '_' only")

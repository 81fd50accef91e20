"""Live sends kept in the run store (``freshsales_mapper.sending.run_store``), so they outlive the tab.

A Live batch is known by its content, its mapping settings and its target (domain and key fingerprint,
never the key): the same events sent again to the same account find their earlier run, and the page
offers Resume or "already sent" instead of a fresh full send. Sandbox sends are not kept: their journals
stay in the session's temp folder and go with the emulator (``sandbox.py``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from freshsales_mapper.engine.route import masked_template, parse_template
from freshsales_mapper.engine.secret import key_fingerprint
from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending.run_store import (
    RunRecord,
    RunStore,
    batch_identity,
    event_json,
    record_outcomes,
)
from freshsales_mapper.sending.target import SendTarget

from .pipeline import Settings, masked_destination
from .send_job import SendJob

SANDBOX_GONE = "Sandbox runs are not kept: they go with the emulator when this tab closes (or after it idles)."
SANDBOX_NOTE = SANDBOX_GONE + " Live runs are kept on this machine and listed under **Earlier Live runs**."


def store() -> RunStore:
    """The run store at its documented folder (read from the environment on every call, as tests set it)."""
    return RunStore()


def live_target(host: str, api_key: str) -> SendTarget:
    return SendTarget.of(f"https://{host}", host, api_key)


def mappings_of(settings: Settings) -> list[list[str]]:
    return [list(pair) for pair in settings.mappings]


def kept_events(items: list[EventInput]) -> list[dict[str, Any]]:
    """The events as a run keeps them: bare events as they are, processor bodies with their own key masked
    (a key template's default too: it is often the real key)."""
    return [event_json(i if i.bare else dataclasses.replace(i, destination=_kept_destination(i.destination)))
            for i in items]


def _kept_destination(destination: Any) -> Any:
    masked = masked_destination(destination)
    config = masked.get("Config") if isinstance(masked, dict) else None
    key = config.get("apiKey") if isinstance(config, dict) else None
    if isinstance(key, str) and parse_template(key):
        return {**masked, "Config": {**config, "apiKey": masked_template(key)}}
    return masked


def batch_for(items: list[EventInput], settings: Settings, target: SendTarget) -> str:
    """The Live batch's identity: events as kept (own keys masked), mappings, domain and key fingerprint."""
    return batch_identity(kept_events(items), mappings_of(settings), target)


def find_job(batch: str, where: str, generation: int, jobs: dict[str, SendJob],
             generations: dict[str, int]) -> SendJob | None:
    """This session's job for the batch, else the job of its kept run (restored into the session), else None."""
    job = jobs.get(f"{batch}/{generation}")
    if job is not None:
        return job
    restored = restore(store(), batch, where, generation)
    if restored is None:
        return None
    job, generations[batch] = restored
    jobs[job.batch_id] = job
    return job


def journal_for(job_id: str, where: str, api_key: str, items: list[EventInput],
                settings: Settings) -> tuple[str, Callable[[SendJob], None]]:
    """A new kept run for ``job_id`` ("batch/generation"): its journal path and the job's saver.

    :raises OSError, RunStoreError: the runs folder cannot be written.
    """
    batch, generation = job_id.split("/")
    return create(store(), batch, int(generation), live_target(where, api_key), items, settings)


def restore(runs: RunStore, batch: str, where: str, generation: int) -> tuple[SendJob, int] | None:
    """The job of this batch's newest kept run (its outcomes as they were), unless this session is past it."""
    record = runs.latest_for(batch)
    if record is None or record.generation < generation:
        return None
    job = SendJob(f"{batch}/{record.generation}", where, runs.journal_path(record.id), record.total,
                  runs=record.runs, outcomes=runs.outcomes(record))
    job.on_finish = saver(runs, record)
    return job, record.generation


def create(runs: RunStore, batch: str, generation: int, target: SendTarget, items: list[EventInput],
           settings: Settings) -> tuple[str, Callable[[SendJob], None]]:
    """A new kept run (its record saved before anything is sent): its journal path and the job's saver."""
    record = RunRecord(runs.new_id(batch, generation), batch, generation, target, kept_events(items),
                       mappings=mappings_of(settings))
    runs.save(record)
    return runs.journal_path(record.id), saver(runs, record)


def saver(runs: RunStore, record: RunRecord) -> Callable[[SendJob], None]:
    def save(job: SendJob) -> None:
        if not job.snapshot()[1] and record.outcomes:
            # This run got no outcome (e.g. another tab holds the journal): keep what the record says, which that
            # tab's own save brings up to date.
            return
        record.outcomes, record.runs = record_outcomes(job.latest()), job.runs
        runs.save(record)

    return save


def events_text(events: list[dict[str, Any]]) -> str:
    """The events as text for the editor: one event as indented JSON, more as NDJSON (one per line)."""
    documents = [_document(e) for e in events]

    def dump(ascii_only: bool) -> str:
        if len(documents) == 1:
            return json.dumps(documents[0], indent=2, ensure_ascii=ascii_only)
        return "\n".join(json.dumps(d, ensure_ascii=ascii_only) for d in documents)

    text = dump(False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in an event: kept exactly, as a \ud800 escape
        text = dump(True)
    return text


def _document(event: dict[str, Any]) -> Any:
    if not event.get("processor") and "destination" not in event:
        return event.get("message")
    return {k: event[k] for k in ("message", "destination", "metadata") if k in event}


def fingerprint_of(api_key: str | None) -> str | None:
    return key_fingerprint(api_key) if api_key else None

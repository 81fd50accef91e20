"""What the download buttons hand out. Built from previews, so the API key in them is masked by construction."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd

from freshsales_mapper.engine.plan import LookupStep, TransformResult

from .display import printable, processor_items, request_dict
from .pipeline import BatchReport


def _json_bytes(value: Any) -> bytes:
    # printable: a lone surrogate from an event is written as its JSON escape, as JSON.stringify does.
    return printable(json.dumps(value, ensure_ascii=False, indent=1, default=str)).encode("utf-8")


def results_json(frame: pd.DataFrame) -> bytes:
    """The events table, one object per input entry."""
    records = json.loads(frame.to_json(orient="records", force_ascii=False))
    return _json_bytes(records)


# OWASP's CSV injection guidance: a spreadsheet runs a cell starting with one of these as a formula
# (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``); a leading ``'`` makes it plain text. Tab and CR
# are on the list because some spreadsheets strip them and then read the formula behind them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'``; everything else as is.

    Numbers stay numbers (``-5`` is a value, not a formula); only text can carry a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def results_csv(frame: pd.DataFrame) -> bytes:
    """The events table as CSV, safe to open in a spreadsheet (see :data:`FORMULA_STARTS`)."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(neutralised_cell)
    safe.columns = [neutralised_cell(name) for name in safe.columns]
    # RFC 4180's CRLF rows: pandas quotes a cell holding a character of the line terminator, so with
    # CRLF a lone CR inside a cell is quoted too instead of splitting the row in some readers.
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _plan_entry(result: TransformResult) -> dict:
    steps = []
    for step in result.steps:
        entry: dict[str, Any] = {"kind": step.kind}
        if isinstance(step, LookupStep):
            entry.update(purpose=step.purpose, writes=step.writes,
                         offline_note=step.reply.note if step.reply is not None else "")
        else:
            entry["freshsales_event"] = step.freshsales_event
        entry["request"] = request_dict(step.request)
        steps.append(entry)
    plan: dict[str, Any] = {"steps": steps}
    if result.error is not None:
        plan["error"] = dataclasses.asdict(result.error)
    return plan


def plans_json(report: BatchReport) -> bytes:
    """Each event's request plan (lookups and final requests, headers masked), then the unreadable inputs."""
    entries: list[dict] = []
    for item, result in zip(report.items, report.results, strict=True):
        entries.append({"#": item.index + 1, "input": item.location, "type": result.event_type,
                        **_plan_entry(result)})
    entries += [{"#": None, "input": e.location, "unreadable": e.message, "line": e.line, "column": e.column}
                for e in report.errors]
    return _json_bytes(entries)


def processor_json(report: BatchReport) -> bytes:
    """RudderStack's processor response for the batch (one item per delivered request or error), key masked."""
    items: list[dict] = []
    for item, result in zip(report.items, report.results, strict=True):
        items += processor_items(result, item.metadata)
    return _json_bytes(items)

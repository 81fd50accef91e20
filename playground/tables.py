"""pandas frames for the page: one event's field mapping, its unmapped inputs, the batch table and its counts."""

from __future__ import annotations

import pandas as pd

from freshsales_mapper.engine.plan import FieldTrace, Placeholder, TransformResult

from .display import json_text
from .pipeline import BatchReport

FIELD_COLUMNS = ("section", "Freshsales field", "status", "winning source", "raw value", "value sent", "notes")
STATUS_WORDS = {
    "sent": "sent",
    "used": "lookup",
    "unset": "no value",
    "dropped": "DROPPED",
    "missing-required": "MISSING",
}
PASSED_OVER = ("missing", "null", "empty", "nan")


def status_word(trace: FieldTrace) -> str:
    """A short word (the column is narrow); the notes column says why."""
    if isinstance(trace.sent, Placeholder):
        return "placeholder"
    word = STATUS_WORDS.get(trace.status, trace.status)
    return "sent (note)" if word == "sent" and trace.warnings else word


def notes_of(trace: FieldTrace) -> str:
    notes = list(trace.warnings)
    if trace.status == "missing-required":
        notes.insert(0, f"required: nothing usable in {trace.sources}, so RudderStack stops with an error")
    elif trace.status == "used":
        notes.insert(0, "read to find the contact (not sent as a field)")
    passed = [f"{c.path} ({c.outcome})" for c in trace.candidates if c.outcome in PASSED_OVER and c.found]
    if passed and trace.winner:
        notes.append("passed over: " + ", ".join(passed))
    if isinstance(trace.sent, Placeholder):
        notes.append("offline placeholder: the real id comes from Freshsales' answer to a lookup")
    if trace.coercion:
        notes.append(f"coerced with {'Number()' if trace.coercion == 'toNumber' else 'parseFloat()'}")
    return "; ".join(notes)


def field_frame(result: TransformResult, *, include_unset: bool = False) -> pd.DataFrame:
    rows = []
    for trace in result.fields:
        if trace.status == "unset" and not include_unset:
            continue
        rows.append({
            "section": trace.section,
            "Freshsales field": trace.dest,
            "status": status_word(trace),
            "winning source": trace.winner or "",
            "raw value": json_text(trace.raw),
            "value sent": json_text(trace.sent),
            "notes": notes_of(trace),
        })
    return pd.DataFrame(rows, columns=list(FIELD_COLUMNS), dtype="object")


def unmapped_frame(result: TransformResult) -> pd.DataFrame:
    rows = [{"input path": u.path, "value": json_text(u.value), "hint": u.hint} for u in result.unmapped]
    return pd.DataFrame(rows, columns=["input path", "value", "hint"], dtype="object")


def doc_notes(result: TransformResult) -> tuple[list[str], list[str]]:
    """Doc-vs-code notes: (event-level notes and those of fields this event sets, those of the other fields)."""
    relevant: list[str] = list(dict.fromkeys(result.notes))
    other: list[str] = []
    for trace in result.fields:
        if trace.doc_note:
            note = f"`{trace.dest}`: {trace.doc_note}"
            target = other if trace.status == "unset" else relevant
            if note not in relevant and note not in other:
                target.append(note)
    return relevant, other


def batch_frame(report: BatchReport) -> pd.DataFrame:
    frame = pd.DataFrame(report.columns)
    frame["#"] = frame["#"].astype("Int64")
    return frame


def outcome_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Events per type and status, one row per pair (long form, for the chart)."""
    if frame.empty:
        return pd.DataFrame(columns=["type", "status", "events"])
    kinds = frame["type"].where(frame["status"] != "unreadable", "(unreadable)")
    return frame.assign(type=kinds).groupby(["type", "status"], sort=False).size().reset_index(name="events")


def reason_counts(frame: pd.DataFrame) -> pd.DataFrame:
    failed = frame[frame["status"] != "mapped"]
    if failed.empty:
        return pd.DataFrame(columns=["reason", "events", "RudderStack"])
    grouped = failed.groupby(["reason", "RudderStack"], sort=False).size().reset_index(name="events")
    return grouped.sort_values("events", ascending=False, kind="stable")[["reason", "events", "RudderStack"]]


def filter_frame(frame: pd.DataFrame, statuses: list[str], kinds: list[str], text: str) -> pd.DataFrame:
    shown = frame
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if kinds:
        shown = shown[shown["type"].isin(kinds)]
    if text.strip():
        needle = text.strip().lower()
        haystack = (shown["input"] + " " + shown["user"] + " " + shown["event"] + " " + shown["reason"]).str.lower()
        shown = shown[haystack.str.contains(needle, regex=False)]
    return shown

"""pandas frames for the page: the batch table and its counts; one event's doc-vs-code notes."""

from __future__ import annotations

import pandas as pd

from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.vocabulary import FieldStatus, MappingOutcome

from .display import printable
from .pipeline import BatchReport


def doc_notes(result: TransformResult) -> tuple[list[str], list[str]]:
    """Doc-vs-code notes: (event-level notes and those of fields this event sets, those of the other fields)."""
    relevant: list[str] = list(dict.fromkeys(result.notes))
    other: list[str] = []
    for trace in result.fields:
        if trace.doc_note:
            note = f"{trace.dest}: {trace.doc_note}"  # shown escaped (markdown_literal): no code marks here
            target = other if trace.status is FieldStatus.UNSET else relevant
            if note not in relevant and note not in other:
                target.append(note)
    return relevant, other


def batch_frame(report: BatchReport) -> pd.DataFrame:
    # Arrow (the table) and the browser take UTF-8 only: a lone surrogate from an event shows escaped.
    frame = pd.DataFrame({name: [printable(v) if type(v) is str else v for v in values]
                          for name, values in report.columns.items()})
    frame["#"] = frame["#"].astype("Int64")
    return frame


def outcome_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Events per type and status, one row per pair (long form, for the chart)."""
    if frame.empty:
        return pd.DataFrame(columns=["type", "status", "events"])
    kinds = frame["type"].where(frame["status"] != "unreadable", "(unreadable)")
    return frame.assign(type=kinds).groupby(["type", "status"], sort=False).size().reset_index(name="events")


def reason_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Events per reason: RudderStack's errors, unreadable entries, and the losses of lossy events."""
    failed = frame[frame["status"] != MappingOutcome.MAPPED]
    if failed.empty:
        return pd.DataFrame(columns=["reason", "events", "RudderStack"])
    grouped = failed.groupby(["reason", "RudderStack"], sort=False).size().reset_index(name="events")
    return grouped.sort_values("events", ascending=False, kind="stable")[["reason", "events", "RudderStack"]]


def filter_frame(frame: pd.DataFrame, statuses: list[str], kinds: list[str], text: str,
                 content: list[str] | None = None) -> pd.DataFrame:
    """Rows with one of the statuses and types; ``text`` is searched in the columns and in ``content`` (one
    string per row of ``frame``: the event's keys and values)."""
    shown = frame
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if kinds:
        shown = shown[shown["type"].isin(kinds)]
    if text.strip():
        needle = text.strip().lower()
        haystack = (shown["input"] + " " + shown["user"] + " " + shown["event"] + " " + shown["reason"]).str.lower()
        if content is not None:
            haystack = haystack + " " + pd.Series(content, index=frame.index).loc[shown.index]
        shown = shown[haystack.str.contains(needle, regex=False)]
    return shown

"""How ``send`` shows what happened: JSON lines for programs, a progress line and a table for people.

Piped (or with ``--json``), stdout gets one JSON outcome per event as soon as it is known: what scripts
and the journal-reading tools expect. On a terminal that is 680 KB of JSON for 240 events, so a person
gets instead a progress line on stderr, rewritten in place, and at the end a table of the outcomes
grouped by status: delivered and skipped events counted by reason (they need nothing from you), failed
and unknown events listed one by one with their reasons (they do), wrapped to the terminal's width.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections import Counter
from typing import TextIO

from freshsales_mapper.sending.outcomes import EventOutcome, SendOutcome
from freshsales_mapper.sending.summary import rejection_note

# Status order in the table: what needs action first.
_ORDER = (SendOutcome.FAILED, SendOutcome.UNKNOWN, SendOutcome.DELIVERED, SendOutcome.SKIPPED)
_LISTED = (SendOutcome.FAILED, SendOutcome.UNKNOWN)  # one line per event; the others are counted by reason
LIST_AT_MOST = 50  # events listed per status; the rest are counted (--json lists every one)


def json_line(outcome: EventOutcome) -> str:
    line = json.dumps(outcome.to_json(), ensure_ascii=False)
    if not line.isascii():  # a lone surrogate from an event is written as its escape, as JSON.stringify does
        line = line.encode("utf-8", "backslashreplace").decode("utf-8")
    return line


class SendDisplay:
    """Shows outcomes as they come and at the end, for programs (``json_lines``) or for people.

    :param json_lines: write each outcome as a JSON line on ``out`` (else: progress on ``err``, a table at the end).
    :param progress: rewrite a progress line on ``err`` (only when ``err`` is a terminal).
    """

    def __init__(self, out: TextIO, err: TextIO, *, json_lines: bool, progress: bool, width: int | None = None):
        self.out, self.err = out, err
        self.json_lines, self.progress = json_lines, progress and not json_lines
        self.width = width or shutil.get_terminal_size((100, 24)).columns
        self.counts: Counter[SendOutcome] = Counter()
        self._line_shown = False

    def outcome(self, done: int, total: int, outcome: EventOutcome) -> None:
        self.counts[outcome.status] += 1
        if self.json_lines:
            self.out.write(json_line(outcome) + "\n")
            self.out.flush()
        elif self.progress:
            parts = " · ".join(f"{self.counts[s]} {s}" for s in _ORDER if self.counts[s])
            self._rewrite(f"send: {done}/{total} events · {parts}")

    def message(self, text: str) -> None:
        """A line on stderr (a wait, a warning) that must not be overwritten by the progress line."""
        self._clear()
        self.err.write(f"send: {text}\n")
        self.err.flush()

    def finish(self, outcomes: list[EventOutcome]) -> None:
        self._clear()
        if not self.json_lines:
            self.out.write(outcome_table(outcomes, self.width))
            self.out.flush()

    def _rewrite(self, text: str) -> None:
        self.err.write("\r\033[K" + text[: max(self.width - 1, 20)])
        self.err.flush()
        self._line_shown = True

    def _clear(self) -> None:
        if self._line_shown:
            self.err.write("\r\033[K")
            self.err.flush()
            self._line_shown = False


def outcome_table(outcomes: list[EventOutcome], width: int = 100) -> str:
    """The outcomes grouped by status, most urgent first, wrapped to ``width`` columns."""
    width = max(width, 40)
    lines: list[str] = []
    for status in _ORDER:
        group = [o for o in outcomes if o.status == status]
        if not group:
            continue
        if lines:
            lines.append("")
        lines += _wrapped(f"{status.title.upper()}: {len(group)} event{'s' if len(group) != 1 else ''}"
                          + _retry_note(group, status), width, "", "  ")
        if status in _LISTED:
            for outcome in group[:LIST_AT_MOST]:
                where = outcome.location or (f"event {outcome.index + 1}" if outcome.index is not None else "input")
                lines += _wrapped(f"{where}: {outcome.reason}", width, "  ", "      ")
            if len(group) > LIST_AT_MOST:
                lines.append(f"  … and {len(group) - LIST_AT_MOST} more (--json lists every event)")
        else:
            by_reason = Counter(_short_reason(o) for o in group)
            for reason, count in by_reason.most_common():
                lines += _wrapped(f"{count:>5} × {reason}", width, "  ", "          ")
    return "\n".join(lines) + "\n" if lines else "No events.\n"


def _retry_note(group: list[EventOutcome], status: SendOutcome) -> str:
    """What the group's events have in common, in the words the page uses too."""
    if status == SendOutcome.SKIPPED:
        rejected = sum(o.rejected for o in group)
        return rejection_note(rejected, len(group)) if rejected else " (dry run: nothing sent)"
    if status != SendOutcome.FAILED:
        return ""
    retryable = sum(o.retryable for o in group)
    refused = sum(o.refused for o in group)
    parts = ([f"{refused} refused by Freshsales"] if refused else []) + (
        [f"{retryable} a retry can fix"] if retryable else []) + (
        [f"{len(group) - refused - retryable} not sent"] if len(group) - refused - retryable else [])
    if retryable == len(group):
        return f" (a retry can fix {'it' if retryable == 1 else 'them'}: sending again can help)"
    if refused == len(group):
        return " (refused by Freshsales: sending again will not help until fixed)"
    return " (" + ", ".join(parts) + ")"


def _short_reason(outcome: EventOutcome) -> str:
    reason = outcome.reason or str(outcome.status)
    if outcome.losses:
        reason += " · lost: " + ", ".join(loss.text for loss in outcome.losses)
    return reason


def _wrapped(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest, break_long_words=True,
                         break_on_hyphens=False) or [first]

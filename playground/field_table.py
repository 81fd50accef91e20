"""One event's field mapping as rows a person reads at a glance: field, value sent, why.

Built as plain data first (``field_rows``) so tests and the headline use the same words the page shows,
then as one HTML table whose cells wrap (a grid would hide the "why" column off-screen at 800 px).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from freshsales_mapper.engine.plan import Candidate, FieldTrace, Placeholder, TransformResult
from freshsales_mapper.engine.vocabulary import CandidateOutcome, FieldStatus, ValueStepKind

from .display import json_text

# Order on the page: what went wrong first, then what needs a second look, then what simply worked.
PROBLEM, ATTENTION, SENT, LOOKUP, EMPTY = range(5)
KIND_CLASS = {PROBLEM: "bad", ATTENTION: "warn", SENT: "ok", LOOKUP: "info", EMPTY: "none"}

# What a source held, in words (the engine's candidate outcomes).
HELD = {
    CandidateOutcome.MISSING: "missing",
    CandidateOutcome.NULL: "null",
    CandidateOutcome.EMPTY: "empty string",
    CandidateOutcome.NAN: "NaN",
    CandidateOutcome.NOT_REACHED: "not checked (an earlier source won)",
}
# Each status's badge and row kind (hence its colour, KIND_CLASS); a sent field may still need a second look.
STATUS_LOOK = {
    FieldStatus.MISSING_REQUIRED: ("missing", PROBLEM),
    FieldStatus.DROPPED: ("dropped", PROBLEM),
    FieldStatus.USED: ("lookup", LOOKUP),
    FieldStatus.UNSET: ("no value", EMPTY),
    FieldStatus.SENT: ("sent", SENT),
}


@dataclass(frozen=True)
class FieldRow:
    section: str
    field: str
    badge: str  # "dropped", "missing", "flattened", "coerced", "note", "placeholder", "sent", "lookup", "no value"
    kind: int  # PROBLEM .. EMPTY
    value: str  # the value sent, as JSON ("" when nothing is sent)
    why: str  # one line


def _held(candidate: Candidate) -> str:
    if candidate.outcome in HELD:
        return f"{candidate.path}: {HELD[candidate.outcome]}"
    if candidate.outcome is CandidateOutcome.LATER:
        return f"{candidate.path}: {json_text(candidate.value)} (also set, not used)"
    if candidate.outcome is CandidateOutcome.KEPT_AS_IS:
        return f"{candidate.path}: {json_text(candidate.value)}"
    return f"{candidate.path}: {json_text(candidate.value)}"


def looked_at(trace: FieldTrace) -> str:
    """Every source RudderStack checked for the field, in order, with what it held."""
    return " · ".join(_held(c) for c in trace.candidates if c.outcome is not CandidateOutcome.NOT_REACHED) or trace.sources


def _passed_over(trace: FieldTrace) -> list[str]:
    return [_held(c) for c in trace.candidates if c.outcome.passed_over and c.found]


def _coerced(trace: FieldTrace) -> bool:
    return bool(trace.coercion) and trace.status is FieldStatus.SENT and json_text(trace.raw) != json_text(trace.sent)


def _classify(trace: FieldTrace) -> tuple[str, int]:
    if trace.status is not FieldStatus.SENT:
        return STATUS_LOOK[trace.status]
    if isinstance(trace.sent, Placeholder):
        return "placeholder", ATTENTION
    steps = {step.kind for step in trace.steps}
    if ValueStepKind.FLATTEN_ADDRESS in steps:
        return "flattened", ATTENTION
    if _coerced(trace):
        return "coerced", ATTENTION
    if trace.warnings:
        return "note", ATTENTION
    if ValueStepKind.LOOKED_UP in steps:
        return "looked up", SENT
    return STATUS_LOOK[FieldStatus.SENT]


def _why(trace: FieldTrace, kind: int) -> str:
    parts: list[str] = []
    if trace.status is FieldStatus.MISSING_REQUIRED:
        parts.append(f"required, and nothing usable was found, so RudderStack stops with an error. "
                     f"Looked at {looked_at(trace)}")
    elif trace.status is FieldStatus.DROPPED:
        parts += trace.warnings or ["the value was not usable, so the field is left out"]
        if trace.winner:
            parts.append(f"from {trace.winner} = {json_text(trace.raw)}")
        return "; ".join(parts)
    elif kind == EMPTY:
        return f"no value: {looked_at(trace)}"
    elif trace.status is FieldStatus.USED:
        parts.append(f"read from {trace.winner} to find the contact (not sent as a field)")
    elif trace.winner:
        parts.append(f"from {trace.winner}")
    if _coerced(trace):
        how = "Number()" if trace.coercion == "toNumber" else "parseFloat()"
        parts.append(f"{json_text(trace.raw)} converted with JavaScript {how}")
    parts += trace.warnings
    passed = _passed_over(trace)
    if passed and trace.winner:
        parts.append("passed over " + ", ".join(passed))
    if isinstance(trace.sent, Placeholder):
        parts.append("offline placeholder: the real id comes from Freshsales' answer to a lookup")
    return "; ".join(parts)


def field_rows(result: TransformResult) -> list[FieldRow]:
    """Every field RudderStack tried for this event, problems first; within a group, table order."""
    rows = []
    for trace in result.fields:
        badge, kind = _classify(trace)
        rows.append(FieldRow(trace.section, trace.dest, badge, kind, json_text(trace.sent), _why(trace, kind)))
    return sorted(rows, key=lambda r: r.kind)


def problem_summary(rows: list[FieldRow]) -> list[str]:
    """Short phrases for the headline: "owner_id dropped", "emails missing"."""
    return [f"{r.field} {r.badge}" for r in rows if r.kind == PROBLEM]


def _cell(text: str, css: str = "") -> str:
    return f'<td class="{css}">{html.escape(text)}</td>' if css else f"<td>{html.escape(text)}</td>"


def rows_html(rows: list[FieldRow], *, sections: bool) -> str:
    """One wrapping table; ``sections`` adds which object a field belongs to (group events have several)."""
    body = []
    for row in rows:
        css = KIND_CLASS[row.kind]
        name = (f"{html.escape(row.section)}." if sections and row.section else "") + html.escape(row.field)
        field_cell = (f'<td class="fm-field"><code>{name}</code> '
                      f'<span class="fm-badge fm-{css}">{html.escape(row.badge)}</span></td>')
        if row.kind == EMPTY:  # nothing sent: the sources looked at get the value's column too
            cells = f'<td class="fm-why" colspan="2">{html.escape(row.why)}</td>'
        else:
            cells = _cell(row.value or "—", "fm-value") + _cell(row.why, "fm-why")
        body.append(f'<tr class="fm-row fm-{css}">{field_cell}{cells}</tr>')
    return ('<table class="fm-table"><colgroup><col class="fm-c1"><col class="fm-c2"><col class="fm-c3"></colgroup>'
            "<thead><tr><th>Field</th><th>Value sent</th><th>Why</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def unmapped_html(result: TransformResult) -> str:
    """Inputs no field read, each with its hint in the same row."""
    body = "".join(f'<tr><td class="fm-field"><code>{html.escape(u.path)}</code></td>'
                   f'{_cell(json_text(u.value), "fm-value")}{_cell(u.hint, "fm-why")}</tr>' for u in result.unmapped)
    return ('<table class="fm-table fm-unmapped"><colgroup><col class="fm-c1"><col class="fm-c2"><col class="fm-c3">'
            "</colgroup><thead><tr><th>Input</th><th>Value</th><th>Hint</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def plain_table_html(headers: list[str], rows: list[list[str]], *, widths: tuple[int, ...]) -> str:
    """A wrapping table of plain text cells; ``widths`` are percentages per column."""
    cols = "".join(f'<col style="width:{w}%">' for w in widths)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f'<table class="fm-table"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

"""One event's field mapping as rows a person reads at a glance: field, value sent, why.

Built as plain data first (``field_rows``) so tests and the headline use the same words the page shows,
then as one HTML table whose cells wrap (a grid would hide the "why" column off-screen at 800 px).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from freshsales_mapper.engine.plan import Candidate, FieldTrace, Placeholder, TransformResult
from freshsales_mapper.engine.tables import USED_FOR
from freshsales_mapper.engine.vocabulary import CandidateOutcome, FieldStatus, LossKind, ValueStepKind

from .display import json_text

# Order on the page: what went wrong first, then what needs a second look, then what simply worked.
PROBLEM, ATTENTION, SENT, LOOKUP, EMPTY = range(5)
KIND_CLASS = {PROBLEM: "bad", ATTENTION: "warn", SENT: "ok", LOOKUP: "info", EMPTY: "none"}

USER_EMAIL = "user email (contact lookup)"  # the table's destKey for the email RudderStack finds a contact by

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
    hint: str = ""  # an unread input that most likely meant this field, and what to do about it


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
    if trace.not_reached:  # traced past RudderStack's error: it would send this once the error is fixed
        return "not reached", ATTENTION
    if isinstance(trace.sent, Placeholder):
        return "placeholder", ATTENTION
    steps = {step.kind for step in trace.steps}
    if ValueStepKind.FLATTEN_ADDRESS in steps:
        if blanked(trace):
            return "blanked", PROBLEM
        return "flattened", ATTENTION
    if _coerced(trace):
        return "coerced", ATTENTION
    if trace.warnings:
        return "note", ATTENTION
    if ValueStepKind.LOOKED_UP in steps:
        return "looked up", SENT
    return STATUS_LOOK[FieldStatus.SENT]


def blanked(trace: FieldTrace) -> bool:
    """An address that was not an object, sent as "" (which overwrites the address Freshsales has)."""
    return any(step.kind is ValueStepKind.FLATTEN_ADDRESS and step.after == ""
               and not isinstance(step.before, (dict, list)) for step in trace.steps)


def _why(trace: FieldTrace, kind: int) -> str:
    why = _plain_why(trace, kind)
    if trace.not_reached:  # traced past RudderStack's error: what the field would hold once that is fixed
        return f"{trace.not_reached}; " + (why.replace("no value: ", "would have no value: ", 1) if kind == EMPTY
                                            else "would hold this: " + why)
    return why


def _plain_why(trace: FieldTrace, kind: int) -> str:
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
        parts.append(f"read from {trace.winner} " + USED_FOR.get(trace.dest, "and acted on (not sent as a field)"))
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
    """Every field RudderStack tried for this event, problems first; within a group, table order.

    A field with no value that an unread input most likely meant carries that input's hint, and is
    shown among the rows that need a look (not folded away with the other empty fields).
    """
    hints = _hints_by_field(result)
    unlinked = next((loss for loss in result.losses if loss.kind is LossKind.CONTACT_NOT_LINKED), None)
    rows = []
    for trace in result.fields:
        badge, kind = _classify(trace)
        if unlinked is not None and trace.section == "sales_account" and trace.dest == USER_EMAIL:
            rows.append(FieldRow(trace.section, trace.dest, "contact not linked", ATTENTION, "",
                                 f"{unlinked.detail}. Looked at {looked_at(trace)}"))
            continue
        hint = hints.pop(trace.dest, "") if trace.status is not FieldStatus.SENT else ""
        if hint and kind == EMPTY:
            kind = ATTENTION
        rows.append(FieldRow(trace.section, trace.dest, badge, kind, json_text(trace.sent), _why(trace, kind), hint))
    return sorted(rows, key=lambda r: r.kind)


def _hints_by_field(result: TransformResult) -> dict[str, str]:
    """Each field an unread input most likely meant -> "traits.mobile = "+1 555": <the hint>"."""
    hints: dict[str, list[str]] = {}
    for unread in result.unmapped:
        if unread.fields:
            hints.setdefault(unread.fields[0], []).append(f"{unread.path} = {json_text(unread.value)}: "
                                                          f"{unread.hint}")
    return {dest: "; ".join(texts) for dest, texts in hints.items()}


def problem_summary(rows: list[FieldRow], result: TransformResult | None = None) -> list[str]:
    """Short phrases for the headline, losses first: "owner_id dropped", 'address blanked to ""', "emails missing"."""
    losses = result.losses if result is not None else []
    told = {loss.field for loss in losses}
    return [loss.text for loss in losses] + [f"{r.field} {r.badge}" for r in rows
                                             if r.kind == PROBLEM and r.field not in told]


def _cell(text: str, css: str = "") -> str:
    return f'<td class="{css}">{html.escape(text)}</td>' if css else f"<td>{html.escape(text)}</td>"


def rows_html(rows: list[FieldRow], *, sections: bool, folded: bool = False) -> str:
    """One wrapping table; ``sections`` adds which object a field belongs to (group events have several);
    ``folded`` marks the table of fields with no value, shown on demand."""
    body = []
    for row in rows:
        css = KIND_CLASS[row.kind]
        name = (f"{html.escape(row.section)}." if sections and row.section else "") + html.escape(row.field)
        field_cell = (f'<td class="fm-field"><code>{name}</code> '
                      f'<span class="fm-badge fm-{css}">{html.escape(row.badge)}</span></td>')
        hint = f'<div class="fm-hint">hint: {html.escape(row.hint)}</div>' if row.hint else ""
        if row.kind == EMPTY:  # nothing sent: the sources looked at get the value's column too
            cells = f'<td class="fm-why" colspan="2">{html.escape(row.why)}{hint}</td>'
        else:
            cells = _cell(row.value or "—", "fm-value") + f'<td class="fm-why">{html.escape(row.why)}{hint}</td>'
        body.append(f'<tr class="fm-row fm-{css}">{field_cell}{cells}</tr>')
    table_class = "fm-table fm-folded" if folded else "fm-table"
    return (f'<table class="{table_class}"><colgroup><col class="fm-c1"><col class="fm-c2"><col class="fm-c3">'
            "</colgroup><thead><tr><th>Field</th><th>Value sent</th><th>Why</th></tr></thead>"
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

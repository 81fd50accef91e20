"""What an event becomes in Freshsales, for people: record cards, the picture of the flow, the batch story.

Cards and picture come from the pure views (``engine.records``, ``engine.flow``) over the same plan as the
request list. Every value is escaped here (``html.escape`` for the cards, ``flow.dot_string`` inside the
picture): events, settings and replies are never read as Markdown or HTML.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from freshsales_mapper.engine.flow import flow_graph
from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.records import CardState, RecordCard, RecordKind, record_cards

from .display import printable
from .flow_view import flow_html
from .story import Story

CURRENT_JOB = "_current_send_job"  # the send shown on this run (set by send_panel), for the cards after a send
CARDS = "fm_cards"  # keyed container: the CSS in style.py lays the cards out
PRESENTER = "fm_presenter"  # keyed container around presenter mode's content: large type
_RECORD_KEYS = {kind.value: kind for kind in RecordKind}  # a reply's or readback's key -> its kind


def cards_html(cards: Sequence[RecordCard], *, compact: bool = False) -> str:
    """The cards as one escaped HTML block (one element, not dozens: the page stays light)."""
    blocks = []
    for card in cards:
        state = "stored in Freshsales" if card.state == CardState.STORED else "would be"
        rows = "".join(
            f'<div class="fm-card-row"><span class="fm-card-label">{html.escape(line.label)}</span>'
            f'<span class="fm-card-value{" fm-assigned" if line.assigned else ""}">'
            f'{html.escape(line.value).replace(chr(10), "<br>")}</span></div>'
            for line in card.lines if not (compact and line.label in ("Id", "Notes")))
        blocks.append(
            f'<div class="fm-card fm-card-{card.kind}{" fm-stored" if card.state == CardState.STORED else ""}">'
            f'<div class="fm-card-kind">{html.escape(card.kind.title)} · '
            f'<span class="fm-card-state">{html.escape(state)}</span>'
            f'{" · " + html.escape(card.action) if card.action else ""}</div>'
            f'<div class="fm-card-name">{html.escape(card.name)}</div>{rows}</div>')
    # printable: a lone surrogate from an event (valid in JavaScript, not in UTF-8) shows as its escape.
    return printable(f'<div class="fm-cards{" fm-compact" if compact else ""}">{"".join(blocks)}</div>')


def render_cards(cards: Sequence[RecordCard], result: TransformResult) -> None:
    if not cards:
        st.caption("No Freshsales record: " + ("RudderStack rejects this event, so nothing reaches Freshsales."
                                              if result.error is not None else "this event sends nothing."))
        return
    with st.container(key=CARDS):
        st.html(cards_html(cards))
    if all(card.state == CardState.WOULD_BE for card in cards):
        st.caption("Offline preview: what the records would be. Ids and anything only Freshsales can answer "
                   "read “assigned by Freshsales”; send in Sandbox mode to see what Freshsales stores.")
    elif any(card.state == CardState.WOULD_BE for card in cards):
        st.caption("Cards marked “stored” show what Freshsales holds now; the others were not read back.")
    else:
        st.caption("What Freshsales stored, read back after the send.")


def render_flow(result: TransformResult, cards: Sequence[RecordCard], event: str,
                sent: Sequence[Mapping[str, Any]] | None = None, *, large: bool = False) -> None:
    # HTML boxes laid out by CSS (flow_view.py): a Graphviz layout on the page held it up on every paste.
    st.html(flow_html(flow_graph(result, cards, event, sent, large=large)))
    st.caption("Event → RudderStack → each request (dashed: lookups RudderStack makes while transforming; "
               "WRITES: they change Freshsales) → the records. A failed step is red with its reason.")


def sandbox_names() -> dict[str, dict[str, str]]:
    """The Sandbox account's names for owner, lifecycle stage and activity type ids (its selectors' data)."""
    from freshsales_mapper.emulator import seed

    def by_id(items: list[dict[str, Any]], key: str) -> dict[str, str]:
        return {str(item["id"]): str(item[key]) for item in items}

    return {"owner_id": by_id(seed.USERS, "display_name"), "lifecycle_stage_id": by_id(seed.LIFECYCLE_STAGES, "name"),
            "sales_activity_type_id": by_id(seed.SALES_ACTIVITY_TYPES, "name")}


def stored_records(outcome: Any) -> list[dict[str, Any]]:
    """What Freshsales stored for one sent event: the records read back after the send (``read_back``, the
    same in Sandbox and Live), else the record in Freshsales' answer to the last request."""
    readback = getattr(outcome, "readback", None) or []
    found = [{"kind": _RECORD_KEYS[entry["kind"]], "id": entry.get("id"), "record": entry["record"]}
             for entry in readback if entry.get("kind") in _RECORD_KEYS and isinstance(entry.get("record"), Mapping)]
    if found:
        return found
    response = getattr(outcome, "response", None)
    if isinstance(response, Mapping):
        for key, kind in _RECORD_KEYS.items():
            record = response.get(key)
            if isinstance(record, Mapping) and record.get("id") is not None:
                found.append({"kind": kind, "id": record.get("id"), "record": dict(record)})
    return found


def render_story(story: Story, *, after_send: bool) -> None:
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("**The batch in one line**" + (" (after the send)" if after_send else " (nothing sent yet)"))
        st.text(story.sentence)
    with right:
        if not story.chart.empty:
            st.vega_lite_chart(story.chart, _story_chart(list(story.chart["outcome"].unique())), width="stretch")


OUTCOME_COLOURS = {"would be sent": "#1f77b4", "delivered": "#2e9e5b", "skipped": "#b0b0b0",
                   "failed": "#d9534f", "unknown": "#f0ad4e", "not sent yet": "#d0d0d0"}


def _story_chart(outcomes: list[str]) -> dict:
    """Records by object, coloured by outcome; the legend lists only the outcomes present."""
    shown = [o for o in OUTCOME_COLOURS if o in outcomes] + [o for o in outcomes if o not in OUTCOME_COLOURS]
    return {
        "mark": {"type": "bar", "tooltip": True},
        "height": {"step": 26},
        "encoding": {
            "x": {"field": "records", "type": "quantitative", "aggregate": "sum", "title": "records"},
            "y": {"field": "object", "type": "nominal", "title": None, "sort": "-x"},
            "color": {"field": "outcome", "type": "nominal",
                      "legend": {"orient": "bottom", "title": None, "columns": 3},
                      "scale": {"domain": shown, "range": [OUTCOME_COLOURS.get(o, "#7f7f7f") for o in shown]}},
        },
    }


def sent_outcome(index: int) -> Any:
    """The latest send outcome of the batch's event at ``index`` on this run, or None (nothing sent)."""
    job = st.session_state.get(CURRENT_JOB)
    if job is None or job.running:
        return None
    return next((o for o in job.latest() if o.index == index), None)


def batch_outcomes(count: int) -> tuple[str | None, ...] | None:
    """Each event's latest send outcome (None where it has none yet), or None when nothing was sent."""
    job = st.session_state.get(CURRENT_JOB)
    if job is None or job.running:
        return None
    by_index = {o.index: str(o.status) for o in job.latest()}
    return tuple(by_index.get(index) for index in range(count)) if by_index else None


def render_compact_cards(results: Sequence[TransformResult], numbers: Sequence[int], limit: int = 12) -> None:
    """A compact list of cards for the events shown in the batch table (the first ``limit``)."""
    picked = [n for n in numbers if 0 < n <= len(results)][:limit]
    with st.expander(f"Freshsales records for the events in the table (first {len(picked)})"):
        for number in picked:
            cards = record_cards(results[number - 1])
            st.caption(f"Event {number}" + ("" if cards else ": no record (RudderStack rejects it)"))
            if cards:
                st.html(cards_html(cards, compact=True))


def render_records_and_flow(result: TransformResult, index: int, event: str, *, presenter: bool) -> None:
    """The cards, then the picture: for this event, offline or as the last send left it."""
    from . import sandbox  # the emulator is only there in Sandbox mode

    outcome = sent_outcome(index)
    server = sandbox.running() if outcome is not None else None
    stored = stored_records(outcome) if outcome is not None and outcome.requests else None
    cards = record_cards(result, stored, sandbox_names() if server is not None else None)
    sent = outcome.requests if outcome is not None and outcome.requests else None
    if presenter:  # the cards get the whole width (large type), the picture follows
        render_cards(cards, result)
        render_flow(result, cards, event, sent, large=True)
        return
    # Side by side when the column has room (style.py stacks "fm_stack_" containers when it is narrow).
    with st.container(key="fm_stack_demo"):
        left, right = st.columns([1, 1], gap="large")
    with left:
        render_cards(cards, result)
    with right:
        render_flow(result, cards, event, sent)
    if outcome is not None:
        from . import readback_view

        readback_view.render(outcome)

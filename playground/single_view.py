"""One event, side by side: how each Freshsales field got its value (left) and the requests (right)."""

from __future__ import annotations

import streamlit as st

from freshsales_mapper.engine.plan import FinalRequest, LookupStep, TransformFailure, TransformResult
from freshsales_mapper.inputs import EventInput, ShapeError

from . import state
from .display import curl, placeholders_in, processor_items, shown_headers, step_title
from .pipeline import own_destination_summary
from .tables import doc_notes, field_frame, unmapped_frame

FIELD_COLUMN_CONFIG = {
    "section": st.column_config.TextColumn("section", width="small"),
    "Freshsales field": st.column_config.TextColumn("Freshsales field", width=105),
    "status": st.column_config.TextColumn("status", width=90),
    "winning source": st.column_config.TextColumn("winning source", width=145),
    "raw value": st.column_config.TextColumn("raw value", width=140),
    "value sent": st.column_config.TextColumn("value sent", width=140),
    "notes": st.column_config.TextColumn("notes", width="large"),
}
ROW_PX = 35


def render(item: EventInput, result: TransformResult, shapes: list[ShapeError]) -> None:
    _headline(item, result)
    if item.destination is not None:
        st.info(f"This input carries its own destination ({own_destination_summary(item.destination)}): the "
                "sidebar's domain, API key and event mapping do not apply to it.", icon=":material/inventory_2:")
    if shapes:
        lines = "\n".join(f"- `{s.path}`: {s.message}" for s in shapes)
        st.warning(f"**This event breaks RudderStack's event shape** ({len(shapes)} problem(s)):\n{lines}", icon=":material/rule:")
    if result.error is not None:
        render_failure(result.error)
    left, right = st.columns([3, 2], gap="large")
    with left:
        _mapping(result)
    with right:
        _plan(item, result)


def _headline(item: EventInput, result: TransformResult) -> None:
    kind = result.event_type or "no type"
    finals, lookups = result.final_requests, result.lookups
    if result.ok:
        text = f"**{item.location}** · `{kind}` → {len(finals)} request(s) RudderStack delivers"
        if lookups:
            writes = sum(1 for s in lookups if s.writes)
            text += f", after {len(lookups)} call(s) it makes while transforming ({writes} of them write)"
        st.success(text, icon=":material/check_circle:")
    else:
        st.markdown(f"**{item.location}** · `{kind}`")


def render_failure(error: TransformFailure) -> None:
    fate = ("RudderStack **retries** it (status %d), and it will fail the same way until the event or the "
            "settings change" if error.disposition == "retried" else
            "RudderStack **drops** it (status %d): it is not retried and nothing reaches Freshsales") % error.status
    st.error(f"**RudderStack rejects this event.** {fate}.", icon=":material/cancel:")
    st.markdown("RudderStack's exact error:")
    st.code(error.message, language=None, wrap_lines=True)
    st.markdown(f"**Why:** {error.explanation}\n\n**Fix:** {error.fix}")


def _mapping(result: TransformResult) -> None:
    st.markdown("#### Field mapping")
    include_unset = st.checkbox("Show fields with no value", key=state.SHOW_UNSET,
                                help="Every field RudderStack tried, with the sources it looked at.")
    frame = field_frame(result, include_unset=include_unset)
    if frame.empty:
        st.caption("No Freshsales field was resolved" + (" before the error." if result.error else "."))
    else:
        if frame["section"].nunique() <= 1:
            frame = frame.drop(columns="section")
        st.dataframe(frame.style.map(_status_color, subset=["status"]), hide_index=True,
                     column_config=FIELD_COLUMN_CONFIG, height=min(ROW_PX * (len(frame) + 1) + 3, 640))
        st.caption("Values are shown as JSON: `\"42\"` is a string, `42` a number. *winning source* is the first "
                   "candidate RudderStack found set; *passed over* lists earlier ones that were empty or null.")
    unmapped = unmapped_frame(result)
    st.markdown("#### Inputs no field reads")
    if unmapped.empty:
        st.caption("Everything under traits, context.traits and properties was read (or there is nothing there).")
    else:
        if result.error is not None:
            st.caption("RudderStack stopped at the error, so it never read the fields after it: some keys below "
                       "are read once the error is fixed.")
        st.dataframe(unmapped, hide_index=True)
    relevant, other = doc_notes(result)
    if relevant or other:
        st.markdown("#### Docs vs code")
    if relevant:
        st.info("\n".join(f"- {note}" for note in relevant), icon=":material/menu_book:")
    if other:
        with st.expander(f"Other differences between the docs and the code for this event type ({len(other)})"):
            st.markdown("\n".join(f"- {note}" for note in other))


def _status_color(status: str) -> str:
    if status in ("DROPPED", "MISSING"):
        return "color: #c0392b; font-weight: 600"
    if status in ("placeholder", "sent (note)"):
        return "color: #b9770e; font-weight: 600"
    if status == "sent":
        return "color: #1e8449"
    return "color: #7f8c8d"


def _plan(item: EventInput, result: TransformResult) -> None:
    st.markdown("#### Request plan")
    as_processor = st.toggle("RudderStack processor format", key=state.PROCESSOR_FORMAT,
                             help="What RudderStack's processor returns for this input (API key masked).")
    if as_processor:
        st.json(processor_items(result, item.metadata), expanded=4)
        return
    if not result.steps:
        st.caption("No requests: RudderStack stops at the error above.")
        return
    if result.has_placeholders:
        st.caption("Offline preview: ids that only Freshsales can answer are shown as `{{…}}` placeholders. "
                   "Sandbox and Live modes make these calls for real.")
    for number, step in enumerate(result.steps, 1):
        with st.container(border=True):
            _step(number, step)


def _step(number: int, step: LookupStep | FinalRequest) -> None:
    st.markdown(f"**{step_title(number, step)}**")
    request = step.request
    if isinstance(step, LookupStep):
        if step.writes:
            st.badge("side effect: writes to Freshsales while transforming", icon=":material/warning:", color="orange")
        else:
            st.badge("read-only lookup", icon=":material/search:", color="gray")
        st.caption(step.purpose)
        if step.reply is not None and step.reply.placeholder:
            st.caption(f":material/hourglass_empty: placeholder — {step.reply.note}")
    else:
        st.badge(f"delivers: {step.freshsales_event}", icon=":material/send:", color="blue")
    st.code(f"{request.method} {request.url}", language=None, wrap_lines=True)
    body_tab, headers_tab, curl_tab = st.tabs(["Body", "Headers", "cURL"])
    with body_tab:
        if request.body is None:
            st.caption("No body.")
        else:
            st.json(request.body, expanded=3)
            found = placeholders_in(request.body)
            if found:
                st.caption("Placeholder(s) in this body: " + ", ".join(f"`{p}`" for p in found)
                           + " — filled with the real id when sent.")
    with headers_tab:
        st.json(shown_headers(request.headers))
    with curl_tab:
        st.code(curl(request), language="bash", wrap_lines=True)

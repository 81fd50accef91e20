"""One event, side by side: how each Freshsales field got its value (left) and the requests (right)."""

from __future__ import annotations

import streamlit as st

from freshsales_mapper.engine.plan import FinalRequest, LookupStep, TransformFailure, TransformResult
from freshsales_mapper.engine.vocabulary import SKIPPED_LABEL
from freshsales_mapper.inputs import EventInput, ShapeError

from . import demo_view, mapping_fix, run_view, state
from .display import body_text, curl, markdown_literal, placeholders_in, processor_items, shown_headers, step_title
from .field_table import EMPTY, PROBLEM, FieldRow, field_rows, problem_summary, rows_html, unmapped_html
from .pipeline import event_label, own_destination_summary, user_of
from .style import SPLIT
from .tables import doc_notes


def render(item: EventInput, result: TransformResult, shapes: list[ShapeError]) -> None:
    rows = field_rows(result)
    if state.get(state.PRESENTER):
        st.session_state.pop(state.OPEN_DETAIL, None)  # presenter mode shows no run to scroll to
        with st.container(key=demo_view.PRESENTER):
            _headline(item, result, rows)
            if result.error is not None:
                st.error("RudderStack rejects this event, so nothing reaches Freshsales. Its reason:",
                         icon=":material/cancel:")
                st.text(result.error.explanation or result.error.message)
            demo_view.render_records_and_flow(result, item.index, _flow_label(item, result), presenter=True)
        return
    _headline(item, result, rows)
    if not item.bare:
        st.info(f"This input carries its own destination ({markdown_literal(own_destination_summary(item.destination))}): the "
                "sidebar's domain, API key and event mapping do not apply to it.", icon=":material/inventory_2:")
    if shapes:
        lines = "\n".join(f"- {markdown_literal(s.path)}: {markdown_literal(s.message)}" for s in shapes)
        st.warning(f"**This event breaks RudderStack's event shape** ({len(shapes)} problem(s)):\n{lines}", icon=":material/rule:")
    if result.route:
        route_lines = "\n".join(f"- {markdown_literal(note.text)}" for note in result.route)  # keys already masked in the text
        st.info(f"**What RudderStack's route did** before its Freshsales code ran:\n{route_lines}",
                icon=":material/alt_route:")
    if result.error is not None:
        render_failure(result.error)
        mapping_fix.offer_mapping(result.error, item)
    st.markdown("#### What it becomes in Freshsales")
    demo_view.render_records_and_flow(result, item.index, _flow_label(item, result), presenter=False)
    # Side by side when there is room; style.CSS stacks the plan under the table when the page is narrow.
    with st.container(key=SPLIT):
        left, right = st.columns([3, 2], gap="large")
        with left:
            _mapping(result, rows)
        with right:  # after a send, the run itself (run_view), with the offline plan a click away
            run_view.render_requests(item.index, lambda: _plan(item, result))


def _flow_label(item: EventInput, result: TransformResult) -> str:
    """The picture's first box: the event's type and whose it is, as plain text (the picture escapes it)."""
    message = item.message if isinstance(item.message, dict) else {}
    name = message.get("event") if result.event_type == "track" else None
    kind = f"{result.event_type or 'untyped'} event" + (f" “{name}”" if isinstance(name, str) and name else "")
    return kind + "\n" + user_of(item.message)


def headline(item: EventInput, result: TransformResult, rows: list[FieldRow]) -> str:
    """One line: what RudderStack sends and, before anything else, what went wrong."""
    parts = [f"**{markdown_literal(event_label(item, result.event_type))}**"]
    if result.ok:
        finals = len(result.final_requests)
        parts.append(f"{finals} request{'s' if finals != 1 else ''}")
        if result.lookups:
            writes = sum(1 for s in result.lookups if s.writes)
            parts.append(f"{len(result.lookups)} lookup{'s' if len(result.lookups) != 1 else ''} while transforming"
                         + (f" ({writes} writing)" if writes else ""))
    else:
        parts.append(SKIPPED_LABEL)
    parts += [markdown_literal(phrase) for phrase in problem_summary(rows, result)]
    if result.unmapped_count:
        parts.append(unused_phrase(result))
    return " · ".join(parts)


def unused_phrase(result: TransformResult, named: int = 3) -> str:
    """"unused: traits.mobile, properties.plan" (the first few by name, then how many more)."""
    names = ", ".join(markdown_literal(u.path) for u in result.unmapped[:named])
    more = result.unmapped_count - min(named, len(result.unmapped))
    return f"unused: {names}" + (f" and {more} more" if more > 0 else "")


def _headline(item: EventInput, result: TransformResult, rows: list[FieldRow]) -> None:
    text = headline(item, result, rows)
    if not result.ok:
        st.markdown(text)
    elif result.losses or any(r.kind == PROBLEM for r in rows):
        st.warning(text, icon=":material/report:")
    elif result.unmapped_count:  # everything it could send is sent: unused inputs are information
        st.info(text, icon=":material/info:")
    else:
        st.success(text + " · everything given is sent", icon=":material/check_circle:")


def render_failure(error: TransformFailure) -> None:
    fate = ("RudderStack **retries** it (status %d), and it will fail the same way until the event or the "
            "settings change" if error.disposition == "retried" else
            "RudderStack **drops** it (status %d): it is not retried and nothing reaches Freshsales") % error.status
    st.error(f"**RudderStack rejects this event.** {fate}.", icon=":material/cancel:")
    st.markdown("RudderStack's exact error:")
    st.code(error.message, language=None, wrap_lines=True)
    st.markdown(f"**Why:** {markdown_literal(error.explanation)}\n\n**Fix:** {markdown_literal(error.fix)}")
    if error.also_missing:  # RudderStack names one per run; the field table below shows them all
        st.markdown("**Also missing** (RudderStack stops at the first, so it names only that one):")
        st.text("\n".join(f"• {text}" for text in error.also_missing))


def _mapping(result: TransformResult, rows: list[FieldRow]) -> None:
    st.markdown("#### Field mapping")
    if not rows:
        st.caption("No Freshsales field was resolved" + (" before the error." if result.error else "."))
    else:
        sections = len({r.section for r in rows}) > 1
        shown = [r for r in rows if r.kind != EMPTY]
        empty = [r for r in rows if r.kind == EMPTY]
        if shown:
            st.html(rows_html(shown, sections=sections))
        if empty:  # folded, as the CLI does: they matter only when looking for where a value should have come from
            with st.expander(f"{len(empty)} field{'s' if len(empty) != 1 else ''} with no value: "
                             + ", ".join(r.field for r in empty[:6]) + (", …" if len(empty) > 6 else "")):
                st.html(rows_html(empty, sections=sections, folded=True))
        st.caption("Values are JSON: `\"42\"` is a string, `42` a number. Fields with no value list every source "
                   "RudderStack looked at, in order, with what it held.")
    st.markdown("#### Inputs no field reads")
    if not result.unmapped:
        st.caption("Everything under traits, context.traits and properties was read (or there is nothing there).")
    else:
        if result.unmapped_count > len(result.unmapped):
            st.caption(f"{result.unmapped_count:,} inputs no field reads; the first {len(result.unmapped)} are "
                       "listed.")
        st.html(unmapped_html(result))
    relevant, other = doc_notes(result)
    if relevant or other:
        st.markdown("#### Docs vs code")
    if relevant:
        st.info("\n".join(f"- {markdown_literal(note)}" for note in relevant), icon=":material/menu_book:")
    if other:
        with st.expander(f"Other differences between the docs and the code for this event type ({len(other)})"):
            st.markdown("\n".join(f"- {markdown_literal(note)}" for note in other))


def _plan(item: EventInput, result: TransformResult) -> None:
    st.markdown("#### Request plan")
    as_processor = st.toggle("RudderStack processor format", key=state.PROCESSOR_FORMAT,
                             help="What RudderStack's processor returns for this input (API key masked).")
    if as_processor:
        st.code(body_text(processor_items(result, item.metadata)), language="json", wrap_lines=True)
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
    st.markdown(f"**{markdown_literal(step_title(number, step))}**")
    request = step.request
    if isinstance(step, LookupStep):
        if step.writes:
            st.badge("side effect: writes to Freshsales while transforming", icon=":material/warning:", color="orange")
        else:
            st.badge("read-only lookup", icon=":material/search:", color="gray")
        st.caption(markdown_literal(step.purpose))
        if step.reply is not None and step.reply.placeholder:
            st.caption(f":material/hourglass_empty: placeholder — {markdown_literal(step.reply.note)}")
    else:
        st.badge(f"delivers: {step.freshsales_event}", icon=":material/send:", color="blue")
    st.code(f"{request.method} {request.url}", language=None, wrap_lines=True)
    body_tab, headers_tab, curl_tab = st.tabs(["Body", "Headers", "cURL"])
    with body_tab:
        if request.body is None:
            st.caption("No body.")
        else:
            st.code(body_text(request.body), language="json", wrap_lines=True)
            found = placeholders_in(request.body)
            if found:
                st.caption("Placeholder(s) in this body: " + ", ".join(markdown_literal(p) for p in found)
                           + " — filled with the real id when sent.")
    with headers_tab:
        st.code(body_text(shown_headers(request.headers)), language="json", wrap_lines=True)
    with curl_tab:
        st.code(curl(request), language="bash", wrap_lines=True)

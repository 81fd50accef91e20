"""Many events: summary metrics, skipped events and losses by reason, a chart, a filterable table, one row's detail, downloads."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from freshsales_mapper.engine.vocabulary import SKIPPED_LABEL, MappingOutcome
from freshsales_mapper.inputs import validate_event

from . import demo_view, downloads, single_view, state
from .display import markdown_literal
from .field_table import plain_table_html
from .input_panel import InputBundle
from .pipeline import BatchReport, Settings, detail, run_batch
from .story import batch_story
from .style import STACK_CHARTS
from .tables import batch_frame, filter_frame, outcome_counts, reason_counts

LAST_SELECTION = "_last_table_selection"  # the row last followed, so the picker can move on from it
STATUSES = tuple(outcome.value for outcome in MappingOutcome)  # best to worst: mapped, lossy, skipped, unreadable
STATUS_COLOURS = ["#2e9e5b", "#e0a100", "#d9534f", "#8c8c8c"]
METRIC_PX = 144
TABLE_COLUMN_CONFIG = {
    "#": st.column_config.NumberColumn("#", width=36),
    "status": st.column_config.TextColumn("status", width=70),
    "type": st.column_config.TextColumn("type", width=58),
    "user": st.column_config.TextColumn("user", width=112),
    "reason": st.column_config.TextColumn("reason", width=300),
    "shape problems": st.column_config.TextColumn("shape problems", width="medium"),
}
# Status, type, user and reason come first, narrow enough that all four start on screen in the ~470 px
# the table has at 800 px with the sidebar open (the rest scrolls); every column is in the downloads.
TABLE_COLUMNS = ("#", "status", "type", "user", "reason", "event", "shape problems", "requests", "lookups", "input")
DETAIL = "Event in detail"
SCROLL_SCRIPT = f"""<script>
(() => {{
  const heading = [...document.querySelectorAll('[data-testid="stHeading"]')]
    .find(h => h.textContent.includes("{DETAIL}"));
  if (heading) heading.scrollIntoView({{behavior: "instant", block: "start"}});
}})();
</script>"""


def report_for(bundle: InputBundle, settings: Settings) -> tuple[BatchReport, pd.DataFrame]:
    def build() -> tuple[BatchReport, pd.DataFrame]:
        report = run_batch(bundle.parsed.items, bundle.parsed.errors, settings)
        return report, batch_frame(report)

    return state.memo("batch", (bundle.key, settings.fingerprint), build)


def render(bundle: InputBundle, settings: Settings) -> None:
    report, frame = report_for(bundle, settings)
    presenter = bool(state.get(state.PRESENTER))
    st.subheader("2 · Results")
    outcomes = demo_view.batch_outcomes(len(report.results))
    story = state.memo("story", (bundle.key, settings.fingerprint, outcomes),
                       lambda: batch_story(report.results, len(report.errors), outcomes))
    with st.container(key=demo_view.PRESENTER + "_story" if presenter else "fm_story"):
        demo_view.render_story(story, after_send=outcomes is not None)
    if presenter:
        # Folded, not dropped: the filters keep their state for when presenter mode is switched off.
        with st.expander("Counts, skipped events, losses and every event"):
            shown, clicked = _results(report, frame)
    else:
        shown, clicked = _results(report, frame)
    demo_view.render_compact_cards(report.results, [int(n) for n in shown["#"].dropna()])
    st.subheader(f"3 · {DETAIL}")
    shown = _with_opened(shown, frame)
    if clicked or (presenter and st.session_state.pop(state.OPEN_DETAIL, False)):
        _scroll_to_detail()  # (a row picked in the Send box scrolls to the event's run instead: run_view)
    _detail(bundle, settings, report, shown)
    if not presenter:
        _downloads(report, frame)


def _results(report: BatchReport, frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    _metrics(report, frame)
    _charts(frame)
    return _filtered_table(frame, report.content)


def _metrics(report: BatchReport, frame: pd.DataFrame) -> None:
    requests = int(frame["requests"].sum())
    side_effects = sum(1 for r in report.results for s in r.lookups if s.writes)
    # A wrapping row of fixed-width cards: six equal columns squeeze "240" into "2." at 800 px.
    with st.container(horizontal=True, gap="small"):
        st.metric("Events", len(report.items), border=True, width=METRIC_PX)
        st.metric("Mapped", report.mapped, border=True, width=METRIC_PX, help="Mapped, and nothing given is lost.")
        st.metric("Lossy", report.lossy, border=True, width=METRIC_PX,
                  help="Mapped, but something is lost on the way: a value dropped, an address blanked, a contact "
                       "not linked. The reason column names each loss.")
        st.metric("Skipped", report.skipped, border=True, width=METRIC_PX,
                  help=f"{SKIPPED_LABEL.capitalize()}: nothing of these events reaches Freshsales. A Sandbox or Live "
                       "send counts them as skipped too; the reason column gives RudderStack's error.")
        st.metric("Unreadable", len(report.errors), border=True, width=METRIC_PX)
        st.metric("Requests", requests, border=True, width=METRIC_PX,
                  help="Final requests RudderStack would hand to its router.")
        st.metric("Lookup writes", side_effects, border=True, width=METRIC_PX,
                  help="Writes RudderStack makes itself while transforming: upserts (group events with an email, "
                       "sales activities about a contact).")
    kinds = frame.loc[frame["status"] != "unreadable", "type"].value_counts()
    st.caption("By type: " + " · ".join(f"{markdown_literal(kind)} **{count}**" for kind, count in kinds.items()))


def _charts(frame: pd.DataFrame) -> None:
    with st.container(key=STACK_CHARTS):
        left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("**Skipped events and losses by reason**")
        reasons = reason_counts(frame)
        if reasons.empty:
            st.caption("Nothing skipped and nothing lost: every event maps whole.")
        else:
            st.html(plain_table_html(["Reason: RudderStack's error, or what a mapped event loses", "events", "RudderStack"],
                                     reasons.astype(str).values.tolist(), widths=(64, 12, 24)))
    with right:
        st.markdown("**Outcomes by event type**")
        counts = outcome_counts(frame)
        if not counts.empty:
            st.vega_lite_chart(counts, _outcome_chart(counts))


def _outcome_chart(counts: pd.DataFrame) -> dict:
    """Stacked horizontal bars, events per type coloured by outcome (a plain Vega-Lite spec: quick to send)."""
    return {
        "mark": {"type": "bar", "tooltip": True},
        "height": {"step": 26},
        "encoding": {
            "x": {"field": "events", "type": "quantitative", "aggregate": "sum", "title": "events"},
            "y": {"field": "type", "type": "nominal", "title": None, "sort": "-x"},
            "color": {"field": "status", "type": "nominal",
                      "scale": {"domain": list(STATUSES), "range": STATUS_COLOURS},
                      "legend": {"orient": "bottom", "title": None}},
            "order": {"field": "status"},
        },
    }


def _filtered_table(frame: pd.DataFrame, content: list[str]) -> tuple[pd.DataFrame, bool]:
    st.markdown("**Every event**")
    a, b, c = st.columns([2, 2, 3])
    statuses = a.multiselect("Status", [s for s in STATUSES if (frame["status"] == s).any()], key=state.FILTER_STATUS,
                             format_func=lambda status: MappingOutcome(status).label)
    kinds = b.multiselect("Type", sorted(k for k in frame["type"].unique() if k), key=state.FILTER_TYPE)
    text = c.text_input("Search (user, email, messageId, any value, reason)", key=state.FILTER_TEXT,
                        help="Searches each event's whole content (keys and values) and the reason column.")
    shown = filter_frame(frame, statuses, kinds, text or "", content)
    # A click on any cell opens its row: cell selection, so there is no separate row picker to aim for.
    event = st.dataframe(shown, hide_index=True, key=state.BATCH_TABLE, on_select="rerun",
                         selection_mode="single-cell", height=360, column_config=TABLE_COLUMN_CONFIG,
                         column_order=TABLE_COLUMNS)
    picked = [row for row, _column in event.selection.cells]
    clicked = _follow_selection(shown, picked)
    st.caption(f"{len(shown)} of {len(frame)} rows · click anywhere on a row to open it in detail below · every column is "
               "in the downloads.")
    return shown, clicked


def _follow_selection(shown: pd.DataFrame, rows: list[int]) -> bool:
    """A newly clicked table row becomes the event shown in detail; True when the click is new."""
    numbers = shown["#"].iloc[rows[:1]].tolist() if rows and rows[0] < len(shown) else []
    picked = int(numbers[0]) if numbers and not pd.isna(numbers[0]) else None
    clicked = picked is not None and st.session_state.get(LAST_SELECTION) != picked
    if clicked:
        st.session_state[state.DETAIL_PICK] = picked
    st.session_state[LAST_SELECTION] = picked
    return clicked


def _scroll_to_detail() -> None:
    """Bring the clicked row's detail into view (it is below the table, often off-screen)."""
    # The same script twice in a row would not run again: a new comment each click makes it new.
    st.html(SCROLL_SCRIPT.replace("<script>", f"<script>// click {time.monotonic_ns()}", 1), unsafe_allow_javascript=True)


def _downloads(report: BatchReport, frame: pd.DataFrame) -> None:
    st.markdown("**Downloads** (all rows; the API key is masked in every file)")
    a, b, c, d = st.columns(4)
    a.download_button("Results (JSON)", lambda: downloads.results_json(frame), "results.json", "application/json",
                      key="download_results_json", on_click="ignore", width="stretch")
    b.download_button("Results (CSV)", lambda: downloads.results_csv(frame), "results.csv", "text/csv",
                      key="download_results_csv", on_click="ignore", width="stretch")
    c.download_button("Request plans (JSON)", lambda: downloads.plans_json(report), "request_plans.json",
                      "application/json", key="download_plans", on_click="ignore", width="stretch")
    d.download_button("Processor output (JSON)", lambda: downloads.processor_json(report), "processor_output.json",
                      "application/json", key="download_processor", on_click="ignore", width="stretch")


def _with_opened(shown: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The filtered rows, plus the event just opened from the Send box's outcome table if the filters hide it."""
    number = st.session_state.get(state.DETAIL_PICK)
    if not st.session_state.get(state.OPEN_DETAIL) or number is None or (shown["#"] == number).any():
        return shown
    return pd.concat([shown, frame[frame["#"] == number]])


def _detail(bundle: InputBundle, settings: Settings, report: BatchReport, shown: pd.DataFrame) -> None:
    numbers = [int(n) for n in shown["#"].dropna()]
    if not numbers:
        st.caption("No event in the filtered table.")
        return
    labels = dict(zip(numbers, (shown.loc[shown["#"].notna(), "#"].astype(str) + " · "
                                + shown.loc[shown["#"].notna(), "type"] + " · "
                                + shown.loc[shown["#"].notna(), "status"] + " · "
                                + shown.loc[shown["#"].notna(), "user"]).tolist(), strict=True))
    if st.session_state.get(state.DETAIL_PICK) not in labels:
        st.session_state[state.DETAIL_PICK] = numbers[0]
    number = st.selectbox("Event", numbers, key=state.DETAIL_PICK, format_func=labels.get)
    item = report.items[number - 1]
    result = state.memo("detail", (bundle.key, settings.fingerprint, number), lambda: detail(item, settings), size=16)
    single_view.render(item, result, report.shapes[number - 1] if report.shapes else validate_event(item.message))

"""The Runs panel: earlier Live runs kept on this machine, newest first, and "Open" to put one back.

Opening a run puts its events back in the editor with its domain and event mappings, in Live mode, so
the Send box finds the run (same events, same target) and shows its outcomes with Resume or "already
sent". The key is never kept, so it is not restored: the panel says which key fingerprint the run
belongs to when the sidebar's key is another one (or none).
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from freshsales_mapper.sending import DomainError, normalize_domain
from freshsales_mapper.sending.run_store import (
    RUN_SUFFIX,
    RUNS_DIR_ENV,
    RunRecord,
    RunStore,
    RunStoreError,
    UnreadableRun,
)

from . import live_runs, state
from .display import markdown_literal
from .pipeline import Settings

RUN_PICK = "runs_pick"
OPEN_BUTTON = "runs_open"
OPENED = "_run_opened"  # the id of the run "Open" last put on the page
OPEN_PROBLEM = "_run_open_problem"
SHOWN = 200  # runs in the table; older ones stay in the folder


def render(settings: Settings) -> None:
    runs_store = live_runs.store()
    runs, unreadable, total = _listing(runs_store)
    if settings.mode != "Live" and not runs and not unreadable:
        return
    opened = st.session_state.get(OPENED)
    count = f"the newest {len(runs)} of {total}" if total > SHOWN else str(len(runs))
    with st.expander(f"Earlier Live runs ({count})", expanded=bool(opened), icon=":material/history:"):
        st.caption(f"Kept on this machine in {markdown_literal(str(runs_store.folder))} (set `{RUNS_DIR_ENV}` to "
                   "choose another folder): each Live run's journal and outcomes, readable by you only (folder 0700, "
                   "files 0600). They hold a fingerprint of the API key, never the key. " + live_runs.SANDBOX_GONE)
        problem = st.session_state.pop(OPEN_PROBLEM, None)
        if problem:
            st.error(f"That run could not be opened: {markdown_literal(problem)}", icon=":material/error:")
        if not runs:
            st.caption("No Live run yet: a Live send is listed here as soon as it starts.")
        else:
            st.dataframe(runs_frame(runs), hide_index=True, height=min(36 * (len(runs) + 1), 280))
            by_id = {r.id: r for r in runs}
            with st.container(horizontal=True, vertical_alignment="bottom"):
                pick = st.selectbox("Run", list(by_id), key=RUN_PICK, format_func=lambda i: run_label(by_id[i]),
                                    help="Open puts the run's events, domain and mappings back on the page, in Live "
                                         "mode: the Send box then shows its outcomes and offers Resume or "
                                         "\"already sent\". The API key is not kept: enter it yourself.")
                st.button("Open", key=OPEN_BUTTON, icon=":material/open_in_browser:", on_click=_open,
                          args=(str(runs_store.folder), pick))
        for entry in unreadable:
            st.warning(f"**{markdown_literal(entry.name)}** could not be read: {markdown_literal(entry.problem)}",
                       icon=":material/warning:")
        if opened:
            _opened_note(runs_store, opened, settings)


def runs_frame(runs: list[RunRecord]) -> pd.DataFrame:
    """One row per run, every cell text (values from events and settings are data here, never Markdown)."""
    return pd.DataFrame({
        "last sent": [when(r.updated) for r in runs],
        "target": [f"{r.target.domain} · key {r.target.key}" for r in runs],
        "events": [str(r.total) for r in runs],
        **{status: [str(r.counts.get(status, 0)) for r in runs]
           for status in ("delivered", "failed", "unknown", "skipped")},
        "not sent yet": [str(r.total - len(r.outcomes)) for r in runs],
        "runs": [str(r.runs) for r in runs],
    })


def when(iso: str) -> str:
    return iso[:19].replace("T", " ")


def run_label(record: RunRecord) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in record.counts.items() if n)
    return (f"{when(record.updated)} · {record.target.domain} · {record.total} event(s)"
            + (f" · {counts}" if counts else " · nothing sent yet"))


def _listing(runs_store: RunStore) -> tuple[list[RunRecord], list[UnreadableRun], int]:
    """The newest SHOWN runs, what cannot be read, and how many records the folder holds; read again only
    when a file in the folder changed (records can be large)."""
    try:
        with os.scandir(runs_store.folder) as entries:
            seen = tuple(sorted((e.name, e.stat(follow_symlinks=False).st_mtime_ns,
                                 e.stat(follow_symlinks=False).st_size) for e in entries))
    except FileNotFoundError:
        return [], [], 0
    except OSError:
        return *runs_store.listing(SHOWN), 0  # listing() says what is wrong
    total = sum(1 for name, *_ in seen if name.endswith(RUN_SUFFIX) and not name.startswith("."))
    runs, unreadable = state.memo("runs", (str(runs_store.folder), seen), lambda: runs_store.listing(SHOWN))
    return runs, unreadable, total


def _open(folder: str, run_id: str | None) -> None:
    """Put the run's events, domain and mappings on the page (a callback: before the widgets are drawn)."""
    if not run_id:
        return
    try:
        record = RunStore(folder).load(run_id)
    except (OSError, RunStoreError) as exc:
        st.session_state[OPEN_PROBLEM] = str(exc)
        return
    st.session_state[state.EVENTS_INPUT] = live_runs.events_text(record.events)
    st.session_state[state.DOMAIN] = record.target.domain
    st.session_state[state.MODE] = "Live"
    st.session_state[state.EVENT_MAP_BASE] = pd.DataFrame(
        {"from": pd.Series([f for f, _ in record.mappings], dtype="object"),
         "to": pd.Series([t for _, t in record.mappings], dtype="object")})
    st.session_state.pop(state.EVENT_MAP, None)  # the mappings editor starts again from the run's rows
    st.session_state.pop(state.LOADED_SAMPLE, None)
    st.session_state[OPENED] = run_id


def _opened_note(runs_store: RunStore, run_id: str, settings: Settings) -> None:
    try:
        record = runs_store.load(run_id)
    except (OSError, RunStoreError):
        st.session_state.pop(OPENED, None)
        return
    if st.session_state.get(state.EVENTS_INPUT) != live_runs.events_text(record.events):
        st.session_state.pop(OPENED, None)  # other events are on the page now: the note no longer applies
        return
    target = record.target
    st.info(f"Opened the run started {when(record.created)}: {record.total} event(s) to "
            f"**{markdown_literal(target.domain)}** (key fingerprint `{target.key}`). Its outcomes are in the Send box "
            "while the events, domain, mappings and key are the same.", icon=":material/history:")
    try:
        domain = normalize_domain(settings.domain)
    except DomainError:
        domain = settings.domain
    key = live_runs.fingerprint_of(state.api_key())
    differs = []
    if domain != target.domain:
        differs.append(f"the sidebar's domain is **{markdown_literal(domain)}**, this run's "
                       f"**{markdown_literal(target.domain)}**")
    if key != target.key:
        differs.append("no API key is entered" if key is None else f"the sidebar's key has fingerprint `{key}`")
    if differs:
        st.warning("This run belongs to " + f"**{markdown_literal(target.domain)}** with the key of fingerprint "
                   f"`{target.key}`, but " + " and ".join(differs) + ". Enter that account's domain and key to see "
                   "its outcomes and resume it; sending with other settings starts a new run.",
                   icon=":material/key:")
    if st.session_state.get(state.UPLOAD) is not None:
        st.warning("An uploaded file is shown instead of the text box: remove it to see the opened run's events.",
                   icon=":material/upload_file:")

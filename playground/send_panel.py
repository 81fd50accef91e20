"""Sending the batch to the Sandbox or to Freshsales: confirmation, progress, responses, resume, no double sends.

Guards against sending twice: the send runs in a thread owned by a ``SendJob`` kept in session state;
while it runs the button is disabled and any further click is refused; once every event is delivered a
click says "already sent" and only the explicit "Send again" button sends the batch once more. A
failed or interrupted send resumes from its journal, so delivered events are not sent again. A Sandbox
journal is a file in this session's temp dir; a Live run (journal and outcomes) is kept in the runs folder
(``live_runs.py``), so a new tab with the same events and account finds it and resumes it. The real API key is read from session state only here, when the client is
made for a Live send, and goes nowhere but into that client.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

import pandas as pd
import streamlit as st

from freshsales_mapper.engine.records import RecordKind, stored_cards
from freshsales_mapper.engine.route import parse_template
from freshsales_mapper.engine.secret import key_fingerprint
from freshsales_mapper.engine.vocabulary import SKIPPED_LABEL
from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending import DomainError, FreshsalesClient, SendOutcome, normalize_domain, plain_words
from freshsales_mapper.sending.outcomes import REFUSED_LABEL, RETRYABLE_LABEL
from freshsales_mapper.sending.run_store import RunStoreError
from freshsales_mapper.sending.summary import summarize

from . import demo_view, live_runs, sandbox, state
from .display import json_text, markdown_literal
from .input_panel import InputBundle
from .pipeline import Settings, digest, masked_destination
from .send_job import SendJob

JOBS = "_send_jobs"  # batch id -> SendJob
GENERATION = "_send_generation"  # batch id -> how many times "send again" was asked
START_AGAIN = "_send_again_requested"  # set by the "Send again" button's callback
OUTCOME_TABLE = "send_outcome_table"
OUTCOME_OPENED = "_send_outcome_opened"  # the row last followed, so a rerun does not reopen it
RESEND_UNKNOWN = "send_resend_unknown"
AGAIN_ASKED = "_send_again_asked"  # "batch/generation" whose "Send again" awaits its confirmation
SEND_AGAIN_YES = "send_again_yes"
SEND_AGAIN_NO = "send_again_no"
CONFIRMED_FOR = "_live_confirmed_for"  # the (domain, key, batch) the Live tick was given for
POLL_SECONDS = 0.2
STATUS_ORDER = tuple(SendOutcome)
STATUS_MEANING = {
    "delivered": "Freshsales accepted every request for the event",
    "failed": f"{REFUSED_LABEL} (400, 404, 422: fix the cause; Resume does not resend these), or "
              f"{RETRYABLE_LABEL} (a connection error, a 429, a 5xx on a read or upsert: Resume sends those again)",
    "unknown": "a request that creates a record went out and no clear answer came back (none, or a 5xx after "
               "Freshsales may have stored it); check Freshsales, then use Resend unknown",
    "skipped": f"{SKIPPED_LABEL}: nothing was sent (the reason gives RudderStack's error), as the preview said",
}
# One failed event is one of the two: its own meaning, where the status' covers both.
LABEL_MEANING = {
    REFUSED_LABEL: "Freshsales refused it (a 4xx such as 400, 404 or 422) and would refuse it again: fix the cause; "
                   "Resume does not resend it",
    RETRYABLE_LABEL: "a connection error, a 429 or a 5xx on a read or upsert: Resume sends it again",
}
OUTCOME_FILTER = "send_outcome_filter"
SANDBOX_CARDS = 12  # stored records shown as cards per object (every one is in the table)
METRIC_PX = 144


def _target(settings: Settings) -> tuple[str, str, str | None]:
    """(identity of the receiving end, how people call it, a problem that blocks sending)."""
    if settings.mode == "Sandbox":
        server = sandbox.ensure()
        return f"sandbox:{server.base_url}:{id(server)}", f"the sandbox at {server.base_url}", None
    if parse_template(settings.domain or "") or parse_template(state.api_key() or ""):
        # The page sends with one client; a template fills the domain or key per event, which `send` does.
        return "live:template", "Freshsales", (
            "Live sending uses one fixed domain and key, and a setting here is a {{ ... }} template that each "
            "event fills differently. The preview shows what each event resolves to; to send such events, use "
            "`freshsales-mapper send`, which fills the templates per event as RudderStack does.")
    try:
        host = normalize_domain(settings.domain)
    except DomainError as exc:
        return "live:?", settings.domain, f"Cannot send: {markdown_literal(str(exc))}."  # quotes the domain
    if not state.api_key():
        return f"live:{host}", host, "Enter your Freshsales API key in the sidebar (and press Enter) to send."
    return f"live:{host}", host, None


def _items_to_send(bundle: InputBundle, settings: Settings) -> list[EventInput]:
    """The events with the destinations their transforms use (keys masked: the client holds the real one)."""
    destination = settings.destination()
    return [dataclasses.replace(item, destination=destination if item.bare
                                else masked_destination(item.destination)) for item in bundle.parsed.items]


def _client_maker(settings: Settings, host: str) -> Callable[[], FreshsalesClient]:
    if settings.mode == "Sandbox":
        server, key = sandbox.ensure(), sandbox.key()
        return lambda: FreshsalesClient("acme.myfreshworks.com", key, base_url=server.base_url,
                                        rate_limit_per_minute=None, rate_limit_per_hour=None, max_retries=2,
                                        backoff_factor=0.1)
    api_key = state.api_key() or ""
    return lambda: FreshsalesClient(host, api_key)


def render(bundle: InputBundle, settings: Settings) -> None:
    count = len(bundle.parsed.items)
    with st.container(border=True):
        st.subheader("Send" + (" to the Sandbox" if settings.mode == "Sandbox" else " to Freshsales (Live)"))
        identity, where, blocker = _target(settings)
        kept = settings.mode == "Live" and not blocker  # a Live batch is known by content and target, on disk too
        batch_id = live_runs.batch_for(bundle.parsed.items, settings, live_runs.live_target(where, state.api_key() or "")
                                       ) if kept else digest(repr((bundle.key, settings.fingerprint, identity)))
        generations = st.session_state.setdefault(GENERATION, {})
        generation = generations.get(batch_id, 0)
        jobs: dict[str, SendJob] = st.session_state.setdefault(JOBS, {})
        job = live_runs.find_job(batch_id, where, generation, jobs, generations) if kept else jobs.get(
            f"{batch_id}/{generation}")
        generation = generations.get(batch_id, 0)
        if settings.mode == "Live":
            st.warning(f"Live mode writes real records to **{markdown_literal(where)}** with your API key. Every event goes to this "
                       "domain, including processor bodies that name another.", icon=":material/warning:")
            st.caption(f"Each Live run is kept in {markdown_literal(str(live_runs.store().folder))} (its journal and "
                       "outcomes, with a fingerprint of the key, never the key): after a reload the same events to the "
                       "same account offer Resume or \"already sent\", never a fresh send.")
        else:
            st.caption(f"Events go to {markdown_literal(where)}: a local Freshsales emulator with real ids, errors and "
                       f"lookups. {live_runs.SANDBOX_NOTE}")
            from . import faults_panel

            faults_panel.render(sandbox.ensure())
        if blocker:
            st.error(blocker, icon=":material/block:")
        confirmed = True
        if settings.mode == "Live":
            # The tick belongs to this domain, key and batch: any change clears it before the box is drawn.
            bound = digest(repr((identity, key_fingerprint(state.api_key() or ""), batch_id)))
            if st.session_state.get(CONFIRMED_FOR) != bound:
                st.session_state[CONFIRMED_FOR] = bound
                st.session_state[state.LIVE_CONFIRM] = False
            confirmed = st.checkbox(f"I understand this writes to {markdown_literal(where)}", key=state.LIVE_CONFIRM)
        busy = any(j.running for j in jobs.values())
        other = next((j for j in jobs.values() if j.running and j is not job), None)
        if other is not None:
            st.info(f"Another send is running in this session ({other.done} of {other.total} event(s) done); this "
                    "batch can be sent when it ends.", icon=":material/hourglass_top:")
            st.button("Check again", key="send_check_again")
        label = f"Send {count} event(s)" if job is None or job.complete else resume_label(job)
        clicked = st.button(label, key=state.SEND_BUTTON, type="primary",
                            disabled=bool(blocker) or not confirmed or busy)
        again = st.session_state.pop(START_AGAIN, None) == batch_id
        if (clicked or again) and not blocker and confirmed:
            job = _on_send(bundle, settings, batch_id, generation, where, job, jobs, busy)
        if job is not None:
            st.session_state[demo_view.CURRENT_JOB] = job
            if job.running:
                _follow(job)
                st.rerun()  # redraw the button for what is left (resume, or "send again")
            _show(job)
            if job.unknown and not job.running:
                resend = st.button(f"Resend unknown ({job.unknown} event(s): check Freshsales first)",
                                   key=RESEND_UNKNOWN, disabled=bool(blocker) or not confirmed)
                if resend and not blocker and confirmed:
                    _start(bundle, settings, job.batch_id, where, jobs, job, resend_unknown=True)
                    st.rerun()
            if job.complete:
                _send_again_buttons(batch_id, generation, disabled=bool(blocker) or not confirmed)
        if settings.mode == "Sandbox":
            _sandbox_records()


def _send_again_buttons(batch_id: str, generation: int, *, disabled: bool) -> None:
    """ "Send again" asks first; each confirmation sends once, however often the buttons are clicked."""
    request = f"{batch_id}/{generation}"
    if st.session_state.get(AGAIN_ASKED) != request:
        st.button("Send again (sends every event once more)", key=state.SEND_AGAIN, disabled=disabled,
                  on_click=_ask_send_again, args=(request,))
        return
    st.warning("Send every event of this batch once more? Freshsales gets each one again: new sales activities, "
               "upserts repeated.", icon=":material/replay:")
    with st.container(horizontal=True, gap="small"):
        st.button("Yes, send every event again", key=SEND_AGAIN_YES, type="primary", disabled=disabled,
                  on_click=_send_again, args=(batch_id, generation))
        st.button("Cancel", key=SEND_AGAIN_NO, on_click=st.session_state.pop, args=(AGAIN_ASKED, None))


def _ask_send_again(request: str) -> None:
    st.session_state[AGAIN_ASKED] = request


def _send_again(batch_id: str, generation: int) -> None:
    """A new generation of the batch (a fresh job and journal), once per confirmation.

    Clicks queue in the browser while a rerun runs: a second click on the same confirmation, or one while a send
    runs, arrives after the generation moved on (or the question was answered) and is ignored.
    """
    if st.session_state.pop(AGAIN_ASKED, None) != f"{batch_id}/{generation}":
        return
    generations = st.session_state.setdefault(GENERATION, {})
    if generations.get(batch_id, 0) != generation:
        return
    if any(j.running for j in st.session_state.get(JOBS, {}).values()):
        return
    generations[batch_id] = generation + 1
    st.session_state[START_AGAIN] = batch_id


def _on_send(bundle: InputBundle, settings: Settings, batch_id: str, generation: int, where: str,
             job: SendJob | None, jobs: dict[str, SendJob], busy: bool) -> SendJob | None:
    if busy:
        st.info("A send is already running; it was not started twice.", icon=":material/hourglass_top:")
        return job
    if job is not None and job.complete:
        st.info("Already sent: every event of this batch has an outcome and none failed. Nothing was sent again; "
                "use **Send again** below to send it once more.", icon=":material/done_all:")
        return job
    return _start(bundle, settings, f"{batch_id}/{generation}", where, jobs, job)


def _start(bundle: InputBundle, settings: Settings, job_id: str, where: str, jobs: dict[str, SendJob],
           job: SendJob | None, *, resend_unknown: bool = False) -> SendJob:
    if job is None:
        # The mode prefix lets an idle Sandbox take its journals along and leave Live ones (sandbox.py).
        journal = os.path.join(sandbox.folder(), f"{settings.mode.lower()}-{job_id.replace('/', '-')}.journal.jsonl")
        saver = None
        if settings.mode == "Live":
            try:  # kept in the runs folder, so it outlives the tab (live_runs.py)
                journal, saver = live_runs.journal_for(job_id, where, state.api_key() or "", bundle.parsed.items, settings)
            except (OSError, RunStoreError) as exc:
                st.warning(f"This run is not kept after the tab closes: the runs folder cannot be written "
                           f"({markdown_literal(str(exc))}).", icon=":material/save:")
        job = SendJob(job_id, where, journal, len(bundle.parsed.items), on_finish=saver)
        jobs[job_id] = job
    host = where if settings.mode == "Live" else ""
    job.start(_items_to_send(bundle, settings), _client_maker(settings, host), resend_unknown=resend_unknown)
    return job


def _follow(job: SendJob) -> None:
    """A progress bar until the job ends (a rerun meanwhile just picks the bar up again)."""
    if not job.running:
        return
    bar = st.progress(0.0, text=f"Sending to {job.target}…")
    while job.running:
        done, _ = job.snapshot()
        waiting = f" · {job.notices[-1]}" if job.notices else ""
        bar.progress(done / max(job.total, 1),
                     text=f"Sending to {job.target}: {done} of {job.total} event(s){waiting}")
        time.sleep(POLL_SECONDS)
    bar.progress(1.0, text=f"Finished: {job.total} event(s)")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def resume_label(job: SendJob) -> str:
    """What the resume button will send: "Resume: 3 failed events" (delivered ones are never resent)."""
    latest = job.latest()
    failed = sum(1 for o in latest if o.status == SendOutcome.FAILED and o.retryable)
    unsent = job.total - len(latest)
    parts = ([_plural(failed, "failed event") + " a retry can fix"] if failed else []) + (
        [f"{unsent} not sent yet"] if unsent else [])
    return "Resume: " + (" and ".join(parts) if parts else _plural(job.total, "event"))


def _show(job: SendJob) -> None:
    _, this_run = job.snapshot()
    latest = job.latest()
    if job.error:
        st.error(f"The send stopped after {len(this_run)} of {job.total} event(s): {markdown_literal(job.error)}. Click "
                 f"**{resume_label(job)}** to go on; delivered events are not resent.", icon=":material/error:")
    if not latest:
        return
    st.progress(min(len(latest) / max(job.total, 1), 1.0),
                text=f"{len(latest)} of {job.total} event(s) have an outcome")
    counts = {s: sum(1 for o in latest if o.status == s) for s in STATUS_ORDER}
    last_run = summarize(this_run)
    requests = last_run["http_requests"] + last_run["read_back"]
    with st.container(horizontal=True, gap="small"):
        for status in STATUS_ORDER:
            st.metric(status.title, counts[status], border=True, width=METRIC_PX, help=STATUS_MEANING[status])
        st.metric("HTTP requests", requests, border=True, width=METRIC_PX,
                  help="Requests the last run made, answered or not: the send's (lookups included) and one GET "
                       "per record read back. Earlier runs' are not counted again.")
    seconds = max(job.finished_at - job.started_at, 0.0) if job.finished_at else 0.0
    st.caption(f"Event counts are this batch's totals across {_plural(job.runs, 'run')}. Last run (run {job.runs}) "
               f"to {markdown_literal(job.target)}: {run_words(last_run)}" + (f", {seconds:.1f} s." if seconds else "."))
    st.caption(" · ".join(f"**{s}**: {STATUS_MEANING[s]}" for s in STATUS_ORDER))
    # Reasons quote events and replies: escape the sentence, then put the page's own Markdown hints back.
    hints = {"RESENDUNKNOWNHINT": "then use **Resend unknown** below",
             "RERUNHINT": f"fix the cause and click **{resume_label(job)}** (delivered events are not sent again)"}
    for line in plain_words(latest, resend_unknown="RESENDUNKNOWNHINT", rerun="RERUNHINT"):
        shown = markdown_literal(line[:1].upper() + line[1:] + ".")
        for token, hint in hints.items():
            shown = shown.replace(token, hint)
        st.warning(shown, icon=":material/help:" if "unknown" in line else ":material/replay:")
    if job.notices:
        with st.expander(f"While sending: {len(job.notices)} wait(s) and retries"):
            st.text("\n".join(job.notices[-50:]))
    present = [s for s in STATUS_ORDER if counts[s]]
    picked = st.pills("Show outcomes", present, selection_mode="multi", key=OUTCOME_FILTER,
                      help="Filter the table by outcome; none picked shows every event.")
    shown = [o for o in latest if not picked or o.status in picked]
    # A picked row opens the event's run (run_view) below; the key follows the filter, so a stale pick never
    # points into a different list.
    table = st.dataframe(outcome_frame(shown), hide_index=True, height=min(36 * (len(shown) + 1), 320),
                         column_config={"#": st.column_config.NumberColumn("#", width=40),
                                        "status": st.column_config.TextColumn("status", width=150),
                                        "reason": st.column_config.TextColumn("reason", width="large")},
                         column_order=("#", "status", "reason", "HTTP", "record id", "input"),
                         key=f"{OUTCOME_TABLE}_{'_'.join(sorted(picked or []))}", on_select="rerun",
                         selection_mode="single-cell")  # a click anywhere on a row, as in the batch table
    _open_picked(shown, [row for row, _column in table.selection.cells])
    st.caption("Click a row to open that event below: each request as it went out and Freshsales' answer.")


def _open_picked(shown: list, rows: list[int]) -> None:
    """A newly picked outcome row becomes the event shown in detail, its run in view."""
    number = shown[rows[0]].index + 1 if rows and rows[0] < len(shown) else None
    if number is not None and st.session_state.get(OUTCOME_OPENED) != number:
        st.session_state[state.DETAIL_PICK] = number
        st.session_state[state.OPEN_DETAIL] = True
    st.session_state[OUTCOME_OPENED] = number


def run_words(last_run: dict) -> str:
    """ "2 events sent: 3 HTTP requests, 1 answered" — events and requests counted the same way as the metrics."""
    tried, requests, answered = last_run["events_tried"], last_run["http_requests"], last_run["http_answered"]
    if not tried:
        return "no event needed sending"
    answers = "every one answered" if answered == requests else (
        "none answered" if not answered else f"{answered} answered")
    reads = last_run.get("read_back", 0)
    return (f"{_plural(tried, 'event')} sent: {_plural(requests, 'HTTP request')}, {answers}"
            + (f"; then {_plural(reads, 'record')} read back, one GET each" if reads else ""))


def _sandbox_records() -> None:
    server = sandbox.running()
    if server is None:
        return
    contacts, accounts, activities = server.contacts(), server.accounts(), server.activities()
    with st.expander(f"Records in the sandbox: {len(contacts)} contacts · {len(accounts)} sales accounts · "
                     f"{len(activities)} sales activities"):
        as_cards, as_table = st.tabs(["As a CRM user sees them", "Every stored column"])
        groups = (("Contacts", RecordKind.CONTACT, contacts), ("Sales accounts", RecordKind.SALES_ACCOUNT, accounts),
                  ("Sales activities", RecordKind.SALES_ACTIVITY, activities))
        with as_cards:
            for title, kind, records in groups:
                if records:
                    newest = records[-SANDBOX_CARDS:][::-1]
                    st.markdown(f"**{title}**" + (f" (the newest {SANDBOX_CARDS})" if len(records) > SANDBOX_CARDS else ""))
                    st.html(demo_view.cards_html(stored_cards(kind, newest, demo_view.sandbox_names()), compact=True))
        with as_table:
            for title, _kind, records in groups:
                if records:
                    st.markdown(f"**{title}**")
                    st.dataframe(_records_frame(records), hide_index=True, height=min(36 * (len(records) + 1), 250))


def _records_frame(records: list[dict]) -> pd.DataFrame:
    """Stored records with every non-text value as JSON text, so any mix of types displays."""
    rows = [{k: v if isinstance(v, str) else json_text(v) for k, v in r.items()} for r in records]
    return pd.DataFrame(rows).astype("object")


def shown_reason(outcome) -> str:
    if outcome.reason:
        return outcome.reason
    if outcome.status == "delivered":
        return "Freshsales accepted it" + (f" (record {outcome.record_id})" if outcome.record_id is not None else "")
    return STATUS_MEANING[outcome.status]


def outcome_frame(outcomes: list) -> pd.DataFrame:
    """One row per event, every cell text: a missing HTTP status or record id is blank, never "None"."""
    return pd.DataFrame({
        "#": [o.index + 1 for o in outcomes],
        "input": [o.location for o in outcomes],
        "status": [o.label for o in outcomes],
        "reason": [shown_reason(o) for o in outcomes],
        "HTTP": ["" if o.http_status is None else str(o.http_status) for o in outcomes],
        "record id": ["" if o.record_id is None else str(o.record_id) for o in outcomes],
    }, columns=["#", "input", "status", "reason", "HTTP", "record id"])

"""After a send, one event's run in place of its offline plan: each request as it went out (real URL and ids,
key masked), Freshsales' status and answer, attempts and time taken; a toggle brings the preview back.

The run is the latest outcome of the current send job for the event (``demo_view.sent_outcome``). Every
value from the event or from Freshsales is shown escaped: ``markdown_literal`` in Markdown, code blocks for
bodies, headers and answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from freshsales_mapper.sending import SendOutcome

from . import demo_view, state
from .display import STEP_WORDS, body_text, markdown_literal, printable

SENT = "What was sent"
PREVIEW = "Offline preview"
HEADING = "What was sent to Freshsales"
CODE_LINES, CODE_PX = 24, 420  # a body or answer longer than this many lines scrolls in a box this high
CONTAINER = "fm_run_view"  # keyed container around the run (tests and the browser test find it by this)
_ALERTS = {SendOutcome.DELIVERED: st.success, SendOutcome.FAILED: st.error, SendOutcome.UNKNOWN: st.warning,
           SendOutcome.SKIPPED: st.info}
_ICONS = {SendOutcome.DELIVERED: ":material/check_circle:", SendOutcome.FAILED: ":material/cancel:",
          SendOutcome.UNKNOWN: ":material/help:", SendOutcome.SKIPPED: ":material/block:"}
SCROLL_SCRIPT = f"""<script>
// pick {{pick}}: a new text each time, so the browser runs it again for the next row picked
(() => {{
  const run = document.querySelector('[class*="st-key-{CONTAINER}"]');
  if (run) run.scrollIntoView({{behavior: "instant", block: "start"}});
}})();
</script>"""


def toggle_key(index: int) -> str:
    """Per event, so each event keeps its own choice across reruns and picks."""
    return f"run_view_pick_{index}"


def render_requests(index: int, plan: Callable[[], None]) -> None:
    """The event's requests: the run when the current send has an outcome for it (unless the user picked the
    offline preview), else ``plan()``, the offline request plan."""
    opened = st.session_state.pop(state.OPEN_DETAIL, False)  # picked in the Send box's table: show its run
    outcome = demo_view.sent_outcome(index)
    if outcome is None:
        plan()
        return
    if opened:
        st.session_state[toggle_key(index)] = SENT
    st.session_state.setdefault(toggle_key(index), SENT)
    choice = st.segmented_control("Show", [SENT, PREVIEW], key=toggle_key(index),
                                  label_visibility="collapsed",
                                  help="What this event's send did, or the offline preview with {{…}} placeholders.")
    if choice == PREVIEW:
        plan()
        return
    render(outcome, index, scroll=opened)


def render(outcome: Any, index: int, *, scroll: bool = False) -> None:
    """One event's outcome: its status and reason, then every request it made, in order."""
    from .send_panel import LABEL_MEANING, STATUS_MEANING  # the send panel's words (sending code loads lazily)

    with st.container(key=CONTAINER):
        st.markdown(f"#### {HEADING} · event {index + 1}")
        if scroll:  # opened from the Send box's table: bring it into view
            st.html(SCROLL_SCRIPT.replace("{pick}", str(time.monotonic_ns())), unsafe_allow_javascript=True)
        status = SendOutcome(outcome.status)
        reason = f" · {markdown_literal(outcome.reason)}" if outcome.reason else ""
        label = getattr(outcome, "label", status.label)  # "failed: refused by Freshsales", as in the table
        _ALERTS[status](f"**{markdown_literal(label)}**{reason}", icon=_ICONS[status])
        meaning = LABEL_MEANING.get(label) or STATUS_MEANING[status]
        st.caption(markdown_literal(meaning[:1].upper() + meaning[1:]) + ".")
        requests = outcome.requests or []
        if not requests:
            st.caption("No HTTP request was made for this event on the last run.")
            return
        total = sum(r.get("elapsed_ms") or 0 for r in requests)
        host = urlsplit(str(requests[0].get("url", ""))).netloc
        st.caption(f"{len(requests)} request{'s' if len(requests) != 1 else ''} to {markdown_literal(host)}, "
                   f"{_duration(total)} in all (retries and waits included). The key is masked.")
        for number, entry in enumerate(requests, 1):
            with st.container(border=True):
                _request(number, entry)


def _request(number: int, entry: dict) -> None:
    url = str(entry.get("url", ""))
    kind = STEP_WORDS.get(entry.get("kind"), str(entry.get("kind", "")))  # "lookup" / "final" (StepKind's words)
    st.markdown(f"**{number} · {markdown_literal(kind)} · {markdown_literal(entry.get('method', ''))} "
                f"{markdown_literal(urlsplit(url).path)}**")
    status = entry.get("status")
    # One line of badges (numbers and words of our own), wrapping as text does when the column is narrow.
    if status is None:
        badges = [":orange-badge[:material/help: no answer]"]
    elif entry.get("ok"):
        badges = [f":green-badge[:material/check: HTTP {int(status)}]"]
    else:
        badges = [f":red-badge[:material/close: HTTP {int(status)}]"]
    attempts = int(entry.get("attempts") or 0)
    badges.append(f":gray-badge[{attempts} attempt{'s' if attempts != 1 else ''}]")
    if entry.get("elapsed_ms") is not None:
        badges.append(f":gray-badge[:material/timer: {_duration(entry['elapsed_ms'])}]")
    if isinstance(entry.get("record_id"), int):
        badges.append(f":blue-badge[record {entry['record_id']}]")
    st.markdown(" ".join(badges))
    st.code(printable(f"{entry.get('method', '')} {url}"), language=None, wrap_lines=True)
    if not entry.get("ok") and entry.get("message"):
        st.caption(markdown_literal(entry["message"]))
    sent_tab, answer_tab, headers_tab = st.tabs(["Sent body", "Freshsales' answer", "Headers"])
    with sent_tab:
        if entry.get("body") is None:
            st.caption("No body.")
        else:
            _code(body_text(entry["body"]), "json")
    with answer_tab:
        _answer(entry)
    with headers_tab:
        st.code(body_text(entry.get("headers") or {}), language="json", wrap_lines=True)


def _answer(entry: dict) -> None:
    answer = entry.get("answer")
    if entry.get("answer_note"):
        st.caption(markdown_literal(entry["answer_note"]))
    if answer is None:
        st.caption("No answer came back." if entry.get("status") is None else "An empty answer.")
    elif isinstance(answer, str):  # not JSON, or cut short: shown as the text it is
        _code(printable(answer), None)
    else:
        _code(body_text(answer), "json")


def _code(text: str, language: str | None) -> None:
    """A code block; a long one (a contact's whole record) scrolls inside a box instead of filling the page."""
    long = text.count("\n") > CODE_LINES
    st.code(text, language=language, wrap_lines=True, height=CODE_PX if long else "content")


def _duration(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"

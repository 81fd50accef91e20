"""After a send: what Freshsales stored for each record the event touched, beside what was sent, field by field.

The records come from ``read_back`` (run by the send job through the send's own client, so Sandbox reads the
emulator and Live the account). Values are shown as JSON text in a table, never as Markdown or HTML.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import streamlit as st

from freshsales_mapper.engine.records import RecordKind
from freshsales_mapper.sending.readback import FieldReadback

from .display import json_text, markdown_literal

KINDS = frozenset(RecordKind)  # read back as their JSON words: "contact", "sales_account", "sales_activity"
# Why a stored value differs from the sent one, where the reason is known (issue 15's three, plus "different").
MEANING = {
    FieldReadback.SAME: "same",
    FieldReadback.NORMALISED: "normalised: Freshsales stored it in its own form",
    FieldReadback.DIFFERENT: "different: another request or a rule of the account changed it",
    FieldReadback.IGNORED: "ignored: Freshsales keeps no such field on this record, so it is gone",
    FieldReadback.NOT_SENT: "kept: not sent by this event; Freshsales keeps what it had",
}


def summary(entries: list[dict[str, Any]]) -> str:
    """"2 records read back · 9 fields sent: 7 same, 1 normalised, 1 ignored"."""
    counts = Counter(FieldReadback(f["reason"]) for e in entries for f in e.get("fields") or ()
                     if f.get("reason") != FieldReadback.NOT_SENT)
    unread = sum(1 for e in entries if e.get("error"))
    sent = sum(counts.values())
    parts = [f"{len(entries)} record{'s' if len(entries) != 1 else ''} read back"]
    if sent:
        parts.append(f"{sent} field{'s' if sent != 1 else ''} sent: "
                     + ", ".join(f"{counts[r]} {r.value}" for r in FieldReadback if counts[r]))
    if unread:
        parts.append(f"{unread} could not be read")
    return " · ".join(parts)


def field_frame(entry: dict[str, Any]) -> pd.DataFrame:
    """One row per field: sent and stored as JSON text (blank when there is none), and what became of it."""
    rows = [{"field": f["field"],
             "sent": "" if f.get("reason") == FieldReadback.NOT_SENT else json_text(f.get("sent")),
             "stored": "" if f.get("reason") == FieldReadback.IGNORED else json_text(f.get("stored")),
             "result": MEANING.get(FieldReadback(f["reason"]), str(f["reason"]))}
            for f in entry.get("fields") or ()]
    return pd.DataFrame(rows, columns=["field", "sent", "stored", "result"]).astype("object")


def render(outcome: Any) -> None:
    entries = getattr(outcome, "readback", None)
    if not entries:
        return
    with st.expander(f"What Freshsales stored, field by field: {summary(entries)}"):
        st.caption("Read back after the send (one GET per record, counted in the rate budget) and compared with "
                   "what was sent.")
        for entry in entries:
            kind = str(entry.get("kind"))
            title = RecordKind(kind).title if kind in KINDS else kind
            st.markdown(f"**{markdown_literal(title)} {markdown_literal(str(entry.get('id')))}**")
            if entry.get("error"):
                st.warning(markdown_literal(entry["error"]), icon=":material/error:")
                continue
            frame = field_frame(entry)
            st.dataframe(frame, hide_index=True, height=min(36 * (len(frame) + 1), 400),
                         column_config={"result": st.column_config.TextColumn("result", width="large")})

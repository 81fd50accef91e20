"""Mapping from the error: "event name X is not supported" offers one click to map X in the sidebar's table.

The sidebar's mapping editor keeps what a person typed in its widget state (edits, added and deleted rows)
on top of a base table. Adding a row folds those edits into the base first, then appends the new row and
lets the editor start again from that base: nothing typed is lost.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from freshsales_mapper.engine.plan import TransformFailure
from freshsales_mapper.inputs import EventInput

from . import state
from .pipeline import MAPPING_TARGETS

UNSUPPORTED_PREFIX = "event name "
UNSUPPORTED_SUFFIX = " is not supported. Aborting!"


def empty_mappings() -> pd.DataFrame:
    return pd.DataFrame({"from": pd.Series([], dtype="object"), "to": pd.Series([], dtype="object")})


def with_edits(base: pd.DataFrame, edits: Any) -> pd.DataFrame:
    """The editor's table as the person sees it: the base with their edits, added and deleted rows applied."""
    table = base.reset_index(drop=True).copy()
    if not isinstance(edits, dict):
        return table
    for row, changes in (edits.get("edited_rows") or {}).items():
        for column, value in (changes or {}).items():
            if column in table.columns and int(row) < len(table):
                table.at[int(row), column] = value
    deleted = {int(row) for row in edits.get("deleted_rows") or ()}
    table = table.drop(index=[row for row in deleted if row < len(table)])
    added = [{column: row.get(column) for column in ("from", "to")} for row in edits.get("added_rows") or ()
             if isinstance(row, dict)]
    if added:
        table = pd.concat([table, pd.DataFrame(added, columns=["from", "to"])], ignore_index=True)
    return table.reset_index(drop=True)


def add_mapping(source: str, target: str) -> None:
    """Button callback: the editor's current rows (typed values kept), plus ``source -> target``."""
    base = st.session_state.get(state.EVENT_MAP_BASE)
    table = with_edits(base if isinstance(base, pd.DataFrame) else empty_mappings(),
                       st.session_state.get(state.EVENT_MAP))
    present = any(f == source and t == target for f, t in zip(table["from"], table["to"], strict=True))
    if not present:
        table = pd.concat([table, pd.DataFrame([{"from": source, "to": target}])], ignore_index=True)
    table = table.astype("object")
    st.session_state[state.EVENT_MAP_BASE] = table.where(table.notna(), None)  # an empty cell stays empty
    st.session_state.pop(state.EVENT_MAP, None)  # the editor starts again from the base, which holds every edit


def unsupported_name(error: TransformFailure, item: EventInput) -> str | None:
    """The event name RudderStack does not support, when the error says so and the sidebar's mapping applies."""
    if not item.bare or not error.message.startswith(UNSUPPORTED_PREFIX) or \
            not error.message.endswith(UNSUPPORTED_SUFFIX):
        return None
    message = item.message if isinstance(item.message, dict) else {}
    name = message.get("event")
    return name if isinstance(name, str) and name.strip() else None


def offer_mapping(error: TransformFailure, item: EventInput) -> None:
    """One click to map the unsupported event name, for each Freshsales event a mapping can name."""
    name = unsupported_name(error, item)
    if name is None:
        return
    with st.container(border=True):
        st.markdown("**Map this event name** to a Freshsales event with one click (it adds the row to the sidebar's event mapping):")
        st.text(name)  # the name as given, plain text
        columns = st.columns(len(MAPPING_TARGETS))
        for column, target in zip(columns, MAPPING_TARGETS, strict=True):
            column.button(f"Map to {target}", key=f"map_event_to_{target}", on_click=add_mapping,
                          args=(name, target), icon=":material/add_link:", width="stretch")

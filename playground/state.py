"""Session-state keys, defaults and a small per-session memo (so reruns reuse parses and transforms)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import streamlit as st

from .pipeline import DEFAULT_DOMAIN

T = TypeVar("T")

# Widget keys (tests and the browser test find widgets by these).
EVENTS_INPUT = "events_input"
UPLOAD = "upload"
SAMPLE_PICK = "sample_pick"
TRY_EXAMPLE = "try_example"
DOMAIN = "domain"
API_KEY = "api_key"
EVENT_MAP = "event_map"
MODE = "mode"
PROCESSOR_FORMAT = "processor_format"
FILTER_STATUS = "filter_status"
FILTER_TYPE = "filter_type"
FILTER_TEXT = "filter_text"
DETAIL_PICK = "detail_pick"
BATCH_TABLE = "batch_table"
SEND_BUTTON = "send_button"
SEND_AGAIN = "send_again"
LIVE_CONFIRM = "live_confirm"
SANDBOX_RESET = "sandbox_reset"
FORGET_KEY = "forget_key"
PRESENTER = "presenter_mode"

# Non-widget state.
API_KEY_STORE = "_api_key"  # the key itself, moved out of the widget (see settings_panel._take_key)
LOADED_SAMPLE = "_loaded_sample"
EVENT_MAP_BASE = "_event_map_base"
MEMO = "_memo"
OPEN_DETAIL = "_open_detail"  # a row of the Send box's outcome table was picked: scroll to that event's run

MODES = ("Preview", "Sandbox", "Live")


def init_defaults() -> None:
    st.session_state.setdefault(DOMAIN, DEFAULT_DOMAIN)
    st.session_state.setdefault(MODE, MODES[0])
    st.session_state.setdefault(EVENTS_INPUT, "")


def memo(name: str, key: Hashable, compute: Callable[[], T], *, size: int = 1) -> T:
    """``compute()`` once per ``key``; the last ``size`` results per name are kept for this session.

    Results are kept as they are (no copying, unlike ``st.cache_data``), so a rerun over 10,000 events
    costs nothing; the memo is per session, so one user's events are never served to another.
    """
    store: dict[str, OrderedDict] = st.session_state.setdefault(MEMO, {})
    entries = store.setdefault(name, OrderedDict())
    if key in entries:
        entries.move_to_end(key)
        return entries[key]
    value = compute()
    entries[key] = value
    while len(entries) > size:
        entries.popitem(last=False)
    return value


def api_key() -> str | None:
    """The real key; only the send panel calls this, at the moment it sends."""
    return st.session_state.get(API_KEY_STORE)


def get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)

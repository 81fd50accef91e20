"""The sidebar: mode, domain, API key and the event-mapping table. Returns the settings previews use."""

from __future__ import annotations

import streamlit as st

from freshsales_mapper.engine.route import parse_template

from . import sandbox, state
from .display import markdown_literal
from .mapping_fix import empty_mappings
from .pipeline import MAPPING_TARGETS, PLACEHOLDER_KEY, Settings, preview_key, settings_problems

MODE_HELP = {
    "Preview": "offline: nothing leaves this page",
    "Sandbox": "send to a local Freshsales emulator",
    "Live": "send to your Freshsales account",
}


TEMPLATE_NOTE = ("A RudderStack dynamic config template: each event fills the {setting} from that path (the "
                 "default when it is missing or null), and RudderStack removes the value from the event. What it "
                 "resolves to for the event shown is under **What RudderStack's route did**.")


def render() -> Settings:
    with st.sidebar:
        st.header("Settings")
        mode = st.radio("Mode", state.MODES, key=state.MODE, horizontal=True,
                        captions=[MODE_HELP[m] for m in state.MODES])
        if mode == "Sandbox":
            _sandbox_box()
        domain = st.text_input("Freshsales domain", key=state.DOMAIN,
                               help="The full host, as RudderStack uses it: https:// + domain + /crm/sales/api/…")
        if parse_template(domain or ""):
            st.caption(TEMPLATE_NOTE.format(setting="domain"))
        token = _api_key_field()
        if parse_template(token):
            st.caption(TEMPLATE_NOTE.format(setting="key"))
        mappings = _event_mapping_editor()
        settings = Settings(domain=domain or "", key_token=token, mappings=mappings, mode=mode)
        _settings_warnings(settings)
        st.caption("Events pasted as a processor request body carry their own destination: for those the "
                   "domain, key and mappings above do not apply (the page says so per event).")
    return settings


def _take_key() -> None:
    """Move what was typed out of the widget, so the field (and the page's HTML) never holds the key."""
    typed = st.session_state.get(state.API_KEY) or ""
    if typed.strip():
        st.session_state[state.API_KEY_STORE] = typed.strip()
    st.session_state[state.API_KEY] = ""


def _forget_key() -> None:
    st.session_state.pop(state.API_KEY_STORE, None)


def _api_key_field() -> str:
    """The write-only key field; returns what previews show in its place."""
    stored = state.get(state.API_KEY_STORE)
    st.text_input("API key", key=state.API_KEY, type="password", autocomplete="off", on_change=_take_key,
                  placeholder="replace the key…" if stored else "optional for Preview; press Enter",
                  help="Only used to send in Live mode. It is taken out of the field when you press Enter and "
                       "kept in this session's memory: never shown, written to disk or put in the URL. "
                       f"Previews show {PLACEHOLDER_KEY} or the key masked as ****+last 4.")
    token = preview_key(stored)
    if stored:
        left, right = st.columns([3, 2], vertical_alignment="center")
        left.caption(f"Key set: {markdown_literal(token)}")
        right.button("Forget key", key=state.FORGET_KEY, on_click=_forget_key)
    st.caption(f"Previews show {markdown_literal('Authorization: Token token=' + token)}")
    return token


def _sandbox_box() -> None:
    server = sandbox.ensure()
    with st.container(border=True):
        st.markdown(f"**Sandbox running** at `{server.base_url}`")
        if sandbox.stopped_for_idleness():
            st.info(f"The previous Sandbox stopped after {sandbox.idle_seconds() / 60:g} minutes without use, and "
                    "its records and journals went with it: this one is new and empty.", icon=":material/bedtime:")
        st.caption("A local Freshsales emulator for this session. It accepts its own session key; your API key "
                   "is not used. What it stores is listed under the Send button.")
        if st.button("Reset sandbox (new, empty emulator)", key=state.SANDBOX_RESET):
            sandbox.stop()
            st.rerun()


def _event_mapping_editor() -> tuple[tuple[str, str], ...]:
    st.markdown("**Event mapping** (`rudderEventsToFreshsalesEvents`)")
    st.caption("Track events whose name matches *from* (case-insensitively) become each *to*; "
               "one event mapped twice yields two requests.")
    base = st.session_state.setdefault(state.EVENT_MAP_BASE, empty_mappings())
    edited = st.data_editor(
        base, key=state.EVENT_MAP, num_rows="dynamic", hide_index=True,
        column_config={
            "from": st.column_config.TextColumn("from", help="RudderStack event name", required=True),
            "to": st.column_config.SelectboxColumn("to", help="Freshsales event", options=list(MAPPING_TARGETS),
                                                   required=True),
        },
    )
    mappings = []
    for source, target in zip(edited["from"], edited["to"], strict=True):
        source = source.strip() if isinstance(source, str) else ""
        if source and target in MAPPING_TARGETS:
            mappings.append((source, target))
        elif source or isinstance(target, str):
            st.warning("A mapping row needs both *from* and *to*; incomplete rows are ignored.", icon=":material/warning:")
    return tuple(mappings)


def _settings_warnings(settings: Settings) -> None:
    for problem in settings_problems(settings):
        st.warning(markdown_literal(f"Setting {problem}"), icon=":material/warning:")
    domain = settings.domain.strip()
    if domain and "." not in domain:
        st.warning(markdown_literal(f"RudderStack uses the domain as is (https://{domain}/…): give the full host, e.g. "
                                    f"{domain}.myfreshworks.com") + " (the docs' subdomain-only form does not work).", icon=":material/warning:")

"""The whole page, top to bottom: settings (sidebar), events, then one event or the batch, then sending."""

from __future__ import annotations

import streamlit as st

from freshsales_mapper import __version__
from freshsales_mapper.engine import UPSTREAM_COMMIT
from freshsales_mapper.inputs import validate_event

from . import batch_view, demo_view, input_panel, runs_panel, settings_panel, share, single_view, state, style
from .pipeline import detail

INTRO = ("See exactly what RudderStack sends to Freshsales for your events: which source key won for each "
         "field, what was dropped and why, and the requests, side by side. Nothing leaves this page in "
         "Preview mode.")

UPSTREAM_TREE = "https://github.com/rudderlabs/rudder-transformer/tree/"


def render() -> None:
    state.init_defaults()
    style.inject()
    share.apply_from_url()
    settings = settings_panel.render()
    st.session_state.pop(demo_view.CURRENT_JOB, None)  # the send panel sets it again when it shows a send
    title, toggle = st.columns([4, 1], vertical_alignment="bottom")
    title.title("Freshsales mapper playground")
    presenter = toggle.toggle("Presenter mode", key=state.PRESENTER,
                              help="For demos: the headline, the Freshsales records and the picture of the flow in "
                                   "large type; paths, JSON and placeholders are hidden. Switch off to get the "
                                   "same event and settings back in full detail.")
    if presenter:
        # The editor stays on the page (folded), so the events and widgets keep their state across the switch.
        with st.expander("Events (JSON, samples, upload)", expanded=False):
            bundle = input_panel.render()
    else:
        st.caption(INTRO)
        bundle = input_panel.render()
    parsed = bundle.parsed
    if bundle.source == input_panel.TEXT_BOX and bundle.text.strip() and not presenter:
        share.button(bundle.text, settings)
    runs_panel.render(settings)
    if settings.mode != "Preview" and parsed.items:
        from . import send_panel  # the sender is only needed once someone sends

        send_panel.render(bundle, settings)
    if len(parsed.items) == 1 and not parsed.errors:
        item = parsed.items[0]
        st.subheader("What this event becomes in Freshsales" if presenter else "2 · What RudderStack sends")
        result = state.memo("detail", (bundle.key, settings.fingerprint, 1), lambda: detail(item, settings), size=16)
        shapes = state.memo("shape", bundle.key, lambda: validate_event(item.message))
        single_view.render(item, result, shapes)
    elif parsed.items or len(parsed.errors) > input_panel.ERRORS_LISTED:  # else the errors above say it all
        batch_view.render(bundle, settings)
    st.caption(f"freshsales_mapper {__version__} · mapping tables and semantics follow rudder-transformer "
               f"[{UPSTREAM_COMMIT[:12]}]({UPSTREAM_TREE}{UPSTREAM_COMMIT}/src/v0/destinations/freshsales)")

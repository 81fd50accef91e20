"""Faults on demand in Sandbox mode: make the emulator misbehave for the next send, see it, reset it in one click.

The controls set the running emulator's ``Faults`` (``emulator.faults``) on every run of the page, so what
the panel shows is what the emulator does. A change restarts the emulator's dice with ``FAULT_SEED``
(``PLAYGROUND_FAULT_SEED``, default 0): the same batch with the same faults fails the same requests, so a
rehearsed demo goes the same way on stage, and tests are repeatable.
"""

from __future__ import annotations

import os

import streamlit as st

from freshsales_mapper.emulator.faults import MAX_RETRY_AFTER, Faults
from freshsales_mapper.emulator.server import EmulatorServer

FAIL_RATE = "fault_fail_rate"
THROTTLE_RATE = "fault_throttle_rate"
RETRY_AFTER = "fault_retry_after"
ACTIVITY_FAIL_RATE = "fault_activity_fail_rate"
LATENCY_MS = "fault_latency_ms"
RESET = "fault_reset"
APPLIED = "_faults_applied"  # (id of the emulator, the Faults the panel last gave it)
DEFAULTS = {FAIL_RATE: 0.0, THROTTLE_RATE: 0.0, RETRY_AFTER: 1, ACTIVITY_FAIL_RATE: 0.0, LATENCY_MS: 0}
SEED_ENV = "PLAYGROUND_FAULT_SEED"
MAX_PANEL_LATENCY_MS = 5000  # a demo waits at most this long per answer


def fault_seed() -> int:
    try:
        return int(os.environ.get(SEED_ENV, "0"))
    except ValueError:
        return 0


def _reset() -> None:
    from . import sandbox

    for key, value in DEFAULTS.items():
        st.session_state[key] = value
    server = sandbox.running()
    if server is not None:  # whoever set them, the emulator behaves again
        server.set_faults(Faults(), seed=fault_seed())


def chosen() -> Faults:
    """The faults the controls ask for (defaults before the panel is first drawn)."""
    get = st.session_state.get
    return Faults(fail_rate=float(get(FAIL_RATE, 0.0)), throttle_rate=float(get(THROTTLE_RATE, 0.0)),
                  retry_after=int(get(RETRY_AFTER, 1)), activity_fail_rate=float(get(ACTIVITY_FAIL_RATE, 0.0)),
                  latency_ms=float(get(LATENCY_MS, 0)))


def render(server: EmulatorServer) -> Faults:
    """The controls; applies them to ``server`` and returns what is in force for the next send."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    with st.expander("Faults on demand: make the Sandbox misbehave for the next send",
                     expanded=chosen().active):
        left, right = st.columns(2, gap="medium")
        left.slider("Failure rate (500 before doing anything)", 0.0, 1.0, step=0.1, key=FAIL_RATE,
                    help="The share of requests the emulator answers 500 without doing anything: the client "
                         "retries them, and an event that still fails can be resumed.")
        left.slider("429 rate (rate limited)", 0.0, 1.0, step=0.1, key=THROTTLE_RATE,
                    help="The share of requests answered 429 with a Retry-After, as Freshsales' rate limit does.")
        left.number_input("Retry-After (seconds)", 0, MAX_RETRY_AFTER, step=1, key=RETRY_AFTER)
        right.slider("500 after a sales activity was created", 0.0, 1.0, step=0.1, key=ACTIVITY_FAIL_RATE,
                     help="The share of sales activities stored and then answered 500: the sender cannot know "
                          "whether Freshsales kept them, so their outcome is unknown (then Resend unknown).")
        right.number_input("Added latency (ms per answer)", 0, MAX_PANEL_LATENCY_MS, step=100, key=LATENCY_MS)
    faults = chosen()
    applied_to, applied = st.session_state.get(APPLIED, (id(server), Faults()))
    # Only a change made here is pushed (an emulator started with faults of its own keeps them), and a new
    # Sandbox (after a reset) gets the faults the panel shows.
    if (applied_to == id(server) and faults != applied) or (applied_to != id(server) and faults.active):
        server.set_faults(faults, seed=fault_seed())
    st.session_state[APPLIED] = (id(server), faults)
    faults = server.faults  # what the emulator really does
    if faults.active:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.warning("Faults on for the next send: " + "; ".join(faults.describe()) + ".",
                       icon=":material/bolt:", width="stretch")
            st.button("Reset faults", key=RESET, on_click=_reset, icon=":material/restart_alt:",
                      help="Back to an emulator that behaves: no failures, no 429s, no added latency.")
    return faults

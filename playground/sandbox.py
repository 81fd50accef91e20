"""The Sandbox: a local Freshsales emulator the app starts on demand, one per browser session.

It listens on a free loopback port and accepts only a random key made for this session, so the
user's real API key is never needed (nor sent) in Sandbox mode.
"""

from __future__ import annotations

import secrets

import streamlit as st

from freshsales_mapper.emulator.server import EmulatorServer

SERVER = "_sandbox_server"
KEY = "_sandbox_key"


def running() -> EmulatorServer | None:
    return st.session_state.get(SERVER)


def ensure() -> EmulatorServer:
    server = running()
    if server is None:
        key = secrets.token_urlsafe(24)
        server = EmulatorServer(host="127.0.0.1", port=0, api_key=key).start()
        st.session_state[KEY] = key
        st.session_state[SERVER] = server
    return server


def key() -> str:
    return st.session_state[KEY]


def stop() -> None:
    server = st.session_state.pop(SERVER, None)
    st.session_state.pop(KEY, None)
    if server is not None:
        server.stop()

"""Shared fixtures: local Freshsales emulators on free loopback ports, always stopped afterwards."""

from __future__ import annotations

import pytest

from freshsales_mapper.emulator.server import EmulatorServer

EMULATOR_KEY = "emulator-test-key-7f3a9c"


@pytest.fixture
def emulator():
    """Factory: ``emulator(**EmulatorServer options)`` starts one on 127.0.0.1 with a free port."""
    started: list[EmulatorServer] = []

    def start(**options) -> EmulatorServer:
        options.setdefault("api_key", EMULATOR_KEY)
        server = EmulatorServer(host="127.0.0.1", port=0, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

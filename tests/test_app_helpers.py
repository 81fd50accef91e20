"""Helpers for the playground's AppTest tests (no tests here): start the app, feed it, read everything it shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_events"
APP = "../app.py"  # AppTest resolves it against this file's folder
TIMEOUT = 60  # seconds per script run: generous for a slow shared machine


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def stop_sandbox(at: AppTest) -> None:
    server = at.session_state.get("_sandbox_server")
    if server is not None:
        server.stop()


def app_session() -> Iterator[AppTest]:
    """For a fixture (``app = pytest.fixture(app_session)``): a fresh app session, its sandbox stopped afterwards."""
    at = new_app()
    yield at
    stop_sandbox(at)


def paste(at: AppTest, text: str) -> AppTest:
    at.text_area(key="events_input").set_value(text)
    at.run()
    assert not at.exception, at.exception
    return at


def set_key(at: AppTest, key: str) -> AppTest:
    at.sidebar.text_input(key="api_key").set_value(key)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def joined(elements) -> str:
    return "\n".join(texts(elements))


def metrics(at: AppTest) -> dict[str, str]:
    """Metric values by label (the first of a label wins: the send panel's come before the batch's)."""
    found: dict[str, str] = {}
    for metric in at.metric:
        found.setdefault(metric.label, metric.value)
    return found


def walk(node) -> Iterator:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def rendered_bytes(at: AppTest) -> bytes:
    """Every element's protobuf, serialised: text, JSON, code, tables (Arrow bytes), widget labels and values."""
    return b"\n".join(node.proto.SerializeToString() for node in walk(at._tree)
                      if getattr(node, "proto", None) is not None)


class Downloads:
    """Captures what every download button would hand out (deferred data is generated on demand)."""

    def __init__(self) -> None:
        self.files: dict[str, object] = {}

    def payload(self, name: str) -> bytes:
        data = self.files[name]
        data = data() if callable(data) else data
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def json(self, name: str):
        return json.loads(self.payload(name))


def capture_downloads() -> Iterator[Downloads]:
    """For a fixture: captures what every download button of the app hands out."""
    captured = Downloads()
    original_deferred, original_add = MediaFileManager.add_deferred, MediaFileManager.add

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        captured.files[file_name] = data_callable
        return original_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    def add(self, data, mimetype, coordinates, file_name=None, **kwargs):
        if file_name:
            captured.files[file_name] = data
        return original_add(self, data, mimetype, coordinates, file_name, **kwargs)

    with mock.patch.object(MediaFileManager, "add_deferred", add_deferred), \
            mock.patch.object(MediaFileManager, "add", add):
        yield captured

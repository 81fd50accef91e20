"""Helpers for the playground's AppTest tests (no tests here): start the app, feed it, read everything it shows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
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


def as_shown(markdown: str) -> str:
    """What a reader sees of a Markdown text the page escaped with markdown_literal: escapes and joiners gone."""
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|~<>$:&])", r"\1", markdown).replace("\u2060", "")


def texts(elements) -> list[str]:
    return [as_shown(str(e.value)) for e in elements]


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


def json_codes(at: AppTest) -> list:
    """Every JSON code block (request bodies, headers, processor items), parsed."""
    return [json.loads(c.value) for c in at.code if c.language == "json"]


class _TableReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(at: AppTest) -> list[list[list[str]]]:
    """The HTML tables the page shows (field mapping, unused inputs), as rows of cell texts, header first."""
    tables = []
    for element in at.get("html"):
        body = element.proto.body
        if "<table" in body:
            reader = _TableReader()
            reader.feed(body)
            tables.append(reader.rows)
    return tables


def field_table(at: AppTest) -> dict[str, dict[str, str]]:
    """The field mapping by field: {"badge", "value", "why", "folded"}, in the order shown ("order").

    Fields with no value are in a second, folded table (an expander); "folded" says which table a row is in.
    """
    tables = [(element.proto.body, rows) for element in at.get("html") if "<table" in element.proto.body
              for rows in [_rows(element.proto.body)] if rows[0] == ["Field", "Value sent", "Why"]]
    assert tables, "no field mapping table"
    found = {}
    order = 0
    for body, rows in tables:
        for cells in rows[1:]:
            field, value, why = cells if len(cells) == 3 else (cells[0], "", cells[1])  # no value: why spans two
            name, _, badge = field.partition(" ")
            found[name] = {"badge": badge, "value": value, "why": why, "order": order,
                           "folded": "fm-folded" in body}
            order += 1
    return found


def _rows(body: str) -> list[list[str]]:
    reader = _TableReader()
    reader.feed(body)
    return reader.rows


def unmapped_table(at: AppTest) -> dict[str, dict[str, str]]:
    rows = next(t for t in html_tables(at) if t[0] == ["Input", "Value", "Hint"])
    return {path: {"value": value, "hint": hint} for path, value, hint in rows[1:]}

"""The API key typed into the sidebar appears nowhere: not in any rendered element, download, query
parameter, log line or file, through every view and a real (loopback) Live send."""

from __future__ import annotations

import logging
import os

import pytest
from test_app_helpers import app_session, capture_downloads, joined, metrics, paste, rendered_bytes, sample, set_key

from freshsales_mapper.sending import FreshsalesClient
from playground import send_panel

app = pytest.fixture(app_session)
downloads = pytest.fixture(capture_downloads)
SECRET = "sk-SECRET-5d41402abc4b2a76"
MASKED = "****2a76"


def assert_nowhere(app, *, where: str) -> None:
    page = rendered_bytes(app)
    assert SECRET.encode() not in page, f"the key is rendered ({where})"
    assert SECRET not in repr(dict(app.query_params)), f"the key is in the URL ({where})"
    assert app.sidebar.text_input(key="api_key").value == "", f"the key stays in the field ({where})"


def test_the_key_appears_nowhere(app, downloads, emulator, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    set_key(app, SECRET)
    assert MASKED in joined(app.sidebar.caption)
    assert_nowhere(app, where="empty page")

    # One event, every part of the single view.
    for name in ("identify.json", "group_with_user_email.json", "mistake_no_email.json"):
        paste(app, sample(name))
        assert f"Token token={MASKED}" in joined(app.code) or "rejects" in joined(app.error)
        assert_nowhere(app, where=name)
    app.toggle(key="processor_format").set_value(True)
    app.run()
    assert_nowhere(app, where="processor format")

    # Many events: table, chart, detail, and all four downloads.
    paste(app, sample("batch_mixed.ndjson"))
    assert_nowhere(app, where="batch view")
    assert set(downloads.files) == {"results.json", "results.csv", "request_plans.json", "processor_output.json"}
    for name in downloads.files:
        payload = downloads.payload(name)
        assert SECRET.encode() not in payload, f"the key is in {name}"
    assert MASKED.encode() in downloads.payload("request_plans.json")

    # A Live send with that key, to an emulator that only accepts it (standing in for Freshsales).
    freshsales = emulator(api_key=SECRET)
    monkeypatch.setattr(send_panel, "FreshsalesClient",
                        lambda host, key, **options: FreshsalesClient(host, key, base_url=freshsales.base_url))
    paste(app, sample("identify.json"))
    app.sidebar.radio(key="mode").set_value("Live")
    app.run()
    app.checkbox(key="live_confirm").check()
    app.run()
    app.button(key="send_button").click()
    app.run()
    assert not app.exception, app.exception
    assert metrics(app)["Delivered"] == "1"  # the key really was used, and accepted
    assert len(freshsales.contacts()) == 1
    assert_nowhere(app, where="after a Live send")

    # Sandbox sending, too (it uses its own key, never the user's).
    monkeypatch.undo()
    app.sidebar.radio(key="mode").set_value("Sandbox")
    app.run()
    app.button(key="send_button").click()
    app.run()
    assert metrics(app)["Delivered"] == "1"
    assert_nowhere(app, where="after a Sandbox send")

    # Logs, and every file the app wrote (the send journals).
    assert SECRET not in caplog.text
    journal_dir = app.session_state["_send_dir"]
    files = [os.path.join(journal_dir, f) for f in os.listdir(journal_dir)]
    assert files
    for path in files:
        with open(path, "rb") as handle:
            assert SECRET.encode() not in handle.read(), f"the key is in {path}"


def test_the_check_can_fail(app):
    """The walk over rendered elements does find a key when one is shown (so the test above means something)."""
    paste(app, '{"type": "identify", "traits": {"email": "a@example.com", "title": "' + SECRET + '"}}')
    assert SECRET.encode() in rendered_bytes(app)

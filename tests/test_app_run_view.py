"""After a send, the event's view shows the run in place of the offline plan: the real requests (real URL,
real ids, key masked), Freshsales' answers, attempts and times; a toggle brings the preview back, and a row
picked in the Send box's outcome table opens that event's run. Sandbox sends go to an emulator on 127.0.0.1."""

from __future__ import annotations

import json
import re

import pytest
from test_app_helpers import app_session, as_shown, joined, paste, rendered_bytes, sample
from test_app_send import SANDBOX_KEY, click_send, sandbox_mode

from freshsales_mapper.engine.secret import mask_key
from playground import run_view

app = pytest.fixture(app_session)


def badges(app) -> list[str]:
    return [badge for m in app.markdown for badge in re.findall(r":\w+-badge\[[^\]]*\]", m.value)]


def codes(app) -> str:
    return "\n".join(c.value for c in app.code)


def test_after_a_send_the_event_shows_what_was_sent_and_the_toggle_brings_the_preview_back(app, emulator):
    server = sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    paste(app, sample("group_with_user_email.json"))
    assert "{{sales_account.id}}" in codes(app) and "#### Request plan" in joined(app.markdown)
    click_send(app)

    assert f"#### {run_view.HEADING} · event 1" in joined(app.markdown)
    assert "#### Request plan" not in joined(app.markdown) and "{{" not in codes(app)
    shown = codes(app)
    for path in ("contacts/upsert?include=sales_accounts", "sales_accounts/upsert", "contacts/upsert"):
        assert f"POST {server.base_url}/crm/sales/api/{path}" in shown  # the real URL, as it went out
    account_id = server.accounts()[0]["id"]
    bodies = [json.loads(c.value) for c in app.code if c.language == "json"]
    link = next(b for b in bodies if isinstance(b, dict) and b.get("contact", {}).get("sales_accounts"))
    assert link["contact"]["sales_accounts"][0]["id"] == account_id  # the real id where the preview had {{…}}
    assert any(isinstance(b, dict) and b.get("sales_account", {}).get("id") == account_id for b in bodies)  # answer
    found = badges(app)
    assert found.count(":green-badge[:material/check: HTTP 200]") == 3 and found.count(":gray-badge[1 attempt]") == 3
    assert sum(1 for b in found if ":material/timer:" in b and (" ms]" in b or " s]" in b)) == 3
    assert any(f'"Authorization": "Token token={mask_key(SANDBOX_KEY)}"' in c.value for c in app.code)
    assert "delivered" in joined(app.success)
    assert SANDBOX_KEY.encode() not in rendered_bytes(app)

    app.button_group(key=run_view.toggle_key(0)).set_value(run_view.PREVIEW).run()
    assert "#### Request plan" in joined(app.markdown) and "{{sales_account.id}}" in codes(app)
    assert "https://acme.myfreshworks.com/crm/sales/api/sales_accounts/upsert" in codes(app)
    app.run()  # the choice survives a rerun
    assert "{{sales_account.id}}" in codes(app)
    app.button_group(key=run_view.toggle_key(0)).set_value(run_view.SENT).run()
    assert "{{" not in codes(app) and f"#### {run_view.HEADING} · event 1" in joined(app.markdown)


def test_a_skipped_event_says_rudderstack_rejects_it_and_nothing_was_sent(app, emulator):
    server = sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    paste(app, sample("mistake_no_email.json"))
    click_send(app)
    assert "skipped (RudderStack rejects it)" in as_shown(joined(app.info))
    assert "RudderStack's error" in as_shown(joined(app.caption))  # the send panel's words, names kept as written
    assert "No HTTP request was made for this event" in joined(app.caption)
    assert not server.request_log


def test_an_unknown_outcome_says_a_request_went_out_and_no_answer_came_back(app, emulator):
    from playground import faults_panel

    sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    paste(app, sample("track_sales_activity_by_type_id.json"))
    app.slider(key=faults_panel.ACTIVITY_FAIL_RATE).set_value(1.0).run()
    click_send(app)
    assert "**unknown**" in joined(app.warning)
    assert "no clear answer came back (none, or a 5xx after Freshsales may have stored it)" in joined(app.caption)
    assert ":red-badge[:material/close: HTTP 500]" in badges(app)


def test_picking_an_outcome_row_opens_that_events_run(app, emulator):
    server = sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    lines = [json.dumps({"type": "identify", "traits": {"email": f"person{n}@example.com"}}) for n in range(3)]
    paste(app, "\n".join([*lines, json.dumps({"type": "identify", "traits": {"name": "No Email"}})]))
    app.multiselect(key="filter_status").set_value(["skipped"]).run()  # the batch table shows only event 4
    click_send(app)
    assert f"#### {run_view.HEADING} · event 4" in joined(app.markdown)  # the detail shows the one event left

    table = next(d for d in app.dataframe if d.key and d.key.startswith("send_outcome_table"))
    app.session_state[table.key] = {"selection": {"rows": [], "columns": [], "cells": [[1, "reason"]]}}
    app.run()
    assert not app.exception, app.exception
    assert app.selectbox(key="detail_pick").value == 2  # opened even though the batch filter hides it
    assert f"#### {run_view.HEADING} · event 2" in joined(app.markdown)
    assert '"emails": "person1@example.com"' in codes(app) and str(server.contacts()[1]["id"]) in codes(app)
    assert any(run_view.CONTAINER in h.proto.body and "scrollIntoView" in h.proto.body for h in app.get("html"))
    app.run()  # the pick is followed once: no jump on later reruns
    assert not any("scrollIntoView" in h.proto.body for h in app.get("html"))

    app.toggle(key="presenter_mode").set_value(True).run()  # presenter mode: no JSON, no URLs
    assert not app.exception and run_view.HEADING not in joined(app.markdown)
    assert server.base_url not in codes(app)


def test_freshsales_words_in_the_run_are_shown_as_text_never_as_markdown(app, monkeypatch):
    """A refusal whose message is Markdown and HTML (a hostile or odd server) reads as those characters."""
    from test_app_helpers import set_key

    from freshsales_mapper.sending import FreshsalesClient
    from playground import send_panel
    from tests.hostile import answer, hostile_server

    message = "**bold** <img src=x onerror=alert(1)> [link](https://evil.example/)"
    refuse = lambda conn, _request, _n, _server: answer(conn, 400, {"errors": {"code": 400, "message": message}})  # noqa: E731
    with hostile_server(refuse) as server:
        monkeypatch.setattr(send_panel, "FreshsalesClient",
                            lambda host, key, **options: FreshsalesClient(host, key, base_url=server.base_url))
        set_key(app, "live-key-for-the-run-view-7a1b")
        paste(app, sample("identify.json"))
        app.sidebar.radio(key="mode").set_value("Live").run()
        app.checkbox(key="live_confirm").check().run()
        click_send(app)
    assert ":red-badge[:material/close: HTTP 400]" in badges(app)
    assert "**failed: refused by Freshsales** · contact: HTTP 400:" in as_shown(joined(app.error))  # the table's words
    assert "Freshsales refused it (a 4xx such as 400, 404 or 422) and would refuse it again" in as_shown(
        joined(app.caption))  # this event's meaning, not both kinds of failure
    run = [m.value for m in app.markdown] + [e.value for e in app.error] + [c.value for c in app.caption]
    shown = [text for text in run if "bold" in text]
    raw = re.compile(r"\*\*bold|(?<!\\)<img|\]\(https")  # Markdown or HTML the page would act on
    assert shown and not any(raw.search(text) for text in shown), shown
    assert any(message in as_shown(text) for text in shown)  # escaped, yet it reads as sent
    assert any(message in c.value for c in app.code)  # and the answer itself, in a code block
    assert b"live-key-for-the-run-view-7a1b" not in rendered_bytes(app)


def test_a_kept_live_run_shows_its_requests_in_a_new_session(emulator, runs_folder):
    """A Live run outlives its tab (live_runs); a new session with the same events shows that run's requests."""
    from test_app_helpers import new_app
    from test_app_runs import IDENTIFY, KEY, keep_delivered_run, live

    server = emulator(api_key=KEY)
    job = keep_delivered_run(server)
    assert job.wait(60) and job.complete

    app = live(new_app(), IDENTIFY)
    assert f"#### {run_view.HEADING} · event 1" in joined(app.markdown)
    assert f"POST {server.base_url}/crm/sales/api/contacts/upsert" in codes(app)
    assert ":green-badge[:material/check: HTTP 200]" in badges(app)
    assert f":blue-badge[record {server.contacts()[0]['id']}]" in badges(app)
    assert KEY.encode() not in rendered_bytes(app)
    assert all(KEY not in path.read_text(encoding="utf-8") for path in runs_folder.iterdir())

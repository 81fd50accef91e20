"""The demo through AppTest: record cards (offline and after a Sandbox send), the flow picture, presenter
mode, faults on demand and the batch story."""

from __future__ import annotations

import html
import re

import pytest
from test_app_helpers import app_session, joined, metrics, paste, sample
from test_app_send import SANDBOX_KEY, click_send, identify_lines, sandbox_mode

from freshsales_mapper.emulator.faults import Faults
from playground import faults_panel

app = pytest.fixture(app_session)


def html_of(at) -> str:
    return "\n".join(str(h.value) for h in at.get("html"))


def picture(at) -> str:
    blocks = [str(h.value) for h in at.get("html") if 'class="fm-flow' in str(h.value)]
    assert blocks, "no flow picture on the page"
    return blocks[0]


def flow_boxes(picture_html: str) -> list[tuple[str, str, str]]:
    """(node id, its classes, its text) for each box of the picture, in page order."""
    boxes = []
    for match in re.finditer(r'<div class="([^"]*)" data-node="([^"]+)"[^>]*>(.*?)</div></div>', picture_html):
        boxes.append((match.group(2), match.group(1), html.unescape(re.sub(r"<[^>]+>", " ", match.group(3)))))
    return boxes


def test_offline_cards_say_would_be_and_assigned_by_freshsales(app):
    paste(app, sample("group_with_user_email.json"))
    cards = html_of(app)
    assert cards.count('class="fm-card ') == 2
    assert "Northwind Traders" in cards and "8,500,000" in cards and "would be" in cards
    assert "assigned by Freshsales" in cards
    boxes = flow_boxes(picture(app))
    assert sum("WRITES" in text for _n, _c, text in boxes) == 2 and not any("FAILED" in text for _n, _c, text in boxes)
    order = [node for node, _classes, _text in boxes]
    assert order == ["event", "route", "step0", "step1", "record0", "step2", "record1"]  # each record by its step


def test_card_values_are_escaped(app):
    paste(app, sample("identify.json").replace('"Amara"', '"<b>Amara</b> **bold**"'))
    cards = html_of(app)
    assert "&lt;b&gt;Amara&lt;/b&gt; **bold**" in cards and "<b>Amara" not in cards


def test_the_picture_marks_the_step_that_failed(app):
    paste(app, sample("mistake_no_email.json"))
    rejected = [box for box in flow_boxes(picture(app)) if box[0] == "rejected"]
    assert len(rejected) == 1 and "fm-line-red" in rejected[0][1] and "RudderStack rejects the event" in rejected[0][2]
    assert "No Freshsales record" in joined(app.caption)


def test_presenter_mode_hides_detail_and_keeps_the_event(app):
    paste(app, sample("group_with_user_email.json"))
    app.sidebar.radio(key="mode").set_value("Preview")
    app.toggle(key="presenter_mode").set_value(True).run()
    assert not app.exception
    page_html = html_of(app)
    assert "fm-card" in page_html and "<table" not in page_html  # cards, no field table
    assert not [m for m in app.markdown if "Request plan" in m.value]
    assert not app.get("code")  # no JSON, cURL or headers
    assert picture(app)
    app.toggle(key="presenter_mode").set_value(False).run()
    assert '"type": "group"' in app.text_area(key="events_input").value
    assert "<table" in html_of(app) and [m for m in app.markdown if "Request plan" in m.value]


def test_cards_after_a_sandbox_send_show_what_was_stored(app, emulator):
    server = sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    paste(app, sample("identify.json"))
    click_send(app)
    [contact] = server.contacts()
    cards = html_of(app)
    assert "stored in Freshsales" in cards and f">{contact['id']}<" in cards
    assert "What Freshsales stored" in joined(app.caption)
    # The Sandbox's record list shows the same cards, not raw columns first.
    assert any("fm-compact" in h and "Amara Okafor" in h for h in (str(e.value) for e in app.get("html")))


def test_a_half_failing_sandbox_shows_retries_and_resume(app, emulator):
    server = sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    paste(app, identify_lines(40))  # enough that some fail even after the client's retries
    app.slider(key=faults_panel.FAIL_RATE).set_value(0.5).run()
    app.slider(key=faults_panel.THROTTLE_RATE).set_value(0.3).run()
    app.number_input(key=faults_panel.RETRY_AFTER).set_value(0).run()
    assert "Faults on for the next send: 50% of requests fail with 500" in joined(app.warning)
    assert server.faults == Faults(fail_rate=0.5, throttle_rate=0.3, retry_after=0)
    click_send(app)
    found = metrics(app)
    failed = int(found["Failed"])
    assert failed > 0 and int(found["Delivered"]) > 0
    # The client retries a 429, and a 500 on an upsert (repeating it is harmless); the page says so.
    retries = next(e for e in app.expander if "retries" in e.label)
    assert "after HTTP 429" in joined(retries.text) and "after HTTP 500" in joined(retries.text)
    resume = app.button(key="send_button")
    assert resume.label == f"Resume: {failed} failed event{'s' if failed > 1 else ''} a retry can fix"
    click_send(app)  # resumed with the faults still on: only the failed events go again
    assert int(metrics(app)["Failed"]) < failed and "totals across 2 runs" in joined(app.caption)
    app.button(key=faults_panel.RESET).click().run()
    assert server.faults == Faults() and app.slider(key=faults_panel.FAIL_RATE).value == 0.0
    assert "Faults on" not in joined(app.warning)
    click_send(app)
    assert metrics(app)["Failed"] == "0" and int(metrics(app)["Delivered"]) == 40
    assert len(server.contacts()) == 40
    assert "40 contacts upserted" in [t.value for t in app.text]  # the batch story, after the send
    assert "(after the send)" in joined(app.markdown)


def test_a_500_after_the_activity_makes_it_unknown_and_the_picture_red(app, emulator):
    server = sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    paste(app, sample("track_sales_activity_by_type_id.json"))
    app.slider(key=faults_panel.ACTIVITY_FAIL_RATE).set_value(1.0).run()
    click_send(app)
    assert metrics(app)["Unknown"] == "1" and len(server.activities()) == 1
    failed = [text for _node, classes, text in flow_boxes(picture(app)) if "fm-line-red" in classes]
    assert len(failed) == 1 and "UNKNOWN: HTTP 500" in failed[0] and "Freshsales may" in failed[0]


def test_the_batch_is_told_as_a_story(app):
    paste(app, sample("batch_mixed.ndjson"))
    story = [t.value for t in app.text if "RudderStack rejects them:" in t.value]
    assert story and story[0].startswith(tuple("0123456789")) and "contacts would be upserted" in story[0]
    assert "without an email" in story[0]
    charts = [str(c.proto.spec) for c in app.get("vega_lite_chart")]
    assert any('"object"' in spec and '"outcome"' in spec for spec in charts), charts
    assert "Freshsales records for the events in the table" in " ".join(e.label for e in app.expander)


def test_a_batch_in_presenter_mode_keeps_its_filters(app):
    paste(app, sample("batch_mixed.ndjson"))
    app.multiselect(key="filter_status").set_value(["skipped"]).run()
    app.toggle(key="presenter_mode").set_value(True).run()
    assert not app.exception, app.exception
    assert [t.value for t in app.text if "RudderStack rejects them:" in t.value]
    assert "Counts, skipped events, losses and every event" in [e.label for e in app.expander]
    app.toggle(key="presenter_mode").set_value(False).run()
    assert app.multiselect(key="filter_status").value == ["skipped"]
    assert app.get("download_button")


def test_presenter_mode_after_a_send_hides_the_raw_answers(app, emulator):
    sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    paste(app, sample("identify.json"))
    click_send(app)
    assert "What was sent to Freshsales" in joined(app.markdown) and app.get("code")
    app.toggle(key="presenter_mode").set_value(True).run()
    assert not app.exception
    assert "What was sent to Freshsales" not in joined(app.markdown) and not app.get("code")
    assert "stored in Freshsales" in html_of(app) and metrics(app)["Delivered"] == "1"


def test_stored_cards_name_owners_and_types_as_the_sandbox_account_does(app, emulator):
    sandbox_mode(app, emulator(api_key=SANDBOX_KEY))
    paste(app, sample("track_sales_activity_by_type_id.json"))
    click_send(app)
    cards = html_of(app)
    assert "stored in Freshsales" in cards
    assert "Priya Patel (user 70054866612)" in cards  # the owner the sample names, as the account calls her

"""One event, side by side: the field table, unmapped inputs, doc-vs-code notes, the request plan with
side-effect lookups and placeholders, cURL, the processor format, and RudderStack's errors explained."""

from __future__ import annotations

import json

import pytest
from test_app_helpers import app_session, joined, paste, sample, set_key

app = pytest.fixture(app_session)


def field_table(app):
    return next(d.value for d in app.dataframe if "Freshsales field" in d.value.columns)


def test_the_field_table_shows_source_raw_and_sent_values(app):
    paste(app, sample("identify.json"))
    table = field_table(app).set_index("Freshsales field")
    assert table.loc["emails", "winning source"] == "traits.email"
    assert table.loc["emails", "value sent"] == '"amara.okafor@northwind.example.com"'
    assert table.loc["address", "raw value"].startswith('{"street": "48 Elm Street"')
    assert table.loc["address", "value sent"] == '"48 Elm Street Austin TX USA 78701"'
    assert table.loc["address", "status"] == "sent (note)"  # flattened: the notes say how
    assert table.loc["first_name", "status"] == "sent"
    assert "flattened" in table.loc["address", "notes"]
    assert "section" not in table.columns  # one section only
    before = len(table)
    app.checkbox(key="show_unset").check()
    app.run()
    everything = field_table(app)
    assert len(everything) > before and "no value" in everything["status"].tolist()


def test_dropped_values_are_flagged_with_the_reason(app):
    paste(app, sample("mistake_numeric_string_ids.json"))
    table = field_table(app).set_index("Freshsales field")
    assert table.loc["owner_id", "status"] == "DROPPED"
    assert "not a number" in table.loc["owner_id", "notes"]
    assert table.loc["lifecycle_stage_id", "value sent"] == "71010794467"  # a number now, not a string
    assert table.loc["lifecycle_stage_id", "raw value"] == '"71010794467"'


def test_unmapped_inputs_and_doc_vs_code_notes(app):
    paste(app, sample("identify.json"))
    unmapped = next(d.value for d in app.dataframe if "input path" in d.value.columns)
    assert "traits.company.name" in unmapped["input path"].tolist()
    assert all(unmapped["hint"].str.len() > 0)
    notes = joined(app.info)
    assert "`external_id`:" in notes and "externalId" in notes
    assert app.expander  # the doc notes of fields this event does not set


def test_the_request_plan_has_method_url_masked_headers_body_and_curl(app):
    paste(app, sample("identify.json"))
    set_key(app, "sk-plan-test-9f8e7d6c")
    codes = joined(app.code)
    assert "POST https://acme.myfreshworks.com/crm/sales/api/contacts/upsert" in codes
    curl = next(c for c in app.code if c.value.startswith("curl "))
    assert curl.language == "bash"
    assert "-H 'Authorization: Token token=****7d6c'" in curl.value and "sk-plan" not in curl.value
    assert "--data-raw" in curl.value
    headers, body = None, None
    for element in app.json:
        value = json.loads(element.value)
        if "Authorization" in value:
            headers = value
        elif "unique_identifier" in value:
            body = value
    assert headers == {"Authorization": "Token token=****7d6c", "Content-Type": "application/json"}
    assert body["unique_identifier"] == {"emails": "amara.okafor@northwind.example.com"}
    assert [t.label for t in app.tabs] == ["Body", "Headers", "cURL"]


def test_side_effect_lookups_and_placeholders_are_marked(app):
    paste(app, sample("group_with_user_email.json"))
    markdown = joined(app.markdown)
    assert markdown.count("side effect: writes to Freshsales while transforming") == 2
    assert "Step 1 · lookup while transforming · POST /crm/sales/api/contacts/upsert?include=sales_accounts" in markdown
    assert "Step 3 · request RudderStack delivers" in markdown
    captions = joined(app.caption)
    assert "placeholder — offline:" in captions
    assert "Placeholder(s) in this body: `{{sales_account.id}}`" in captions
    assert "{{sales_account.id}}" in joined(app.json)
    assert "RudderStack itself calls Freshsales" in joined(app.info)  # the doc-vs-code note for this event


def test_the_processor_format_toggle_shows_rudderstacks_items_masked(app):
    paste(app, sample("track_mapped_to_two_events.json"))
    app.toggle(key="processor_format").set_value(True)
    app.run()
    items = json.loads(app.json[0].value)
    assert [i["statusCode"] for i in items] == [200, 200]
    assert items[0]["output"]["type"] == "REST" and items[0]["output"]["body"]["JSON"]
    assert items[0]["output"]["headers"]["Authorization"] == "Token token=****-key"  # its own key, demo-key
    assert items[0]["metadata"] == {"messageId": "4e6a8c0e-2f3b-4d5c-9e7f-1a3b5d7f9c18"}
    assert "demo-key" not in app.json[0].value


def test_an_error_shows_rudderstacks_text_the_explanation_the_fix_and_the_fate(app):
    paste(app, sample("mistake_no_email.json"))
    assert "RudderStack **drops** it (status 400)" in joined(app.error)
    assert 'Missing required value from "emailOnly"' in [c.value for c in app.code]
    markdown = joined(app.markdown)
    assert "**Why:** An identify event needs the user's email" in markdown and "**Fix:**" in markdown
    emails = field_table(app).set_index("Freshsales field").loc["emails"]
    assert emails["status"] == "MISSING" and emails["notes"].startswith("required: nothing usable in emailOnly")
    assert "RudderStack stopped at the error" in joined(app.caption)
    app.toggle(key="processor_format").set_value(True)
    app.run()
    item = json.loads(app.json[0].value)[0]
    assert item["error"] == 'Missing required value from "emailOnly"' and item["statusCode"] == 400


def test_a_crash_is_shown_as_retried(app):
    paste(app, json.dumps({"type": 7, "traits": {"email": "a@example.com"}}))
    assert "RudderStack **retries** it (status 500)" in joined(app.error)
    assert "message.type.toLowerCase is not a function" in joined(app.code)

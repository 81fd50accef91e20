"""One event, side by side: the field table, unmapped inputs, doc-vs-code notes, the request plan with
side-effect lookups and placeholders, cURL, the processor format, and RudderStack's errors explained."""

from __future__ import annotations

import json

import pytest
from test_app_helpers import (
    app_session,
    as_shown,
    field_table,
    joined,
    json_codes,
    paste,
    sample,
    set_key,
    unmapped_table,
)

app = pytest.fixture(app_session)


def test_the_field_table_says_value_sent_and_why_problems_first(app):
    paste(app, sample("identify.json"))
    table = field_table(app)
    assert table["emails"]["why"] == "from traits.email"
    assert table["emails"]["value"] == '"amara.okafor@northwind.example.com"'
    assert table["emails"]["badge"] == "sent"
    assert table["address"]["value"] == '"48 Elm Street Austin TX USA 78701"'
    assert "flattened" in table["address"]["why"] and table["address"]["badge"] == "flattened"
    assert "sent as an object" not in table["address"]["why"]  # the type check sees the flattened string
    # Fields with no value fold into one line by default (opened on demand), with every source looked at.
    assert table["mobile_number"]["folded"] and not table["emails"]["folded"]
    assert table["mobile_number"]["badge"] == "no value"
    assert table["mobile_number"]["why"] == ("no value: traits.mobileNumber: missing · "
                                             "context.traits.mobileNumber: missing")
    assert table["mobile_number"]["order"] > table["emails"]["order"]


def test_empty_fields_say_what_each_source_held(app):
    event = {"type": "identify", "traits": {"email": "a@example.com", "phone": ""},
             "context": {"traits": {"phone": None}}}
    paste(app, json.dumps(event))
    why = field_table(app)["work_number"]["why"]
    assert why == "no value: traits.phone: empty string · context.traits.phone: null · properties.phone: missing"


def test_dropped_and_coerced_values_come_first_with_the_reason(app):
    paste(app, sample("mistake_numeric_string_ids.json"))
    table = field_table(app)
    assert table["owner_id"]["badge"] == "dropped" and table["owner_id"]["order"] == 0
    assert "not a number" in table["owner_id"]["why"] and "traits.ownerId" in table["owner_id"]["why"]
    stage = table["lifecycle_stage_id"]
    assert stage["value"] == "71010794467" and stage["badge"] == "coerced"  # a number now, not a string
    assert '"71010794467" converted with JavaScript Number()' in stage["why"]
    assert stage["order"] < table["emails"]["order"]
    headline = joined(app.warning)
    assert "1 request · owner_id dropped" in headline and "identify event for " in headline
    assert "`" not in headline  # the user is shown as given: no stray code marks


def test_unmapped_inputs_and_doc_vs_code_notes(app):
    paste(app, sample("identify.json"))
    unmapped = unmapped_table(app)
    assert "traits.company.name" in unmapped
    assert all(row["hint"] for row in unmapped.values())
    # the headline names them; unused inputs alone are information, not a warning
    assert "unused: traits.company.name, traits.title" in joined(app.info)
    assert not app.warning
    notes = joined(app.info)
    assert "external_id:" in notes and "externalId" in notes and "`" not in notes
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
    for value in json_codes(app):
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
    assert "Placeholder(s) in this body: {{sales_account.id}}" in captions
    assert "{{sales_account.id}}" in joined(app.code)
    assert "RudderStack itself calls Freshsales" in joined(app.info)  # the doc-vs-code note for this event


def test_the_processor_format_toggle_shows_rudderstacks_items_masked(app):
    paste(app, sample("track_mapped_to_two_events.json"))
    app.toggle(key="processor_format").set_value(True)
    app.run()
    items = json_codes(app)[0]
    assert [i["statusCode"] for i in items] == [200, 200]
    assert items[0]["output"]["type"] == "REST" and items[0]["output"]["body"]["JSON"]
    assert items[0]["output"]["headers"]["Authorization"] == "Token token=****"  # its own key, demo-key: too short to show any of it
    assert items[0]["metadata"] == {"messageId": "4e6a8c0e-2f3b-4d5c-9e7f-1a3b5d7f9c18"}
    assert "demo-key" not in joined(app.code)


def test_an_error_shows_rudderstacks_text_the_explanation_the_fix_and_the_fate(app):
    paste(app, sample("mistake_no_email.json"))
    assert "RudderStack **drops** it (status 400)" in joined(app.error)
    assert 'Missing required value from "emailOnly"' in [c.value for c in app.code]
    markdown = joined(app.markdown)
    assert "**Why:** An identify event needs the user's email" in markdown and "**Fix:**" in markdown
    emails = field_table(app)["emails"]
    assert emails["badge"] == "missing" and emails["order"] == 0
    assert emails["why"].startswith("required, and nothing usable was found") and "traits.email: missing" in emails["why"]
    # the unread analysis reads the tables, not where RudderStack stopped: nothing it reads is called unread
    assert "Everything under traits, context.traits and properties was read" in joined(app.caption)
    app.toggle(key="processor_format").set_value(True)
    app.run()
    item = json_codes(app)[0][0]
    assert item["error"] == 'Missing required value from "emailOnly"' and item["statusCode"] == 400


def test_a_crash_is_shown_as_retried(app):
    paste(app, json.dumps({"type": 7, "traits": {"email": "a@example.com"}}))
    assert "RudderStack **retries** it (status 500)" in joined(app.error)
    assert "message.type.toLowerCase is not a function" in joined(app.code)


def test_the_footer_names_the_upstream_commit_the_tables_follow(app):
    from freshsales_mapper.engine import UPSTREAM_COMMIT

    assert UPSTREAM_COMMIT[:12] in joined(app.caption)
    paste(app, sample("identify.json"))
    assert f"rudder-transformer [{UPSTREAM_COMMIT[:12]}]" in joined(app.caption)


def test_a_hint_sits_on_the_row_of_the_field_it_meant(app):
    paste(app, json.dumps({"type": "identify", "traits": {"email": "a@example.com", "mobile": "+1 555 0100"}}))
    table = field_table(app)
    mobile = table["mobile_number"]
    assert not mobile["folded"] and mobile["order"] < table["last_name"]["order"]
    assert 'hint: traits.mobile = "+1 555 0100": not read for identify events' in mobile["why"]
    assert "traits.mobileNumber (mobile_number)" in mobile["why"]
    assert "traits.mobile" in unmapped_table(app)  # and in the unread list too
    assert table["last_name"]["folded"]


def test_an_event_that_sends_everything_has_a_success_headline(app):
    paste(app, json.dumps({"type": "identify", "traits": {"email": "a@example.com", "firstName": "Rosa"}}))
    assert "everything given is sent" in joined(app.success)
    assert not app.warning


def test_the_headline_names_losses_and_the_badge_says_blanked(app):
    paste(app, json.dumps({"type": "identify", "traits": {"email": "a@example.com", "address": "1 Main St",
                                                          "ownerId": "12abc"}}))
    headline = joined(app.warning)
    assert 'address blanked to ""' in headline and "owner_id dropped" in headline
    assert field_table(app)["address"]["badge"] == "blanked"
    paste(app, json.dumps({"type": "group", "traits": {"name": "Acme"}}))
    assert "contact not linked" in joined(app.warning)
    email = field_table(app)["user"]  # "user email (contact lookup)": its row says what the missing email costs
    assert not email["folded"] and "links no contact" in email["why"] and "traits.email: missing" in email["why"]


def test_a_rejected_event_shows_every_field_and_every_missing_requirement(app):
    paste(app, json.dumps({"type": "track", "event": "sales_activity", "properties": {"title": "Demo",
                                                                                     "ownerId": 7}}))
    assert 'Missing required value from "properties.startDate"' in [c.value for c in app.code]
    also = joined(app.text)
    assert "end_date ← properties.endDate" in also and "targetable_type ← context.externalId.type" in also
    table = field_table(app)
    assert table["owner_id"]["badge"] == "not reached" and table["owner_id"]["value"] == "7"
    assert table["owner_id"]["why"].startswith("not reached: RudderStack stopped at properties.startDate")
    headline = joined(app.markdown)
    assert "start_date missing" in headline and "end_date missing" in headline


def test_the_lifecycle_stage_name_row_says_it_finds_the_stage(app):
    paste(app, sample("track_lifecycle_stage_by_name.json"))
    why = field_table(app)["lifecycle_stage_name"]["why"]
    assert "to find the lifecycle stage with this exact name" in why and "contact" not in why


def test_many_unread_inputs_show_the_first_200_and_a_count(app):
    traits = {"email": "a@example.com"} | {f"custom_{n}": n for n in range(450)}
    paste(app, json.dumps({"type": "identify", "traits": traits}))
    assert "450 inputs no field reads; the first 200 are listed." in joined(app.caption)
    assert len(unmapped_table(app)) == 200
    assert "and 447 more" in joined(app.info)  # the headline names three, then counts


def test_docs_vs_code_notes_name_fields_without_stray_code_marks(app):
    paste(app, sample("group_with_user_email.json"))
    notes = [i.value for i in app.info if "flattened" in i.value]
    assert notes and "address: An address object is flattened" in as_shown(notes[0])
    assert "`" not in as_shown(notes[0])  # escaped Markdown would print code marks literally

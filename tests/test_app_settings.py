"""The settings sidebar: event-mapping editor, domain, the write-only API key field, modes, and which
settings apply to a processor body that carries its own destination."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from test_app_helpers import app_session, joined, paste, sample, set_key

app = pytest.fixture(app_session)

DEMO_BOOKED = json.dumps({
    "type": "track", "event": "Demo Booked",
    "context": {"traits": {"email": "amara@example.com"}, "externalId": {"type": "Contact"}},
    "properties": {"title": "Demo", "startDate": "2024-03-07T10:00:00Z", "endDate": "2024-03-07T10:30:00Z",
                   "ownerId": "70054866612", "salesActivityTypeId": "70000646201", "lifecycleStageId": 71012139274},
})


def edit_mappings(app, rows: list[dict]) -> None:
    """What typing rows into the data editor sends back to the app."""
    app.session_state["event_map"] = {"edited_rows": {}, "added_rows": rows, "deleted_rows": []}
    app.run()
    assert not app.exception, app.exception


def test_the_mapping_editor_turns_one_event_into_two_requests(app):
    paste(app, DEMO_BOOKED)
    assert "event name Demo Booked is not supported. Aborting!" in joined(app.code)
    edit_mappings(app, [{"from": "Demo Booked", "to": "sales_activity"}, {"from": "demo booked", "to": "lifecycle_stage"}])
    assert "· 2 requests ·" in joined(app.success)
    codes = joined(app.code)
    assert "POST https://acme.myfreshworks.com/crm/sales/api/sales_activities" in codes
    assert codes.count("POST https://acme.myfreshworks.com/crm/sales/api/contacts/upsert") >= 2  # lookup + stage
    assert app.data_editor[0].editing_mode == "dynamic"


def test_an_incomplete_mapping_row_is_ignored_and_said_so(app):
    paste(app, DEMO_BOOKED)
    edit_mappings(app, [{"from": "Demo Booked", "to": None}])
    assert "incomplete rows are ignored" in joined(app.sidebar.warning)
    assert "is not supported" in joined(app.code)


def test_the_domain_setting_is_used_as_is_in_every_url(app):
    paste(app, sample("identify.json"))
    app.sidebar.text_input(key="domain").set_value("northwind.myfreshworks.com")
    app.run()
    assert "POST https://northwind.myfreshworks.com/crm/sales/api/contacts/upsert" in joined(app.code)


def test_a_subdomain_only_domain_gets_a_warning(app):
    app.sidebar.text_input(key="domain").set_value("acme")
    app.run()
    assert "give the full host" in joined(app.sidebar.warning)


def test_without_a_key_previews_show_a_visible_placeholder(app):
    paste(app, sample("identify.json"))
    assert "Token token=YOUR_API_KEY" in joined(app.code)
    assert app.sidebar.text_input(key="api_key").proto.type == 1  # PASSWORD


def test_a_typed_key_leaves_the_field_and_previews_show_it_masked(app):
    paste(app, sample("identify.json"))
    set_key(app, "fs-key-0123456789abcdef")
    assert app.sidebar.text_input(key="api_key").value == ""  # the field never keeps the key
    assert app.session_state["_api_key"] == "fs-key-0123456789abcdef"
    assert "Token token=****cdef" in joined(app.code)
    assert "Key set: ****cdef" in joined(app.sidebar.caption)
    app.sidebar.button(key="forget_key").click()
    app.run()
    assert "_api_key" not in app.session_state
    assert "Token token=YOUR_API_KEY" in joined(app.code)


def test_a_processor_body_says_its_own_destination_applies(app):
    paste(app, sample("track_mapped_to_two_events.json"))
    info = joined(app.info)
    assert "carries its own destination" in info and "domain acme.myfreshworks.com" in info
    assert "2 event mapping(s)" in info and "****" in info  # its key, masked
    assert "· 2 requests ·" in joined(app.success) + joined(app.warning) + joined(app.info)  # its mappings apply though the sidebar has none
    app.sidebar.text_input(key="domain").set_value("elsewhere.myfreshworks.com")
    app.run()
    assert "elsewhere" not in joined(app.code)


def test_preview_is_the_default_mode_and_sandbox_starts_an_emulator_on_demand(app):
    assert app.sidebar.radio(key="mode").value == "Preview"
    assert "_sandbox_server" not in app.session_state
    app.sidebar.radio(key="mode").set_value("Sandbox")
    app.run()
    server = app.session_state["_sandbox_server"]
    assert server.host == "127.0.0.1" and server.port > 0
    assert f"**Sandbox running** at `{server.base_url}`" in joined(app.sidebar.markdown)
    with pytest.raises(urllib.error.HTTPError) as refused:  # it is really listening, and checks the key
        urllib.request.urlopen(server.base_url + "/crm/sales/api/selector/owners", timeout=10)
    assert refused.value.code == 401
    app.sidebar.button(key="sandbox_reset").click()
    app.run()
    assert app.session_state["_sandbox_server"] is not server  # a new, empty emulator


def test_one_click_maps_an_unsupported_event_name_and_keeps_what_was_typed(app):
    paste(app, DEMO_BOOKED)
    # a row typed but not finished, and one finished: neither may be lost by the click
    edit_mappings(app, [{"from": "Signed Up", "to": "lifecycle_stage"}, {"from": "Half typed", "to": None}])
    assert "Demo Booked" in [t.value for t in app.text]
    app.button(key="map_event_to_sales_activity").click()
    app.run()
    assert not app.exception, app.exception
    assert "event name Demo Booked is not supported" not in joined(app.code)
    assert "POST https://acme.myfreshworks.com/crm/sales/api/sales_activities" in joined(app.code)
    rows = app.data_editor[0].value
    targets = [None if not isinstance(t, str) else t for t in rows["to"]]  # an empty cell reads back as NaN
    assert list(zip(rows["from"], targets, strict=True)) == [
        ("Signed Up", "lifecycle_stage"), ("Half typed", None), ("Demo Booked", "sales_activity")]
    assert not any(b.key == "map_event_to_sales_activity" for b in app.button)  # mapped: nothing to offer


def test_the_mapping_offer_adds_lifecycle_stage_too_and_only_once(app):
    paste(app, DEMO_BOOKED.replace("Demo Booked", "Stage Changed"))
    app.button(key="map_event_to_lifecycle_stage").click()
    app.run()
    rows = app.data_editor[0].value
    assert list(zip(rows["from"], rows["to"], strict=True)) == [("Stage Changed", "lifecycle_stage")]
    assert "POST https://acme.myfreshworks.com/crm/sales/api/contacts/upsert" in joined(app.code)

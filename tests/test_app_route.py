"""The playground says what RudderStack's route did, takes templates in domain and key, never shows the key a
template picks, answers every item of a processor body and renders values nested 10,000 deep."""

from __future__ import annotations

import json

import pytest
from test_app_helpers import app_session, joined, paste, rendered_bytes, set_key

app = pytest.fixture(app_session)

SECRET = "user-secret-98765"
EVENT = {"type": "identify", "userId": SECRET, "traits": {"email": "a@b.co"},
         "context": {"traits": {"fsDomain": "other.myfreshworks.com"}}}


def test_templates_in_the_sidebar_are_filled_from_the_event_and_the_picked_key_is_masked(app):
    app.sidebar.text_input(key="domain").set_value('{{ event.context.traits.fsDomain || "acme.myfreshworks.com" }}')
    set_key(app, '{{ message.userId || "dflt" }}')
    paste(app, json.dumps(EVENT))
    captions = joined(app.sidebar.caption)
    assert "dynamic config template" in captions
    notes = joined(app.info)
    assert "What RudderStack's route did" in notes
    assert 'domain came from {{ event.context.traits.fsDomain' in notes and '"other.myfreshworks.com"' in notes
    assert "RudderStack then removed message.userId" in notes and "external_id is not sent" in notes
    page = rendered_bytes(app)
    assert SECRET.encode() not in page.replace(b'"userId": "' + SECRET.encode(), b"")  # only the event itself
    assert b"****8765" in page and b"https://other.myfreshworks.com/crm" in page


def test_every_item_of_a_processor_body_is_answered_in_the_batch(app):
    body = [{"message": {"type": "identify", "traits": {"email": "a@b.co"}},
             "destination": {"Config": {"apiKey": "k-123456789", "domain": "acme.myfreshworks.com"}}},
            {"message": {"type": "identify", "traits": {"email": "a@b.co"}}},
            {"message": None, "destination": None}]
    paste(app, json.dumps(body))
    page = rendered_bytes(app)
    assert (b"reading 'Config'" in page and b"3 events" in page) or b"3" in page
    assert not app.exception


def test_a_value_nested_ten_thousand_deep_renders(app):
    deep_text = '{"a":' * 10_000 + '"leaf"' + "}" * 10_000
    paste(app, '{"type": "identify", "traits": {"email": "a@b.co", "jobTitle": ' + deep_text + "}}")
    assert not app.exception
    assert "1 request" in joined(app.warning) + joined(app.success)

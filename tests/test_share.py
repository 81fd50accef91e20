"""Share links: events and settings round-trip through the URL; the API key never goes in."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from test_app_helpers import app_session, field_table, joined, paste, rendered_bytes, sample, set_key

from playground.share import MAX_TOKEN_CHARS, PARAM, SharedState, ShareError, decode, encode, link_for, too_long

app = pytest.fixture(app_session)
SECRET = "sk-share-test-0d9c8b7a6f"


def unpacked(token: str) -> dict:
    return json.loads(zlib.decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))))


def test_a_link_round_trips_events_domain_and_mappings():
    shared = SharedState('{"type": "identify", "traits": {"email": "ü@example.com"}}', "acme.myfreshworks.com",
                         (("Demo Booked", "sales_activity"), ("Demo Booked", "lifecycle_stage")))
    token = encode(shared)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")  # URL-safe as is
    assert decode(token) == shared
    assert link_for("http://localhost:8501/?s=old", token) == f"http://localhost:8501/?{PARAM}={token}"


@pytest.mark.parametrize(("token", "says"), [
    ("not base64 at all!", "not base64url"),
    (base64.urlsafe_b64encode(b"plain bytes").decode().rstrip("="), "does not unpack"),
    (base64.urlsafe_b64encode(zlib.compress(b'{"v": 9}')).decode(), "another version"),
    (base64.urlsafe_b64encode(zlib.compress(b'{"v": 1, "events": 5}')).decode(), "lacks the events"),
    (base64.urlsafe_b64encode(zlib.compress(b'{"v": 1, "events": "", "domain": "d", "mappings": [["a", "x"]]}'))
     .decode(), "not a [from, to] pair"),
    (base64.urlsafe_b64encode(zlib.compress(b" " * 50_000_000)).decode(), "share links hold at most"),
])
def test_a_broken_link_says_what_is_wrong(token, says):
    with pytest.raises(ShareError, match=says.replace("[", r"\[").replace("]", r"\]")):
        decode(token)


def test_too_many_events_get_a_clear_size_message():
    events = "\n".join(json.dumps({"type": "identify", "traits": {"email": f"user{n}@example.com", "n": n * 7919}})
                       for n in range(3000))
    message = too_long(encode(SharedState(events, "acme.myfreshworks.com", ())))
    assert message.startswith("These events are too large for a link") and f"{MAX_TOKEN_CHARS:,}" in message


def test_the_copied_link_holds_the_events_and_never_the_key(app):
    paste(app, sample("mistake_numeric_string_ids.json"))
    set_key(app, SECRET)
    app.sidebar.text_input(key="domain").set_value("northwind.myfreshworks.com")
    app.run()
    app.button(key="share_button").click()
    app.run()
    assert not app.exception, app.exception
    token = app.query_params[PARAM][0] if isinstance(app.query_params[PARAM], list) else app.query_params[PARAM]
    document = unpacked(token)
    assert document["events"] == sample("mistake_numeric_string_ids.json")
    assert document["domain"] == "northwind.myfreshworks.com"
    assert SECRET not in json.dumps(document) and "2a76" not in token
    assert SECRET.encode() not in rendered_bytes(app)
    assert any(token in c.value for c in app.code)  # the link, ready to copy

    colleague = app_session()
    other = next(colleague)
    try:
        other.query_params[PARAM] = token
        other.run()
        assert not other.exception, other.exception
        assert other.text_area(key="events_input").value == sample("mistake_numeric_string_ids.json")
        assert other.sidebar.text_input(key="domain").value == "northwind.myfreshworks.com"
        assert field_table(other)["owner_id"]["badge"] == "dropped"  # the same mapping
        assert SECRET.encode() not in rendered_bytes(other)
    finally:
        next(colleague, None)


def test_a_key_template_that_reads_the_events_is_warned_about_before_copying(app):
    paste(app, sample("identify.json"))
    set_key(app, '{{ message.traits.apiKey || "none" }}')
    app.button(key="share_button").click()
    app.run()
    assert "takes the key from the events" in joined(app.warning)
    assert PARAM not in app.query_params  # nothing copied yet
    app.checkbox(key="share_anyway").check()
    app.run()
    assert PARAM in app.query_params


def test_only_rudderstacks_template_grammar_counts_as_a_key_from_the_events():
    from playground.share import key_comes_from_events

    assert key_comes_from_events('{{ event.context.traits.key || "x" }}')
    assert not key_comes_from_events("{{ message.traits.apiKey }}")  # no "||": RudderStack uses it as written
    assert not key_comes_from_events("plain-key-1234") and not key_comes_from_events(None)


def test_an_unreadable_link_starts_an_empty_page_with_a_message(app):
    app.query_params[PARAM] = "%%%broken"
    app.run()
    assert "This share link could not be read" in joined(app.error)
    assert app.text_area(key="events_input").value == ""


def test_a_processor_bodys_own_key_never_travels_in_the_link(app):
    own = "sk-LIVE-own-key-99991706"
    bodies = [{"message": {"type": "identify", "traits": {"email": "a@example.com"}},
               "destination": {"Config": {"domain": "acme.myfreshworks.com", "apiKey": own}}},
              {"message": {"type": "identify", "traits": {"email": "b@example.com"}},
               "destination": {"Config": {"domain": "acme.myfreshworks.com",
                                          "apiKey": "{{ message.context.fsKey || \"YOUR_API_KEY\" }}"}}}]
    text = json.dumps(bodies, indent=2)
    paste(app, text)
    app.button(key="share_button").click()
    app.run()
    assert not app.exception, app.exception
    token = app.query_params[PARAM][0] if isinstance(app.query_params[PARAM], list) else app.query_params[PARAM]
    events = unpacked(token)["events"]
    assert own not in events and "1706" not in events
    assert events == text.replace(own, "YOUR_API_KEY")  # formatting kept, the template kept as a template
    assert "replaced by YOUR_API_KEY" in joined(app.caption)


def _packed(document: dict) -> str:
    return base64.urlsafe_b64encode(zlib.compress(json.dumps(document).encode(), 9)).decode().rstrip("=")


def test_a_link_bomb_is_refused_before_it_unpacks_whole():
    from playground import share

    bomb = _packed({"v": 1, "events": " " * 3_000_000, "domain": "d", "mappings": []})  # 3 MB of text
    assert len(bomb) <= MAX_TOKEN_CHARS
    with pytest.raises(ShareError, match=f"more than {share.MAX_TEXT_BYTES:,} bytes"):
        decode(bomb)
    many = _packed({"v": 1, "events": '{"type":"identify"}\n' * (share.MAX_EVENTS + 1), "domain": "d", "mappings": []})
    with pytest.raises(ShareError, match=f"at most {share.MAX_EVENTS:,}"):
        decode(many)


def test_the_version_message_closes_its_parenthesis():
    with pytest.raises(ShareError) as caught:
        decode(_packed({"v": 9}))
    assert str(caught.value).count("(") == str(caught.value).count(")")

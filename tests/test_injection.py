"""Markdown injection (issue 17, defect 3): values from events, settings and share links are shown as text.

A forged share link puts an image and a link into a user id, a track event's name, the domain setting and a
processor body's domain. The page must show them literally: no element renders them as Markdown.
"""

from __future__ import annotations

import json

import pytest
from test_app_helpers import app_session

from playground.display import markdown_literal
from playground.share import PARAM, SharedState, encode

app = pytest.fixture(app_session)


def payload(base: str) -> str:
    return f"![x]({base}/x.png) [click me]({base}/)"


def forged_events(base: str) -> str:
    track = {"type": "track", "event": payload(base), "userId": payload(base),
             "properties": {"email": "a@example.com"}}
    body = {"message": {"type": "identify", "userId": payload(base), "traits": {"email": "b@example.com"}},
            "destination": {"Config": {"domain": payload(base), "apiKey": "sk-processor-0000"}}}
    return "\n".join(json.dumps(e) for e in (track, body))


def forged_token(base: str) -> str:
    return encode(SharedState(forged_events(base), payload(base), ()))


def markdown_bodies(at) -> list[str]:
    """Every text Streamlit renders as Markdown: markdown, captions, alerts, and widget labels."""
    found = [str(e.value) for kind in (at.markdown, at.caption, at.info, at.warning, at.error, at.success)
             for e in kind]
    found += [str(w.label) for kind in (at.checkbox, at.button, at.selectbox, at.text_input) for w in kind]
    found += [str(e.label) for e in at.expander]
    return found


@pytest.mark.parametrize("pick", [1, 2])
def test_a_forged_link_shows_its_values_escaped_in_every_markdown_element(app, pick):
    base = "http://127.0.0.1:9"
    app.query_params[PARAM] = forged_token(base)
    app.run()
    if pick == 2:
        app.selectbox(key="detail_pick").set_value(2).run()
    assert not app.exception, app.exception
    bodies = markdown_bodies(app)
    for body in bodies:
        assert f"]({base}" not in body and f"({base}" not in body.replace(f"\\({base}", ""), body  # no live link/image
        assert "<img" not in body and "<a " not in body, body
    escaped = markdown_literal(payload(base))
    assert sum(escaped in body for body in bodies) >= 2, bodies  # the headline and a domain warning at least


def test_the_one_helper_escapes_every_markdown_character():
    text = "![x](http://h/x.png) [a](b) *b* _i_ `c` <b>h</b> # $x$ ~s~ :smile: www.e.com a|b"
    escaped = markdown_literal(text)
    for mark in "![]()*_`<>#$~:|.":
        assert mark not in escaped.replace("\\" + mark, ""), (mark, escaped)
    assert markdown_literal("two\nlines") == "two lines"


def test_an_email_is_not_made_a_mailto_link():
    escaped = markdown_literal("amara.okafor@northwind.example.com and x+y@h.io")
    assert "\u2060@northwind" in escaped and "y\u2060@h" in escaped  # GFM links local@domain only when adjacent
    assert escaped.replace("\u2060", "").replace("\\", "") == "amara.okafor@northwind.example.com and x+y@h.io"


def test_a_bare_url_is_not_made_a_link():
    escaped = markdown_literal("see http://127.0.0.1:9/ and HTTPS://h and www.example.com")
    for marker in ("http\\:", "HTTPS\\:", "www\\."):
        assert marker not in escaped, escaped  # GFM's autolink needs these as written
    assert escaped.replace("\u2060", "").replace("\\", "") == "see http://127.0.0.1:9/ and HTTPS://h and www.example.com"

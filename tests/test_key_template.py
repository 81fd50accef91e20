"""A key setting that is a template whose default is the real key never shows that default (issue 19, item 2)."""

from __future__ import annotations

import json

import pytest
from test_app_helpers import app_session, as_shown, paste, rendered_bytes, sample, set_key
from test_cli_transform import IDENTIFY, transform

app = pytest.fixture(app_session)
REAL = "sk-REAL-template-default-4321"
TEMPLATE = '{{ event.context.fsKey || "' + REAL + '" }}'


def test_a_template_default_is_masked_and_its_path_kept():
    from freshsales_mapper.engine.route import masked_template

    assert masked_template(TEMPLATE) == '{{ event.context.fsKey || "****4321" }}'
    assert masked_template("{{ event.context.fsKey || \"\" }}") == '{{ event.context.fsKey || "" }}'


@pytest.mark.parametrize("shape", ["--json", "--table"])
def test_explain_masks_a_key_templates_default(shape):
    body = json.dumps([{"message": IDENTIFY, "destination": {"Config": {"apiKey": TEMPLATE,
                                                                        "domain": "acme.myfreshworks.com"}}}])
    proc = transform("--view", "explain", shape, stdin=body)
    assert proc.returncode == 0, proc.stderr
    assert REAL not in proc.stdout and REAL not in proc.stderr
    assert "****4321" in proc.stdout


def shown(at) -> str:
    """Everything the page sends to the browser, Markdown escapes undone (as a reader sees it)."""
    return as_shown(rendered_bytes(at).decode("utf-8", "replace"))


def test_the_page_never_shows_a_key_templates_default(app):
    paste(app, sample("identify.json"))
    set_key(app, TEMPLATE)
    assert REAL not in shown(app)
    assert "****4321" in shown(app)
    body = [{"message": json.loads(sample("identify.json")),
             "destination": {"Config": {"apiKey": TEMPLATE, "domain": "acme.myfreshworks.com"}}}]
    paste(app, json.dumps(body))
    assert not app.exception, app.exception
    assert REAL not in shown(app)

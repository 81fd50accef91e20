"""Input flows: every sample through the picker, bad JSON with line and column, shape errors with paths,
NDJSON with a bad line, CSV and non-UTF-8 uploads, and the memo that keeps reruns cheap."""

from __future__ import annotations

import json

import pytest
from test_app_helpers import SAMPLES, app_session, field_table, joined, metrics, paste, sample

from freshsales_mapper.inputs import parse_csv_text, parse_events_text
from playground.input_panel import sample_files

SAMPLE_NAMES = sample_files()
app = pytest.fixture(app_session)


def test_the_picker_lists_every_sample_file():
    on_disk = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".json", ".ndjson", ".jsonl", ".csv"))
    assert on_disk == SAMPLE_NAMES
    assert "identify.json" in SAMPLE_NAMES and "batch_mixed.ndjson" in SAMPLE_NAMES


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_each_sample_loads_into_the_text_box_and_maps(app, name):
    app.selectbox(key="sample_pick").set_value(name)
    app.run()
    assert not app.exception, app.exception
    text = sample(name)
    assert app.text_area(key="events_input").value == text
    assert app.selectbox(key="sample_pick").value is None  # ready to load the same sample again
    assert f"Loaded **{name}**" in joined(app.caption)
    parsed = parse_csv_text(text, name) if name.endswith(".csv") else parse_events_text(text, name)
    count = len(parsed.items)
    if name.endswith(".csv"):
        # Loaded into the text box, a CSV is read as JSON: the page says what went wrong and where.
        assert app.error, "CSV pasted as text must be reported, not silently ignored"
        return
    assert not app.error or all("rejects this event" in e.value for e in app.error)
    if count == 1:
        assert "#### Request plan" in joined(app.markdown)
    else:
        assert metrics(app)["Events"] == str(count)
        assert metrics(app)["Unreadable"] == "0"


def test_typing_updates_the_mapping_without_a_click(app):
    paste(app, sample("identify.json"))
    assert "https://acme.myfreshworks.com/crm/sales/api/contacts/upsert" in joined(app.code)
    paste(app, sample("group_without_user_email.json"))
    codes = joined(app.code)
    assert "/crm/sales/api/sales_accounts/upsert" in codes and "/contacts/upsert" not in codes


def test_invalid_json_is_reported_with_line_and_column(app):
    paste(app, '{"type": "identify",\n "traits": {"email": "a@b.co",}\n}')
    errors = joined(app.error)
    assert "Invalid JSON at line 2, column 31" in errors
    assert "Expecting property name enclosed in double quotes" in errors
    # The offending line, with a caret under column 31.
    excerpt = next(c.value for c in app.code if "^" in c.value)
    line, caret = excerpt.split("\n")
    assert line == ' "traits": {"email": "a@b.co",}' and caret.index("^") == 30
    assert not app.metric and "#### Request plan" not in joined(app.markdown)


def test_shape_errors_are_listed_per_event_with_json_paths(app):
    paste(app, json.dumps({"type": "identify", "traits": "amara@example.com", "context": {"traits": []},
                           "userId": True}))
    warning = joined(app.warning)
    assert "breaks RudderStack's event shape" in warning
    for path in ("- $.traits:", "- $.context.traits:", "- $.userId:"):
        assert path in warning
    assert "must be an object, got a string" in warning


def test_shape_errors_in_a_batch_are_a_column_of_the_table(app):
    good = {"type": "identify", "traits": {"email": "a@example.com"}}
    bad = {"type": "identify", "traits": {"email": "b@example.com"}, "context": "web"}
    paste(app, json.dumps(good) + "\n" + json.dumps(bad))
    table = app.dataframe(key="batch_table").value
    assert table["shape problems"].tolist()[0] == ""
    assert table["shape problems"].tolist()[1].startswith("$.context:")


def test_ndjson_with_a_bad_line_lists_it_and_still_maps_the_good_ones(app):
    lines = [json.dumps({"type": "identify", "traits": {"email": "one@example.com"}}),
             '{"type": "identify", "traits": {"email": "two@example.com"',
             json.dumps({"type": "group", "traits": {"name": "Northwind"}})]
    paste(app, "\n".join(lines))
    assert "Invalid JSON at line 2, column" in joined(app.error)
    assert "2** event(s) from NDJSON" in joined(app.caption) and "**1** part(s) could not be read" in joined(app.caption)
    found = metrics(app)
    # the group without an email maps, but links no contact: lossy
    assert (found["Events"], found["Mapped"], found["Lossy"], found["Unreadable"]) == ("2", "1", "1", "1")
    table = app.dataframe(key="batch_table").value
    assert table["status"].tolist() == ["mapped", "lossy", "unreadable"]
    assert table["input"].tolist()[2].startswith("line 2")


def test_csv_upload_nests_dotted_columns_and_maps_each_row(app):
    data = (SAMPLES / "contacts.csv").read_bytes()
    app.file_uploader(key="upload").set_value(("contacts.csv", data, "text/csv"))
    app.run()
    assert not app.exception, app.exception
    expected = len(parse_csv_text(data.decode("utf-8"), "contacts.csv").items)
    assert "from CSV in upload contacts.csv" in joined(app.caption)
    assert "Showing the uploaded file **contacts.csv**" in joined(app.info)
    assert metrics(app)["Events"] == str(expected) and metrics(app)["Mapped"] == str(expected)
    assert field_table(app)["city"]["why"] == "from traits.address.city"  # the row's detail


def test_upload_that_is_not_utf8_says_so(app):
    app.file_uploader(key="upload").set_value(("latin.json", '{"type": "identify", "x": "café"}'.encode("latin-1"),
                                               "application/json"))
    app.run()
    assert "line 1, column 31 (at `$.x`):** byte 0xE9 is not UTF-8 text" in joined(app.error)


def test_removing_the_upload_goes_back_to_the_text_box(app):
    paste(app, sample("identify.json"))
    app.file_uploader(key="upload").set_value(("g.json", sample("group_without_user_email.json").encode(), "application/json"))
    app.run()
    assert "/sales_accounts/upsert" in joined(app.code)
    app.file_uploader(key="upload").clear()
    app.run()
    assert "/contacts/upsert" in joined(app.code) and "/sales_accounts/upsert" not in joined(app.code)


def test_reruns_reuse_the_parsed_and_transformed_batch(app):
    paste(app, sample("batch_mixed.ndjson"))
    first = app.session_state["_memo"]["batch"]
    report = next(iter(first.values()))
    app.toggle(key="processor_format").set_value(True)
    app.run()
    again = app.session_state["_memo"]["batch"]
    assert next(iter(again.values())) is report  # the same objects: nothing was recomputed


def test_an_empty_page_offers_a_worked_example(app):
    assert "Try an example" in joined(app.caption)
    app.button(key="try_example").click()
    app.run()
    assert not app.exception, app.exception
    assert app.text_area(key="events_input").value == sample("identify.json")
    assert field_table(app)["emails"]["value"] == '"amara.okafor@northwind.example.com"'
    assert not [b for b in app.button if b.key == "try_example"]  # gone once there is input

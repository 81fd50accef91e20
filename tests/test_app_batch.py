"""Many events: metrics, failures by reason, the chart, filters, row detail and the four downloads."""

from __future__ import annotations

import csv
import io
import json

import pytest
from test_app_helpers import app_session, capture_downloads, html_tables, joined, metrics, paste, sample

from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.inputs import parse_events_text

app = pytest.fixture(app_session)
downloads = pytest.fixture(capture_downloads)
BATCH = "batch_mixed.ndjson"


def expected_counts() -> tuple[int, int, int, dict[str, int]]:
    """What the engine itself says of the batch sample: (mapped, lossy, failed, failures and losses by reason)."""
    destination = {"Config": {"apiKey": "k", "domain": "acme.myfreshworks.com"}}
    results = [transform_event(i.message, destination, OfflineResolver(), trace=False, losses=True)
               for i in parse_events_text(sample(BATCH)).items]
    reasons: dict[str, int] = {}
    for r in results:
        reason = r.error.message if r.error else " · ".join(loss.text for loss in r.losses)
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1
    failed = sum(1 for r in results if r.error)
    lossy = sum(1 for r in results if r.outcome == "lossy")
    return len(results) - failed - lossy, lossy, failed, reasons


def test_metrics_reasons_and_types_match_the_engine(app):
    paste(app, sample(BATCH))
    mapped, lossy, failed, reasons = expected_counts()
    found = metrics(app)
    assert (found["Events"], found["Mapped"], found["Lossy"], found["Skipped"]) == (
        str(mapped + lossy + failed), str(mapped), str(lossy), str(failed))
    assert failed > 0 and lossy >= 51  # the sample has its share of mistakes, and 51 string addresses
    by_reason = next(t for t in html_tables(app) if t[0][0].startswith("Reason: RudderStack's error"))
    assert {reason: int(events) for reason, events, _fate in by_reason[1:]} == reasons
    assert "By type: identify" in joined(app.caption)
    charts = [c.proto.spec for c in app.get("vega_lite_chart")]
    assert len(charts) == 2  # records by object and outcome (the story), outcomes by event type
    assert sum('"status"' in spec for spec in charts) == 1


def test_the_table_filters_by_status_type_and_text(app):
    paste(app, sample(BATCH))
    table = app.dataframe(key="batch_table").value
    assert len(table) == 240 and set(table["status"]) == {"mapped", "lossy", "skipped"}
    assert "skipped (RudderStack rejects it)" in app.multiselect(key="filter_status").proto.options  # as a send says
    app.multiselect(key="filter_status").select("skipped")
    app.run()
    failed = app.dataframe(key="batch_table").value
    assert len(failed) == int(metrics(app)["Skipped"]) and set(failed["status"]) == {"skipped"}
    app.multiselect(key="filter_status").unselect("skipped")
    app.multiselect(key="filter_type").select("group")
    app.text_input(key="filter_text").input("harbor")
    app.run()
    shown = app.dataframe(key="batch_table").value
    assert len(shown) > 0 and set(shown["type"]) == {"group"}
    events = sample(BATCH).splitlines()
    assert all("harbor" in (events[row._1 - 1] + row.reason).lower() for row in shown.itertuples())
    assert f"{len(shown)} of 240 rows" in joined(app.caption)


def test_lossy_events_are_a_status_with_each_loss_as_the_reason(app):
    paste(app, sample(BATCH))
    app.multiselect(key="filter_status").select("lossy")
    app.run()
    lossy = app.dataframe(key="batch_table").value
    assert len(lossy) == int(metrics(app)["Lossy"]) > 0 and set(lossy["status"]) == {"lossy"}
    assert (lossy["reason"].str.contains('address blanked to ""', regex=False)).sum() == 51
    assert lossy["reason"].str.contains("owner_id dropped").any()
    assert lossy["reason"].str.contains("contact not linked").any()
    app.text_input(key="filter_text").input("blanked")
    app.run()
    assert len(app.dataframe(key="batch_table").value) == 51


def test_search_reads_the_events_content(app):
    lines = sample(BATCH).splitlines()
    target = json.loads(lines[6])
    paste(app, sample(BATCH))
    app.text_input(key="filter_text").input(target["messageId"])
    app.run()
    shown = app.dataframe(key="batch_table").value
    assert list(shown["#"]) == [7]
    value = next(v for v in (target.get("traits") or target.get("properties") or {}).values()
                 if isinstance(v, str) and len(v) > 6 and v.lower() not in sample(BATCH).lower().replace(v.lower(), "", 1))
    app.text_input(key="filter_text").input(value.upper())  # a value only this event holds, any case
    app.run()
    assert list(app.dataframe(key="batch_table").value["#"]) == [7]


def test_picking_a_row_shows_its_detail(app):
    paste(app, sample(BATCH))
    table = app.dataframe(key="batch_table").value
    failed_number = int(table.loc[table["status"] == "skipped", "#"].iloc[0])
    app.selectbox(key="detail_pick").set_value(failed_number)
    app.run()
    reason = table.loc[table["#"] == failed_number, "reason"].iloc[0]
    assert reason in [c.value for c in app.code]  # RudderStack's exact error for that row
    assert "RudderStack rejects this event" in joined(app.error)
    group_number = int(table.loc[table["type"] == "group", "#"].iloc[0])
    app.selectbox(key="detail_pick").set_value(group_number)
    app.run()
    assert f"line {group_number}: group event" in joined(app.success) + joined(app.warning)
    assert "#### Request plan" in joined(app.markdown)


def test_selecting_a_table_row_picks_it_for_the_detail(app):
    paste(app, sample(BATCH))
    app.multiselect(key="filter_type").select("track")
    app.run()
    shown = app.dataframe(key="batch_table").value
    app.session_state["batch_table"] = {"selection": {"rows": [], "columns": [], "cells": [[2, "reason"]]}}
    app.run()
    number = int(shown["#"].iloc[2])
    assert app.selectbox(key="detail_pick").value == number
    assert f"line {number}: track" in joined(app.success) + joined(app.warning) + joined(app.markdown)
    assert any("scrollIntoView" in h.proto.body for h in app.get("html"))  # the click brings the detail into view
    # The picker still works while that row stays selected.
    other = int(shown["#"].iloc[0])
    app.selectbox(key="detail_pick").set_value(other)
    app.run()
    assert app.selectbox(key="detail_pick").value == other
    assert not any("scrollIntoView" in h.proto.body for h in app.get("html"))  # no click, no jump


def test_downloads_hold_every_row_and_the_request_plans(app, downloads):
    lines = [*sample(BATCH).splitlines()[:29], json.dumps({"type": "page", "name": "Pricing"}), "{not json"]
    paste(app, "\n".join(lines))
    assert [b.label for b in app.download_button] == ["Results (JSON)", "Results (CSV)", "Request plans (JSON)",
                                                     "Processor output (JSON)"]
    results = downloads.json("results.json")
    assert len(results) == 31 and results[-1]["status"] == "unreadable" and results[0]["#"] == 1
    rows = list(csv.DictReader(io.StringIO(downloads.payload("results.csv").decode("utf-8"))))
    assert len(rows) == 31 and rows[0]["status"] == results[0]["status"]
    plans = downloads.json("request_plans.json")
    assert len(plans) == 31 and plans[-1]["unreadable"] and plans[-1]["line"] == 31
    step = plans[0]["steps"][-1]
    assert step["kind"] == "final" and step["request"]["url"].startswith("https://acme.myfreshworks.com/crm/sales/api/")
    assert step["request"]["headers"]["Authorization"] == "Token token=YOUR_API_KEY"
    failed = [p for p in plans[:-1] if "error" in p]
    assert failed and {"message", "explanation", "fix", "disposition"} <= set(failed[0]["error"])
    processor = downloads.json("processor_output.json")
    assert sum(1 for i in processor if "output" in i) == sum(len([s for s in p["steps"] if s["kind"] == "final"])
                                                              for p in plans[:-1])
    assert json.dumps(processor).count('"error"') == len(failed)

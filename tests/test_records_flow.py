"""Record cards and the flow picture: pure views of a plan, offline and after a send."""

from __future__ import annotations

import json
from pathlib import Path

from freshsales_mapper.engine.flow import LABEL_CHARS, RED, flow_graph
from freshsales_mapper.engine.records import ASSIGNED, CardState, RecordKind, record_cards
from freshsales_mapper.engine.resolvers import OfflineResolver, ReplayResolver
from freshsales_mapper.engine.transform import transform_event

SAMPLES = Path(__file__).resolve().parent.parent / "sample_events"
DESTINATION = {"Config": {"apiKey": "k", "domain": "acme.myfreshworks.com"}}


def plan(name: str, destination=DESTINATION, resolver=None, **changes):
    message = json.loads((SAMPLES / name).read_text())
    for path, value in changes.items():
        node = message
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return transform_event(message, destination, resolver or OfflineResolver())


def test_identify_card_reads_like_a_crm_contact():
    [card] = record_cards(plan("identify.json", traits__jobTitle="CTO", traits__ownerId=7))
    assert (card.kind, card.name, card.state, card.action) == (RecordKind.CONTACT, "Amara Okafor",
                                                               CardState.WOULD_BE, "upserted")
    assert card.value("Email") == "amara.okafor@northwind.example.com"
    assert card.value("Phones") == "+1-512-555-0147"
    assert card.value("Address").split("\n") == ["48 Elm Street Austin TX USA 78701", "Austin, TX, 78701", "USA"]
    assert card.value("Id") == ASSIGNED and card.record_id == ""


def test_group_with_email_gives_an_account_and_the_linked_contact():
    account, contact = record_cards(plan("group_with_user_email.json"))
    assert (account.kind, account.name) == (RecordKind.SALES_ACCOUNT, "Northwind Traders")
    assert account.value("Revenue") == "8,500,000" and account.value("Employees") == "140"
    assert account.value("Website") == "https://www.northwind.example.com"
    assert contact.kind == RecordKind.CONTACT and contact.action == "linked to the account"
    assert contact.value("Linked account") == f"Northwind Traders (id {ASSIGNED})"
    assert account.step == 1 and contact.step == 2  # the account comes from the lookup that upserts it


def test_activity_card_names_type_time_owner_and_contact():
    [card] = record_cards(plan("track_sales_activity_by_name.json"))
    assert card.kind == RecordKind.SALES_ACTIVITY and card.name == "Calendar invite: onboarding review"
    assert card.value("When") == "2024-03-07T10:00:00-06:00 – 2024-03-07T10:30:00-06:00"
    assert card.value("On contact") == f"amara.okafor@northwind.example.com (id {ASSIGNED})"
    assert card.value("Owner").startswith("user ")


def test_a_rejected_event_has_no_cards():
    assert record_cards(plan("mistake_no_email.json")) == []


def test_stored_records_replace_the_plan():
    stored = [{"kind": "contact", "id": 42, "record": {"id": 42, "first_name": "Amara", "last_name": "O.",
                                                       "emails": [{"value": "amara.okafor@northwind.example.com"}],
                                                       "job_title": "CTO", "lifecycle_stage_id": 5}}]
    [card] = record_cards(plan("identify.json"), stored)
    assert (card.state, card.name, card.record_id) == (CardState.STORED, "Amara O.", "42")
    assert card.value("Job title") == "CTO" and card.value("Id") == "42"
    other = [{"kind": "contact", "id": 1, "record": {"id": 1, "emails": [{"value": "someone@else.example"}]}}]
    assert record_cards(plan("identify.json"), other)[0].state == CardState.WOULD_BE


def node(graph, node_id: str):
    return next(n for n in graph.nodes if n.id == node_id)


def edges(graph) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in graph.edges}


def test_flow_follows_the_plan_and_flags_writes():
    result = plan("group_with_user_email.json")
    graph = flow_graph(result, record_cards(result), "group event")
    steps = [n for n in graph.nodes if n.id.startswith("step")]
    assert len(steps) >= 3 and sum("WRITES" in " ".join(n.lines) for n in steps) == 2
    assert any(n.dashed for n in steps)  # lookups RudderStack makes while transforming
    assert {("event", "route"), ("step0", "step1"), ("step1", "record0")} <= edges(graph)
    assert not any("FAILED" in line for n in graph.nodes for line in n.lines)


def test_flow_marks_a_rejected_event_red():
    result = plan("mistake_no_email.json")
    rejected = node(flow_graph(result, [], "identify event"), "rejected")
    assert rejected.stroke == RED and "RudderStack rejects the event" in rejected.lines


def test_flow_marks_the_lookup_freshsales_refused():
    replies = ReplayResolver([{"request": {"method": "POST", "url":
                                           "https://acme.myfreshworks.com/crm/sales/api/contacts/upsert"},
                               "response": {"status": 500, "body": {"message": "down"}}}])
    result = plan("track_sales_activity_by_type_id.json", resolver=replies)
    assert not result.ok
    graph = flow_graph(result, record_cards(result), "track event")
    failed = [n for n in graph.nodes if any("FAILED" in line for line in n.lines)]
    assert len(failed) == 1 and failed[0].id == "step0" and "HTTP 500" in " ".join(failed[0].lines)


def test_flow_after_a_send_marks_the_failed_request_and_what_was_not_sent():
    result = plan("group_with_user_email.json")
    sent = [{"kind": "lookup", "status": 200, "ok": True},
            {"kind": "lookup", "status": 500, "ok": False, "message": "Internal server error"}]
    graph = flow_graph(result, record_cards(result), "group", sent)
    step1, step2 = " ".join(node(graph, "step1").lines), " ".join(node(graph, "step2").lines)
    assert "FAILED: HTTP 500" in step1 and "server error" in step1 and "not sent" in step2


def test_every_value_is_plain_printable_text_cut_short():
    hostile = 'x" ] ; evil [label="boom\\N\u0007\nnext' + "a" * 500
    result = plan("identify.json", traits__firstName=hostile)
    graph = flow_graph(result, record_cards(result), hostile)
    event = node(graph, "event")
    # A line break makes a line; a control character is blanked; nothing is escaped (the page escapes it).
    assert event.lines[0] == 'x" ] ; evil [label="boom\\N ' and event.lines[1].startswith("nexta")
    assert all(len(line) <= LABEL_CHARS for n in graph.nodes for line in n.lines)
    assert len(event.lines[1]) == LABEL_CHARS and event.lines[1].endswith("…")


def test_stored_cards_read_the_emulators_record_shapes(emulator):
    from freshsales_mapper.engine.records import stored_cards
    from tests.test_emulator import upsert_account, upsert_contact

    server = emulator()
    account_id = upsert_account(server, "Acme", {"website": "acme.example", "annual_revenue": 1200000}
                                ).json()["sales_account"]["id"]
    upsert_contact(server, "k@example.com", {"first_name": "Kay", "last_name": "Lee", "job_title": "CTO",
                                             "sales_accounts": [{"id": account_id, "is_primary": True}]})
    [contact] = stored_cards(RecordKind.CONTACT, server.contacts())
    assert (contact.name, contact.state, contact.value("Email"), contact.value("Job title")) == (
        "Kay Lee", CardState.STORED, "k@example.com", "CTO")
    assert contact.value("Linked account") == f"account {account_id}"
    [account] = stored_cards(RecordKind.SALES_ACCOUNT, server.accounts())
    assert account.value("Revenue") == "1,200,000" and account.record_id == str(account_id)


def test_the_page_picture_escapes_every_value_and_keeps_the_graph():
    from playground.flow_view import flow_html

    hostile = '<img src=x onerror=alert(1)> "quoted" & **bold**'
    result = plan("identify.json", traits__firstName=hostile)
    graph = flow_graph(result, record_cards(result), hostile)
    page = flow_html(graph)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "&amp; **bold**" in page
    assert [n.id for n in graph.nodes] == ["event", "route", "step0", "record0"]
    assert page.index('data-node="step0"') < page.index('data-node="record0"')  # the record beside its step

"""BatchSender against the emulator over real HTTP: outcomes, keys, clients, the journal, dry runs."""

from __future__ import annotations

import json

import pytest

from freshsales_mapper.engine.plan import HttpRequest
from freshsales_mapper.engine.secret import key_fingerprint
from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending import FreshsalesClient
from freshsales_mapper.sending.journal import journal_header
from freshsales_mapper.sending.sender import (
    BatchSender,
    EventOutcome,
    JournalError,
    client_factory,
    event_digest,
    read_journal,
    summarize,
    summary_line,
)
from freshsales_mapper.sending.target import SendTarget
from tests.conftest import EMULATOR_KEY

DOMAIN = "acme.myfreshworks.com"
PHONE_TYPE_ID = 70000646201  # "Phone" among the emulator's seeded sales activity types
LEAD_STAGE_ID = 71012139273


# ---- helpers shared with the other send tests ----------------------------------------------------

def destination(key: str = EMULATOR_KEY, domain: str = DOMAIN, **config) -> dict:
    return {"Config": {"apiKey": key, "domain": domain, **config}}


def journal_text(server=None, key: str = EMULATOR_KEY) -> str:
    """A journal's header line, for tests that write journals by hand (a journal of ``server``'s account)."""
    url = server.base_url if server is not None else f"https://{DOMAIN}"
    return json.dumps(journal_header([SendTarget.of(url, DOMAIN, key)])) + "\n"


def as_items(*messages, dest: dict | None = None) -> list[EventInput]:
    dest = dest or destination()
    return [EventInput(message=m, destination=dest, metadata=None, location=f"item [{i}]", index=i)
            for i, m in enumerate(messages)]


def identify(email: str, **traits) -> dict:
    return {"type": "identify", "traits": {"email": email, **traits}}


def group(name: str, email: str | None = None, **traits) -> dict:
    message = {"type": "group", "traits": {"name": name, **traits}}
    if email:
        message["context"] = {"traits": {"email": email}}
    return message


def sales_activity(email: str | None = None, *, contact_id: int | None = None, type_id=PHONE_TYPE_ID,
                   name: str | None = None, title: str = "Call") -> dict:
    properties = {"title": title, "startDate": "2024-03-07T10:00:00-06:00", "endDate": "2024-03-07T10:30:00-06:00",
                  "ownerId": "70054866612"}
    if name is not None:
        properties["salesActivityName"] = name
    else:
        properties["salesActivityTypeId"] = type_id
    external = {"type": "Contact", **({"id": contact_id} if contact_id is not None else {})}
    context: dict = {"externalId": external}
    if email:
        context["traits"] = {"email": email}
    return {"type": "track", "event": "sales_activity", "properties": properties, "context": context}


def lifecycle(email: str, *, stage_id=None, stage_name=None) -> dict:
    properties = {"lifecycleStageId": stage_id} if stage_id is not None else {"lifecycleStageName": stage_name}
    return {"type": "track", "event": "lifecycle_stage", "properties": properties,
            "context": {"traits": {"email": email}}}


def make_factory(base_url: str, **options):
    options.setdefault("backoff_factor", 0)
    options.setdefault("rate_limit_per_minute", None)
    options.setdefault("rate_limit_per_hour", None)
    return client_factory(base_url=base_url, **options)


def make_sender(server_or_url, **options) -> BatchSender:
    base_url = server_or_url if isinstance(server_or_url, str) else server_or_url.base_url
    journal = options.pop("journal_path", None)
    progress = options.pop("on_progress", None)
    sender_options = {name: options.pop(name) for name in ("dry_run", "resend_unknown", "on_warning")
                      if name in options}
    return BatchSender(make_factory(base_url, **options), journal_path=journal, on_progress=progress,
                       **sender_options)


def activity_posts(server) -> list:
    return [e for e in server.request_log if e.method == "POST" and e.path.endswith("/sales_activities")]


def assert_one_outcome_each(items, outcomes):
    assert [o.index for o in outcomes] == list(range(len(items)))
    assert [o.location for o in outcomes] == [i.location for i in items]
    assert all(o.status in ("delivered", "failed", "skipped", "unknown") for o in outcomes)
    json.dumps([o.to_json() for o in outcomes])  # every outcome is plain JSON data


# ---- outcomes ------------------------------------------------------------------------------------

def test_each_event_gets_one_outcome_in_input_order(emulator):
    server = emulator()
    items = as_items(identify("a@example.com", firstName="Ada"), {"type": "page"}, group("Acme Ltd"),
                     lifecycle("a@example.com", stage_id=123))
    progress = []
    outcomes = make_sender(server, on_progress=lambda done, total, o: progress.append((done, total, o))).send(items)
    assert_one_outcome_each(items, outcomes)
    assert [o.status for o in outcomes] == ["delivered", "skipped", "delivered", "failed"]
    assert [(done, total) for done, total, _ in progress] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [o for _, _, o in progress] == outcomes

    contact = server.contacts()[0]
    first = outcomes[0]
    assert (first.http_status, first.record_id, first.retryable) == (200, contact["id"], False)
    assert first.response["contact"]["first_name"] == "Ada"
    assert first.reason == "contact upserted"
    assert first.requests == [{"kind": "final", "method": "POST", "url": server.base_url +
                               "/crm/sales/api/contacts/upsert", "status": 200, "ok": True,
                               "outcome": "delivered", "message": "HTTP 200", "attempts": 1,
                               "record_id": contact["id"], "body": first.requests[0]["body"],
                               "elapsed_ms": first.requests[0]["elapsed_ms"], "headers": first.requests[0]["headers"],
                               "answer": first.response}]
    assert first.requests[0]["elapsed_ms"] >= 0 and first.requests[0]["headers"]["Content-Type"] == "application/json"
    assert first.requests[0]["body"]["contact"]["emails"] == "a@example.com"
    assert outcomes[2].record_id == server.accounts()[0]["id"]


def test_a_transform_error_is_skipped_with_rudderstacks_message_and_no_request(emulator):
    server = emulator()
    outcome, = make_sender(server).send(as_items({"type": "identify", "traits": {"name": "No Email"}}))
    assert (outcome.status, outcome.retryable, outcome.http_status, outcome.requests) == ("skipped", False, None, [])
    assert outcome.reason.startswith('RudderStack rejects the event: Missing required value from "emailOnly".')
    assert "traits.email" in outcome.reason  # our explanation follows RudderStack's text
    assert server.request_log == []


def test_a_refused_final_request_fails_with_freshsales_reason(emulator):
    server = emulator()
    outcome, = make_sender(server).send(as_items(lifecycle("b@example.com", stage_id=123)))
    assert (outcome.status, outcome.http_status, outcome.retryable) == ("failed", 400, False)
    assert outcome.reason == "lifecycle_stage: HTTP 400: Invalid lifecycle stage provided."
    assert outcome.response == {"errors": {"code": 400, "message": ["Invalid lifecycle stage provided."]}}
    assert outcome.record_id is None


def test_lookups_run_for_real_in_order_and_are_reported(emulator):
    server = emulator()
    outcome, = make_sender(server).send(as_items(sales_activity("c@example.com", name="Phone")))
    assert outcome.status == "delivered" and outcome.reason == "sales activity created"
    assert [(r["kind"], r["method"], r["url"].removeprefix(server.base_url)) for r in outcome.requests] == [
        ("lookup", "GET", "/crm/sales/api/selector/sales_activity_types"),
        ("lookup", "POST", "/crm/sales/api/contacts/upsert"),
        ("final", "POST", "/crm/sales/api/sales_activities")]
    activity, = server.activities()
    assert outcome.record_id == activity["id"]
    assert activity["sales_activity_type_id"] == PHONE_TYPE_ID
    assert activity["targetable_id"] == server.contacts()[0]["id"]


def test_a_lookup_refused_by_freshsales_fails_the_event_without_retry_advice(emulator):
    server = emulator()
    items = as_items(sales_activity("d@example.com"), dest=destination(key="not-the-emulator-key"))
    outcome, = make_sender(server).send(items)
    assert (outcome.status, outcome.retryable, outcome.http_status) == ("failed", False, 401)
    assert "a lookup RudderStack makes while transforming failed: HTTP 401" in outcome.reason
    assert "failed to fetch Contact details" in outcome.reason
    assert "retrying will not help" in outcome.reason
    assert "not-the-emulator-key" not in json.dumps(outcome.to_json())


def test_a_lookup_hitting_a_server_error_fails_the_event_as_retryable(emulator):
    server = emulator(fail_rate=1.0)
    outcome, = make_sender(server).send(as_items(group("Initech", "e@example.com")))
    assert (outcome.status, outcome.retryable, outcome.http_status) == ("failed", True, 500)
    assert "retrying could help" in outcome.reason
    assert len(outcome.requests) == 1 and outcome.requests[0]["kind"] == "lookup"


def test_writes_made_by_lookups_are_mentioned_when_the_event_is_then_rejected(emulator):
    server = emulator()
    # The contact upsert (a lookup) succeeds, then the account upsert (another lookup) is refused.
    outcome, = make_sender(server).send(as_items(group("Bad Account", "f@example.com", website={"not": "text"})))
    assert (outcome.status, outcome.http_status, outcome.retryable) == ("failed", 400, False)
    assert "HTTP 400: The type for website is invalid" in outcome.reason
    assert "already written to Freshsales" in outcome.reason
    assert [c["email"] for c in server.contacts()] == ["f@example.com"] and server.accounts() == []


def test_a_destination_that_cannot_be_used_fails_only_its_event(emulator):
    server = emulator()
    good = as_items(identify("h@example.com"))
    bad_domain = as_items(identify("i@example.com"), dest=destination(domain="evil.example.org"))
    no_key = as_items(identify("j@example.com"), dest={"Config": {"domain": DOMAIN}})
    outcomes = make_sender(server).send([*good, *bad_domain, *no_key])
    assert [o.status for o in outcomes] == ["delivered", "failed", "failed"]
    assert "not a Freshsales host" in outcomes[1].reason and "no Config.apiKey" in outcomes[2].reason
    assert [e.path for e in server.request_log] == ["/crm/sales/api/contacts/upsert"]


# ---- keys and clients ----------------------------------------------------------------------------

def test_event_keys_count_occurrences_and_ignore_the_api_key(emulator):
    server = emulator()
    same = identify("k@example.com")
    outcomes = make_sender(server).send(as_items(same, dict(same), identify("l@example.com")))
    digest = event_digest(same, destination())
    assert [o.key for o in outcomes[:2]] == [f"{digest}#1", f"{digest}#2"]
    assert outcomes[2].key.endswith("#1") and not outcomes[2].key.startswith(digest)
    assert event_digest(same, destination(key="another-key")) == digest
    assert event_digest(same, destination(domain="acme")) == digest  # the same Freshsales host
    assert event_digest(same, destination(domain="other.myfreshworks.com")) != digest


def test_one_client_per_destination_reused_and_closed(emulator):
    one, two = emulator(api_key="key-for-one-1234"), emulator(api_key="key-for-two-5678")
    made: list[tuple[str, FreshsalesClient]] = []
    closed: list[str] = []

    class Tracked(FreshsalesClient):
        def close(self):
            closed.append(self.domain)
            super().close()

    def factory(domain, api_key):
        server = one if api_key == "key-for-one-1234" else two
        client = Tracked(domain, api_key, base_url=server.base_url, rate_limit_per_minute=None,
                         rate_limit_per_hour=None)
        made.append((domain, client))
        return client

    items = [*as_items(identify("m@example.com"), identify("n@example.com"),
                       dest=destination(key="key-for-one-1234", domain="one.myfreshworks.com")),
             *as_items(identify("o@example.com"), dest=destination(key="key-for-two-5678", domain="two")),
             *as_items(identify("p@example.com"), dest=destination(key="key-for-one-1234",
                                                                    domain="https://one.myfreshworks.com/"))]
    outcomes = BatchSender(factory).send(items)
    assert [o.status for o in outcomes] == ["delivered"] * 4
    assert [domain for domain, _ in made] == ["one.myfreshworks.com", "two"]
    assert sorted(closed) == ["one.myfreshworks.com", "two.myfreshworks.com"]
    assert len(one.contacts()) == 3 and len(two.contacts()) == 1


def test_a_shared_client_serves_every_event_and_stays_open(emulator):
    server = emulator()
    client = FreshsalesClient("acme", EMULATOR_KEY, base_url=server.base_url, rate_limit_per_minute=None,
                              rate_limit_per_hour=None)
    # The destinations' own keys are not used: the shared client sends with its own.
    items = as_items(identify("q@example.com"), dest=destination(key="ignored-key"))
    assert [o.status for o in BatchSender(client).send(items)] == ["delivered"]
    still_open = client.execute(HttpRequest("POST", f"https://{DOMAIN}/crm/sales/api/contacts/upsert", {},
                                            {"unique_identifier": {"emails": "r@example.com"}, "contact": {}}))
    assert still_open.ok
    client.close()


def test_bad_targets_are_refused():
    with pytest.raises(TypeError):
        BatchSender("not a client")


# ---- the journal ---------------------------------------------------------------------------------

def test_journal_lines_hold_no_secrets_and_are_one_per_finished_event(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "run.jsonl"
    items = as_items(identify("s@example.com"), {"type": "screen"}, sales_activity("s@example.com"))
    outcomes = make_sender(server, journal_path=journal).send(items)
    header, *lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert header["targets"] == [{"url": server.base_url, "domain": DOMAIN, "key_sha256": key_fingerprint(EMULATOR_KEY)}]
    finished = [line for line in lines if line["status"] != "sending"]
    assert [line["key"] for line in finished] == [o.key for o in outcomes]
    assert [line["status"] for line in lines] == ["delivered", "skipped", "sending", "delivered"]
    assert set(finished[0]) == {"key", "index", "status", "http_status", "record_id", "retryable", "reason", "at",
                                "plan", "sent", "pending"}
    assert lines[2]["pending"] == lines[3]["sent"][-1] and lines[2]["pending"].startswith("POST /crm/sales/api/sales")
    assert finished[2]["record_id"] == server.activities()[0]["id"]
    assert EMULATOR_KEY not in journal.read_text()


def test_rerun_with_the_journal_does_not_resend_delivered_events(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "run.jsonl"
    items = as_items(identify("t@example.com"), sales_activity("t@example.com"), lifecycle("t@example.com",
                                                                                          stage_id=1))
    first = make_sender(server, journal_path=journal).send(items)
    assert [o.status for o in first] == ["delivered", "delivered", "failed"]
    sent_before = len(server.request_log)
    second = make_sender(server, journal_path=journal).send(items)
    assert [o.status for o in second] == ["delivered", "delivered", "failed"]
    assert [o.reason for o in second[:2]] == ["delivered in an earlier run; not resent"] * 2
    assert [o.record_id for o in second[:2]] == [o.record_id for o in first[:2]]
    assert second[0].requests == [] and second[1].requests == []
    assert [e.path for e in server.request_log[sent_before:]] == ["/crm/sales/api/contacts/upsert"]  # the failed one
    assert len(server.activities()) == 1


def test_unknown_or_interrupted_sends_are_not_resent(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "run.jsonl"
    items = as_items(sales_activity("u@example.com"), sales_activity("v@example.com"))
    keys = [o.key for o in make_sender(server, dry_run=True).send(items)]
    journal.write_text(journal_text(server) +
        json.dumps({"key": keys[0], "index": 0, "status": "unknown", "http_status": None, "record_id": None,
                    "reason": "read timeout", "at": "2024-01-01T00:00:00+00:00"}) + "\n" +
        json.dumps({"key": keys[1], "index": 1, "status": "sending", "http_status": None, "record_id": None,
                    "reason": "sending", "at": "2024-01-01T00:00:00+00:00", "finals_delivered": 0}) + "\n")
    outcomes = make_sender(server, journal_path=journal).send(items)
    assert [o.status for o in outcomes] == ["unknown", "unknown"]
    assert all("check Freshsales" in o.reason and o.key in o.reason for o in outcomes)
    assert server.request_log == []


def test_a_multi_request_event_resumes_after_the_requests_already_delivered(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "run.jsonl"
    message = {"type": "track", "event": "Demo Booked", "context": {"traits": {"email": "w@example.com"},
                                                                      "externalId": {"type": "Contact"}},
               "properties": {**sales_activity()["properties"], "lifecycleStageId": 999}}
    dest = destination(rudderEventsToFreshsalesEvents=[{"from": "Demo Booked", "to": "sales_activity"},
                                                       {"from": "Demo Booked", "to": "lifecycle_stage"}])
    first, = make_sender(server, journal_path=journal).send(as_items(message, dest=dest))
    assert first.status == "failed" and first.http_status == 400
    assert first.reason.startswith("request 2 of 2 (lifecycle_stage): HTTP 400: Invalid lifecycle stage provided.")
    assert "1 request(s) delivered and not to be sent again" in first.reason
    assert len(json.loads(journal.read_text().splitlines()[-1])["sent"]) == 1
    second, = make_sender(server, journal_path=journal).send(as_items(message, dest=dest))
    assert second.status == "failed"
    assert [(r["kind"], r["url"].rsplit("/", 1)[1]) for r in second.requests] == [
        ("lookup", "upsert"), ("final", "upsert")]  # the lookup again, then only request 2
    assert len(activity_posts(server)) == 1 and len(server.activities()) == 1


@pytest.mark.parametrize("text, fragment", [
    ('{"key": "a#1", "status": "delivered"}\nnot json\n', "line 3: not JSON"),
    ('[1, 2]\n', "line 2: not a JSON object"),
    ('{"status": "delivered"}\n', 'line 2: no "key"'),
    ('{"key": "a#1", "status": "done"}\n', "line 2: unknown status 'done'"),
])
def test_a_corrupt_journal_is_a_clear_error_naming_the_line(emulator, tmp_path, text, fragment):
    server = emulator()
    journal = tmp_path / "run.jsonl"
    journal.write_text(journal_text(server) + text)
    with pytest.raises(JournalError) as caught:
        make_sender(server, journal_path=journal).send(as_items(identify("x@example.com")))
    assert fragment in str(caught.value) and str(journal) in str(caught.value)
    assert server.request_log == []
    if not text.endswith("\n"):
        assert "incomplete" in str(caught.value)


def test_read_journal_keeps_the_last_line_per_key(tmp_path):
    journal = tmp_path / "j.jsonl"
    journal.write_text(journal_text() + '{"key": "a#1", "status": "failed"}\n\n{"key": "a#1", "status": "delivered"}\n')
    assert read_journal(journal) == {"a#1": {"key": "a#1", "status": "delivered"}}
    assert read_journal(tmp_path / "missing.jsonl") == {}


# ---- dry runs and summaries ----------------------------------------------------------------------

def test_a_dry_run_sends_nothing_and_lists_the_planned_requests(tmp_path):
    journal = tmp_path / "j.jsonl"
    # Nothing listens on port 9: a dry run never connects (and never even builds a client).
    sender = BatchSender(lambda *_: pytest.fail("a dry run must not create a client"), journal_path=journal,
                         dry_run=True)
    outcomes = sender.send(as_items(group("Umbrella", "y@example.com"), identify("y@example.com"),
                                    {"type": "page"}))
    assert [o.status for o in outcomes] == ["skipped"] * 3
    assert [o.reason for o in outcomes[:2]] == ["dry run: would send 3 request(s)", "dry run: would send 1 request(s)"]
    assert outcomes[2].reason == "dry run: RudderStack would reject the event: message type page not supported"
    planned = outcomes[0].requests
    assert [(r["kind"], r["outcome"], r["status"]) for r in planned] == [
        ("lookup", "planned", None), ("lookup", "planned", None), ("final", "planned", None)]
    assert planned[2]["body"]["contact"]["sales_accounts"][0]["id"] == "{{sales_account.id}}"
    assert not journal.exists()


def test_summary_counts_statuses_and_reasons():
    def outcome(status, reason, retryable=False, calls=1):
        return EventOutcome(0, "k#1", status, None, reason, retryable, None, None,
                            [{"outcome": "delivered"}] * calls, "")
    outcomes = [outcome("delivered", "contact upserted"), outcome("delivered", "contact upserted", calls=2),
                outcome("failed", "contact: HTTP 500", retryable=True), outcome("skipped", "no email", calls=0)]
    summary = summarize(outcomes)
    assert summary["by_status"] == {"delivered": 2, "failed": 1, "skipped": 1, "unknown": 0}
    assert summary["by_reason"] == {"delivered: contact upserted": 2, "failed: contact: HTTP 500": 1,
                                    "skipped: no email": 1}
    assert summary["line"] == summary_line(outcomes) == (
        "4 event(s): 2 delivered, 1 failed (1 retryable), 0 unknown, 1 skipped (RudderStack rejects it); 4 HTTP "
            "request(s)")


def test_settings_templates_are_filled_from_each_event_before_the_client_is_chosen(emulator):
    """RudderStack fills {{ ... }} settings from the event; sending with the template text as the key would 401."""
    server = emulator()
    dest = destination(key='{{ message.userId || "no-key" }}')
    right = dict(identify("tpl-right@example.com"), userId=EMULATOR_KEY)
    wrong = dict(identify("tpl-wrong@example.com"), userId="not-the-key-0000")
    outcomes = make_sender(server).send(as_items(right, wrong, dest=dest))
    assert [o.status for o in outcomes] == ["delivered", "failed"]
    emails = [c["emails"] for c in server.contacts()]
    assert any("tpl-right@example.com" in str(e) for e in emails)
    assert not any("tpl-wrong@example.com" in str(e) for e in emails)


def test_a_refusal_is_resent_on_a_rerun_only_when_refusals_are_to_be_resent(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "run.jsonl"
    items = as_items(identify("z@example.com"), lifecycle("z@example.com", stage_id=1))
    first = make_sender(server, journal_path=journal).send(items)
    assert [(o.status, o.retryable, o.http_status) for o in first] == [("delivered", False, 200),
                                                                       ("failed", False, 400)]
    log = len(server.request_log)
    page = BatchSender(make_factory(server.base_url), journal_path=journal, resend_refused=False).send(items)
    assert [o.status for o in page] == ["delivered", "failed"] and len(server.request_log) == log
    assert page[1].reason.startswith("refused by Freshsales in an earlier run") and not page[1].retryable
    cli = make_sender(server, journal_path=journal).send(items)  # the CLI: the user fixed the cause and reruns
    assert cli[1].status == "failed" and len(server.request_log) > log

"""End to end over real HTTP: the sample events sent to the emulator, records read back field by field,
the ``send`` CLI as a subprocess, and a grep for the API key in everything that is printed or written."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from freshsales_mapper.emulator import seed as seed
from freshsales_mapper.engine.plan import HttpRequest, Placeholder
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.inputs import EventInput, parse_csv_text, parse_events_text
from freshsales_mapper.sample_generator import generate_labelled_events
from freshsales_mapper.sending import FreshsalesClient
from freshsales_mapper.sending.sender import BatchSender, summarize
from tests.conftest import EMULATOR_KEY
from tests.test_client import http, raw_server
from tests.test_sender import DOMAIN, as_items, destination, group, identify, make_factory, make_sender

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_events"
SAMPLE_KEY = "demo-key"  # the key the sample processor bodies carry; the emulator is started with it
# Sample file -> the generator's label for the same kind of event, used when the file is missing.
SINGLE_SAMPLES = {
    "identify.json": "identify",
    "group_without_user_email.json": "group:without_email",
    "group_with_user_email.json": "group:with_email",
    "track_sales_activity_by_type_id.json": "sales_activity:by_id",
    "track_sales_activity_by_name.json": "sales_activity:by_name",
    "track_lifecycle_stage_by_id.json": "lifecycle_stage:by_id",
    "track_lifecycle_stage_by_name.json": "lifecycle_stage:by_name",
    "mistake_no_email.json": "mistake:missing_email",
    "mistake_email_only_in_properties.json": "mistake:email_only_in_properties",
    "mistake_numeric_string_ids.json": "mistake:numeric_string_ids",
    "mistake_string_address.json": "mistake:string_address",
}
BATCH_SAMPLES = ("batch_mixed.ndjson", "batch_processor_request.json", "track_mapped_to_two_events.json",
                 "contacts.csv")


def sample_message(name: str) -> dict:
    """A sample file's message, or a generated event of the same kind when the file is not there."""
    path = SAMPLES / name
    if path.exists():
        parsed = parse_events_text(path.read_text(encoding="utf-8"), name)
        assert not parsed.errors and len(parsed.items) == 1, parsed.errors
        return parsed.items[0].message
    label = SINGLE_SAMPLES[name]
    return next(event for kind, event in generate_labelled_events(200, seed=3) if kind == label)


def sample_items() -> list[EventInput]:
    items: list[EventInput] = []
    for name in SINGLE_SAMPLES:
        items.append(EventInput(sample_message(name), destination(SAMPLE_KEY), None, name, len(items)))
    for name in BATCH_SAMPLES:
        path = SAMPLES / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        parsed = parse_csv_text(text, name) if name.endswith(".csv") else parse_events_text(text, name)
        assert not parsed.errors, parsed.errors
        for item in parsed.items:
            items.append(EventInput(item.message, item.destination or destination(SAMPLE_KEY), item.metadata,
                                    f"{name} {item.location}", len(items)))
    if not (SAMPLES / "batch_mixed.ndjson").exists():
        items += [EventInput(e, destination(SAMPLE_KEY), None, f"generated {i}", len(items) + i)
                  for i, (_kind, e) in enumerate(generate_labelled_events(120, seed=7))]
    return items


# ---- comparing a planned request with the record the emulator holds ------------------------------

ID_FIELDS = {*seed.CONTACT_ID_FIELDS, *seed.ACCOUNT_ID_FIELDS, *seed.ACTIVITY_ID_FIELDS, "targetable_id",
             "sales_activity_type_id"}
NOT_STORED = {"created_at", "updated_at"}  # Freshsales sets these itself (the emulator documents it)


def find_contact(server, email):
    return next(c for c in server.contacts() if c["email"].casefold() == email.strip().casefold())


def find_account(server, name):
    return next(a for a in server.accounts() if a["name"].casefold() == name.strip().casefold())


def resolved_placeholder(server, placeholder: str, body_section: dict, email) -> int:
    """What an offline placeholder must have become, worked out from the emulator's own data."""
    if placeholder == "{{contact.id}}":
        return find_contact(server, email)["id"]
    if placeholder == "{{sales_account.id}}":
        return find_account(server, body_section["name"])["id"]
    for prefix, table in (("{{id of sales activity type ", seed.SALES_ACTIVITY_TYPES),
                          ("{{id of lifecycle stage ", seed.LIFECYCLE_STAGES)):
        if placeholder.startswith(prefix):
            name = placeholder.removeprefix(prefix).removesuffix("}}")
            return next(entry["id"] for entry in table if entry["name"] == name)
    raise AssertionError(f"unexpected placeholder {placeholder}")


def assert_field(record: dict, field: str, planned, expected_id=None):
    where = f"{field} of record {record.get('id')}"
    if isinstance(planned, Placeholder):
        assert record[field] == expected_id, where
    elif field in NOT_STORED or field == "sales_activity_name":  # a name is resolved to its id, not stored
        return
    elif field == "emails":
        assert record["email"].casefold() == planned.strip().casefold(), where
    elif field == "custom_field":
        assert record["custom_field"].items() >= planned.items(), where
    elif field in ID_FIELDS:
        assert record[field] == int(planned), where
    elif field in ("start_date", "end_date"):
        # Stored to the second, as Freshsales shows dates.
        assert datetime.fromisoformat(record[field]) == datetime.fromisoformat(planned).replace(microsecond=0), where
    elif field == "targetable_type":
        assert record[field].casefold() == planned.casefold(), where
    else:
        assert record[field] == planned, where


def check_final_against_emulator(server, final, sent_body: dict, email):
    """One delivered final request, field by field, against what the emulator now stores.

    ``final`` is the engine's offline plan (placeholders for ids); ``sent_body`` what was really sent.
    """
    body = final.request.body
    path = final.request.path
    if path.endswith("/contacts/upsert"):
        record = find_contact(server, body["unique_identifier"]["emails"])
        for field, planned in body["contact"].items():
            if field == "sales_accounts":  # the new link comes last, after any the contact already had
                sent = sent_body["contact"]["sales_accounts"]
                assert record["sales_accounts"][-len(sent):] == [
                    {"id": int(link["id"]), "is_primary": link["is_primary"]} for link in sent]
                assert [link["is_primary"] for link in planned] == [link["is_primary"] for link in sent]
                assert int(sent[-1]["id"]) in {a["id"] for a in server.accounts()}
                continue
            expected = resolved_placeholder(server, planned, body["contact"], email) \
                if isinstance(planned, Placeholder) else None
            assert_field(record, field, planned, expected)
    elif path.endswith("/sales_accounts/upsert"):
        record = find_account(server, body["unique_identifier"]["name"])
        for field, planned in body["sales_account"].items():
            assert_field(record, field, planned)
    else:
        assert path.endswith("/sales_activities")
        planned_activity = body["sales_activity"]
        record = max(server.activities(), key=lambda a: a["id"])  # the newest one: this event's
        for field, planned in planned_activity.items():
            expected = resolved_placeholder(server, planned, planned_activity, email) \
                if isinstance(planned, Placeholder) else None
            assert_field(record, field, planned, expected)


def user_email(message: dict):
    for holder in (message.get("traits"), (message.get("context") or {}).get("traits"), message.get("properties")):
        if isinstance(holder, dict) and holder.get("email"):
            return holder["email"]
    return None


def test_sample_events_arrive_field_by_field_as_planned(emulator):
    server = emulator(api_key=SAMPLE_KEY)
    items = sample_items()
    checked: list[int] = []

    def after_each(done, total, outcome):
        """Runs right after each event, so later events have not yet changed the records it wrote."""
        item = items[outcome.index]
        plan = transform_event(item.message, item.destination, OfflineResolver(), trace=False)
        if plan.error is not None:
            assert outcome.status in ("skipped", "failed"), outcome.reason
            assert not any(r["kind"] == "final" for r in outcome.requests)
            return
        assert outcome.status == "delivered", outcome.reason  # the demo account has every id the samples use
        sent = [r for r in outcome.requests if r["kind"] == "final"]
        assert len(sent) == len(plan.final_requests)
        for final, request in zip(plan.final_requests, sent, strict=True):
            assert request["url"] == server.base_url + final.request.path and request["status"] == 200
            check_final_against_emulator(server, final, request["body"], user_email(item.message))
        if plan.final_requests[-1].freshsales_event == "sales_activity":
            assert outcome.record_id == max(a["id"] for a in server.activities())
        checked.append(outcome.index)

    outcomes = BatchSender(make_factory(server.base_url), on_progress=after_each).send(items)
    assert [o.index for o in outcomes] == list(range(len(items)))
    counts = summarize(outcomes)["by_status"]
    assert counts["delivered"] == len(checked) >= 0.8 * len(items)
    assert counts["unknown"] == 0
    # Every event of every kind that should arrive did: compare with the offline plans.
    planned_ok = [i for i, item in enumerate(items)
                  if transform_event(item.message, item.destination, OfflineResolver(), trace=False).ok]
    assert set(checked) <= set(planned_ok)
    assert len(planned_ok) - len(checked) == counts["failed"]


def test_identify_twice_with_the_same_email_is_one_contact(emulator):
    server = emulator()
    first = identify("Amara.Okafor@northwind.example.com", firstName="Amara", city="Austin")
    second = identify("amara.okafor@northwind.example.com", lastName="Okafor", phone="+1-512-555-0147")
    outcomes = make_sender(server).send(as_items(first, second))
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    contact, = server.contacts()
    assert outcomes[0].record_id == outcomes[1].record_id == contact["id"]
    assert (contact["first_name"], contact["last_name"], contact["city"], contact["work_number"]) == \
        ("Amara", "Okafor", "Austin", "+1-512-555-0147")
    assert contact["display_name"] == "Amara Okafor"


def test_group_with_an_email_links_the_account_primary_when_first(emulator):
    server = emulator()
    message = sample_message("group_with_user_email.json")
    email = message["context"]["traits"]["email"]
    second_account = group("Second Company Ltd", email)
    outcomes = make_sender(server).send(as_items(message, second_account))
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    contact = find_contact(server, email)
    first_id = find_account(server, message["traits"]["name"])["id"]
    second_id = find_account(server, "Second Company Ltd")["id"]
    assert contact["sales_accounts"] == [{"id": first_id, "is_primary": True},
                                         {"id": second_id, "is_primary": False}]
    assert outcomes[0].record_id == outcomes[1].record_id == contact["id"]
    # Read back as Freshsales shows it, through the API.
    with FreshsalesClient(DOMAIN, EMULATOR_KEY, base_url=server.base_url) as client:
        shown = client.execute(HttpRequest("GET", f"https://{DOMAIN}/crm/sales/api/contacts/{contact['id']}"
                                                  "?include=sales_accounts", {}))
    assert [(a["id"], a["is_primary"]) for a in shown.body["contact"]["sales_accounts"]] == \
        [(first_id, True), (second_id, False)]


def test_a_sales_activity_by_name_gets_the_type_id_of_that_name(emulator):
    server = emulator()
    message = sample_message("track_sales_activity_by_name.json")
    name = message["properties"]["salesActivityName"]
    outcome, = make_sender(server).send(as_items(message))
    assert outcome.status == "delivered"
    activity, = server.activities()
    assert activity["id"] == outcome.record_id
    assert activity["sales_activity_type_id"] == next(t["id"] for t in seed.SALES_ACTIVITY_TYPES if t["name"] == name)
    assert (activity["targetable_type"], activity["targetable_id"]) == \
        ("Contact", find_contact(server, user_email(message))["id"])
    assert activity["title"] == message["properties"]["title"]


def test_a_lifecycle_stage_by_name_sets_that_stage(emulator):
    server = emulator()
    message = sample_message("track_lifecycle_stage_by_name.json")
    name = message["properties"]["lifecycleStageName"]
    outcome, = make_sender(server).send(as_items(message))
    assert outcome.status == "delivered" and outcome.reason == "contact's lifecycle stage set"
    stage = next(s for s in seed.LIFECYCLE_STAGES if s["name"] == name)
    contact = find_contact(server, user_email(message))
    assert contact["id"] == outcome.record_id
    assert contact["lifecycle_stage_id"] == stage["id"]
    assert contact["contact_status_id"] in stage["contact_status_ids"]


# ---- the send CLI as a subprocess ----------------------------------------------------------------

def run_send(*args, key="cli-test-key-123456", stdin=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if k != "FRESHSALES_API_KEY"}
    if key is not None:
        env["FRESHSALES_API_KEY"] = key
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "freshsales_mapper", "send", *map(str, args)], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def outcome_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def write_events(path: Path, *messages) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    return path


def test_cli_sends_streams_json_lines_and_resumes_from_its_journal(emulator, tmp_path):
    server = emulator(api_key="cli-test-key-123456")
    events = write_events(tmp_path / "events.ndjson", identify("cli1@example.com", firstName="Cli"),
                          {"type": "identify", "traits": {"firstName": "No email"}},
                          sample_message("track_sales_activity_by_name.json"))
    journal = tmp_path / "journal.jsonl"
    args = ("--domain", DOMAIN, "--base-url", server.base_url, "--journal", journal, events)
    done = run_send(*args)
    assert done.returncode == 0, done.stderr
    lines = outcome_lines(done.stdout)
    assert [(o["index"], o["status"]) for o in lines] == [(0, "delivered"), (1, "skipped"), (2, "delivered")]
    assert [o["location"] for o in lines] == ["line 1", "line 2", "line 3"]
    assert "3 event(s): 2 delivered, 0 failed, 0 unknown, 1 skipped (RudderStack rejects it); 4 HTTP request(s)" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(server.contacts()) == 2 and len(server.activities()) == 1
    sent = len(server.request_log)

    again = run_send(*args)
    assert again.returncode == 0, again.stderr
    assert [o["reason"] for o in outcome_lines(again.stdout)][::2] == ["delivered in an earlier run; not resent"] * 2
    assert len(server.request_log) == sent and len(server.activities()) == 1


def test_cli_exits_1_when_an_event_fails(emulator, tmp_path):
    server = emulator(api_key="cli-test-key-123456")
    events = write_events(tmp_path / "e.ndjson", identify("cli2@example.com"),
                          {"type": "track", "event": "lifecycle_stage", "traits": {"email": "cli2@example.com"},
                           "properties": {"lifecycleStageId": 5}})
    done = run_send("--domain", "acme", "--base-url", server.base_url, events)
    assert done.returncode == 1, done.stderr
    assert [o["status"] for o in outcome_lines(done.stdout)] == ["delivered", "failed"]
    assert "1 × failed: lifecycle_stage: HTTP 400: Invalid lifecycle stage provided." in done.stderr


def test_cli_reads_processor_bodies_with_their_own_settings(emulator):
    path = SAMPLES / "batch_processor_request.json"
    if not path.exists():
        pytest.skip("sample_events/batch_processor_request.json is not there yet")
    server = emulator(api_key=SAMPLE_KEY)
    done = run_send("--base-url", server.base_url, path, key=None)
    lines = outcome_lines(done.stdout)
    assert len(lines) == len(json.loads(path.read_text())) and done.returncode in (0, 1)
    assert {o["status"] for o in lines} <= {"delivered", "skipped", "failed"}
    assert any(o["status"] == "delivered" for o in lines)


def test_cli_dry_run_sends_nothing(emulator, tmp_path):
    server = emulator(api_key="cli-test-key-123456")
    events = write_events(tmp_path / "e.ndjson", identify("dry@example.com"), group("Dry Inc", "dry@example.com"))
    journal = tmp_path / "j.jsonl"
    done = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", journal, "--dry-run", events)
    assert done.returncode == 0, done.stderr
    assert [o["reason"] for o in outcome_lines(done.stdout)] == ["dry run: would send 1 request(s)",
                                                                 "dry run: would send 3 request(s)"]
    assert "(dry run: nothing sent)" in done.stderr
    assert server.request_log == [] and not journal.exists()


@pytest.mark.parametrize("extra, key, fragment", [
    (("--domain", "acme.example.org"), "k-123456789", "not a Freshsales host"),
    (("--domain", "acme", "--base-url", "http://192.0.2.1:80"), "k-123456789", "--base-url: base_url must be"),
    (("--domain", "acme"), None, "give --domain and --api-key"),
    (("--domain", "acme", "--read-timeout", "0"), "k-123456789", "--read-timeout must be more than 0"),
    (("--domain", "acme", "--journal", "CORRUPT"), "k-123456789", "is not a send journal"),
])
def test_cli_exits_2_on_unusable_settings_without_a_traceback(emulator, tmp_path, extra, key, fragment):
    server = emulator(api_key="k-123456789")
    events = write_events(tmp_path / "e.ndjson", identify("two@example.com"))
    (tmp_path / "CORRUPT").write_text("{oops\n")
    extra = tuple(str(tmp_path / "CORRUPT") if a == "CORRUPT" else a for a in extra)
    base = () if "--base-url" in extra else ("--base-url", server.base_url)
    done = run_send(*base, *extra, events, key=key)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert fragment in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == "" and server.request_log == []


def test_cli_exits_2_on_unreadable_input(tmp_path):
    done = run_send("--domain", "acme", "--base-url", "http://127.0.0.1:9", stdin='{"type": "identify",\n')
    assert done.returncode == 2 and "stdin" in done.stderr and "Traceback" not in done.stderr
    missing = run_send("--domain", "acme", tmp_path / "nope.json")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


# ---- the key never shows ---------------------------------------------------------------------------

SECRET = "sk-live-SECRET-9f8e7d6c5b4a"


def test_the_key_appears_nowhere_the_client_or_cli_print_or_write(emulator, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    right = emulator(api_key=SECRET)
    wrong = emulator(api_key="some-other-key-000")
    events = [identify("secret@example.com"), group("Secret Corp", "secret@example.com"),
              {"type": "track", "event": "sales_activity", "context": {"traits": {"email": "secret@example.com"},
                                                                        "externalId": {"type": "Contact"}},
               "properties": {"title": "t", "startDate": "2024-03-07T10:00:00Z", "endDate": "2024-03-07T11:00:00Z",
                              "ownerId": "1", "salesActivityName": "No Such Type"}},
              {"type": "identify", "traits": {}}]
    written: list[str] = []

    # The library: client and sender, in this process, against a good key, a refused key and a dead port.
    with FreshsalesClient(DOMAIN, SECRET, base_url=right.base_url, on_progress=written.append) as client:
        reply = client.execute(HttpRequest("GET", f"https://{DOMAIN}/crm/sales/api/contacts/1", {}))
        written += [repr(client), repr(reply), str(reply)]
    for server in (right, wrong):  # a journal each: a journal belongs to one account
        journal = tmp_path / f"journal-{server.port}.jsonl"
        sender = BatchSender(make_factory(server.base_url, on_progress=written.append), journal_path=journal)
        outcomes = sender.send(as_items(*events, dest=destination(SECRET)))
        written += [json.dumps([o.to_json() for o in outcomes]), repr(outcomes), repr(sender),
                    json.dumps(summarize(outcomes))]
    # A server that echoes the request head (Authorization included) into its error body.
    echo = lambda request: http(400, b'{"errors": {"code": 400, "message": ["' +  # noqa: E731
                                request.split(b"\r\n\r\n")[0].replace(b"\r\n", b" ") + b'"]}}')
    with raw_server(echo) as echo_url:
        echoed = BatchSender(make_factory(echo_url, max_retries=0), journal_path=tmp_path / "echo.jsonl").send(
            as_items(*events, dest=destination(SECRET)))
    assert "Token token=****" in echoed[0].reason
    written.append(json.dumps([o.to_json() for o in echoed]))
    dead = BatchSender(make_factory("http://127.0.0.1:9", max_retries=0)).send(as_items(*events, dest=destination(SECRET)))
    written.append(json.dumps([o.to_json() for o in dead]))
    dry = BatchSender(make_factory(right.base_url), dry_run=True).send(as_items(*events, dest=destination(SECRET)))
    written.append(json.dumps([o.to_json() for o in dry]))
    # The refused key: the first 401 stops the batch (circuit breaker), the rest are not sent.
    assert outcomes[-1].status == "failed" and "refused the API key (HTTP 401)" in outcomes[-1].reason

    # The CLI: key from the environment, outcomes, summary, journal, dry run, and a refused key.
    event_file = write_events(tmp_path / "events.ndjson", *events)
    for base_url, more in ((right.base_url, ()), (wrong.base_url, ()), (right.base_url, ("--dry-run",))):
        cli_journal = tmp_path / f"cli-journal-{base_url.rsplit(':', 1)[1]}.jsonl"
        done = run_send("--domain", DOMAIN, "--base-url", base_url, "--journal", cli_journal, *more, event_file,
                        key=SECRET)
        written += [done.stdout, done.stderr]
    with_flag = run_send("--domain", DOMAIN, "--api-key", SECRET, "--base-url", wrong.base_url, event_file, key=None)
    written += [with_flag.stdout, with_flag.stderr]

    captured = capsys.readouterr()
    assert len(list(tmp_path.glob("*.jsonl"))) == 5  # the CLI's and the library's journal for each key, and echo's
    everything = "\n".join([*written, captured.out, captured.err, caplog.text,
                            *(path.read_text() for path in tmp_path.glob("*.jsonl"))])
    assert len(everything) > 1000 and '"status": "delivered"' in everything
    assert everything.count(SECRET) == 0
    assert SECRET[4:-4] not in everything  # not even a large piece of it

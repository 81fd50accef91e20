"""The emulator over real HTTP on 127.0.0.1, spoken to with plain ``requests`` (not our client)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from freshsales_mapper.cli import emulator_cmd as emulator_module
from freshsales_mapper.emulator.server import EmulatorServer
from tests.conftest import EMULATOR_KEY

ROOT = Path(__file__).resolve().parents[1]

API = "/crm/sales/api"
PHONE_TYPE_ID = 70000646201  # the "Phone" sales activity type of the acme recordings
LEAD_STAGE_ID = 71012139273  # "Lead" in the acme recordings
NEW_STATUS_ID = 70000697854  # the Lead stage's first status


def call(server, method, path, body=None, key=EMULATOR_KEY, **headers):
    if key is not None:
        headers["Authorization"] = f"Token token={key}"
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body)
    return requests.request(method, server.base_url + API + path, data=data, timeout=5,
                            headers={"Content-Type": "application/json", **headers})


def upsert_contact(server, email, contact=None, include=False):
    path = "/contacts/upsert" + ("?include=sales_accounts" if include else "")
    return call(server, "POST", path, {"unique_identifier": {"emails": email}, "contact": contact or {}})


def upsert_account(server, name, account=None):
    return call(server, "POST", "/sales_accounts/upsert",
                {"unique_identifier": {"name": name}, "sales_account": account or {}})


# ---- contacts ------------------------------------------------------------------------------------

def test_contact_upsert_twice_with_same_email_keeps_one_contact(emulator):
    server = emulator()
    first = upsert_contact(server, "ada@example.com", {"first_name": "Ada"})
    second = upsert_contact(server, "ADA@example.com", {"last_name": "Lovelace", "job_title": "Analyst"})
    assert first.status_code == second.status_code == 200
    a, b = first.json()["contact"], second.json()["contact"]
    assert a["id"] == b["id"] and a["id"] > 10**10
    assert b["display_name"] == "Ada Lovelace" and b["job_title"] == "Analyst"
    assert b["created_at"] == a["created_at"]
    assert len(server.contacts()) == 1


def test_new_contact_has_the_freshsales_read_shape(emulator):
    server = emulator()
    contact = upsert_contact(server, "bob@example.com").json()["contact"]
    assert contact["display_name"] == "bob@example.com"  # no names: Freshsales shows the email
    assert contact["first_name"] is None and contact["last_name"] is None  # explicit nulls, not omitted
    assert contact["email"] == "bob@example.com"
    assert contact["emails"] == [{"id": contact["emails"][0]["id"], "value": "bob@example.com",
                                  "is_primary": True, "label": None, "_destroy": False}]
    assert isinstance(contact["record_type_id"], str) and contact["custom_field"] == {}
    assert contact["created_at"][-6] in "+-" and contact["created_at"][-3] == ":"  # ISO with offset
    assert "sales_accounts" not in contact
    other = upsert_contact(server, "carol@example.com").json()["contact"]
    assert other["id"] > contact["id"]


def test_numeric_id_fields_accept_numeric_strings_and_reject_the_rest(emulator):
    server = emulator()
    good = upsert_contact(server, "d@example.com", {"owner_id": "70000062681", "lifecycle_stage_id": LEAD_STAGE_ID})
    assert good.status_code == 200
    assert good.json()["contact"]["owner_id"] == 70000062681
    assert good.json()["contact"]["contact_status_id"] == NEW_STATUS_ID  # entering a stage sets its status
    bad = upsert_contact(server, "e@example.com", {"territory_id": "north"})
    assert bad.status_code == 400
    assert bad.json() == {"errors": {"code": 400, "message": ["The type for territory_id is invalid."]}}
    unknown_stage = upsert_contact(server, "e@example.com", {"lifecycle_stage_id": 12345})
    assert unknown_stage.status_code == 400
    assert [c["email"] for c in server.contacts()] == ["d@example.com"]  # failed upserts created nothing


def test_contact_status_must_belong_to_the_lifecycle_stage(emulator):
    server = emulator()
    mismatch = upsert_contact(server, "f@example.com",
                              {"lifecycle_stage_id": LEAD_STAGE_ID, "contact_status_id": 70000736543})
    assert mismatch.json()["errors"]["message"] == ["Invalid contact status provided."]


# ---- accounts and links --------------------------------------------------------------------------

def test_account_upsert_by_name(emulator):
    server = emulator()
    first = upsert_account(server, "Acme Inc", {"city": "Pune", "number_of_employees": "11",
                                                "annual_revenue": 1000})
    again = upsert_account(server, "acme inc", {"phone": "919191919191"})
    assert first.status_code == again.status_code == 200
    account = again.json()["sales_account"]
    assert account["id"] == first.json()["sales_account"]["id"]
    assert (account["name"], account["city"], account["number_of_employees"], account["phone"]) == \
        ("Acme Inc", "Pune", 11, "919191919191")
    assert account["record_type_id"] == "71010794477" and account["website"] is None
    assert len(server.accounts()) == 1


def test_account_upsert_needs_a_name(emulator):
    server = emulator()
    response = call(server, "POST", "/sales_accounts/upsert", {"sales_account": {"city": "Pune"}})
    assert response.status_code == 400 and "name" in response.json()["errors"]["message"][0]
    assert server.accounts() == []


def test_linking_a_contact_to_accounts_replaces_its_associations(emulator):
    server = emulator()
    acme = upsert_account(server, "Acme Inc").json()["sales_account"]["id"]
    globex = upsert_account(server, "Globex").json()["sales_account"]["id"]
    linked = upsert_contact(server, "g@example.com", {"sales_accounts": [
        {"id": acme, "is_primary": True}, {"id": str(globex), "is_primary": False, "name": "extra keys ok"}]},
        include=True)
    accounts = linked.json()["contact"]["sales_accounts"]
    assert [(a["id"], a["is_primary"]) for a in accounts] == [(acme, True), (globex, False)]
    assert accounts[0] == {"partial": True, "id": acme, "name": "Acme Inc", "avatar": None, "website": None,
                           "last_contacted": None, "record_type_id": "71010794477", "is_primary": True}
    contact_id = linked.json()["contact"]["id"]
    replaced = upsert_contact(server, "g@example.com", {"sales_accounts": [{"id": globex, "is_primary": True}]})
    assert "sales_accounts" not in replaced.json()["contact"]
    read = call(server, "GET", f"/contacts/{contact_id}?include=sales_accounts").json()["contact"]
    assert [(a["id"], a["is_primary"]) for a in read["sales_accounts"]] == [(globex, True)]
    untouched = upsert_contact(server, "g@example.com", {"first_name": "G"}, include=True)
    assert [a["id"] for a in untouched.json()["contact"]["sales_accounts"]] == [globex]


@pytest.mark.parametrize("value, message", [
    ({"id": 1}, "The type for sales_accounts is invalid."),
    ([70003771396], "The type for sales_accounts is invalid."),
    ([{"id": 123, "is_primary": True}], "Sales account with id 123 does not exist"),
])
def test_invalid_sales_accounts_are_rejected_without_writing(emulator, value, message):
    server = emulator()
    response = upsert_contact(server, "h@example.com", {"sales_accounts": value})
    assert response.status_code == 400
    assert response.json() == {"errors": {"code": 400, "message": [message]}}
    assert server.contacts() == []


# ---- sales activities ----------------------------------------------------------------------------

def _activity(target_id, **overrides):
    activity = {"title": "Intro call", "start_date": "2024-05-04T17:00:00+05:30",
                "end_date": "2024-05-04T17:30:00+05:30", "sales_activity_type_id": str(PHONE_TYPE_ID),
                "targetable_type": "contact", "targetable_id": target_id, "owner_id": "70000062681",
                "sales_activity_name": "Phone"}  # RudderStack leaks this key; Freshsales ignores it
    activity.update(overrides)
    return {"sales_activity": activity}


def test_sales_activity_with_a_real_type_id(emulator):
    server = emulator()
    types = call(server, "GET", "/selector/sales_activity_types").json()["sales_activity_types"]
    phone = next(t["id"] for t in types if t["name"] == "Phone")
    contact_id = upsert_contact(server, "i@example.com").json()["contact"]["id"]
    created = call(server, "POST", "/sales_activities", _activity(contact_id, sales_activity_type_id=phone))
    assert created.status_code == 200
    activity = created.json()["sales_activity"]
    assert activity["targetable_type"] == "Contact" and activity["targetable_id"] == contact_id
    assert activity["sales_activity_type_id"] == PHONE_TYPE_ID and activity["owner_id"] == 70000062681
    assert activity["targetables"] == [{"id": contact_id, "type": "Contact"}]
    assert activity["conversation_time"] == activity["end_date"] and activity["status"] is False
    assert "sales_activity_name" not in activity
    assert call(server, "GET", f"/sales_activities/{activity['id']}").json()["sales_activity"] == activity
    assert len(server.activities()) == 1


@pytest.mark.parametrize("overrides, fragment", [
    ({"title": None, "end_date": ""}, "title can't be blank"),
    ({"sales_activity_type_id": 1}, "Invalid sales activity type"),
    ({"targetable_type": "Lead"}, "targetable_type must be"),
    ({"targetable_id": 42}, "Contact with id 42 does not exist"),
    ({"start_date": "yesterday"}, "Invalid date for start_date"),
])
def test_invalid_sales_activities_are_rejected(emulator, overrides, fragment):
    server = emulator()
    contact_id = upsert_contact(server, "j@example.com").json()["contact"]["id"]
    response = call(server, "POST", "/sales_activities", _activity(contact_id, **overrides))
    assert response.status_code == 400
    assert any(fragment in m for m in response.json()["errors"]["message"])
    assert server.activities() == []


# ---- reads, selectors, errors --------------------------------------------------------------------

def test_selectors_answer_under_their_keys_with_the_recorded_ids(emulator):
    server = emulator()
    expected = {"owners": "users", "territories": "territories", "contact_statuses": "contact_statuses",
                "lifecycle_stages": "lifecycle_stages", "lead_sources": "lead_sources",
                "industry_types": "industry_types", "business_types": "business_types",
                "sales_activity_types": "sales_activity_types",
                "sales_activity_outcomes": "sales_activity_outcomes",
                "sales_activity_entity_types": "sales_activity_entity_types"}
    for path, key in expected.items():
        response = call(server, "GET", f"/selector/{path}")
        assert response.status_code == 200 and list(response.json()) == [key] and response.json()[key], path
    stages = {s["name"]: s["id"] for s in call(server, "GET", "/selector/lifecycle_stages").json()["lifecycle_stages"]}
    assert stages["Lead"] == LEAD_STAGE_ID and stages["final Customer"] == 71012806409
    types = call(server, "GET", "/selector/sales_activity_types").json()["sales_activity_types"]
    assert {t["id"] for t in types} >= {70000666879, 70000663932, PHONE_TYPE_ID}
    lists = call(server, "GET", "/lists").json()
    assert lists["meta"] == {"total_pages": 1, "total": len(lists["lists"])}


def test_unknown_records_routes_and_bad_json(emulator):
    server = emulator()
    assert call(server, "GET", "/contacts/123").status_code == 404
    assert call(server, "GET", "/sales_accounts/123").status_code == 404
    assert call(server, "GET", "/nothing/here").status_code == 404
    assert call(server, "GET", "/contacts/upsert").status_code == 404  # right path, wrong method
    bad = call(server, "POST", "/contacts/upsert", b"{not json")
    assert bad.status_code == 400 and bad.json()["errors"]["code"] == 400


def test_wrong_or_missing_key_is_401_with_the_login_body(emulator):
    server = emulator()
    for key in ("wrong-key", None):
        response = call(server, "GET", "/selector/owners", key=key)
        assert response.status_code == 401
        assert response.json() == {"login": "failed", "message": "Incorrect or expired API key"}


def test_any_host_header_is_accepted(emulator):
    server = emulator()
    response = call(server, "GET", "/lists", Host="acme.myfreshworks.com")
    assert response.status_code == 200


def test_request_log_has_method_path_status_and_never_the_key(emulator):
    server = emulator()
    call(server, "GET", "/lists")
    call(server, "GET", "/lists", key="nope")
    assert [tuple(e) for e in server.request_log] == [("GET", f"{API}/lists", 200), ("GET", f"{API}/lists", 401)]
    assert EMULATOR_KEY not in repr(server.request_log) + repr(server)


# ---- limits, faults, persistence -----------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_rate_limit_answers_429_with_headers_then_recovers(emulator):
    clock = FakeClock()
    server = emulator(rate_limit_per_minute=3, clock=clock)
    answers = [call(server, "GET", "/lists") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json() == {"errors": {"code": 429, "message": ["Too many requests"]}}
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3" and "X-RateLimit-Reset" in answers[0].headers
    clock.now += 61
    assert call(server, "GET", "/lists").status_code == 200


def test_hourly_limit_and_no_headers_when_off(emulator):
    limited = emulator(rate_limit_per_hour=1)
    assert [call(limited, "GET", "/lists").status_code for _ in range(2)] == [200, 429]
    unlimited = emulator()
    response = call(unlimited, "GET", "/lists")
    assert "X-RateLimit-Limit" not in response.headers and "Retry-After" not in response.headers


def test_fail_rate_answers_500_before_changing_anything(emulator):
    server = emulator(fail_rate=0.5, seed=7)
    statuses = [upsert_contact(server, f"user{i}@example.com").status_code for i in range(30)]
    assert set(statuses) == {200, 500}
    assert len(server.contacts()) == statuses.count(200)
    always = emulator(fail_rate=1.0)
    failed = upsert_account(always, "Never")
    assert failed.status_code == 500
    assert failed.json() == {"errors": {"code": 500, "message": ["Internal server error"]}}
    assert always.accounts() == []


def test_same_seed_fails_the_same_requests(emulator):
    runs = []
    for _ in range(2):
        server = emulator(fail_rate=0.3, seed=42)
        runs.append([call(server, "GET", "/lists").status_code for _ in range(20)])
    assert runs[0] == runs[1] and 500 in runs[0]


def test_state_file_survives_a_restart(emulator, tmp_path):
    state = tmp_path / "state.json"
    first = emulator(state_file=state)
    contact_id = upsert_contact(first, "k@example.com", {"first_name": "Kay"}).json()["contact"]["id"]
    first.stop()
    assert json.loads(state.read_text())["contacts"][0]["id"] == contact_id
    assert os.listdir(tmp_path) == ["state.json"]  # the temporary file was renamed into place
    second = emulator(state_file=state)
    assert [c["first_name"] for c in second.contacts()] == ["Kay"]
    newer = upsert_contact(second, "l@example.com").json()["contact"]["id"]
    assert newer > contact_id  # ids continue, never reused


def test_corrupt_state_file_is_reported(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{broken")
    with pytest.raises(ValueError, match="not an emulator state file"):
        EmulatorServer(state_file=state)


# ---- command line --------------------------------------------------------------------------------

def test_cli_prints_the_url_with_the_key_masked(monkeypatch, capsys):
    parser = argparse.ArgumentParser()
    emulator_module.add_arguments(parser)
    args = parser.parse_args(["--port", "0"])
    assert (args.host, args.api_key, args.fail_rate, args.state) == ("127.0.0.1", None, 0.0, None)
    monkeypatch.setenv("FRESHSALES_API_KEY", "cli-secret-key-9876")

    def interrupt(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(emulator_module.time, "sleep", interrupt)
    assert emulator_module.run(args) == 130
    out = capsys.readouterr().out
    assert "http://127.0.0.1:" in out and "****9876" in out
    assert "cli-secret-key-9876" not in out


def test_an_unwritable_state_file_is_refused_at_start_with_exit_2(tmp_path):
    missing = tmp_path / "nonexistent" / "dir" / "state.json"
    with pytest.raises(ValueError, match="cannot write the state file"):
        EmulatorServer(state_file=missing)
    done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "emulator", "--port", "0", "--state",
                           str(missing)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cannot write the state file" in done.stderr and "Traceback" not in done.stderr


def test_a_save_that_fails_leaves_the_state_as_it_was(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    state = folder / "state.json"
    server = EmulatorServer(api_key="k", state_file=state).start()
    try:
        ok = requests.post(f"{server.base_url}/crm/sales/api/contacts/upsert", timeout=10,
                           headers={"Authorization": "Token token=k"},
                           json={"unique_identifier": {"emails": "kept@example.com"},
                                 "contact": {"emails": "kept@example.com"}})
        assert ok.status_code == 200
        state.unlink()
        folder.rmdir()  # the folder goes away (a permission would not stop root): no file can be written there
        refused = requests.post(f"{server.base_url}/crm/sales/api/contacts/upsert", timeout=10,
                                headers={"Authorization": "Token token=k"},
                                json={"unique_identifier": {"emails": "lost@example.com"},
                                      "contact": {"emails": "lost@example.com"}})
        assert refused.status_code == 500 and "nothing was stored" in refused.text
        assert [c["email"] for c in server.contacts()] == ["kept@example.com"]
    finally:
        server.stop()


@pytest.mark.parametrize("args, words", [
    (["--port", "70000"], "the port must be a whole number from 0 to 65535"),
    (["--port", "-1"], "the port must be a whole number from 0 to 65535"),
    (["--host", ""], "the host must be an address to listen on"),
    (["--rate-limit-per-minute", "-5"], "rate_limit_per_minute must be a whole number of at least 1"),
    (["--rate-limit-per-hour", "0"], "rate_limit_per_hour must be a whole number of at least 1"),
    (["--latency-ms", "inf"], "latency_ms must be between"),
    (["--latency-ms", "-3"], "latency_ms must be between"),
])
def test_emulator_arguments_it_cannot_use_are_exit_2_with_what_is_wrong(args, words):
    done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "emulator", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_requests_with_a_wrong_key_do_not_use_up_the_accounts_rate_budget(emulator):
    server = emulator(rate_limit_per_minute=3)
    url = f"{server.base_url}/crm/sales/api/contacts/1"
    wrong = [requests.get(url, headers={"Authorization": "Token token=guess"}, timeout=10).status_code
             for _ in range(10)]
    assert wrong == [401] * 10
    right = [requests.get(url, headers={"Authorization": f"Token token={EMULATOR_KEY}"}, timeout=10).status_code
             for _ in range(4)]
    assert 429 not in right[:3] and right[3] == 429


def test_opening_the_emulators_address_in_a_browser_shows_a_page_a_person_can_read(emulator):
    server = emulator()
    requests.post(f"{server.base_url}/crm/sales/api/contacts/upsert", timeout=10,
                  headers={"Authorization": f"Token token={EMULATOR_KEY}"},
                  json={"unique_identifier": {"emails": "p@example.com"}, "contact": {"emails": "p@example.com"}})
    page = requests.get(server.base_url + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Freshsales emulator" in page.text and "<td>contacts</td><td>1</td>" in page.text
    assert "p@example.com" not in page.text and EMULATOR_KEY not in page.text  # no record, no key without the key
    assert requests.get(server.base_url + "/crm/sales/api/contacts/1", timeout=10).status_code == 401

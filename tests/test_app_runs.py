"""Live runs outlive the tab: a new session with the same events and account finds the earlier run (Resume or
"already sent", never a fresh full send), and the Runs panel lists and reopens it. Nothing leaves the machine:
the account's host cannot resolve (name lookups for anything but loopback fail here), so sends fail at once."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import stat

import pytest
from test_app_helpers import as_shown, joined, metrics, new_app, paste, sample, set_key, stop_sandbox

from freshsales_mapper.engine.secret import key_fingerprint
from freshsales_mapper.sending.run_store import RunStore

DOMAIN = "nosuchaccount-runs.myfreshworks.com"
KEY = "live-key-runs-test-0123456789abcdef"
IDENTIFY = json.dumps({"type": "identify", "traits": {"email": "kept@example.com", "firstName": "Kept"}})
REJECTED = json.dumps({"type": "bogus-type", "userId": "u1"})  # RudderStack rejects it: nothing is sent


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """Name lookups the app makes; any host but loopback fails as an unknown name would."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host in ("127.0.0.1", "localhost", "::1"):
            return real(host, *args, **kwargs)
        asked.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture
def sessions():
    started = []

    def start():
        app = new_app()
        started.append(app)
        return app

    yield start
    for app in started:
        stop_sandbox(app)


def keep_delivered_run(server):
    """IDENTIFY sent to ``server`` (an emulator) as a page's Live send job does: kept in the run store."""
    from freshsales_mapper.inputs import parse_events_text
    from freshsales_mapper.sending import FreshsalesClient
    from playground import live_runs
    from playground.pipeline import Settings
    from playground.send_job import SendJob

    items = parse_events_text(IDENTIFY).items
    settings = Settings(domain=DOMAIN, mode="Live")
    batch = live_runs.batch_for(items, settings, live_runs.live_target(DOMAIN, KEY))
    journal, saver = live_runs.journal_for(f"{batch}/0", DOMAIN, KEY, items, settings)
    job = SendJob(f"{batch}/0", DOMAIN, journal, 1, on_finish=saver)
    job.start([dataclasses.replace(i, destination=settings.destination()) for i in items],
              lambda: FreshsalesClient(DOMAIN, KEY, base_url=server.base_url, rate_limit_per_minute=None,
                                       rate_limit_per_hour=None))
    return job


def live(app, events: str, *, key: str | None = KEY):
    paste(app, events)
    app.sidebar.radio(key="mode").set_value("Live")
    app.sidebar.text_input(key="domain").set_value(DOMAIN)
    app.run()
    if key:
        set_key(app, key)
    return app


def send(app) -> None:
    app.checkbox(key="live_confirm").check()
    app.run()
    app.button(key="send_button").click()
    app.run()
    assert not app.exception, app.exception


def runs_table(app):
    return next(d.value for d in app.dataframe if "not sent yet" in d.value.columns)


def test_a_failed_live_run_is_offered_resume_in_a_new_session(sessions, lookups, runs_folder):
    first = live(sessions(), IDENTIFY)
    assert first.button(key="send_button").label == "Send 1 event(s)"
    assert "is kept in" in joined(first.caption) and "never the key" in joined(first.caption)
    send(first)
    assert metrics(first)["Failed"] == "1" and lookups and set(lookups) == {DOMAIN}
    assert first.button(key="send_button").label == "Resume: 1 failed event a retry can fix"

    second = live(sessions(), IDENTIFY)  # a new tab: nothing in its session state
    assert second.button(key="send_button").label == "Resume: 1 failed event a retry can fix"
    assert metrics(second)["Failed"] == "1"
    outcomes = next(d.value for d in second.dataframe if "record id" in d.value.columns)
    assert list(outcomes["status"].str.startswith("failed")) == [True]
    table = runs_table(second)
    assert list(table["target"]) == [f"{DOMAIN} · key {key_fingerprint(KEY)}"]
    assert list(table["events"]) == ["1"] and list(table["failed"]) == ["1"]
    assert any(e.label == "Earlier Live runs (1)" for e in second.expander)

    # Resuming in the new tab goes on with the same run (its journal), not a second one.
    send(second)
    assert second.button(key="send_button").label == "Resume: 1 failed event a retry can fix"
    runs, unreadable = RunStore(runs_folder).listing()
    assert unreadable == [] and len(runs) == 1 and runs[0].runs == 2

    # The folder is private, and no file in it holds the key.
    assert stat.S_IMODE(os.stat(runs_folder).st_mode) == 0o700
    for name in os.listdir(runs_folder):
        path = runs_folder / name
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600, name
        assert KEY.encode() not in path.read_bytes(), name


def test_another_key_or_other_events_are_another_batch(sessions, lookups):
    send(live(sessions(), IDENTIFY))
    other_key = live(sessions(), IDENTIFY, key=KEY + "-other")
    assert other_key.button(key="send_button").label == "Send 1 event(s)"
    more = live(sessions(), IDENTIFY + "\n" + REJECTED)
    assert more.button(key="send_button").label == "Send 2 event(s)"


def test_a_completed_run_is_already_sent_in_a_new_session(sessions, lookups, runs_folder):
    first = live(sessions(), REJECTED)
    send(first)
    assert metrics(first)["Skipped"] == "1" and lookups == []

    second = live(sessions(), REJECTED)
    assert second.button(key="send_button").label == "Send 1 event(s)"  # the run is complete: nothing to resume
    assert metrics(second)["Skipped"] == "1"  # ...and its outcomes are shown before any click
    send(second)
    assert "Already sent" in joined(second.info) and lookups == []
    outcomes = next(d.value for d in second.dataframe if "record id" in d.value.columns)
    assert len(outcomes) == 1 and outcomes["status"].iloc[0].startswith("skipped")
    assert second.button(key="send_again").label.startswith("Send again")
    # "Send again" (confirmed) is the one way to send the batch once more: a new run, which later tabs find.
    second.button(key="send_again").click()
    second.run()
    second.button(key="send_again_yes").click()
    second.run()
    assert not second.exception, second.exception
    runs, _ = RunStore(runs_folder).listing()
    assert sorted(r.generation for r in runs) == [0, 1] and all(r.counts["skipped"] == 1 for r in runs)
    third = live(sessions(), REJECTED)
    send(third)
    assert "Already sent" in joined(third.info) and len(RunStore(runs_folder).listing()[0]) == 2


def test_the_runs_panel_reopens_a_run(sessions, lookups):
    send(live(sessions(), IDENTIFY + "\n" + REJECTED))
    later = sessions()  # a new tab, Preview mode, empty editor: the panel still lists the run
    assert any(e.label == "Earlier Live runs (1)" for e in later.expander)
    later.button(key="runs_open").click()
    later.run()
    assert not later.exception, later.exception
    assert later.sidebar.radio(key="mode").value == "Live" and later.sidebar.text_input(key="domain").value == DOMAIN
    text = later.text_area(key="events_input").value
    assert [json.loads(line) for line in text.splitlines()] == [json.loads(IDENTIFY), json.loads(REJECTED)]
    assert "no API key is entered" in as_shown(joined(later.warning))
    assert key_fingerprint(KEY) in joined(later.warning)
    set_key(later, KEY)
    assert later.button(key="send_button").label == "Resume: 1 failed event a retry can fix"
    assert "no API key is entered" not in joined(later.warning)
    assert "Opened the run started" in joined(later.info)


def test_unreadable_files_in_the_runs_folder_are_named_not_raised(sessions, runs_folder):
    (runs_folder / "notes.txt").write_text("mine")
    (runs_folder / "broken.run.json").write_text("{not json")
    app = sessions()
    found = joined(app.warning)
    assert "notes.txt" in found and "broken.run.json" in found and "not JSON" in found
    assert (runs_folder / "notes.txt").read_text() == "mine"


def test_sandbox_says_its_runs_are_not_kept(sessions):
    app = sessions()
    paste(app, sample("identify.json"))
    app.sidebar.radio(key="mode").set_value("Sandbox")
    app.run()
    assert "Sandbox runs are not kept: they go with the emulator when this tab closes" in joined(app.caption)


def test_no_key_lands_in_the_runs_folder_not_even_a_processor_bodys_own(sessions, lookups, runs_folder):
    own, default = "proc-own-secret-key-123456", "tmpl-secret-default-98765"
    bodies = [{"message": json.loads(REJECTED), "destination": {"Config": {"apiKey": own, "domain": DOMAIN}}},
              {"message": json.loads(REJECTED), "destination": {"Config": {
                  "apiKey": f'{{{{ message.context.k || "{default}" }}}}', "domain": DOMAIN}}}]
    app = live(sessions(), json.dumps(bodies))
    send(app)
    assert metrics(app)["Skipped"] == "2" and sorted(os.listdir(runs_folder))
    for name in os.listdir(runs_folder):
        data = (runs_folder / name).read_bytes()
        for secret in (KEY, own, default, own[:-4], default[:-4]):
            assert secret.encode() not in data, (name, secret)
    # The masked bodies still make the same batch: a new tab with the original text finds the run.
    again = live(sessions(), json.dumps(bodies))
    send(again)
    assert "Already sent" in joined(again.info)


def test_a_delivered_run_comes_back_whole_in_a_new_session(sessions, emulator, runs_folder):
    """Outcomes as a page's send job leaves them (requests, answers, records read back) are kept whole: the same
    events to the same account in a new tab show them, with "already sent" and no request made."""
    server = emulator(api_key=KEY)
    job = keep_delivered_run(server)
    assert job.wait(60) and job.complete and job.latest()[0].readback
    contact = server.contacts()[0]["id"]
    calls = len(server.request_log)

    app = live(sessions(), IDENTIFY)
    assert metrics(app)["Delivered"] == "1"
    outcomes = next(d.value for d in app.dataframe if "record id" in d.value.columns)
    assert list(outcomes["record id"]) == [str(contact)] and list(outcomes["HTTP"]) == ["200"]
    assert any("What Freshsales stored" in e.label for e in app.expander)
    send(app)
    assert "Already sent" in joined(app.info) and len(server.request_log) == calls


def test_a_run_another_tab_is_sending_is_not_sent_twice(sessions, lookups, runs_folder):
    from freshsales_mapper.sending.journal import Journal
    from playground import live_runs

    send(live(sessions(), IDENTIFY))
    (record,), _ = RunStore(runs_folder).listing()
    before = (runs_folder / f"{record.id}.run.json").read_bytes()
    asked = len(lookups)
    busy = Journal(RunStore(runs_folder).journal_path(record.id), targets=[live_runs.live_target(DOMAIN, KEY)])
    try:  # another tab's send holds the journal
        other = live(sessions(), IDENTIFY)
        send(other)
        assert "in use by another send" in joined(other.error) and len(lookups) == asked
    finally:
        busy.close()
    assert (runs_folder / f"{record.id}.run.json").read_bytes() == before  # that tab's save is not overwritten

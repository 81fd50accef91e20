"""The runs folder: a Live send's journal and outcomes kept on disk (0700 folder, 0600 files, atomic writes),
read back as they were sent, with stray or damaged files listed by name and never touched."""

from __future__ import annotations

import json
import os
import stat

import pytest
from conftest import EMULATOR_KEY
from test_sender import DOMAIN, identify, make_sender, sales_activity

from freshsales_mapper.inputs import EventInput, parse_events_text
from freshsales_mapper.sending import FreshsalesClient, SendOutcome
from freshsales_mapper.sending.journal import read_journal
from freshsales_mapper.sending.run_store import (
    RUNS_DIR_ENV,
    RunRecord,
    RunStore,
    RunStoreError,
    batch_identity,
    default_runs_dir,
    event_json,
    record_outcomes,
)
from freshsales_mapper.sending.target import SendTarget

SECRET = "emulator-test-key-7f3a9c"
assert SECRET == EMULATOR_KEY  # the emulator's key stands in for a real one: no file may hold it


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def events_of(*messages) -> list[EventInput]:
    return parse_events_text("\n".join(json.dumps(m) for m in messages)).items


def bare_items(items: list[EventInput], key: str = SECRET) -> list[EventInput]:
    """What the page sends: bare events get the sidebar's destination (here the key in the clear, as the
    sender needs it; the record keeps only event_json, which leaves a bare event's destination out)."""
    from dataclasses import replace
    return [replace(i, destination={"Config": {"apiKey": key, "domain": DOMAIN}}) for i in items]


def sent_run(store: RunStore, server, items: list[EventInput]) -> RunRecord:
    target = SendTarget.of(server.base_url, DOMAIN, SECRET)
    events = [event_json(i) for i in items]
    batch = batch_identity(events, [], target)
    record = RunRecord(store.new_id(batch, 0), batch, 0, target, events)
    store.save(record)
    with FreshsalesClient(DOMAIN, SECRET, base_url=server.base_url, rate_limit_per_minute=None,
                          rate_limit_per_hour=None) as client:
        from freshsales_mapper.sending import BatchSender
        outcomes = BatchSender(client, journal_path=store.journal_path(record.id)).send(bare_items(items))
    record.outcomes, record.runs = record_outcomes(outcomes), 1
    store.save(record)
    return record


def test_the_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path / "mine"))
    assert default_runs_dir() == tmp_path / "mine"
    monkeypatch.delenv(RUNS_DIR_ENV)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_runs_dir() == tmp_path / "state" / "freshsales-mapper" / "runs"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_runs_dir() == tmp_path / "home" / ".local" / "state" / "freshsales-mapper" / "runs"


def test_a_run_is_kept_private_and_reads_back_as_sent(emulator, tmp_path):
    server = emulator()
    store = RunStore(tmp_path / "deep" / "runs")
    items = events_of(identify("kept@example.com", firstName="Kép"), {"type": "bogus"})
    record = sent_run(store, server, items)
    assert mode(store.folder) == 0o700
    names = sorted(os.listdir(store.folder))
    assert names == [f"{record.id}.journal.jsonl", f"{record.id}.run.json"]
    assert all(mode(store.folder / n) == 0o600 for n in names)
    runs, unreadable = store.listing()
    assert unreadable == [] and [r.id for r in runs] == [record.id]
    again = runs[0]
    assert again.target == SendTarget.of(server.base_url, DOMAIN, SECRET) and again.total == 2
    assert again.counts == {"delivered": 1, "failed": 0, "unknown": 0, "skipped": 1}
    assert [i.message for i in again.items()] == [i.message for i in items]
    outcomes = store.outcomes(again)
    assert [o.status for o in outcomes] == [SendOutcome.DELIVERED, SendOutcome.SKIPPED]
    assert outcomes[0].record_id == server.contacts()[0]["id"] and outcomes[0].requests[0]["status"] == 200
    assert store.latest_for(record.batch).id == record.id and store.latest_for("0" * 32) is None


def test_no_file_in_the_folder_holds_the_key(emulator, tmp_path):
    server = emulator()
    store = RunStore(tmp_path / "runs")
    processor = {"message": sales_activity("s@example.com"),
                 "destination": {"Config": {"apiKey": "****" + SECRET[-4:], "domain": DOMAIN}}}
    items = events_of(identify("a@example.com"), processor)
    sent_run(store, server, items)
    assert len(server.request_log) > 0
    for name in os.listdir(store.folder):
        data = (store.folder / name).read_bytes()
        assert SECRET.encode() not in data and SECRET[:-4].encode() not in data, name


def test_the_same_events_to_the_same_target_are_the_same_batch():
    target = SendTarget.of("https://acme.myfreshworks.com", DOMAIN, SECRET)
    one = [event_json(i) for i in events_of(identify("a@example.com"), identify("b@example.com"))]
    moved = [{**e, "location": "elsewhere"} for e in one]  # pasted as an array instead of NDJSON
    assert batch_identity(one, [], target) == batch_identity(moved, [], target)
    other_key = SendTarget.of("https://acme.myfreshworks.com", DOMAIN, SECRET + "x")
    other_domain = SendTarget.of("https://beta.myfreshworks.com", "beta.myfreshworks.com", SECRET)
    changed = {batch_identity(one, [], other_key), batch_identity(one, [], other_domain),
               batch_identity(one, [["signup", "sales_activity"]], target), batch_identity(one[::-1], [], target),
               batch_identity(one[:1], [], target)}
    assert batch_identity(one, [], target) not in changed and len(changed) == 5


def test_a_save_replaces_the_record_whole(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    target = SendTarget.of("https://acme.myfreshworks.com", DOMAIN, SECRET)
    record = RunRecord("r1", "b" * 32, 0, target, [event_json(i) for i in events_of(identify("a@example.com"))])
    store.save(record)
    before = (store.folder / "r1.run.json").read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    record.runs = 5
    with pytest.raises(OSError):
        store.save(record)
    monkeypatch.undo()
    # The old record is whole, and no temporary file is left behind.
    assert (store.folder / "r1.run.json").read_bytes() == before and os.listdir(store.folder) == ["r1.run.json"]
    record.runs = 2
    store.save(record)
    assert store.load("r1").runs == 2 and mode(store.folder / "r1.run.json") == 0o600


def test_foreign_and_damaged_files_are_listed_by_name_and_left_alone(tmp_path, emulator):
    store = RunStore(tmp_path / "runs")
    record = sent_run(store, emulator(), events_of(identify("a@example.com")))
    strays = {"notes.txt": b"my notes", "broken.run.json": b'{"run": "freshsales-mapper run", "vers',
              "other.run.json": json.dumps({"run": "something else"}).encode(),
              "wrong-version.run.json": json.dumps({"run": "freshsales-mapper run", "version": 9}).encode(),
              "orphan.journal.jsonl": b'{"journal": "x"}\n', ".r1.run.json.abcd.tmp": b"{"}
    for name, data in strays.items():
        (store.folder / name).write_bytes(data)
    os.symlink(store.folder / f"{record.id}.run.json", store.folder / "link.run.json")
    os.mkdir(store.folder / "folder.run.json")
    runs, unreadable = store.listing()
    assert [r.id for r in runs] == [record.id]
    problems = {u.name: u.problem for u in unreadable}
    assert set(problems) == {*strays, "link.run.json", "folder.run.json"}
    assert "symbolic link" in problems["link.run.json"] and "not a regular file" in problems["folder.run.json"]
    assert "not JSON" in problems["broken.run.json"] and "version 9" in problems["wrong-version.run.json"]
    assert "not a run record" in problems["other.run.json"] and "journal without" in problems["orphan.journal.jsonl"]
    for name, data in strays.items():  # never deleted, never changed
        assert (store.folder / name).read_bytes() == data
    with pytest.raises(RunStoreError, match="letters, digits"):
        store.load("../escape")


def test_outcomes_the_journal_has_and_the_record_lacks_are_read_from_the_journal(tmp_path, emulator):
    """A page that went away mid-send never updated its record: the journal still says what was delivered."""
    server = emulator()
    store = RunStore(tmp_path / "runs")
    items = events_of(identify("one@example.com"), identify("two@example.com"))
    target = SendTarget.of(server.base_url, DOMAIN, SECRET)
    events = [event_json(i) for i in items]
    record = RunRecord(store.new_id("c" * 32, 0), "c" * 32, 0, target, events)
    store.save(record)  # the record as a send starts it: no outcomes yet
    make_sender(server, journal_path=store.journal_path(record.id)).send(bare_items(items))
    assert len(read_journal(store.journal_path(record.id))) == 2
    outcomes = store.outcomes(store.load(record.id))
    assert [o.status for o in outcomes] == [SendOutcome.DELIVERED] * 2
    assert [o.location for o in outcomes] == [i.location for i in items]


def test_a_listing_can_read_only_the_newest_records(tmp_path):
    store = RunStore(tmp_path / "runs")
    target = SendTarget.of("https://acme.myfreshworks.com", DOMAIN, SECRET)
    events = [event_json(i) for i in events_of(identify("a@example.com"))]
    for stamp in ("20260101T000000", "20260102T000000", "20260103T000000"):
        store.save(RunRecord(f"{stamp}-bbbbbbbbbbbb-0-aaaaaa", "b" * 32, 0, target, events))
    (store.folder / "notes.txt").write_text("x")
    runs, unreadable = store.listing(limit=2)
    assert sorted(r.id[:8] for r in runs) == ["20260102", "20260103"] and [u.name for u in unreadable] == ["notes.txt"]
    assert len(store.listing()[0]) == 3

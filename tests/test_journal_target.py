"""A journal belongs to one account and is only ever a journal: the defects where a journal of another
target made a send skip everything, and where --journal "repaired" (wiped) a file that was no journal."""

from __future__ import annotations

import json
import os

import pytest

from freshsales_mapper.sending.journal import JournalError, read_journal
from tests.test_send_e2e import outcome_lines, run_send, write_events
from tests.test_sender import DOMAIN, as_items, destination, identify, make_sender

KEY_A = "key-for-account-a-1111"
KEY_B = "key-for-account-b-2222"


def test_a_journal_of_another_target_is_refused_and_the_other_target_still_gets_its_events(emulator, tmp_path):
    account_a, account_b = emulator(api_key=KEY_A), emulator(api_key=KEY_B)
    events = write_events(tmp_path / "e.ndjson", identify("ana@example.com"))
    journal = tmp_path / "j.jsonl"
    first = run_send("--domain", DOMAIN, "--base-url", account_a.base_url, "--journal", journal, events, key=KEY_A)
    assert first.returncode == 0 and len(account_a.contacts()) == 1
    before = journal.read_bytes()

    other = run_send("--domain", DOMAIN, "--base-url", account_b.base_url, "--journal", journal, events, key=KEY_B)
    assert other.returncode == 2, other.stderr
    assert f"belongs to {DOMAIN} at {account_a.base_url}" in other.stderr
    assert "own --journal" in other.stderr and "Traceback" not in other.stderr
    assert other.stdout == "" and account_b.request_log == [] and journal.read_bytes() == before
    for text in (other.stderr, journal.read_text()):
        assert KEY_A not in text and KEY_B not in text

    # The same account with another key is another target too: its outcomes may be another user's account.
    rekeyed = run_send("--domain", DOMAIN, "--base-url", account_a.base_url, "--journal", journal, events,
                       key="key-for-account-a-other")
    assert rekeyed.returncode == 2 and "belongs to" in rekeyed.stderr

    own = run_send("--domain", DOMAIN, "--base-url", account_b.base_url, "--journal", tmp_path / "b.jsonl", events,
                   key=KEY_B)
    assert own.returncode == 0 and [line["status"] for line in outcome_lines(own.stdout)] == ["delivered"]
    assert len(account_b.contacts()) == 1


def test_the_library_refuses_a_journal_of_another_target(emulator, tmp_path):
    account_a, account_b = emulator(), emulator()
    journal = tmp_path / "j.jsonl"
    items = as_items(identify("lib@example.com"))
    make_sender(account_a, journal_path=journal).send(items)
    with pytest.raises(JournalError, match="belongs to"):
        make_sender(account_b, journal_path=journal).send(items)
    with pytest.raises(JournalError, match="belongs to"):
        make_sender(account_b, journal_path=journal, dry_run=True).send(items)
    assert account_b.request_log == []
    header = json.loads(journal.read_text().splitlines()[0])
    assert header["journal"] == "freshsales-mapper send journal" and header["targets"][0]["url"] == account_a.base_url


@pytest.mark.parametrize("content", [
    "remember to call Rosa",  # notes without a trailing newline
    '{"type": "identify", "traits": {"email": "x@example.com"}}',  # an input written by json.dump
    '{"key": "' + "a" * 64 + '#1", "index": 0, "status": "sen',  # what looked like a torn journal line
])
def test_a_file_that_is_not_a_journal_is_refused_untouched_and_never_quoted(emulator, tmp_path, content):
    server = emulator(api_key=KEY_A)
    events = write_events(tmp_path / "e.ndjson", identify("n@example.com"))
    notes = tmp_path / "notes.txt"
    notes.write_text(content)
    done = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", notes, events, key=KEY_A)
    assert done.returncode == 2 and "is not a send journal" in done.stderr and "left as it is" in done.stderr
    assert content not in done.stderr and "Traceback" not in done.stderr
    assert notes.read_text() == content and server.request_log == []


def test_the_input_itself_is_refused_as_a_journal(emulator, tmp_path):
    server = emulator(api_key=KEY_A)
    events = tmp_path / "events.json"
    events.write_text(json.dumps(identify("self@example.com")))  # json.dump: no trailing newline
    before = events.read_bytes()
    done = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", events, events, key=KEY_A)
    assert done.returncode == 2 and "is the input itself" in done.stderr
    assert events.read_bytes() == before and server.request_log == []
    piped = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", events, "-", key=KEY_A,
                     stdin=before.decode())
    assert piped.returncode == 2  # a file other than the input, but still no journal
    assert events.read_bytes() == before


def test_a_symlinked_journal_is_refused_and_its_target_never_printed(emulator, tmp_path):
    server = emulator(api_key=KEY_A)
    secret = tmp_path / "key.txt"
    secret.write_text("sk-LIVE-do-not-print-9876")
    link = tmp_path / "j.jsonl"
    link.symlink_to(secret)
    events = write_events(tmp_path / "e.ndjson", identify("s@example.com"))
    done = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", link, events, key=KEY_A)
    assert done.returncode == 2 and "symbolic link" in done.stderr
    assert "sk-LIVE" not in done.stderr + done.stdout and secret.read_text() == "sk-LIVE-do-not-print-9876"


def test_a_fifo_as_journal_is_refused_with_exit_2(emulator, tmp_path):
    server = emulator(api_key=KEY_A)
    fifo = tmp_path / "j.fifo"
    os.mkfifo(fifo)
    events = write_events(tmp_path / "e.ndjson", identify("f@example.com"))
    for dry in ([], ["--dry-run"]):
        done = run_send("--domain", DOMAIN, "--base-url", server.base_url, "--journal", fifo, *dry, events,
                        key=KEY_A, timeout=30)
        assert done.returncode == 2 and "not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_a_repair_reports_the_size_it_removed_not_the_content(emulator, tmp_path):
    server = emulator()
    journal = tmp_path / "j.jsonl"
    items = as_items(identify("r1@example.com"))
    make_sender(server, journal_path=journal).send(items)
    tail = '{"key": "secret-looking tail'
    with journal.open("a") as handle:
        handle.write(tail)
    warnings: list[str] = []
    make_sender(server, journal_path=journal, on_warning=warnings.append).send(items)
    assert len(warnings) == 1 and f"removed its {len(tail)} byte(s)" in warnings[0] and "secret-looking" not in warnings[0]
    assert len(read_journal(journal)) == 1


def test_a_journal_without_a_header_from_an_older_version_is_refused_with_a_hint(tmp_path):
    journal = tmp_path / "old.jsonl"
    journal.write_text(json.dumps({"key": "a" * 64 + "#1", "index": 0, "status": "delivered", "sent": []}) + "\n")
    with pytest.raises(JournalError, match="before journals named their account"):
        read_journal(journal, [])
    assert destination()  # the shared helpers stay importable from here

"""What `transform` prints for a person (a terminal, through a pty) and for a program (a pipe)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEY = "cli-output-key-5b6c7d"
DESTINATION = {"Config": {"apiKey": KEY, "domain": "acme.myfreshworks.com",
                          "rudderEventsToFreshsalesEvents": [{"from": "Demo Booked", "to": "sales_activity"}]}}
IDENTIFY = {"type": "identify", "userId": "u1",
            "traits": {"email": "ada@x.io", "firstName": "Ada", "phone": 5551234, "favourite": "tea"}}
GROUP = {"type": "group", "userId": "u1", "traits": {"name": "Ada's Bakery", "email": "ada@x.io"}}
TRACK = {"type": "track", "event": "Demo Booked", "traits": {"email": "ada@x.io"},
         "context": {"externalId": {"type": "Contact"}},
         "properties": {"salesActivityTypeId": "7", "startDate": "2024-03-07T10:00:00Z", "endDate": "2024-03-07T10:30:00Z",
                        "ownerId": "70054866612",
                        "title": "It's a demo: \"$HOME\" `id` \\ *"}}
BODY = json.dumps([{"message": m, "destination": DESTINATION, "metadata": {"n": n}}
                   for n, m in enumerate([IDENTIFY, GROUP, TRACK, {"type": "page"}])])


def piped(*args: str, stdin: str = BODY) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def on_terminal(*args: str, stdin: str = BODY) -> str:
    """Runs transform with its standard output on a pseudo-terminal, as a person at a shell sees it."""
    main, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "freshsales_mapper", "transform", *args], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=secondary, stderr=subprocess.PIPE)
    os.close(secondary)
    proc.stdin.write(stdin.encode())
    proc.stdin.close()
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 60)
            if not ready:
                break
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(main)
        assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()
        proc.stderr.close()
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_json_is_indented_on_a_terminal_and_compact_when_piped():
    shown = on_terminal()
    assert shown.startswith("[\n  {\n    \"output\": {")
    compact = piped().stdout
    assert compact.count("\n") == 1 and compact.startswith('[{"output":')
    assert json.loads(shown) == json.loads(compact)


def test_pretty_and_compact_force_either_way():
    forced = piped("--pretty").stdout
    assert forced.startswith("[\n  {") and json.loads(forced) == json.loads(piped().stdout)
    assert on_terminal("--compact").count("\n") == 1
    assert piped("--pretty", stdin="[]").stdout == "[]\n"
    assert piped("--pretty", "--compact").returncode == 2


def test_the_processor_view_masks_the_key_unless_revealed():
    masked = piped().stdout
    assert KEY not in masked
    items = json.loads(masked)
    assert items[0]["output"]["headers"]["Authorization"] == "Token token=****" + KEY[-4:]
    assert KEY not in on_terminal() and KEY not in piped("--mask-key").stdout
    revealed = json.loads(piped("--reveal-key").stdout)
    assert revealed[0]["output"]["headers"]["Authorization"] == f"Token token={KEY}"
    assert [i["metadata"] for i in revealed] == [i["metadata"] for i in items]
    for view in ("requests", "curl", "explain"):
        assert KEY not in piped("--view", view).stdout and KEY not in on_terminal("--view", view)


def shell_arguments(text: str) -> list[list[str]]:
    """What a shell runs when the text is pasted: bash parses it, a stand-in ``curl`` reports its arguments."""
    script = 'curl() { printf "%s\\0" "$@"; printf "\\1"; }\n' + text
    proc = subprocess.run(["bash", "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    calls = proc.stdout.split(b"\x01")[:-1]
    return [[arg.decode() for arg in call.split(b"\0")[:-1]] for call in calls]


@pytest.mark.parametrize("where", ["pipe", "terminal"])
def test_curl_view_is_shell_commands_ready_to_paste(where):
    text = piped("--view", "curl").stdout if where == "pipe" else on_terminal("--view", "curl")
    expected = json.loads(piped("--view", "requests").stdout)
    requests = [step["request"] for entry in expected for step in entry["steps"]]
    calls = shell_arguments(text)
    assert len(calls) == len(requests) >= 4
    for call, request in zip(calls, requests, strict=True):
        assert call[:3] == ["-X", request["method"], request["url"]]
        headers = [call[i + 1] for i, arg in enumerate(call) if arg == "-H"]
        assert headers == [f"{name}: {value}" for name, value in request["headers"].items()]
        assert json.loads(call[call.index("--data-raw") + 1]) == request["body"]
    blocks = text.strip("\n").split("\n\n")
    assert len(blocks) == len(requests) + 1  # one per request, plus the rejected page event's comment
    assert all(line.startswith("#") for line in blocks[-1].splitlines())
    assert "rejects it (400): message type page not supported" in blocks[-1]


def test_curl_view_with_reveal_key_runs_as_is_and_json_on_request():
    calls = shell_arguments(piped("--view", "curl", "--reveal-key").stdout)
    assert calls[0][calls[0].index("-H") + 1] == f"Authorization: Token token={KEY}"
    entries = json.loads(piped("--view", "curl", "--json").stdout)
    assert entries[0]["steps"][0]["request"].startswith("curl -X POST")
    assert KEY not in json.dumps(entries)


def test_explain_is_a_table_on_a_terminal_and_json_when_piped():
    table = on_terminal("--view", "explain")
    header = next(line for line in table.splitlines() if line.startswith("field"))
    assert header.split() == ["field", "status", "source", "value", "sent", "why"]
    assert "\ncontact:\n  emails " in table and "traits.email" in table and '"ada@x.io"' in table
    assert "traits.favourite" in table  # an input no field reads, with its hint
    assert "SKIPPED: RudderStack rejects it (400" in table and "message type page not supported" in table
    assert max(len(line) for line in table.splitlines()) <= 130
    data = json.loads(piped("--view", "explain").stdout)
    assert [entry["metadata"] for entry in data] == [{"n": n} for n in range(4)]
    assert any(f["dest"] == "emails" for f in data[0]["fields"])
    assert piped("--view", "explain", "--table").stdout.splitlines()[0] == table.splitlines()[0]
    assert json.loads(on_terminal("--view", "explain", "--json")) == data


def test_table_is_refused_outside_explain():
    proc = piped("--view", "curl", "--table")
    assert proc.returncode == 2 and "--table applies to --view explain" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("style", [["--pretty"], ["--view", "curl"], ["--view", "explain", "--table"]])
def test_output_is_the_same_whichever_number_of_processes(style):
    body = json.dumps([json.loads(BODY)[n % 4] | {"metadata": {"n": n}} for n in range(12)])
    one = piped("--jobs", "1", *style, stdin=body)
    three = piped("--jobs", "3", *style, stdin=body)
    assert one.returncode == three.returncode == 0
    assert one.stdout == three.stdout
    if style == ["--pretty"]:
        assert [item["metadata"]["n"] for item in json.loads(one.stdout) if "error" not in item][-1] == 10
    else:
        assert "item [11]" in one.stdout


def test_an_unreadable_line_stays_a_comment_among_the_commands():
    good = json.dumps({"message": IDENTIFY, "destination": DESTINATION, "metadata": {}})
    text = piped("--view", "curl", stdin=f"{good}\n{{bad\n{good}\n").stdout
    assert len(shell_arguments(text)) == 2
    assert "# line 2, column 2:" in text
    table = piped("--view", "explain", "--table", stdin=f"{good}\n{{bad\n").stdout
    assert "line 2, column 2:" in table and "contact:" in table


def test_explain_wraps_long_values_instead_of_cutting_them():
    from freshsales_mapper.cli.output import explain_text
    from freshsales_mapper.engine.resolvers import OfflineResolver
    from freshsales_mapper.engine.transform import transform_event

    email = "jonas.lindqvist.with.a.rather.long.address@fjord.example.com"
    company = "A very long company name that goes on and on and on Incorporated"
    result = transform_event({"type": "identify", "traits": {"email": email, "company": {"name": company}}},
                             {"Config": {"apiKey": "k-123456789012", "domain": "acme.myfreshworks.com"}},
                             OfflineResolver(), trace=True)
    for width in (80, 160):
        text = explain_text(result, "line 1", width)
        assert "…" not in text
        squeezed = "".join(text.split())
        assert f'"{email}"' in squeezed and "".join(company.split()) in squeezed
        assert all(len(line) <= width for line in text.splitlines()), text


def test_explain_prints_each_docs_note_once_naming_every_field_it_is_about():
    from freshsales_mapper.cli.output import explain_text
    from freshsales_mapper.engine.resolvers import OfflineResolver
    from freshsales_mapper.engine.transform import transform_event

    result = transform_event({"type": "identify", "traits": {"email": "a@example.com", "address": "1 Main St"}},
                             {"Config": {"apiKey": "k-123456789012", "domain": "acme.myfreshworks.com"}},
                             OfflineResolver(), trace=True)
    shown = [t for t in result.fields if t.status != "unset"]
    shared = "Both fields are read from the same trait list in the code."
    for trace in shown[:2]:  # two fields about which the docs say the same thing
        trace.doc_note = shared
    text = explain_text(result, "line 1", 120)
    section = "".join(text[text.index("where RudderStack's docs and code differ"):].split())
    assert section.count("".join(shared.split())) == 1
    fields = section[section.index(":") + 1:section.index(shared.split()[0])]  # "address,emails:" before the note
    assert sorted(fields.rstrip(":").split(",")) == sorted([shown[0].dest, shown[1].dest])

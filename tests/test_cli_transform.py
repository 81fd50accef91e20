"""`python -m freshsales_mapper transform`, run as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEY = "cli-secret-key-9f8e7d"
IDENTIFY = {"type": "identify", "traits": {"email": "a@x.io", "firstName": "Ada"}, "userId": "u1"}
DESTINATION = {"Config": {"apiKey": KEY, "domain": "acme.myfreshworks.com"}}


def transform(*args, stdin="", env=None):
    proc = subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    return proc


def test_processor_request_body_in_processor_items_out():
    body = [{"message": IDENTIFY, "destination": DESTINATION, "metadata": {"jobId": 1}},
            {"message": {"type": "page"}, "destination": DESTINATION, "metadata": {"jobId": 2}}]
    proc = transform(stdin=json.dumps(body))
    assert proc.returncode == 0, proc.stderr
    items = json.loads(proc.stdout)
    assert [i["metadata"] for i in items] == [{"jobId": 1}, {"jobId": 2}]
    assert items[0]["output"]["endpoint"] == "https://acme.myfreshworks.com/crm/sales/api/contacts/upsert"
    assert items[0]["output"]["body"]["JSON"]["contact"]["first_name"] == "Ada"
    assert items[1] == {"error": "message type page not supported", "statusCode": 400, "metadata": {"jobId": 2},
                        "statTags": items[1]["statTags"]}


def test_single_object_and_ndjson(tmp_path):
    one = {"message": IDENTIFY, "destination": DESTINATION, "metadata": {"n": 1}}
    assert len(json.loads(transform(stdin=json.dumps(one)).stdout)) == 1
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps({**one, "metadata": {"n": n}}) for n in range(3)) + "\n")
    proc = transform(str(path))
    assert [i["metadata"]["n"] for i in json.loads(proc.stdout)] == [0, 1, 2]


def test_bare_messages_need_domain_and_key():
    proc = transform(stdin=json.dumps(IDENTIFY))
    assert proc.returncode == 2
    assert "--domain" in proc.stderr and "Traceback" not in proc.stderr
    proc = transform("--domain", "acme.myfreshworks.com", "--api-key", KEY, "--reveal-key",
                     stdin=json.dumps([IDENTIFY, IDENTIFY]))
    assert proc.returncode == 0
    items = json.loads(proc.stdout)
    assert len(items) == 2 and items[0]["output"]["headers"]["Authorization"] == f"Token token={KEY}"


def test_api_key_from_environment_and_event_map():
    env = {"FRESHSALES_API_KEY": KEY, "PATH": "/usr/bin:/bin"}
    event = {"type": "track", "event": "Demo Booked", "traits": {"email": "a@x.io"}, "properties": {"lifecycleStageId": 3}}
    proc = transform("--domain", "acme.myfreshworks.com", "--event-map", "Demo Booked=lifecycle_stage",
                     stdin=json.dumps(event), env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["output"]["body"]["JSON"]["contact"] == {"lifecycle_stage_id": 3}


def test_unreadable_input_names_line_and_column():
    proc = transform(stdin='[\n  {"message": {"type": "identify"},\n   "destination": }\n]')
    assert proc.returncode == 2
    assert "line 3" in proc.stderr and "column" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_masked_views_never_show_the_key():
    body = json.dumps([{"message": {**IDENTIFY, "type": "group", "traits": {"name": "Acme", "email": "a@x.io"}},
                        "destination": DESTINATION, "metadata": {}}])
    for view in ("requests", "curl", "explain"):
        proc = transform("--view", view, stdin=body)
        assert proc.returncode == 0, proc.stderr
        assert KEY not in proc.stdout
        assert "Token token=****8e7d" in proc.stdout
    proc = transform("--mask-key", stdin=body)
    assert KEY not in proc.stdout and "Token token=****8e7d" in proc.stdout


def test_replay_file_problems_are_clear(tmp_path):
    bad = tmp_path / "replies.json"
    bad.write_text('{"acme": []}')
    proc = transform("--replay", str(bad), stdin="[]")
    assert proc.returncode == 2 and "--network" in proc.stderr
    proc = transform("--replay", str(tmp_path / "missing.json"), stdin="[]")
    assert proc.returncode == 2 and "cannot read" in proc.stderr


@pytest.mark.parametrize("command", [["--help"], ["transform", "--help"]])
def test_help_documents_the_command(command):
    proc = subprocess.run([sys.executable, "-m", "freshsales_mapper", *command], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0
    assert "transform" in proc.stdout


@pytest.mark.parametrize("command", [["transform"], ["send", "--dry-run"]])
def test_input_with_no_end_stops_at_the_cap_with_exit_2(command):
    env = {**os.environ, "FRESHSALES_API_KEY": "cap-test-key-123456",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "freshsales_mapper", *command, "--domain", "acme.myfreshworks.com",
                           "--max-input-bytes", str(8 << 20), "/dev/zero"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "larger than 8388608 bytes" in done.stderr and "no end" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def _run(*args, stdin="", preexec=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", "--domain", "acme.myfreshworks.com",
                           "--api-key", "k-123456789012", *map(str, args)], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, preexec_fn=preexec)


@pytest.mark.parametrize("content, words", [
    (b"\xff\xfe[]", "is not UTF-8 text (byte 0 is not)"),
    (b"[" * 5000 + b"]" * 5000, "nests too deeply"),
])
def test_a_replay_file_it_cannot_read_is_exit_2_not_a_traceback(tmp_path, content, words):
    replies = tmp_path / "replies.json"
    replies.write_bytes(content)
    done = _run("--replay", replies, stdin='{"type": "identify", "traits": {"email": "a@example.com"}}')
    assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr


def test_network_is_never_silently_ignored(tmp_path):
    event = '{"type": "identify", "traits": {"email": "a@example.com"}}'
    alone = _run("--network", "acme", stdin=event)
    assert alone.returncode == 2 and "give --replay too" in alone.stderr
    replies = tmp_path / "replies.json"
    replies.write_text("[]")
    listed = _run("--replay", replies, "--network", "acme", stdin=event)
    assert listed.returncode == 2 and "leave --network out" in listed.stderr


def test_many_jobs_with_few_open_files_allowed_still_answer_every_item(tmp_path):
    import resource

    events = "".join(json.dumps({"type": "identify", "traits": {"email": f"u{i}@example.com"}}) + "\n"
                     for i in range(2500))
    few_files = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))  # noqa: E731
    many = _run("--jobs", 400, "--compact", stdin=events, preexec=few_files)
    one = _run("--jobs", 1, "--compact", stdin=events)
    assert many.returncode == 0 and "Traceback" not in many.stderr, many.stderr[-500:]
    assert many.stdout == one.stdout and len(json.loads(one.stdout)) == 2500


def test_transform_previews_a_bare_message_without_a_key_as_the_page_does():
    env = {k: v for k, v in os.environ.items() if k != "FRESHSALES_API_KEY"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    event = '{"type": "identify", "traits": {"email": "a@example.com"}}'
    for extra in ([], ["--reveal-key"]):
        done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", "--domain",
                               "acme.myfreshworks.com", "--compact", *extra], cwd=ROOT, env=env, input=event,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)[0]["output"]["headers"]["Authorization"] == "Token token=YOUR_API_KEY"
    no_domain = subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform"], cwd=ROOT, env=env,
                               input=event, capture_output=True, text=True, timeout=60)
    assert no_domain.returncode == 2 and "give --domain," in no_domain.stderr
    send = subprocess.run([sys.executable, "-m", "freshsales_mapper", "send", "--domain", "acme.myfreshworks.com"],
                          cwd=ROOT, env=env, input=event, capture_output=True, text=True, timeout=60)
    assert send.returncode == 2 and "give --domain and --api-key" in send.stderr

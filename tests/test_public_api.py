"""``import freshsales_mapper``: a small documented API, cheap to import, with the key masked by default."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest

import freshsales_mapper as fm

ROOT = Path(__file__).resolve().parents[1]
KEY = "api-test-key-4c3b2a"
SETTINGS = fm.destination("acme.myfreshworks.com", KEY, event_map={"Demo Booked": ["sales_activity", "lifecycle_stage"]})
IDENTIFY = {"type": "identify", "traits": {"email": "ada@example.com", "firstName": "Ada"}}


def test_everything_in_all_exists_and_is_documented():
    for name in fm.__all__:
        value = getattr(fm, name)
        assert (value.__doc__ or "").strip(), f"{name} has no docstring"
    assert set(fm.__all__) <= set(dir(fm))
    with pytest.raises(AttributeError):
        fm.not_a_name  # noqa: B018


def test_the_package_docstring_example_runs():
    assert doctest.testmod(fm, raise_on_error=False).failed == 0
    assert doctest.testmod(fm).attempted >= 3


def test_import_is_cheap_and_free_of_ui_and_http():
    code = ("import sys, freshsales_mapper; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'streamlit', 'pandas', 'requests', 'urllib3'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_destination_builds_rudderstack_settings():
    assert SETTINGS == {"Config": {"apiKey": KEY, "domain": "acme.myfreshworks.com", "rudderEventsToFreshsalesEvents": [
        {"from": "Demo Booked", "to": "sales_activity"}, {"from": "Demo Booked", "to": "lifecycle_stage"}]}}


def test_processor_response_masks_unless_asked_to_reveal():
    result = fm.transform(IDENTIFY, SETTINGS)
    masked = fm.processor_response(result, {"job": 1})
    assert KEY not in json.dumps(masked) and masked[0]["metadata"] == {"job": 1}
    assert masked[0]["output"]["headers"]["Authorization"] == "Token token=****" + KEY[-4:]
    revealed = fm.processor_response(result, {"job": 1}, reveal_key=True)
    assert revealed[0]["output"]["headers"]["Authorization"] == f"Token token={KEY}"
    with pytest.raises(TypeError):
        fm.processor_response(result, None, True)  # reveal_key is keyword-only: it must be said explicitly


def test_bare_messages_and_processor_items():
    item = {"message": IDENTIFY, "destination": SETTINGS, "metadata": {"n": 1}}
    assert fm.transform(item).final_requests[0].request.body == fm.transform(IDENTIFY, SETTINGS).final_requests[0].request.body
    with pytest.raises(ValueError, match="destination"):
        fm.transform(IDENTIFY)
    results = fm.transform_batch([IDENTIFY, {"type": "page"}], SETTINGS)
    assert results[0].ok and results[1].error.message == "message type page not supported"
    assert results[0].fields == [] and fm.transform(IDENTIFY, SETTINGS).fields  # batches skip the trace


def test_items_are_told_from_bare_messages_as_the_cli_tells_them():
    """An object of only message/destination/metadata keys is a processor item even without a message."""
    answered = fm.transform({"destination": SETTINGS, "metadata": {"n": 2}})
    assert answered.error.message == "Message Type is not present. Aborting message."
    with pytest.raises(ValueError, match=r"item \[1\] is not"):
        fm.replay_lookups([{"request": {"method": "GET", "url": "https://x"}, "response": {}}, {"request": {}}])


def test_offline_replay_and_recorded_lookups():
    group = {"type": "group", "traits": {"name": "Ada's Bakery", "email": "ada@example.com"}}
    offline = fm.transform(group, SETTINGS)
    assert offline.has_placeholders
    networks = ROOT / "tests" / "conformance" / "networks.json"
    with pytest.raises(ValueError, match="network="):
        fm.replay_lookups(networks)
    replayed = fm.transform(group, SETTINGS, lookups=fm.replay_lookups(ROOT / "sample_events" / "replies" / "acme.json"))
    assert not replayed.has_placeholders and all(s.reply.source == "replay" for s in replayed.lookups)
    recorder = fm.record_lookups(fm.replay_lookups(networks, network="acme"))
    again = fm.transform(group, SETTINGS, lookups=recorder)
    assert len(recorder.recordings) == len(again.lookups) > 0
    from_recording = fm.transform(group, SETTINGS, lookups=fm.replay_lookups(recorder.recordings))
    assert [s.request.body for s in from_recording.steps] == [s.request.body for s in again.steps]
    offline_recorder = fm.record_lookups(fm.OfflineResolver())
    fm.transform(group, SETTINGS, lookups=offline_recorder)
    assert offline_recorder.recordings == []  # placeholders are not Freshsales answers


def test_send_and_live_lookups_through_the_emulator():
    with fm.EmulatorServer(api_key=KEY) as emulator:
        client = fm.FreshsalesClient("acme.myfreshworks.com", KEY, base_url=emulator.base_url)
        try:
            outcomes = fm.send([IDENTIFY, {"type": "page"}], client, SETTINGS)
            assert [str(getattr(o.status, "value", o.status)) for o in outcomes] == ["delivered", "skipped"]
            assert any(c["email"] == "ada@example.com" for c in emulator.contacts())
            live = fm.transform({"type": "group", "traits": {"name": "Bakery", "email": "ada@example.com"}}, SETTINGS,
                                lookups=fm.live_lookups(client))
            assert live.ok and not live.has_placeholders
        finally:
            client.close()


def test_version_matches_the_package_metadata():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert fm.__version__ == project["version"]
    assert project["scripts"]["freshsales-mapper"] == "freshsales_mapper.cli.main:main"

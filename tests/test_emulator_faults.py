"""Faults on demand, over real HTTP: 500 before anything, 429 with Retry-After, 500 after an activity, latency."""

from __future__ import annotations

import argparse

import pytest

from freshsales_mapper.cli import emulator_cmd
from freshsales_mapper.emulator.faults import Faults
from tests.test_emulator import call, upsert_contact

ACTIVITY = {"sales_activity": {"title": "Call", "sales_activity_type_id": 70000646201, "targetable_type": "Contact",
                               "start_date": "2024-03-07T10:00:00Z", "end_date": "2024-03-07T10:30:00Z"}}


def test_faults_are_checked_and_described():
    assert not Faults().active and Faults().describe() == []
    faults = Faults(fail_rate=0.5, throttle_rate=0.25, retry_after=3, activity_fail_rate=1.0, latency_ms=200)
    assert faults.active
    assert faults.describe() == ["50% of requests fail with 500 before doing anything",
                                 "25% of requests get 429 with Retry-After 3 s",
                                 "100% of sales activities get 500 after they were created",
                                 "200 ms added to every answer"]
    for bad in ({"fail_rate": 1.5}, {"throttle_rate": -0.1}, {"retry_after": 1.5}, {"latency_ms": -1},
                {"activity_fail_rate": True}):
        with pytest.raises(ValueError):
            Faults(**bad)


def test_throttle_answers_429_with_retry_after_and_changes_nothing(emulator):
    server = emulator(faults=Faults(throttle_rate=1.0, retry_after=2))
    response = upsert_contact(server, "t@example.com")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert server.contacts() == []


def test_faults_change_while_running_and_reset(emulator):
    server = emulator()
    assert upsert_contact(server, "a@example.com").status_code == 200
    server.set_faults(Faults(fail_rate=1.0))
    assert server.faults.fail_rate == 1.0
    assert upsert_contact(server, "b@example.com").status_code == 500
    server.set_faults(Faults())
    assert upsert_contact(server, "b@example.com").status_code == 200
    assert sorted(c["email"] for c in server.contacts()) == ["a@example.com", "b@example.com"]


def test_activity_is_stored_before_the_500(emulator):
    server = emulator(faults=Faults(activity_fail_rate=1.0))
    contact_id = upsert_contact(server, "c@example.com").json()["contact"]["id"]  # contacts are not affected
    body = {"sales_activity": {**ACTIVITY["sales_activity"], "targetable_id": contact_id}}
    response = call(server, "POST", "/sales_activities", body)
    assert response.status_code == 500
    assert [a["title"] for a in server.activities()] == ["Call"]  # Freshsales kept it; the client cannot know


def test_seeded_dice_repeat_after_reset(emulator):
    server = emulator()
    runs = []
    for _ in range(2):
        server.set_faults(Faults(fail_rate=0.5), seed=5)
        runs.append([call(server, "GET", "/lists").status_code for _ in range(16)])
    assert runs[0] == runs[1] and {200, 500} == set(runs[0])


def test_cli_options_reach_the_faults():
    parser = argparse.ArgumentParser()
    emulator_cmd.add_arguments(parser)
    args = parser.parse_args(["--throttle-rate", "0.2", "--retry-after", "4", "--activity-fail-rate", "1",
                              "--fail-rate", "0.1", "--latency-ms", "50", "--seed", "9"])
    assert (args.throttle_rate, args.retry_after, args.activity_fail_rate, args.seed) == (0.2, 4, 1.0, 9)

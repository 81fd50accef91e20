"""RudderStack's own transformer's outputs (tests/conformance/) reproduced exactly.

The cases are data copied from ``../shared/conformance`` so that a clone runs the same tests as CI. The
comparison is this file's own code, following the rules in that folder's README: same number of items per
case, in order; same ``statusCode`` as JSON text (``429`` and ``429.0`` differ); a success item's ``output`` equal as canonical JSON (``12`` and ``12.0``
differ); an error item's text equal (its ``message`` and ``destinationResponse`` when the text is a JSON
object), or only the status where RudderStack itself crashed (a 500 with no ``errorType`` in ``statTags``).

To add a set of cases, drop the file in tests/conformance/ and list it with its count in ``CASE_FILES``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from freshsales_mapper.engine.jsvalue import UNDEFINED
from freshsales_mapper.engine.resolvers import ReplayResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import processor_items

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT / "tests" / "conformance"
NETWORKS = CONFORMANCE / "networks.json"

# Every case file the suite scores, with the number of cases it must hold: a truncated or missing copy
# fails the suite instead of quietly testing less.
CASE_FILES: dict[str, int] = {
    "upstream_cases.json": 25,
    "generated_cases.json": 400,
    # RudderStack's whole processor route: dynamic config, RETL timestamps, items without message or
    # destination, hostile values, deep nesting (its recorded replies are in networks.json too)
    "route/route_public_cases.json": 1366,
}
TOTAL_CASES = 1791


def load_cases(name: str) -> list[dict]:
    path = CONFORMANCE / name
    if not path.is_file():
        return []
    return json.loads(path.read_text("utf-8"))


CASES_BY_FILE = {name: load_cases(name) for name in CASE_FILES}
CASES = [case for cases in CASES_BY_FILE.values() for case in cases]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=True)


def error_key(item: dict) -> str:
    """What must agree for an error item: its text, or its message and destinationResponse if it is JSON."""
    error = item.get("error")
    if isinstance(error, str) and error.startswith("{"):
        try:
            parsed = json.loads(error)
        except ValueError:
            return canonical(error)
        return canonical({"message": parsed.get("message"), "destinationResponse": parsed.get("destinationResponse")})
    return canonical(error)


def item_matches(expected: dict, got: Any) -> bool:
    # As JSON text: 429 and 429.0 compare equal in Python, but RudderStack prints 429 (JavaScript has one number type).
    if not isinstance(got, dict) or canonical(expected.get("statusCode")) != canonical(got.get("statusCode")):
        return False
    if "output" in expected:
        return "output" in got and canonical(expected["output"]) == canonical(got["output"])
    if "error" not in got:
        return False
    if not (expected.get("statTags") or {}).get("errorType"):  # RudderStack itself crashed: status only
        return True
    return error_key(expected) == error_key(got)


def test_every_case_file_is_in_the_repository_with_its_count():
    assert NETWORKS.is_file(), f"{NETWORKS} is missing: copy it from ../shared/conformance/"
    for name, count in CASE_FILES.items():
        assert (CONFORMANCE / name).is_file(), f"{CONFORMANCE / name} is missing: copy it from ../shared/conformance/"
        assert len(CASES_BY_FILE[name]) == count, f"{name} holds {len(CASES_BY_FILE[name])} cases, expected {count}"
    assert len(CASES) == sum(CASE_FILES.values()) == TOTAL_CASES
    assert len({case["id"] for case in CASES}) == len(CASES), "case ids must be unique"


def test_the_comparison_can_fail():
    """The comparison rejects what RudderStack would not have produced (a check that always passes is no check)."""
    success = next(c["expected"][0] for c in CASES if "output" in c["expected"][0])
    changed = json.loads(json.dumps(success))
    changed["output"]["endpoint"] = changed["output"].get("endpoint", "") + "x"
    assert item_matches(success, success) and not item_matches(success, changed)
    assert not item_matches(success, {**success, "statusCode": 400})
    assert not item_matches(success, {**success, "statusCode": 200.0})
    failure = next(c["expected"][0] for c in CASES
                   if "error" in c["expected"][0] and (c["expected"][0].get("statTags") or {}).get("errorType"))
    assert item_matches(failure, failure) and not item_matches(failure, {**failure, "error": "something else"})


@pytest.fixture(scope="module")
def networks() -> dict:
    return json.loads(NETWORKS.read_text("utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_matches_rudderstack(case, networks):
    resolver = ReplayResolver(networks.get(case.get("network") or "", []))
    request = case["request"]
    # a route case may lack message or destination: the item is sent without that key
    result = transform_event(request.get("message", UNDEFINED), request.get("destination", UNDEFINED), resolver)
    got = json.loads(json.dumps(processor_items(result, {"case": case["id"]})))
    assert len(got) == len(case["expected"])
    for expected, item in zip(case["expected"], got, strict=True):
        assert item_matches(expected, item), (expected, item)


def transform_command() -> list[str]:
    """The command the scorer in ../shared/tools runs; the processor items must carry the real key."""
    command = [sys.executable, "-m", "freshsales_mapper", "transform"]
    listed = subprocess.run([*command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    return [*command, "--reveal-key"] if "--reveal-key" in listed else command


def run_network_group(command: list[str], replies: Path, cases: list[dict]) -> subprocess.CompletedProcess:
    body = [{**{k: c["request"][k] for k in ("message", "destination") if k in c["request"]},
             "metadata": {"case": c["id"]}} for c in cases]
    return subprocess.run([*command, "--replay", str(replies)], input=json.dumps(body), cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", list(CASE_FILES))
def test_the_command_line_reproduces_every_case(name, networks, tmp_path):
    """The same cases through ``python -m freshsales_mapper transform --replay``, one run per network set
    (as the reference scorer does); the runs are independent, so they go side by side on every core."""
    command = transform_command()
    groups: dict[str, list[dict]] = {}
    for case in CASES_BY_FILE[name]:
        groups.setdefault(case.get("network") or "", []).append(case)
    runs = []
    for number, (network, cases) in enumerate(groups.items()):
        replies = tmp_path / f"replies-{number}.json"
        replies.write_text(json.dumps(networks.get(network, [])), "utf-8")
        runs.append((replies, cases))
    with ThreadPoolExecutor(max_workers=max(1, len(os.sched_getaffinity(0)))) as pool:
        finished = list(pool.map(lambda run: run_network_group(command, *run), runs))
    matched = 0
    for (_, cases), proc in zip(runs, finished, strict=True):
        assert proc.returncode == 0, proc.stderr[-2000:]
        by_case: dict[str, list] = {}
        for item in json.loads(proc.stdout):
            by_case.setdefault(item["metadata"]["case"], []).append(item)
        for case in cases:
            got = by_case.get(case["id"], [])
            assert len(got) == len(case["expected"]), case["id"]
            assert all(item_matches(e, g) for e, g in zip(case["expected"], got, strict=True)), (case["id"], got)
            matched += 1
    assert matched == CASE_FILES[name]

"""RudderStack's own transformer's outputs (../shared/conformance) reproduced exactly."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from freshsales_mapper.engine.resolvers import ReplayResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import processor_items

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONFORMANCE = SHARED / "conformance"

pytestmark = pytest.mark.skipif(not CONFORMANCE.is_dir(), reason=f"conformance cases not found at {CONFORMANCE}")


def _cases():
    if not CONFORMANCE.is_dir():
        return []
    cases = []
    for path in sorted(CONFORMANCE.glob("*_cases.json")):
        cases.extend(json.loads(path.read_text("utf-8")))
    return cases


def _scorer():
    sys.path.insert(0, str(SHARED / "tools"))
    try:
        import conformance
    finally:
        sys.path.pop(0)
    return conformance


CASES = _cases()


@pytest.fixture(scope="module")
def networks():
    return json.loads((CONFORMANCE / "networks.json").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_matches_rudderstack(case, networks):
    scorer = _scorer()
    resolver = ReplayResolver(networks.get(case.get("network") or "", []))
    request = case["request"]
    result = transform_event(request["message"], request["destination"], resolver)  # with the trace on
    got = json.loads(json.dumps(processor_items(result, {"case": case["id"]})))
    assert len(got) == len(case["expected"])
    for expected, item in zip(case["expected"], got, strict=True):
        assert scorer.item_matches(expected, item), (expected, item)


def test_scorer_command_reports_every_case():
    """The exact command the project is scored with, as a newcomer would run it."""
    proc = subprocess.run([sys.executable, str(SHARED / "tools" / "conformance.py"), "--show", "5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    last = proc.stdout.strip().splitlines()[-1]
    assert last == f"conformance: {len(CASES)}/{len(CASES)} cases match (100.0%)", proc.stdout + proc.stderr
    assert proc.returncode == 0

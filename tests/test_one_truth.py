"""One truth per field, over every conformance case: the trace and the requests come from one pass.

* ``trace=True`` and ``trace=False`` give the same processor items (the trace only records);
* each field the trace calls sent holds, as its final value, exactly what the request body holds for
  it, and the body holds no field the trace does not call sent;
* every type warning is about that final value (after coercion and flattening), and the trace's
  candidate outcomes agree with the value picked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from test_properties import messages

from freshsales_mapper.engine.errors import RudderError
from freshsales_mapper.engine.jsnumber import js_json_value
from freshsales_mapper.engine.jsvalue import MessageReader, type_name
from freshsales_mapper.engine.plan import FieldTrace, TransformResult
from freshsales_mapper.engine.resolve import build_payload, construct_payload, json_type, pick_value
from freshsales_mapper.engine.resolvers import ReplayResolver
from freshsales_mapper.engine.tables import load_tables
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import processor_items
from freshsales_mapper.engine.vocabulary import CandidateOutcome, FieldStatus, ValueStepKind

ROOT = Path(__file__).resolve().parents[1]
PLACES = (ROOT / "tests" / "conformance", ROOT.parent / "shared" / "conformance")
CONFORMANCE = next((p for p in PLACES if (p / "networks.json").is_file()), PLACES[0])
CASES = [case for path in sorted(CONFORMANCE.glob("*_cases.json")) for case in json.loads(path.read_text("utf-8"))]
NETWORKS = json.loads((CONFORMANCE / "networks.json").read_text("utf-8")) if CASES else {}

pytestmark = pytest.mark.skipif(not CASES, reason=f"conformance cases not found in {PLACES}")


def _run(case: dict, trace: bool) -> TransformResult:
    request = case["request"]
    resolver = ReplayResolver(NETWORKS.get(case.get("network") or "", []))
    return transform_event(request.get("message"), request.get("destination"), resolver, trace=trace)


def _objects_sent(result: TransformResult) -> dict[str, dict]:
    """Each section's object as the requests carry it (a group's account travels in a lookup's body)."""
    found: dict[str, dict] = {}
    for step in result.steps:
        body = step.request.body
        if not isinstance(body, dict):
            continue
        for section in ("contact", "sales_account", "sales_activity"):
            if isinstance(body.get(section), dict) and section not in found:
                found[section] = body[section]
    if result.event_type == "group":
        found.pop("contact", None)  # the contact object of a group carries only the linked accounts
    if result.event_type == "track":
        found.pop("contact", None)  # a lifecycle stage's contact is built in code, not from a table
    return found


def test_cases_were_found():
    assert len(CASES) >= 425


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_trace_off_gives_the_same_output(case):
    traced, bare = _run(case, True), _run(case, False)
    assert processor_items(traced, None) == processor_items(bare, None)
    assert [s.request for s in traced.steps] == [s.request for s in bare.steps]
    assert bare.fields == [] and bare.unmapped == []


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_each_fields_final_value_is_the_value_sent(case):
    result = _run(case, True)
    by_section: dict[str, list[FieldTrace]] = {}
    for trace in result.fields:
        _check_trace(trace)
        by_section.setdefault(trace.section, []).append(trace)
    if not result.ok:
        return
    for section, body in _objects_sent(result).items():
        sent = {t.dest: t for t in by_section.get(section, []) if t.status is FieldStatus.SENT}
        assert set(body) == set(sent), (section, body, sorted(sent))
        for dest, trace in sent.items():
            assert json.dumps(trace.final.value) == json.dumps(body[dest]), (dest, trace.final, body[dest])
            assert trace.final.json_type == json_type(body[dest])


def _check_trace(trace: FieldTrace) -> None:
    assert isinstance(trace.status, FieldStatus)
    assert all(isinstance(c.outcome, CandidateOutcome) for c in trace.candidates)
    winners = [c.path for c in trace.candidates if c.outcome in (CandidateOutcome.WON, CandidateOutcome.KEPT_AS_IS)]
    assert winners == ([trace.winner] if trace.winner else []), trace
    if trace.status in (FieldStatus.SENT, FieldStatus.USED):
        assert trace.final is not None and json.dumps(trace.final.value) == json.dumps(trace.sent)
    else:
        assert trace.final is None and trace.sent is None
    type_warnings = [w for w in trace.warnings if w.startswith("sent as")]
    if trace.final is None:
        assert not type_warnings
        return
    assert type_warnings == ([trace.final.type_warning] if trace.final.type_warning else []), trace
    for warning in type_warnings:
        assert type_name(trace.final.value) in warning  # about the final value, not an earlier form of it
    flattened = [s for s in trace.steps if s.kind is ValueStepKind.FLATTEN_ADDRESS]
    if flattened:
        assert flattened[-1].after == trace.final.value and trace.final.json_type == "string"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_the_recorded_pick_decides_as_the_bare_one(message):
    """trace=False stops the same pass at the winner without recording; it must pick what the recorded pass picks."""
    tables = load_tables()
    for spec in (*tables.identify, *tables.group, *tables.sales_activity, *tables.user_email, *tables.lifecycle_stage):
        recorded = pick_value(MessageReader(message), spec, record=True)
        bare = pick_value(MessageReader(message), spec, record=False)
        assert (recorded.value, recorded.winner) == (bare.value, bare.winner) or (
            recorded.value != recorded.value and bare.value != bare.value)  # NaN is never equal to itself
        assert len(recorded.found) == len(spec.paths) == len(recorded.outcomes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_the_trace_free_payload_is_the_traced_one(message):
    """build_payload (trace off) decides every field, coercion, flattening and required error as the traced pass."""
    tables = load_tables()
    for specs in (tables.identify, tables.group, tables.sales_activity, tables.lifecycle_stage):
        outcomes = []
        for build in (lambda s: construct_payload(MessageReader(message), s, []),
                      lambda s: build_payload(MessageReader(message), s)):
            try:
                outcomes.append(json.dumps(js_json_value(build(specs)), sort_keys=True))
            except RudderError as err:
                outcomes.append(str(err))
        assert outcomes[0] == outcomes[1]

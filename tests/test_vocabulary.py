"""The engine's statuses, outcomes and step kinds are enums, with the same words in JSON, and every
member has its word and colour in the playground and the CLI (nothing is read back from display text)."""

from __future__ import annotations

import json

from freshsales_mapper.engine.plan import FinalRequest, LookupStep
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.vocabulary import CandidateOutcome, FieldStatus, StepKind
from playground.display import STEP_WORDS
from playground.field_table import HELD, KIND_CLASS, STATUS_LOOK

DESTINATION = {"Config": {"apiKey": "k", "domain": "acme.myfreshworks.com"}}


def test_words_are_unchanged_for_json_and_comparisons():
    assert [s.value for s in FieldStatus] == ["sent", "used", "unset", "dropped", "missing-required"]
    assert json.dumps([FieldStatus.MISSING_REQUIRED, CandidateOutcome.NOT_REACHED, StepKind.FINAL]) == (
        '["missing-required", "not-reached", "final"]')
    assert FieldStatus.SENT == "sent" and f"{CandidateOutcome.KEPT_AS_IS}" == "kept-as-is"
    assert (LookupStep.kind, FinalRequest.kind) == (StepKind.LOOKUP, StepKind.FINAL)


def test_every_member_has_its_look_in_the_playground():
    assert set(STATUS_LOOK) == set(FieldStatus)
    assert all(kind in KIND_CLASS for _, kind in STATUS_LOOK.values())
    assert set(STEP_WORDS) == set(StepKind)
    shown_as_held = {o for o in CandidateOutcome if o.passed_over} | {CandidateOutcome.MISSING,
                                                                      CandidateOutcome.NOT_REACHED}
    assert shown_as_held <= set(HELD)


def test_traces_carry_enum_members():
    event = {"type": "group", "traits": {"name": "Acme", "ownerId": "12abc", "industryTypeId": ""},
             "context": {"traits": {"email": "a@example.com", "name": "Other"}}}
    result = transform_event(event, DESTINATION, OfflineResolver())
    statuses = {t.dest: t.status for t in result.fields}
    assert statuses["name"] is FieldStatus.SENT
    assert statuses["owner_id"] is FieldStatus.DROPPED
    assert statuses["website"] is FieldStatus.UNSET
    assert statuses["user email (contact lookup)"] is FieldStatus.USED
    name = next(t for t in result.fields if t.dest == "name")
    assert [c.outcome for c in name.candidates] == [CandidateOutcome.WON, CandidateOutcome.LATER]
    industry = next(t for t in result.fields if t.dest == "industry_type_id")
    assert [c.outcome for c in industry.candidates] == [CandidateOutcome.EMPTY, CandidateOutcome.MISSING]
    assert [s.kind for s in result.steps] == [StepKind.LOOKUP, StepKind.LOOKUP, StepKind.FINAL]

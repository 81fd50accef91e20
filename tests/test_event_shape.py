"""The compiled quick check must call valid exactly what jsonschema calls valid."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freshsales_mapper.inputs import shape as event_shape

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=4))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["id", "type", "email", "traits", "from", "to", "x"]), inner, max_size=3)),
    max_leaves=10)
FIELDS = ["type", "event", "traits", "context", "properties", "userId", "anonymousId", "timestamp", "originalTimestamp"]
events = st.dictionaries(st.sampled_from(FIELDS), st.one_of(
    values, st.sampled_from(["identify", "track", ""]),
    st.fixed_dictionaries({}, optional={"traits": values, "externalId": values})), max_size=6)
configs = st.dictionaries(st.sampled_from(["apiKey", "domain", "rudderEventsToFreshsalesEvents"]), st.one_of(
    values, st.lists(st.fixed_dictionaries({}, optional={"from": values, "to": st.sampled_from(
        ["sales_activity", "lifecycle_stage", "x"])}), max_size=2)), max_size=3)


@pytest.mark.parametrize(("definition", "strategy"), [("event", events), ("destinationConfig", configs)])
def test_quick_check_agrees_with_jsonschema(definition, strategy):
    @settings(max_examples=400, deadline=None)
    @given(instance=strategy)
    def agree(instance):
        full = list(event_shape._validator(definition).iter_errors(instance))
        try:
            event_shape._quick_check(definition)(instance)
            quick_valid = True
        except event_shape.fastjsonschema.JsonSchemaException:
            quick_valid = False
        assert quick_valid == (not full), (instance, [e.message for e in full])

    agree()


def test_invalid_events_still_get_every_problem_with_its_path():
    problems = event_shape.validate_event({"type": 3, "traits": "x", "context": {"traits": []}})
    assert [p.path for p in problems] == ["$.context.traits", "$.traits", "$.type"]

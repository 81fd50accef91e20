"""Arbitrary JSON as message and settings: a result or a clear error, never an unhandled exception."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freshsales_mapper.engine.resolvers import OfflineResolver, ReplayResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import processor_items

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12), st.sampled_from(["", "0", "0x1f", " 12 ", "12abc", "Infinity", "1e400"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=5)), max_leaves=20)

KEYS = ["type", "event", "traits", "context", "properties", "userId", "anonymousId", "timestamp"]
TRAIT_KEYS = ["email", "name", "firstName", "address", "ownerId", "annualRevenue", "salesAccounts", "address.city"]
PROPERTY_KEYS = ["title", "startDate", "endDate", "ownerId", "salesActivityName", "salesActivityTypeId",
                 "lifecycleStageId", "lifecycleStageName", "email"]

# Messages shaped like events often enough to reach deep branches, with arbitrary values everywhere.
traits = st.dictionaries(st.sampled_from(TRAIT_KEYS), json_values, max_size=6)
messages = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["identify", "group", "track", "Track", "page", 3, None])}, optional={
        "event": st.one_of(st.sampled_from(["sales_activity", "lifecycle stage", "Demo Booked"]), json_values),
        "traits": st.one_of(traits, json_values),
        "context": st.one_of(st.fixed_dictionaries({}, optional={"traits": traits, "externalId": json_values}), json_values),
        "properties": st.one_of(st.dictionaries(st.sampled_from(PROPERTY_KEYS), json_values, max_size=6), json_values),
    }),
)
settings_values = st.one_of(json_values, st.fixed_dictionaries({"Config": st.fixed_dictionaries(
    {"apiKey": json_values, "domain": json_values},
    optional={"rudderEventsToFreshsalesEvents": st.one_of(json_values, st.lists(
        st.fixed_dictionaries({}, optional={"from": json_values, "to": json_values}), max_size=3))})}))
replies = st.lists(st.fixed_dictionaries({
    "request": st.fixed_dictionaries({"method": st.sampled_from(["GET", "POST"]), "url": st.sampled_from([
        "https://undefined/crm/sales/api/contacts/upsert?include=sales_accounts",
        "https://undefined/crm/sales/api/sales_accounts/upsert",
        "https://undefined/crm/sales/api/selector/sales_activity_types"])}),
    "response": st.fixed_dictionaries({"status": st.sampled_from([200, 201, 400, 401, 429, 500]), "body": json_values})}),
    max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages, destination=settings_values, recorded=replies, trace=st.booleans())
def test_any_json_gives_a_result_or_a_clear_error(message, destination, recorded, trace):
    for resolver in (OfflineResolver(), ReplayResolver(recorded)):
        result = transform_event(message, destination, resolver, trace=trace)
        items = processor_items(result, {"n": 1})
        json.dumps(items, allow_nan=False)  # what RudderStack emits is always valid JSON
        if result.error:
            assert result.error.message and result.error.explanation and result.error.fix
            assert result.error.disposition in ("retried", "dropped")
        else:
            assert result.final_requests

"""RudderStack's processor route in front of the destination (engine/route.py), rule by rule.

Expected values come from rudder-transformer's code (controllers/destination.ts, controllers/util,
util/dynamicConfigParser.ts, get-value 3 / unset-value 2 / has-values 2), not from this project's output.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from test_properties import messages

from freshsales_mapper.engine.jspath import JsFunction, get_value, has_values, unset_value
from freshsales_mapper.engine.jsvalue import UNDEFINED
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.route import RouteStep, full_route, parse_template, route_item
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import processor_items

DOMAIN = "acme.myfreshworks.com"
IDENTIFY = {"type": "identify", "userId": "u1", "traits": {"email": "a@b.co", "apiKey": "from-traits-123"}}


def destination(**config) -> dict:
    return {"Config": {"apiKey": "k", "domain": DOMAIN, **config}}


def run(message, dest):
    result = transform_event(message, dest, OfflineResolver())
    return result, processor_items(result)


# --- the template grammar -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "parsed"), [
    ('{{ message.userId || "dflt" }}', ("message.userId", '"dflt"')),
    ('  {{message.userId||"x"}}\n', ("message.userId", '"x"')),  # trimmed as JavaScript trims
    ('{{ event.a_b.C9 || }}', ("event.a_b.C9", "")),
    ('{{ message.a || "x" || "y" }}', ("message.a", '"x" || "y"')),  # the first || separates
    ("{{ message['userId'] || \"u\" }}", None),  # not a dotted path
    ('{{ message.userId }}', None),  # no default
    ('{{ 9lives || "x" }}', None),
    ('{{ message.ü || "x" }}', None),  # JavaScript's \w is ASCII
    ('x {{ message.userId || "x" }}', None),
    ('{{ message.userId || "x" }} y', None),
])
def test_template_grammar(text, parsed):
    assert parse_template(text) == parsed


# --- filling settings from the event --------------------------------------------------------------

def test_key_from_the_event_is_removed_from_it_and_the_trace_says_so_with_the_key_masked():
    message = {**IDENTIFY, "userId": "user-secret-1"}
    result, [item] = run(message, destination(apiKey='{{ message.userId || "dflt" }}'))
    assert item["output"]["headers"]["Authorization"] == "Token token=user-secret-1"
    assert "external_id" not in item["output"]["body"]["JSON"]["contact"]  # userId was taken out
    [note] = result.route
    assert note.step is RouteStep.TEMPLATE_VALUE and note.removed and note.source == "message.userId"
    assert "user-secret-1" not in note.text and "****et-1" in note.text
    assert "RudderStack then removed message.userId" in note.text and "external_id is not sent" in note.text
    assert message["userId"] == "user-secret-1"  # the caller's event is left alone


def test_event_prefix_reads_the_message_and_the_domain_is_shown_in_full():
    message = {**IDENTIFY, "context": {"traits": {"fsDomain": "other.myfreshworks.com"}}}
    result, [item] = run(message, destination(domain='{{ event.context.traits.fsDomain || "x" }}'))
    assert item["output"]["endpoint"].startswith("https://other.myfreshworks.com/")
    assert '"other.myfreshworks.com"' in result.route[0].text


@pytest.mark.parametrize(("traits_key", "expected"), [
    (UNDEFINED, "fallback"), (None, "fallback"), (0, "0"), (False, "false"), ("", "")])
def test_default_only_when_the_value_is_missing_or_null(traits_key, expected):
    traits = {"email": "a@b.co"} if traits_key is UNDEFINED else {"email": "a@b.co", "apiKey": traits_key}
    message = {**IDENTIFY, "traits": traits}
    _, [item] = run(message, destination(apiKey='{{ message.traits.apiKey || "fallback" }}'))
    assert item["output"]["headers"]["Authorization"] == f"Token token={expected}"


def test_default_loses_every_quote():
    _, [item] = run(IDENTIFY, destination(apiKey='{{ message.nothing || "a""b" }}'))
    assert item["output"]["headers"]["Authorization"] == "Token token=ab"


def test_an_empty_value_is_used_but_not_removed():
    # unset-value deletes only what has-values calls non-empty
    routed = route_item({**IDENTIFY, "userId": ""}, destination(apiKey='{{ message.userId || "d" }}'))
    assert routed.destination["Config"]["apiKey"] == "" and routed.message["userId"] == ""
    assert not routed.notes[0].removed


def test_templates_anywhere_in_config_and_in_key_order():
    dest = destination(rudderEventsToFreshsalesEvents=[{"from": '{{ message.event || "Demo Booked" }}',
                                                        "to": "sales_activity"}],
                       apiKey='{{ message.event || "second-reads-nothing" }}')
    routed = route_item({"type": "track", "event": "Signed Up"}, dest)
    config = routed.destination["Config"]
    assert config["apiKey"] == "Signed Up"  # apiKey comes first in Config and takes the event away
    assert config["rudderEventsToFreshsalesEvents"][0]["from"] == "Demo Booked"
    assert "event" not in routed.message


def test_has_dynamic_config_false_leaves_templates_as_written():
    text = '{{ message.userId || "d" }}'
    routed = route_item(IDENTIFY, {**destination(apiKey=text), "hasDynamicConfig": False})
    assert routed.destination["Config"]["apiKey"] == text and routed.message["userId"] == "u1"
    assert routed.notes[0].step is RouteStep.TEMPLATES_SKIPPED
    # only the boolean false: "false", 0 and null still fill templates
    routed = route_item(IDENTIFY, {**destination(apiKey=text), "hasDynamicConfig": "false"})
    assert routed.destination["Config"]["apiKey"] == "u1"


def test_a_value_found_through_a_dotted_key_makes_unset_throw():
    message = {"type": "identify", "traits": {"address.city": "Dot City", "email": "a@b.co"}}
    result, [item] = run(message, destination(domain='{{ message.traits.address.city || "x" }}'))
    assert item["statusCode"] == 500 and result.error.crashed
    assert item["error"] == "Cannot convert undefined or null to object"


def test_the_item_itself_can_be_read_and_emptied():
    _, [item] = run(IDENTIFY, destination(apiKey='{{ message || "x" }}'))
    assert item["statusCode"] == 500 and item["error"] == "Cannot read properties of undefined (reading 'type')"
    routed = route_item(IDENTIFY, destination(apiKey='{{ request.query || "x" }}'))
    assert routed.destination["Config"]["apiKey"] == {}  # preProcess adds request: {query}


# --- get-value / unset-value / has-values ----------------------------------------------------------

def test_get_value_sees_inherited_properties_and_dotted_keys():
    data = {"a": {"b.c": 1, "list": [1, 2]}}
    assert get_value(data, "a.b.c") == 1
    assert get_value(data, "a.list.length") == 2
    assert isinstance(get_value(data, "a.toString"), JsFunction)
    assert get_value(data, "a.missing.deeper") is UNDEFINED
    assert get_value({"s": "text"}, "s.length") is UNDEFINED  # strings are not walked


def test_has_values_and_unset():
    assert not has_values("") and not has_values({"a": ["", {}]}) and has_values({"a": [None]})
    data = {"a": {"b": 1}}
    assert unset_value(data, "a.b") and data == {"a": {}}


# --- handleTimestampInEvents ---------------------------------------------------------------------

@pytest.mark.parametrize(("message", "kind"), [(None, "null"), (UNDEFINED, "missing"), ("str", "a string"),
                                               ([{"type": "identify"}], "an array"), (5, "a number")])
def test_a_message_that_is_not_an_object_is_spread_and_has_no_type(message, kind):
    result, [item] = run(message, destination())
    assert (item["statusCode"], item["error"]) == (400, "Message Type is not present. Aborting message.")
    assert result.route[0].step is RouteStep.MESSAGE_REPLACED and kind in result.route[0].text


def test_retl_identify_takes_its_timestamp_from_its_own_keys_first():
    message = {**IDENTIFY, "channel": "sources", "timestamp": "2020-01-01", "traits": {
        "email": "a@b.co", "timestamp": "2022-01-01"}}
    result, [item] = run(message, destination())
    contact = item["output"]["body"]["JSON"]["contact"]
    assert contact["created_at"] == "2022-01-01"
    assert result.route[0].text == 'RETL event (channel "sources"): timestamp taken from traits.timestamp.'


def test_retl_without_any_timestamp_sets_null_and_other_cases_are_left_alone():
    routed = route_item({"type": "track", "channel": "sources", "event": "x"}, destination())
    assert routed.message["timestamp"] is None
    for message in ({"type": "group", "channel": "sources", "timestamp": "t"},
                    {"type": "identify", "channel": "sources", "timestamp": "t",
                     "context": {"mappedToDestination": True}},
                    {"type": "identify", "channel": "web", "timestamp": "t", "traits": {"timestamp": "u"}}):
        assert route_item(message, destination()).message["timestamp"] == "t"


# --- destinations RudderStack still answers --------------------------------------------------------

@pytest.mark.parametrize(("dest", "text"), [
    (UNDEFINED, "Cannot read properties of undefined (reading 'Config')"),
    (None, "Cannot read properties of null (reading 'Config')"),
])
def test_no_destination_is_a_crash_answered_with_500(dest, text):
    result, [item] = run(IDENTIFY, dest)
    assert (item["statusCode"], item["error"]) == (500, text) and result.error.crashed


@pytest.mark.parametrize("config", ["acme", ["acme"], 7, True])
def test_a_config_that_is_not_an_object_reads_undefined(config):
    _, [item] = run(IDENTIFY, {"Config": config})
    assert item["output"]["endpoint"] == "https://undefined/crm/sales/api/contacts/upsert"
    assert item["output"]["headers"]["Authorization"] == "Token token=undefined"


def test_the_route_never_changes_what_it_was_given():
    message = {**IDENTIFY, "channel": "sources", "traits": {"email": "a@b.co", "apiKey": "abc", "timestamp": "t"}}
    dest = destination(apiKey='{{ message.traits.apiKey || "d" }}')
    before = copy.deepcopy((message, dest))
    routed = route_item(message, dest, {"m": 1})
    assert (message, dest) == before
    assert "apiKey" not in routed.message["traits"]


# --- values JavaScript reads its own way -----------------------------------------------------------

def test_an_object_with_its_own_to_string_key_makes_number_throw():
    message = {**IDENTIFY, "traits": {"email": "a@b.co", "territoryId": {"toString": "x"}}}
    _, [item] = run(message, destination())
    assert (item["statusCode"], item["error"]) == (500, "Cannot convert object to primitive value")


def test_an_integer_beyond_a_double_is_infinity_until_it_becomes_json():
    huge = 10 ** 400
    message = {"type": "group", "traits": {"name": "Acme", "annualRevenue": huge, "address": {"state": huge}}}
    _, [item] = run(message, destination())
    account = item["output"]["body"]["JSON"]["sales_account"]
    assert account["address"] == "  Infinity  " and account["annual_revenue"] is None


def test_a_mapping_to_an_empty_name_fails_as_unsupported():
    message = {"type": "track", "event": "Demo Booked", "properties": {"email": "a@b.co"}}
    _, [item] = run(message, destination(rudderEventsToFreshsalesEvents=[{"from": "Demo Booked", "to": ""}]))
    assert (item["statusCode"], item["error"]) == (400, "event name  is not supported. Aborting!")


def test_values_nested_ten_thousand_deep_are_sent_as_they_are():
    deep: dict = {"leaf": 1}
    for _ in range(10_000):
        deep = {"a": deep}
    message = {"type": "identify", "traits": {"email": "a@b.co", "jobTitle": deep}}
    _, [item] = run(message, destination())
    sent = item["output"]["body"]["JSON"]["contact"]["job_title"]
    depth = 0
    while "a" in sent:
        sent, depth = sent["a"], depth + 1
    assert depth == 10_000 and sent == {"leaf": 1}
    assert json.loads(json.dumps(item))["statusCode"] == 200


def test_retl_type_that_javascript_cannot_turn_into_a_key_throws():
    for kind in ({"toString": "x"}, [{"toString": "x"}]):
        _, [item] = run({"type": kind, "channel": "sources"}, destination())
        assert (item["statusCode"], item["error"]) == (500, "Cannot convert object to primitive value")
    routed = route_item({"type": ["identify"], "channel": "sources", "traits": {"timestamp": "t"}}, destination())
    assert routed.message["timestamp"] == "t"  # String(["identify"]) is "identify"


def test_a_template_may_read_and_remove_another_setting():
    # Config keys are filled in order on the clone the item holds: apiKey takes domain's value away
    dest = {"Config": {"apiKey": '{{ destination.Config.domain || "d" }}', "domain": DOMAIN}, "ID": "dest-1"}
    routed = route_item(IDENTIFY, dest)
    assert routed.destination["Config"]["apiKey"] == DOMAIN
    assert routed.destination["Config"]["domain"] is UNDEFINED  # configureVal writes the missing key back
    assert dest["Config"]["domain"] == DOMAIN  # the caller's settings are untouched
    routed = route_item(IDENTIFY, {**dest, "Config": {"apiKey": '{{ destination.ID || "d" }}'}})
    assert routed.destination["Config"]["apiKey"] == "dest-1" and "ID" not in routed.destination


def test_a_template_that_takes_the_whole_destination_away_crashes():
    _, [item] = run(IDENTIFY, destination(apiKey='{{ destination || "d" }}'))
    assert (item["statusCode"], item["error"]) == (500, "Cannot set properties of undefined (setting 'Config')")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_the_shortcut_for_settings_without_templates_is_the_full_route(message):
    """Settings without {{ }} and a non-RETL event skip the clone and fill: what comes out is the same."""
    dest = {"ID": "d1", "Config": {"apiKey": "k-123", "domain": "acme.myfreshworks.com",
                                   "rudderEventsToFreshsalesEvents": [{"from": "Demo", "to": "sales_activity"}]}}
    for item in (message, {**message, "channel": "sources"} if isinstance(message, dict) else message):
        short, full = route_item(copy.deepcopy(item), dest, {"jobId": 1}), full_route(copy.deepcopy(item), dest, {"jobId": 1})
        assert (short.message, short.destination, short.notes, short.error) == (
            full.message, full.destination, full.notes, full.error)

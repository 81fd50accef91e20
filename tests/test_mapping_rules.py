"""Each rule of mapping-semantics.md, on small events built for the rule."""

import json

import pytest

from freshsales_mapper.engine.plan import LookupStep, Placeholder
from freshsales_mapper.engine.resolvers import OfflineResolver, ReplayResolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.views import curl_command, processor_items, request_view

DEST = {"Config": {"apiKey": "test-key-1234", "domain": "acme.myfreshworks.com"}}
BASE = "https://acme.myfreshworks.com/crm/sales/api"


def run(message, destination=DEST, resolver=None):
    return transform_event(message, destination, resolver or OfflineResolver())


def contact_of(message):
    result = run({"type": "identify", **message})
    assert result.ok, result.error
    return result.final_requests[0].request.body["contact"]


def field(result, dest, section=None):
    return next(t for t in result.fields if t.dest == dest and (section is None or t.section == section))


class Recorder(ReplayResolver):
    """A replay resolver that also remembers which lookups were asked, in order."""

    def __init__(self, recordings):
        super().__init__(recordings)
        self.asked = []

    def lookup(self, step: LookupStep):
        self.asked.append((step.request.method, step.request.url, step.request.body))
        return super().lookup(step)


def reply(method, path, body, status=200):
    return {"request": {"method": method, "url": BASE + path}, "response": {"status": status, "body": body}}


# --- 1. Looking up a value ---------------------------------------------------------------------

def test_first_set_candidate_wins_in_order():
    contact = contact_of({"traits": {"email": "a@x.io", "first_name": "Snake"}, "context": {"traits": {"firstName": "Ctx"}}})
    assert contact["first_name"] == "Snake"  # traits.first_name comes before context.traits.firstName


@pytest.mark.parametrize("skipped", ["", None])
def test_empty_and_null_fall_through_to_the_next_candidate(skipped):
    contact = contact_of({"traits": {"email": "a@x.io", "firstName": skipped}, "context": {"traits": {"firstName": "Ctx"}}})
    assert contact["first_name"] == "Ctx"


@pytest.mark.parametrize("kept", [0, False, [], {}, "0"])
def test_zero_false_and_empty_containers_are_kept(kept):
    contact = contact_of({"traits": {"email": "a@x.io", "jobTitle": kept}, "context": {"traits": {"jobTitle": "Other"}}})
    assert contact["job_title"] == kept


def test_external_id_falls_back_to_anonymous_id():
    contact = contact_of({"anonymousId": "anon-7", "traits": {"email": "a@x.io"}})
    assert contact["external_id"] == "anon-7"


def test_single_source_key_keeps_empty_string_then_is_not_set():
    result = run({"type": "track", "event": "sales_activity", "properties": {"title": ""}})
    assert result.error.message == 'Missing required value from "properties.title"'
    assert field(result, "title").candidates[0].outcome == "kept-as-is"


def test_required_generic_field_names_the_generic_list():
    result = run({"type": "identify", "traits": {"firstName": "No Email"}})
    assert result.error.message == 'Missing required value from "emailOnly"'
    assert result.error.status == 400
    assert "traits.email" in result.error.fix
    assert result.error.disposition == "dropped"


def test_literal_dotted_key_answers_the_path():
    contact = contact_of({"traits": {"email": "a@x.io", "address.city": "Pune"}})
    assert contact["city"] == "Pune"


def test_trace_names_the_winner_and_why_others_were_passed_over():
    result = run({"type": "identify", "traits": {"email": "", "firstName": None},
                  "context": {"traits": {"email": "ctx@x.io"}}, "properties": {"email": "p@x.io"}})
    emails = field(result, "emails")
    assert emails.winner == "context.traits.email"
    outcomes = {c.path: c.outcome for c in emails.candidates}
    assert outcomes == {"traits.email": "empty", "context.traits.email": "won", "properties.email": "later"}
    assert any("properties.email also holds" in w for w in emails.warnings)


def test_same_trait_given_differently_warns():
    result = run({"type": "identify", "traits": {"email": "a@x.io", "phone": "111"}, "context": {"traits": {"phone": "222"}}})
    assert any("context.traits.phone" in w and "differs" in w for w in field(result, "work_number").warnings)


# --- 2. Coercions ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("given", "sent"),
    [("71010794467", 71010794467), (" 42 ", 42), ("0x10", 16), ("1e3", 1000), ("12.0", 12), (True, 1), ([5], 5),
     ("12345678901234567890", 12345678901234567000)],
)
def test_id_traits_go_through_javascript_number(given, sent):
    contact = contact_of({"traits": {"email": "a@x.io", "territoryId": given}})
    assert contact["territory_id"] == sent
    assert json.dumps(contact["territory_id"]) == json.dumps(sent)  # 12, never 12.0


@pytest.mark.parametrize("given", ["12abc", {}, [1, 2], "abc"])
def test_non_numeric_ids_are_dropped_silently_and_the_trace_says_so(given):
    result = run({"type": "identify", "traits": {"email": "a@x.io", "ownerId": given}})
    assert "owner_id" not in result.final_requests[0].request.body["contact"]
    trace = field(result, "owner_id")
    assert trace.status == "dropped"
    assert any("drops owner_id" in w for w in trace.warnings)


def test_zero_from_number_is_sent_and_explained():
    result = run({"type": "identify", "traits": {"email": "a@x.io", "leadSourceId": "0x10", "campaignId": "Infinity"}})
    contact = result.final_requests[0].request.body["contact"]
    assert contact["lead_source_id"] == 16
    assert contact["campaign_id"] is None  # Infinity cannot be JSON: null, as RudderStack outputs
    assert any("base-16" in w for w in field(result, "lead_source_id").warnings)
    assert any("null" in w for w in field(result, "campaign_id").warnings)


def test_large_integer_warns_about_lost_digits():
    result = run({"type": "identify", "traits": {"email": "a@x.io", "ownerId": "12345678901234567890"}})
    assert any("2^53" in w for w in field(result, "owner_id").warnings)


@pytest.mark.parametrize(("given", "sent"), [("12.5abc", 12.5), ("1000", 1000), (250000.75, 250000.75)])
def test_annual_revenue_uses_parse_float(given, sent):
    result = run({"type": "group", "traits": {"name": "Acme", "annualRevenue": given}})
    assert result.final_requests[0].request.body["sales_account"]["annual_revenue"] == sent


def test_parse_float_drops_booleans():
    result = run({"type": "group", "traits": {"name": "Acme", "annualRevenue": True}})
    assert "annual_revenue" not in result.final_requests[0].request.body["sales_account"]


def test_address_object_is_flattened_with_empty_parts():
    contact = contact_of({"traits": {"email": "a@x.io", "address": {"street": "1 Main", "city": "Pune", "postalCode": 411001}}})
    assert contact["address"] == "1 Main Pune   411001"


def test_string_address_is_blanked_but_still_sent():
    result = run({"type": "identify", "traits": {"email": "a@x.io", "address": "1 Main St, Pune"}})
    assert result.final_requests[0].request.body["contact"]["address"] == ""
    assert any('blanks it to ""' in w for w in field(result, "address").warnings)


# --- 3. Event types ---------------------------------------------------------------------------

def test_identify_request_shape():
    result = run({"type": "IDENTIFY", "traits": {"email": "a@x.io"}, "timestamp": "2024-01-01T00:00:00Z"})
    request = result.final_requests[0].request
    assert (request.method, request.url) == ("POST", f"{BASE}/contacts/upsert")
    assert request.headers == {"Authorization": "Token token=test-key-1234", "Content-Type": "application/json"}
    assert request.body == {"contact": {"emails": "a@x.io", "created_at": "2024-01-01T00:00:00Z",
                                        "updated_at": "2024-01-01T00:00:00Z"}, "unique_identifier": {"emails": "a@x.io"}}


@pytest.mark.parametrize(
    ("kind", "message"),
    [(None, "Message Type is not present. Aborting message."), ("", "Message Type is not present. Aborting message."),
     ("page", "message type page not supported"), ("identify ", "message type identify  not supported")],
)
def test_type_errors(kind, message):
    result = run({"type": kind, "traits": {"email": "a@x.io"}})
    assert result.error.message == message
    assert result.error.status == 400


def test_non_string_type_is_a_rudderstack_crash_explained():
    result = run({"type": 7})
    assert result.error.status == 500
    assert result.error.crashed
    assert "crashed" in result.error.explanation
    assert result.error.disposition == "retried"


def test_group_without_email_upserts_the_account_only():
    result = run({"type": "group", "traits": {"name": "Acme", "website": "acme.io"}})
    assert not result.lookups
    request = result.final_requests[0].request
    assert request.url == f"{BASE}/sales_accounts/upsert"
    assert request.body == {"unique_identifier": {"name": "Acme"}, "sales_account": {"name": "Acme", "website": "acme.io"}}


def test_group_with_email_links_the_account_after_two_writes():
    resolver = Recorder([
        reply("POST", "/contacts/upsert?include=sales_accounts", {"contact": {"id": 1, "sales_accounts": [{"id": 5, "is_primary": True}]}}),
        reply("POST", "/sales_accounts/upsert", {"sales_account": {"id": 70003771396}}),
    ])
    result = run({"type": "group", "traits": {"name": "Acme"}, "context": {"traits": {"email": "u@x.io"}}}, resolver=resolver)
    assert [(m, u) for m, u, _ in resolver.asked] == [
        ("POST", f"{BASE}/contacts/upsert?include=sales_accounts"), ("POST", f"{BASE}/sales_accounts/upsert")]
    assert all(step.writes for step in result.lookups)
    body = result.final_requests[0].request.body
    assert body == {"contact": {"sales_accounts": [{"id": 5, "is_primary": True}, {"id": 70003771396, "is_primary": False}]},
                    "unique_identifier": {"emails": "u@x.io"}}
    assert any("writes" in n or "upserts" in n for n in result.notes)


def test_group_first_account_is_primary():
    resolver = ReplayResolver([
        reply("POST", "/contacts/upsert?include=sales_accounts", {"contact": {"id": 1, "sales_accounts": []}}),
        reply("POST", "/sales_accounts/upsert", {"sales_account": {"id": 9}}),
    ])
    result = run({"type": "group", "traits": {"name": "Acme", "email": "u@x.io"}}, resolver=resolver)
    assert result.final_requests[0].request.body["contact"]["sales_accounts"] == [{"id": 9, "is_primary": True}]


def test_group_offline_marks_placeholders():
    result = run({"type": "group", "traits": {"name": "Acme", "email": "u@x.io"}})
    assert result.has_placeholders
    link = result.final_requests[0].request.body["contact"]["sales_accounts"][0]
    assert isinstance(link["id"], Placeholder)
    assert "offline" in result.lookups[0].reply.note


def test_group_lookup_failure_carries_freshsales_reply():
    resolver = ReplayResolver([reply("POST", "/contacts/upsert?include=sales_accounts",
                                     {"errors": {"code": 429, "message": ["Too many requests"]}}, status=429)])
    result = run({"type": "group", "traits": {"name": "Acme", "email": "u@x.io"}}, resolver=resolver)
    assert result.error.status == 429
    assert json.loads(result.error.message) == {
        "message": "failed to fetch user accountDetails Too many requests",
        "destinationResponse": {"response": {"errors": {"code": 429, "message": ["Too many requests"]}}, "status": 429}}
    assert result.error.disposition == "retried"
    assert result.error.stat_tags["errorType"] == "throttled"


def test_a_401_without_error_code_becomes_a_retryable_500():
    resolver = ReplayResolver([reply("POST", "/contacts/upsert?include=sales_accounts",
                                     {"login": "failed", "message": "Incorrect or expired API key"}, status=401)])
    result = run({"type": "group", "traits": {"name": "Acme", "email": "u@x.io"}}, resolver=resolver)
    assert result.error.status == 500
    assert result.error.stat_tags["errorType"] == "retryable"
    assert "API key" in result.error.fix


def test_unrecorded_lookup_fails_like_an_unreachable_network():
    result = run({"type": "group", "traits": {"name": "Acme", "email": "u@x.io"}}, resolver=ReplayResolver([]))
    assert result.error.status == 500
    assert json.loads(result.error.message)["message"] == "failed to fetch user accountDetails "


SALES_ACTIVITY = {"type": "track", "event": "Sales Activity", "context": {"externalId": {"type": "Contact", "id": 7}},
                  "properties": {"title": "Call", "startDate": "2024-01-01T10:00:00Z", "endDate": "2024-01-01T11:00:00Z",
                                 "ownerId": "70000090119", "salesActivityTypeId": 70000666879}}


def test_sales_activity_by_type_id_needs_no_lookup():
    result = run(SALES_ACTIVITY)
    assert not result.lookups
    request = result.final_requests[0].request
    assert request.url == f"{BASE}/sales_activities"
    activity = request.body["sales_activity"]
    assert activity["sales_activity_type_id"] == 70000666879
    assert activity["owner_id"] == "70000090119"  # passed through as given
    assert activity["targetable_id"] == 7


def test_sales_activity_by_name_looks_the_type_up_and_resolves_the_contact():
    props = {**SALES_ACTIVITY["properties"], "salesActivityName": "Phone"}
    del props["salesActivityTypeId"]
    message = {**SALES_ACTIVITY, "properties": props, "context": {"externalId": {"type": "contact"}, "traits": {"email": "u@x.io"}}}
    resolver = Recorder([reply("GET", "/selector/sales_activity_types", {"sales_activity_types": [{"id": 31, "name": "Phone"}]}),
                         reply("POST", "/contacts/upsert", {"contact": {"id": 70054866612}})])
    result = run(message, resolver=resolver)
    assert [m for m, _, _ in resolver.asked] == ["GET", "POST"]
    activity = result.final_requests[0].request.body["sales_activity"]
    assert activity["sales_activity_type_id"] == 31
    assert activity["targetable_id"] == 70054866612
    assert activity["sales_activity_name"] == "Phone"  # RudderStack leaks it into the body
    assert [s.writes for s in result.lookups] == [False, True]


def test_sales_activity_name_match_is_exact():
    props = {**SALES_ACTIVITY["properties"], "salesActivityName": "phone"}
    del props["salesActivityTypeId"]
    resolver = ReplayResolver([reply("GET", "/selector/sales_activity_types", {"sales_activity_types": [{"id": 31, "name": "Phone"}]})])
    result = run({**SALES_ACTIVITY, "properties": props}, resolver=resolver)
    assert result.error.message == "sales Activity phone doesn't exists. Aborting!"


def test_lifecycle_stage_by_id_and_by_name():
    base = {"type": "track", "event": "lifecycle_stage", "traits": {"email": "u@x.io"}}
    by_id = run({**base, "properties": {"lifecycleStageId": "71012139273"}})
    assert by_id.final_requests[0].request.body == {"contact": {"lifecycle_stage_id": "71012139273"},
                                                    "unique_identifier": {"emails": "u@x.io"}}
    resolver = ReplayResolver([reply("GET", "/selector/lifecycle_stages", {"lifecycle_stages": [{"id": 71012139274, "name": "Lead"}]})])
    by_name = run({**base, "properties": {"lifecycleStageName": "Lead"}}, resolver=resolver)
    assert by_name.final_requests[0].request.body["contact"] == {"lifecycle_stage_id": 71012139274}
    missing = run({**base, "properties": {"lifecycleStageName": "lead"}}, resolver=resolver)
    assert missing.error.message == "failed to fetch lifeCycleStages with lead"


def test_event_mapping_yields_one_request_per_distinct_target():
    destination = {"Config": {**DEST["Config"], "rudderEventsToFreshsalesEvents": [
        {"from": "Demo Booked", "to": "sales_activity"}, {"from": "demo booked", "to": "lifecycle_stage"},
        {"from": "DEMO BOOKED", "to": "lifecycle_stage"}, {"from": "Demo Booked"}]}}
    message = {**SALES_ACTIVITY, "event": "demo booked", "traits": {"email": "u@x.io"},
               "properties": {**SALES_ACTIVITY["properties"], "lifecycleStageId": 5}}
    result = run(message, destination)
    assert [f.freshsales_event for f in result.final_requests] == ["sales_activity", "lifecycle_stage"]


def test_unmapped_event_names_are_normalised_before_matching():
    assert run({**SALES_ACTIVITY, "event": "  SALES \t ACTIVITY "}).ok
    result = run({**SALES_ACTIVITY, "event": "Signed Up"})
    assert result.error.message == "event name Signed Up is not supported. Aborting!"


@pytest.mark.parametrize("event", [None, "", 42, {"name": "x"}])
def test_track_needs_a_string_event(event):
    assert run({"type": "track", "event": event}).error.message == "Event is a required field and should be a string"


# --- unmapped inputs and doc-vs-code notes -----------------------------------------------------

def test_unmapped_inputs_have_hints():
    result = run({"type": "identify", "traits": {"email": "a@x.io", "cf_plan": "pro", "LeadSourceId": 5, "JobTitle": "CTO",
                                                 "address": {"city": "Pune", "line2": "Flat 4"}, "favourite": "tea"}})
    hints = {u.path: u.hint for u in result.unmapped}
    assert "cf_" in hints["traits.cf_plan"]
    assert "leadSourceId" in hints["traits.LeadSourceId"]
    assert "case-sensitive" in hints["traits.JobTitle"]
    assert "address flattening" in hints["traits.address.line2"]
    assert "traits.favourite" in hints
    assert "traits.email" not in hints and "traits.address.city" not in hints


def test_a_name_where_an_id_is_read_is_pointed_at_the_id_field():
    result = run({"type": "group", "traits": {"name": "Acme", "industryType": "Logistics", "owner": "Kim"}})
    hints = {u.path: u.hint for u in result.unmapped}
    assert "industryTypeId" in hints["traits.industryType"]
    assert "ownerId" in hints["traits.owner"]


@pytest.mark.parametrize(("event_type", "path", "named"), [
    ("identify", "traits.mobile", ["traits.mobileNumber (mobile_number)", "traits.phone (work_number)"]),
    ("identify", "context.traits.mobile", ["context.traits.mobileNumber (mobile_number)"]),
    ("identify", "traits.phoneNumber", ["traits.phone (work_number)"]),
    ("identify", "traits.postcode", ["traits.postalCode (zipcode)"]),
    ("identify", "traits.title", ["traits.jobTitle (job_title)"]),
    ("identify", "traits.firstNme", ["traits.firstName (first_name)"]),  # a typo: string similarity
    ("group", "traits.employees", ["traits.numberOfEmployees (number_of_employees)"]),
    ("track", "properties.lifecycleStage", ["properties.lifecycleStageId", "properties.lifecycleStageName"]),
])
def test_hints_name_the_closest_key_read_for_the_event_type(event_type, path, named):
    message = {"type": event_type, "event": "lifecycle_stage", "traits": {"email": "a@x.io", "name": "Acme"},
               "properties": {}}
    node = message
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = "x"
    hint = {u.path: u.hint for u in run(message).unmapped}[path]
    assert hint.startswith(f"not read for {event_type} events: did you mean ")
    assert all(name in hint for name in named), hint


def test_company_on_identify_points_at_a_group_call():
    result = run({"type": "identify", "traits": {"email": "a@x.io", "company": {"name": "Northwind"}}})
    assert "group call" in {u.path: u.hint for u in result.unmapped}["traits.company.name"]


def test_doc_vs_code_notes_are_on_the_fields():
    result = run({"type": "identify", "traits": {"email": "a@x.io"}})
    assert "docs" in field(result, "external_id").doc_note
    assert "LeadSourceId" in field(result, "lead_source_id").doc_note


# --- 4. Output views ----------------------------------------------------------------------------

def test_processor_items_echo_metadata_and_views_mask_the_key():
    result = run({"type": "identify", "traits": {"email": "a@x.io"}})
    item = processor_items(result, {"job": 1})[0]
    assert item["statusCode"] == 200 and item["metadata"] == {"job": 1}
    assert item["output"]["body"] == {"JSON": result.final_requests[0].request.body, "JSON_ARRAY": {}, "XML": {}, "FORM": {}}
    request = result.final_requests[0].request
    assert request_view(request)["headers"]["Authorization"] == "Token token=****1234"
    assert "test-key-1234" not in curl_command(request)
    assert "test-key-1234" in curl_command(request, reveal_key=True)
    error_item = processor_items(run({"type": "page"}), {"job": 2})[0]
    assert error_item["statusCode"] == 400 and error_item["metadata"] == {"job": 2} and "statTags" in error_item


@pytest.mark.parametrize("domain", ["acme", "https://acme.myfreshworks.com/", None])
def test_domain_not_a_full_host_is_pointed_out(domain):
    result = run({"type": "identify", "traits": {"email": "a@x.io"}}, {"Config": {"apiKey": "k", "domain": domain}})
    assert any("full host" in note for note in result.notes)
    assert result.final_requests[0].request.url.startswith(f"https://{'null' if domain is None else domain}/crm")  # JS template of null


def test_full_host_domain_gives_no_settings_note():
    assert not any("domain" in note for note in run({"type": "identify", "traits": {"email": "a@x.io"}}).notes)


def test_different_facts_down_the_list_are_not_called_conflicts():
    result = run({"type": "identify", "traits": {"email": "a@x.io", "firstName": "Ada"}, "context": {"traits": {"first_name": "Bob"}},
                  "timestamp": "2024-01-01T00:00:01Z", "originalTimestamp": "2024-01-01T00:00:00Z"})
    assert not field(result, "updated_at").warnings
    assert any("context.traits.first_name" in w for w in field(result, "first_name").warnings)

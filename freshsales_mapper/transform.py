"""One RudderStack event in, a plan of Freshsales requests out: RudderStack's Freshsales transformer.

The control flow, the order of checks and every error text follow rudder-transformer's
``src/v0/destinations/freshsales``; the lookups it makes while transforming go through a resolver
and are recorded as plan steps.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    RudderError,
    crash_error,
    explain,
    instrumentation_error,
    network_error,
    network_instrumentation_error,
)
from .jsvalue import (
    JS_WHITESPACE_RUN,
    UNDEFINED,
    MessageReader,
    get_path,
    js_json_value,
    js_string,
    js_trim,
    strict_equal,
    truthy,
    type_name,
)
from .plan import FieldTrace, FinalRequest, HttpRequest, LookupStep, TransformResult
from .resolve import construct_payload, flatten_address, pick_value, trace_field
from .resolvers import Resolver
from .tables import FieldSpec, MappingTables, load_tables
from .unmapped import find_unmapped

API = "/crm/sales/api"
CONTACT_UPSERT = f"{API}/contacts/upsert"
ACCOUNT_UPSERT = f"{API}/sales_accounts/upsert"
ACTIVITY_CREATE = f"{API}/sales_activities"
ACTIVITY_TYPES = f"{API}/selector/sales_activity_types"
LIFECYCLE_STAGES = f"{API}/selector/lifecycle_stages"

NOTE_TRACK_UNDOCUMENTED = "The public docs say nothing of track; the code supports sales activities and lifecycle stages."
NOTE_GROUP_WRITES = ("While transforming this group event RudderStack itself calls Freshsales: it upserts the "
                     "contact and the account (both writes), which the docs do not mention.")


class _EventRun:
    """State for transforming one event: the inputs, the resolver, and the result being filled."""

    def __init__(self, message: dict, destination: Any, resolver: Resolver, tables: MappingTables, trace: bool):
        self.message = message
        self.reader = MessageReader(message)
        self.destination = destination
        self.resolver = resolver
        self.tables = tables
        self.trace = trace
        self.result = TransformResult(event_type=None)
        self.lookups_done = 0

    # --- destination settings, read the way RudderStack reads them ------------------------------
    @property
    def config(self) -> dict:
        config = self.destination.get("Config") if isinstance(self.destination, dict) else UNDEFINED
        if not isinstance(config, dict):
            raise crash_error(f"Cannot read properties of {js_string(config)} (reading 'apiKey')")
        return config

    def url(self, path: str) -> str:
        return "https://" + js_string(self.config.get("domain", UNDEFINED)) + path

    def headers(self) -> dict[str, str]:
        return {"Authorization": "Token token=" + js_string(self.config.get("apiKey", UNDEFINED)),
                "Content-Type": "application/json"}

    # --- field resolution --------------------------------------------------------------------------
    def payload(self, specs: tuple[FieldSpec, ...], section: str) -> dict:
        traces: list[FieldTrace] | None = [] if self.trace else None
        try:
            return construct_payload(self.reader, specs, traces)
        finally:
            if traces:
                for t in traces:
                    t.section = section
                self.result.fields.extend(traces)

    def value(self, spec: FieldSpec, section: str) -> Any:
        """A value RudderStack reads outside constructPayload (tested with plain truthiness)."""
        raw, winner = pick_value(self.reader, spec)
        if self.trace:
            t = trace_field(self.reader, spec, raw, winner, raw, truthy(raw))
            t.section = section
            t.status = "used" if truthy(raw) else "unset"
            self.result.fields.append(t)
        return raw

    def user_email(self, section: str) -> Any:
        return self.value(self.tables.user_email[0], section)

    def flatten_address(self, payload: dict, section: str) -> None:
        address = payload.get("address")
        if not truthy(address):
            return
        payload["address"] = flatten_address(address)
        if self.trace:
            trace = next(t for t in self.result.fields if t.section == section and t.dest == "address")
            trace.sent = payload["address"]
            if isinstance(address, (dict, list)):
                trace.warnings.append("flattened to \"street city state country postalCode\"; missing parts "
                                      "become empty strings and other keys are dropped")
            else:
                trace.warnings.append(f"{type_word(address)} address is not an object, so RudderStack blanks it "
                                      "to \"\" (and still sends the empty string)")

    # --- calls made while transforming -----------------------------------------------------------
    def call(self, purpose: str, lookup: str, method: str, path: str, body: Any, writes: bool,
             name: Any = None) -> tuple[int, Any]:
        request = HttpRequest(method, self.url(path), self.headers(), js_json_value(body) if body is not None else None)
        step = LookupStep(purpose=purpose, request=request, writes=writes,
                          extracted={"lookup": lookup, **({"name": name} if name is not None else {})})
        self.result.steps.append(step)
        step.reply = self.resolver.lookup(step)
        self.lookups_done += 1
        # RudderStack's HTTP wrapper: `response: data || ""`, `status: status || 500`.
        response = step.reply.body if truthy(step.reply.body) else ""
        return step.reply.status or 500, response

    def emit(self, path: str, body: dict, freshsales_event: str) -> FinalRequest:
        return FinalRequest(HttpRequest("POST", self.url(path), self.headers(), body), freshsales_event)


def transform_event(message: Any, destination: Any, resolver: Resolver, *, trace: bool = True,
                    tables: MappingTables | None = None) -> TransformResult:
    """Transform one event. Never raises for anything the event or settings contain."""
    run = _EventRun(message, destination, resolver, tables or load_tables(), trace)
    try:
        finals = _process(run)
        run.result.steps.extend(finals)
    except RudderError as err:
        run.result.error = explain(err)
    if trace:
        run.result.notes.extend(settings_notes(destination))
        if isinstance(message, dict):
            run.result.unmapped = find_unmapped(message, run.result)
    return run.result


def settings_notes(destination: Any) -> list[str]:
    """What the destination settings will do that their owner may not expect."""
    config = destination.get("Config") if isinstance(destination, dict) else None
    if not isinstance(config, dict):
        return ["The destination has no Config object: RudderStack fails on such settings."]
    notes = []
    domain = config.get("domain", UNDEFINED)
    if not isinstance(domain, str) or "." not in domain or "/" in domain or ":" in domain:
        notes.append(f"RudderStack uses the domain setting as is (https://{js_string(domain)}/crm/...). The docs "
                     "call it the subdomain, but the code needs the full host, e.g. acme.myfreshworks.com.")
    if not truthy(config.get("apiKey", UNDEFINED)):
        notes.append(f"There is no API key: RudderStack would send 'Authorization: Token token="
                     f"{js_string(config.get('apiKey', UNDEFINED))}'.")
    return notes


def _process(run: _EventRun) -> list[FinalRequest]:
    message = run.message
    if message is None:
        raise crash_error("Cannot read properties of null (reading 'type')")
    kind = message.get("type", UNDEFINED) if isinstance(message, dict) else UNDEFINED
    if not truthy(kind):
        raise instrumentation_error("Message Type is not present. Aborting message.")
    if not isinstance(kind, str):
        raise crash_error("message.type.toLowerCase is not a function")
    kind = kind.lower()
    run.result.event_type = kind
    if kind == "identify":
        return [_identify(run)]
    if kind == "track":
        run.result.notes.append(NOTE_TRACK_UNDOCUMENTED)
        return _track(run)
    if kind == "group":
        return [_group(run)]
    raise instrumentation_error(f"message type {kind} not supported")


def _identify(run: _EventRun) -> FinalRequest:
    contact = run.payload(run.tables.identify, "contact")
    run.flatten_address(contact, "contact")
    body = {"contact": contact, "unique_identifier": {"emails": contact.get("emails")}}
    return run.emit(CONTACT_UPSERT, body, "contact")


def _group(run: _EventRun) -> FinalRequest:
    account = run.payload(run.tables.group, "sales_account")
    run.flatten_address(account, "sales_account")
    email = run.user_email("sales_account")
    if not truthy(email):
        body = {"unique_identifier": {"name": account.get("name")}, "sales_account": account}
        return run.emit(ACCOUNT_UPSERT, body, "sales_account")
    run.result.notes.append(NOTE_GROUP_WRITES)
    linked = _accounts_with_new_one(run, account, email)
    body = {"contact": {"sales_accounts": js_json_value(linked)}, "unique_identifier": {"emails": js_json_value(email)}}
    return run.emit(CONTACT_UPSERT, body, "contact_sales_accounts")


def _accounts_with_new_one(run: _EventRun, account: dict, email: Any) -> list:
    lookup_body = {"unique_identifier": {"emails": email}, "contact": {"emails": email}}
    status, response = run.call("read the contact's sales accounts (creates the contact if missing)",
                                "contact_with_accounts", "POST", CONTACT_UPSERT + "?include=sales_accounts",
                                lookup_body, writes=True)
    if status not in (200, 201):
        _raise_network("failed to fetch user accountDetails", status, response)
    existing = _prop(_prop(response, "contact"), "sales_accounts")
    if not truthy(existing):
        raise network_instrumentation_error("Fails in fetching user accountDetails")
    status, reply = run.call("upsert the sales account to learn its id", "sales_account", "POST", ACCOUNT_UPSERT,
                             {"unique_identifier": {"name": account.get("name")}, "sales_account": account}, writes=True)
    if status not in (200, 201):
        _raise_network("failed to create/update group", status, reply)
    account_id = _prop(_prop(reply, "sales_account"), "id")
    if not truthy(account_id):
        raise network_instrumentation_error("Fails in fetching accountId.")
    new_link = {"id": account_id, "is_primary": False}
    if _js_length_positive(existing):
        if isinstance(existing, dict):
            raise crash_error("accountDetails is not iterable")
        return [*existing, new_link]
    new_link["is_primary"] = True
    return [new_link]


def _track(run: _EventRun) -> list[FinalRequest]:
    event = get_path(run.message, "event")
    if not isinstance(event, str) or event == "":
        raise instrumentation_error("Event is a required field and should be a string")
    targets = _mapped_events(run, event)
    if not targets:
        return [_track_one(run, event)]
    finals: list[FinalRequest] = []
    first_failure: tuple[int, int, RudderError] | None = None
    for index, target in enumerate(targets):
        before = run.lookups_done
        try:
            finals.append(_track_one(run, target))
        except RudderError as err:
            # Promise.all rejects with the failure that happens first: fewer network round trips first.
            rank = (run.lookups_done - before, index)
            if first_failure is None or rank < first_failure[:2]:
                first_failure = (*rank, err)
    if first_failure is not None:
        raise first_failure[2]
    return finals


def _mapped_events(run: _EventRun, event: str) -> list[Any]:
    mappings = run.config.get("rudderEventsToFreshsalesEvents")
    if not isinstance(mappings, list):
        return []
    targets: list[Any] = []
    wanted = event.lower()
    for mapping in mappings:
        if mapping is None:
            raise crash_error("Cannot read properties of null (reading 'from')")
        source, target = _prop(mapping, "from"), _prop(mapping, "to")
        if not ((truthy(source) or source == "") and (truthy(target) or target == "")):
            continue  # RudderStack skips half-filled rows of the settings form
        if not isinstance(source, str):
            raise crash_error("mapping.from.toLowerCase is not a function")
        if source.lower() == wanted and not any(strict_equal(target, t) for t in targets):
            targets.append(target)
    return targets


def _track_one(run: _EventRun, event: Any) -> FinalRequest:
    if not truthy(event):
        raise instrumentation_error("Event name is required for track call.")
    if not isinstance(event, str):
        raise crash_error("event.toLowerCase is not a function")
    normalized = JS_WHITESPACE_RUN.sub("_", js_trim(event.lower()))
    if normalized == "sales_activity":
        activity = _sales_activity(run)
        return run.emit(ACTIVITY_CREATE, {"sales_activity": js_json_value(activity)}, "sales_activity")
    if normalized == "lifecycle_stage":
        body = _lifecycle_stage(run)
        return run.emit(CONTACT_UPSERT, js_json_value(body), "lifecycle_stage")
    raise instrumentation_error(f"event name {event} is not supported. Aborting!")


def _sales_activity(run: _EventRun) -> dict:
    payload = run.payload(run.tables.sales_activity, "sales_activity")
    name = payload.get("sales_activity_name", UNDEFINED)
    type_id = payload.get("sales_activity_type_id", UNDEFINED)
    if not truthy(name) and not truthy(type_id):
        raise instrumentation_error("Either of sales activity name or sales activity type id is required. Aborting!")
    target_id = payload.get("targetable_id", UNDEFINED)
    if not truthy(target_id):
        target_type = payload.get("targetable_type")
        if not isinstance(target_type, str):
            raise crash_error("payload.targetable_type.toLowerCase is not a function")
        if target_type.lower() != "contact":
            raise instrumentation_error("targetable_id is required. Aborting!")
    email = run.user_email("sales_activity")
    if not truthy(target_id) and not truthy(email):
        raise instrumentation_error("Either of email or targetable_id is required for creating sales activity. Aborting!")
    if truthy(type_id):
        if truthy(target_id):
            return dict(payload)
        return _with_contact_id(run, email, payload, type_id)
    status, response = run.call(f"find the sales activity type named {js_string(name)}", "sales_activity_types",
                                "GET", ACTIVITY_TYPES, None, writes=False, name=name)
    if status != 200:
        _raise_network("failed to fetch sales activities details", status, response)
    types = _prop(response, "sales_activity_types")
    if not isinstance(types, list):
        raise network_instrumentation_error("Unable to fetch correct list of sales activity.")
    found = _find_by_name(types, name)
    if found is UNDEFINED:
        raise instrumentation_error(f"sales Activity {js_string(name)} doesn't exists. Aborting!")
    if truthy(target_id):
        return {**payload, "targetable_id": target_id, "sales_activity_type_id": _prop(found, "id")}
    return _with_contact_id(run, email, payload, _prop(found, "id"))


def _with_contact_id(run: _EventRun, email: Any, payload: dict, type_id: Any) -> dict:
    status, response = run.call("upsert the contact by email to learn its id (creates it if missing)", "contact",
                                "POST", CONTACT_UPSERT, {"unique_identifier": {"emails": email},
                                                         "contact": {"emails": email}}, writes=True)
    if status not in (200, 201):
        _raise_network("failed to fetch Contact details", status, response)
    contact_id = _prop(_prop(response, "contact"), "id")
    if not truthy(contact_id):
        raise network_instrumentation_error("Failed in fetching userId. Aborting!",
                                            {"response": response, "status": status})
    return {**payload, "targetable_id": contact_id, "sales_activity_type_id": type_id}


def _lifecycle_stage(run: _EventRun) -> dict:
    emails = run.user_email("lifecycle_stage")
    if not truthy(emails):
        raise instrumentation_error("email is required for updating life Cycle Stages. Aborting!")
    stage_id = run.value(run.tables.lifecycle_stage[0], "lifecycle_stage")
    stage_name = run.value(run.tables.lifecycle_stage[1], "lifecycle_stage")
    if not truthy(stage_id) and not truthy(stage_name):
        raise instrumentation_error("Either of lifecycleStageName or lifecycleStageId is required. Aborting!")
    if truthy(stage_id):
        return {"contact": {"lifecycle_stage_id": stage_id}, "unique_identifier": {"emails": emails}}
    status, response = run.call(f"find the lifecycle stage named {js_string(stage_name)}", "lifecycle_stages",
                                "GET", LIFECYCLE_STAGES, None, writes=False, name=stage_name)
    if status != 200:
        _raise_network("failed to fetch lifecycle_stages details", status, response)
    stages = _prop(response, "lifecycle_stages")
    if not isinstance(stages, list):
        raise network_instrumentation_error("Unable to fetch correct list of lifecycle stages")
    found = _find_by_name(stages, stage_name)
    if found is UNDEFINED:
        raise network_instrumentation_error(f"failed to fetch lifeCycleStages with {js_string(stage_name)}")
    return {"contact": {"lifecycle_stage_id": _prop(found, "id")}, "unique_identifier": {"emails": emails}}


# --- small JavaScript-isms -------------------------------------------------------------------------

def _prop(value: Any, key: str) -> Any:
    """``value?.key`` on JSON data (a string or number has no such property)."""
    if isinstance(value, dict):
        return value.get(key, UNDEFINED)
    return UNDEFINED


def _find_by_name(items: list, name: Any) -> Any:
    for item in items:
        if item is None:
            raise crash_error("Cannot read properties of null (reading 'name')")
        if strict_equal(_prop(item, "name"), name):
            return item
    return UNDEFINED


def _js_length_positive(value: Any) -> bool:
    if isinstance(value, (list, str)):
        return len(value) > 0
    if isinstance(value, dict):
        length = value.get("length", UNDEFINED)
        return isinstance(length, (int, float)) and not isinstance(length, bool) and length > 0
    return False


def _raise_network(prefix: str, status: int, response: Any) -> None:
    errors = _prop(response, "errors")
    detail = _prop(errors, "message")
    code = _prop(errors, "code")
    message = f"{prefix} {js_string(detail) if truthy(detail) else ''}"
    raise network_error(message, code if truthy(code) else "500", {"response": response, "status": status})


def type_word(value: Any) -> str:
    return type_name(value)[0].upper() + type_name(value)[1:]

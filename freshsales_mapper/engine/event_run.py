"""The state of transforming one event, and the JavaScript-isms every event handler shares."""

from __future__ import annotations

from typing import Any

from freshsales_mapper.engine.errors import crash_error, network_error, network_instrumentation_error
from freshsales_mapper.engine.jsnumber import display_string, js_json_value, js_string, strict_equal
from freshsales_mapper.engine.jsvalue import UNDEFINED, MessageReader, truthy
from freshsales_mapper.engine.plan import (
    FieldTrace,
    FinalRequest,
    FinalValue,
    HttpRequest,
    LookupStep,
    TransformResult,
    ValueStep,
)
from freshsales_mapper.engine.resolve import construct_payload, final_value, json_type, pick_value, trace_field
from freshsales_mapper.engine.resolvers import Resolver
from freshsales_mapper.engine.tables import FieldSpec, MappingTables
from freshsales_mapper.engine.vocabulary import FieldStatus, ValueStepKind

API = "/crm/sales/api"
CONTACT_UPSERT = f"{API}/contacts/upsert"
ACCOUNT_UPSERT = f"{API}/sales_accounts/upsert"
ACTIVITY_CREATE = f"{API}/sales_activities"
ACTIVITY_TYPES = f"{API}/selector/sales_activity_types"
LIFECYCLE_STAGES = f"{API}/selector/lifecycle_stages"


class EventRun:
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
        config = self.destination.get("Config", UNDEFINED) if isinstance(self.destination, dict) else UNDEFINED
        if config is None or config is UNDEFINED:
            raise crash_error(f"Cannot read properties of {js_string(config)} (reading 'apiKey')")
        # A string, array, number or boolean Config has no apiKey, domain or mappings: each reads undefined.
        return config if isinstance(config, dict) else {}

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
        pick = pick_value(self.reader, spec, self.trace)
        raw = pick.value
        if self.trace:
            used = truthy(raw)
            t = trace_field(spec, pick, raw, js_json_value(raw) if used else UNDEFINED)
            t.section = section
            t.status = FieldStatus.USED if used else FieldStatus.UNSET
            t.final = final_value(spec, t.sent, used, t.warnings)
            self.result.fields.append(t)
        return raw

    def with_looked_up(self, payload: dict, section: str, ids: dict[str, Any], source: str) -> dict:
        """RudderStack's ``{...payload, key: id}`` with ids it looked up; the trace records each change."""
        if self.trace:
            for dest, value in ids.items():
                before = payload.get(dest, UNDEFINED)
                if before is not UNDEFINED and strict_equal(before, value):
                    continue
                trace = next(t for t in self.result.fields if t.section == section and t.dest == dest)
                after = js_json_value(value)
                note = f"replaced by the id RudderStack looked up ({source}): sends {js_string(after)}"
                if value is UNDEFINED:
                    note = f"replaced by the id RudderStack looked up ({source}), which is missing: not sent"
                trace.steps.append(ValueStep(ValueStepKind.LOOKED_UP, trace.sent, None if value is UNDEFINED else after,
                                             note))
                trace.warnings.append(note)
                if value is UNDEFINED:
                    trace.sent, trace.final, trace.status = None, None, FieldStatus.UNSET
                else:  # an id Freshsales itself answered with: no type check
                    trace.sent, trace.final, trace.status = after, FinalValue(after, json_type(after)), FieldStatus.SENT
        return {**payload, **ids}

    def user_email(self, section: str) -> Any:
        return self.value(self.tables.user_email[0], section)

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

    def find_named(self, lookup: str, path: str, name: Any, *, label: str, failure: str, bad_list: str) -> Any:
        """GET a selector list and find the entry whose name is exactly ``name`` (UNDEFINED if none).

        RudderStack answers a failed GET with ``failure`` and a reply without the list with ``bad_list``.
        """
        status, response = self.call(f"find the {label} named {display_string(name)}", lookup, "GET", path, None,
                                     writes=False, name=name)
        if status != 200:
            raise_network(failure, status, response)
        entries = prop(response, lookup)
        if not isinstance(entries, list):
            raise network_instrumentation_error(bad_list)
        for entry in entries:
            if entry is None:
                raise crash_error("Cannot read properties of null (reading 'name')")
            if strict_equal(prop(entry, "name"), name):
                return entry
        return UNDEFINED

    def emit(self, path: str, body: dict, freshsales_event: str) -> FinalRequest:
        return FinalRequest(HttpRequest("POST", self.url(path), self.headers(), js_json_value(body)), freshsales_event)


def prop(value: Any, key: str) -> Any:
    """``value?.key`` on JSON data (a string or number has no such property)."""
    if isinstance(value, dict):
        return value.get(key, UNDEFINED)
    return UNDEFINED


def raise_network(prefix: str, status: int, response: Any) -> None:
    errors = prop(response, "errors")
    detail = prop(errors, "message")
    code = prop(errors, "code")
    message = f"{prefix} {js_string(detail) if truthy(detail) else ''}"
    raise network_error(message, code if truthy(code) else "500", {"response": response, "status": status})

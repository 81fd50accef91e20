"""Track events: sales activities and lifecycle stages, and the event-name mapping setting."""

from __future__ import annotations

from typing import Any

from freshsales_mapper.engine.errors import (
    RudderError,
    crash_error,
    instrumentation_error,
    network_instrumentation_error,
)
from freshsales_mapper.engine.event_run import (
    ACTIVITY_CREATE,
    ACTIVITY_TYPES,
    CONTACT_UPSERT,
    LIFECYCLE_STAGES,
    EventRun,
    prop,
    raise_network,
)
from freshsales_mapper.engine.jsnumber import js_json_value, js_string, strict_equal
from freshsales_mapper.engine.jsvalue import JS_WHITESPACE_RUN, UNDEFINED, get_path, js_trim, truthy
from freshsales_mapper.engine.plan import FinalRequest


def track_requests(run: EventRun) -> list[FinalRequest]:
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


def _mapped_events(run: EventRun, event: str) -> list[Any]:
    mappings = run.config.get("rudderEventsToFreshsalesEvents")
    if not isinstance(mappings, list):
        return []
    targets: list[Any] = []
    wanted = event.lower()
    for mapping in mappings:
        if mapping is None:
            raise crash_error("Cannot read properties of null (reading 'from')")
        source, target = prop(mapping, "from"), prop(mapping, "to")
        if not ((truthy(source) or source == "") and (truthy(target) or target == "")):
            continue  # RudderStack skips half-filled rows of the settings form
        if not isinstance(source, str):
            raise crash_error("mapping.from.toLowerCase is not a function")
        if source.lower() == wanted and not any(strict_equal(target, t) for t in targets):
            targets.append(target)
    return targets


def _track_one(run: EventRun, event: Any) -> FinalRequest:
    # A mapping to "" reaches the switch below and fails as unsupported ("event name  is not ...").
    if not isinstance(event, str):
        raise crash_error("event.toLowerCase is not a function")
    normalized = JS_WHITESPACE_RUN.sub("_", js_trim(event.lower()))
    if normalized in ("sales_activity", "lifecycle_stage") and normalized not in run.result.targets:
        run.result.targets.append(normalized)
    if normalized == "sales_activity":
        activity = _sales_activity(run)
        return run.emit(ACTIVITY_CREATE, {"sales_activity": js_json_value(activity)}, "sales_activity")
    if normalized == "lifecycle_stage":
        body = _lifecycle_stage(run)
        return run.emit(CONTACT_UPSERT, js_json_value(body), "lifecycle_stage")
    raise instrumentation_error(f"event name {event} is not supported. Aborting!")


def _sales_activity(run: EventRun) -> dict:
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
    found = run.find_named("sales_activity_types", ACTIVITY_TYPES, name, label="sales activity type",
                           failure="failed to fetch sales activities details",
                           bad_list="Unable to fetch correct list of sales activity.")
    if found is UNDEFINED:
        raise instrumentation_error(f"sales Activity {js_string(name)} doesn't exists. Aborting!")
    if truthy(target_id):
        return run.with_looked_up(payload, "sales_activity",
                                  {"targetable_id": target_id, "sales_activity_type_id": prop(found, "id")},
                                  "the sales activity type")
    return _with_contact_id(run, email, payload, prop(found, "id"))


def _with_contact_id(run: EventRun, email: Any, payload: dict, type_id: Any) -> dict:
    status, response = run.call("upsert the contact by email to learn its id (creates it if missing)", "contact",
                                "POST", CONTACT_UPSERT, {"unique_identifier": {"emails": email},
                                                         "contact": {"emails": email}}, writes=True)
    if status not in (200, 201):
        raise_network("failed to fetch Contact details", status, response)
    contact_id = prop(prop(response, "contact"), "id")
    if not truthy(contact_id):
        raise network_instrumentation_error("Failed in fetching userId. Aborting!",
                                            {"response": response, "status": status})
    return run.with_looked_up(payload, "sales_activity", {"targetable_id": contact_id, "sales_activity_type_id": type_id},
                              "the contact, and the sales activity type unless given")


def _lifecycle_stage(run: EventRun) -> dict:
    emails = run.user_email("lifecycle_stage")
    if not truthy(emails):
        raise instrumentation_error("email is required for updating life Cycle Stages. Aborting!")
    stage_id = run.value(run.tables.lifecycle_stage[0], "lifecycle_stage")
    stage_name = run.value(run.tables.lifecycle_stage[1], "lifecycle_stage")
    if not truthy(stage_id) and not truthy(stage_name):
        raise instrumentation_error("Either of lifecycleStageName or lifecycleStageId is required. Aborting!")
    if truthy(stage_id):
        return {"contact": {"lifecycle_stage_id": stage_id}, "unique_identifier": {"emails": emails}}
    found = run.find_named("lifecycle_stages", LIFECYCLE_STAGES, stage_name, label="lifecycle stage",
                           failure="failed to fetch lifecycle_stages details",
                           bad_list="Unable to fetch correct list of lifecycle stages")
    if found is UNDEFINED:
        raise network_instrumentation_error(f"failed to fetch lifeCycleStages with {js_string(stage_name)}")
    return {"contact": {"lifecycle_stage_id": prop(found, "id")}, "unique_identifier": {"emails": emails}}

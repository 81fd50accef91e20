"""The whole picture of a rejected event: the fields RudderStack never reached, and every requirement missed.

RudderStack stops at its first error, so a person fixing an event learns one missing field per round.
With a trace, the fields after that point are resolved too (trace only: nothing is sent, the error and
the processor output stay RudderStack's), each marked "not reached", and every requirement the event
misses is named at once.
"""

from __future__ import annotations

import contextlib

from freshsales_mapper.engine.errors import RudderError
from freshsales_mapper.engine.event_run import EventRun
from freshsales_mapper.engine.jsvalue import JsTypeError, truthy
from freshsales_mapper.engine.plan import FieldTrace, TransformResult
from freshsales_mapper.engine.resolve import construct_payload
from freshsales_mapper.engine.vocabulary import FieldStatus

# Per Freshsales object: (section, table, how RudderStack reads it), in the order its code reads them.
PAYLOAD, VALUE = "payload", "value"
READS = {
    "contact": (("contact", "identify", PAYLOAD),),
    "sales_account": (("sales_account", "group", PAYLOAD), ("sales_account", "user_email", VALUE)),
    "sales_activity": (("sales_activity", "sales_activity", PAYLOAD), ("sales_activity", "user_email", VALUE)),
    "lifecycle_stage": (("lifecycle_stage", "user_email", VALUE), ("lifecycle_stage", "lifecycle_stage", VALUE)),
}
EMAIL_SOURCES = "the user's email (traits.email, context.traits.email or properties.email)"


def trace_past_error(run: EventRun) -> None:
    """Resolve, trace only, every field of the objects RudderStack was building that it never reached."""
    result = run.result
    if result.error is None or not result.targets:
        return
    note = f"not reached: RudderStack stopped at {stop_point(result)}"
    done = {(t.section, t.dest) for t in result.fields}
    for target in result.targets:
        for section, table, how in READS.get(target, ()):
            for spec in getattr(run.tables, table):
                if (section, spec.dest) in done:
                    continue
                try:
                    if how == VALUE:
                        run.value(spec, section)
                        trace = result.fields[-1]
                    else:
                        traces: list[FieldTrace] = []
                        with contextlib.suppress(RudderError):  # a required field without a value: its trace says so
                            construct_payload(run.reader, (spec,), traces)
                        trace = traces[0]
                        trace.section = section
                        result.fields.append(trace)
                except JsTypeError as exc:
                    # A value JavaScript cannot convert (an object with its own toString key): RudderStack
                    # would have thrown here, had it got this far. Said on the field, never raised.
                    trace = FieldTrace(spec.dest, spec.label if spec.label is not None else ", ".join(spec.paths),
                                       [], None, section=section,
                                       warnings=[f"RudderStack would fail here too, with a TypeError: {exc}"])
                    result.fields.append(trace)
                trace.not_reached = note
    result.error.also_missing = also_missing(result)


def stop_point(result: TransformResult) -> str:
    """Where RudderStack stopped: the required field it found unset, else the check that failed."""
    first = next((t for t in result.fields if t.status is FieldStatus.MISSING_REQUIRED), None)
    if first is not None:
        return first.sources
    return "an earlier check (its error above)"


def missing_requirements(result: TransformResult) -> list[tuple[str, str]]:
    """Every requirement the traced event misses: ("end_date ← properties.endDate", RudderStack's error for it)."""
    by_field = {(t.section, t.dest): t for t in result.fields}

    def given(section: str, dest: str) -> bool:
        """RudderStack's truthiness test on the value (a used value passed it already)."""
        trace = by_field.get((section, dest))
        if trace is None:
            return False
        return trace.status is FieldStatus.USED or (trace.status is FieldStatus.SENT and truthy(trace.sent))

    missing = [(f"{t.dest} ← {t.sources}", f'Missing required value from "{t.sources}"')
               for t in result.fields if t.status is FieldStatus.MISSING_REQUIRED]
    if "sales_activity" in result.targets:
        if not given("sales_activity", "sales_activity_name") and not given("sales_activity", "sales_activity_type_id"):
            missing.append(("sales_activity_name or sales_activity_type_id ← properties.salesActivityName or "
                            "properties.salesActivityTypeId",
                            "Either of sales activity name or sales activity type id is required. Aborting!"))
        target_type = by_field.get(("sales_activity", "targetable_type"))
        about_contact = target_type is not None and isinstance(target_type.sent, str) and \
            target_type.sent.lower() == "contact"
        if not given("sales_activity", "targetable_id"):
            if target_type is not None and target_type.status is FieldStatus.SENT and not about_contact:
                missing.append(("targetable_id ← context.externalId.id (the type is not Contact)",
                                "targetable_id is required. Aborting!"))
            elif not given("sales_activity", "user email (contact lookup)"):
                missing.append((f"targetable_id ← context.externalId.id, or {EMAIL_SOURCES}",
                                "Either of email or targetable_id is required for creating sales activity. Aborting!"))
    if "lifecycle_stage" in result.targets:
        if not given("lifecycle_stage", "user email (contact lookup)"):
            missing.append((f"email ← {EMAIL_SOURCES}",
                            "email is required for updating life Cycle Stages. Aborting!"))
        if not given("lifecycle_stage", "lifecycle_stage_id") and \
                not given("lifecycle_stage", "lifecycle_stage_name (looked up)"):
            missing.append(("lifecycle_stage_id or lifecycle_stage_name ← properties.lifecycleStageId or "
                            "properties.lifecycleStageName",
                            "Either of lifecycleStageName or lifecycleStageId is required. Aborting!"))
    return list(dict.fromkeys(missing))


def also_missing(result: TransformResult) -> list[str]:
    """The requirements missed besides the one RudderStack's error names."""
    error = result.error.message if result.error is not None else ""
    return [text for text, rudder_error in missing_requirements(result) if rudder_error != error]

"""From input text and sidebar settings to what the page shows, without Streamlit.

Previews never carry the real API key: they are built with ``Settings.key_token`` (the masked key, or
``YOUR_API_KEY`` when none is given), and a processor body's own key is masked before transforming. So
nothing derived from a preview (tables, plans, downloads, caches) can leak the key, whatever shows it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.route import masked_template, parse_template
from freshsales_mapper.engine.secret import PLACEHOLDER_KEY, mask_key
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.engine.vocabulary import MappingOutcome
from freshsales_mapper.inputs import (
    EventInput,
    InputError,
    ParsedInput,
    ShapeError,
    collector_paused,
    decode_utf8,
    parse_csv_text,
    parse_events_text,
    validate_destination,
    validate_event,
)

DEFAULT_DOMAIN = "acme.myfreshworks.com"
MAPPING_TARGETS = ("sales_activity", "lifecycle_stage")
CSV_SUFFIXES = (".csv",)

_RESOLVER = OfflineResolver()


def preview_key(api_key: str | None) -> str:
    """What previews put where the key goes: the masked key, or a visible placeholder when there is none."""
    if api_key and parse_template(api_key):
        return masked_template(api_key)  # says where the key comes from; its default and what it finds are masked
    return mask_key(api_key) if api_key else PLACEHOLDER_KEY


@dataclass(frozen=True)
class Settings:
    """The sidebar's destination settings, as previews use them (never the real key)."""

    domain: str = DEFAULT_DOMAIN
    key_token: str = PLACEHOLDER_KEY
    mappings: tuple[tuple[str, str], ...] = ()
    mode: str = "Preview"

    def destination(self) -> dict:
        config: dict[str, Any] = {"apiKey": self.key_token, "domain": self.domain}
        if self.mappings:
            config["rudderEventsToFreshsalesEvents"] = [{"from": f, "to": t} for f, t in self.mappings]
        return {"Config": config}

    @property
    def fingerprint(self) -> tuple:
        """What a preview depends on (the mode does not change a preview)."""
        return (self.domain, self.key_token, self.mappings)


def digest(text: str | bytes) -> str:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def parse_input(text: str, source: str) -> ParsedInput:
    """CSV for a ``.csv`` source name, JSON / NDJSON / processor bodies otherwise."""
    if source.lower().endswith(CSV_SUFFIXES):
        return parse_csv_text(text, source)
    return parse_events_text(text, source)


def decode_upload(data: bytes, name: str) -> tuple[str | None, InputError | None]:
    """Uploaded bytes as text; the parsers point at each byte that is not UTF-8 and read the rest."""
    return decode_utf8(data), None


def masked_destination(destination: Any) -> Any:
    """A processor body's own destination with its API key masked (all else kept, oddities included)."""
    if not isinstance(destination, dict):
        return destination
    config = destination.get("Config")
    if not isinstance(config, dict) or not isinstance(config.get("apiKey"), str) or not config["apiKey"]:
        return destination
    if parse_template(config["apiKey"]):  # the template is not the key; the value it picks is masked where shown
        return destination
    return {**destination, "Config": {**config, "apiKey": mask_key(config["apiKey"])}}


def preview_destination(item: EventInput, settings: Settings) -> Any:
    return settings.destination() if item.bare else masked_destination(item.destination)


def detail(item: EventInput, settings: Settings) -> TransformResult:
    """The full trace for one event, offline (lookups answered with placeholders)."""
    return transform_event(copy.deepcopy(item.message), preview_destination(item, settings), _RESOLVER, trace=True)


def settings_problems(settings: Settings) -> list[ShapeError]:
    return validate_destination(settings.destination()["Config"])


def own_destination_summary(destination: Any) -> str:
    """One line naming what a processor body's destination sets (key masked)."""
    config = destination.get("Config") if isinstance(destination, dict) else None
    if not isinstance(config, dict):
        return "a destination without a Config object"
    key = config.get("apiKey")
    mappings = config.get("rudderEventsToFreshsalesEvents")
    parts = [f"domain {config.get('domain')!s}", f"API key {mask_key(key) if key else '(none)'}"]
    if isinstance(mappings, list) and mappings:
        parts.append(f"{len(mappings)} event mapping(s)")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# Many events

STATUS_UNREADABLE = MappingOutcome.UNREADABLE
_EMAIL_PATHS = (("traits", "email"), ("context", "traits", "email"), ("properties", "email"))


def user_of(message: Any) -> str:
    """A handle to find the event by: its email where RudderStack looks first, else the user id."""
    if not isinstance(message, dict):
        return ""
    for path in _EMAIL_PATHS:
        node: Any = message
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            return node
    user = message.get("userId") or message.get("anonymousId")
    return user if isinstance(user, str) else ("" if user is None else json.dumps(user))


def event_label(item: EventInput, event_type: str | None = None) -> str:
    """How people call an event: its position when there are many, else its type and whose it is."""
    message = item.message if isinstance(item.message, dict) else {}
    kind = event_type or (message.get("type") if isinstance(message.get("type"), str) else None) or "untyped"
    name = message.get("event") if kind == "track" and isinstance(message.get("event"), str) else ""
    user = user_of(message)
    label = f"{kind} “{name}”" if name else kind
    label += f" event for {user}" if user else " event"  # shown escaped: Markdown here would print literally
    return label if item.location == "the event" else f"{item.location}: {label}"


def _disposition(error: Any) -> str:
    if error is None:
        return "delivers"
    return f"{'retries' if error.disposition == 'retried' else 'drops'} ({error.status})"


def _kind_of(message: Any, result: TransformResult) -> tuple[str, str]:
    kind = result.event_type
    if kind is None and isinstance(message, dict):
        raw = message.get("type")
        kind = raw if isinstance(raw, str) and raw else ("(none)" if raw in (None, "") else json.dumps(raw))
    event = message.get("event") if isinstance(message, dict) and kind == "track" else None
    return kind or "(none)", event if isinstance(event, str) else ("" if event is None else json.dumps(event))


@dataclass
class BatchReport:
    """Every input entry once: events in input order, then whatever could not be read."""

    items: list[EventInput]
    results: list[TransformResult]  # without traces; ``detail`` gives one event's trace
    shapes: list[list[ShapeError]]
    errors: list[InputError]
    columns: dict[str, list] = field(default_factory=dict)
    # What search reads besides the columns, one per table row: the event's content (values, ids, emails).
    content: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Events RudderStack rejects: a send skips them, so nothing of them reaches Freshsales."""
        return sum(1 for r in self.results if r.error is not None)

    @property
    def lossy(self) -> int:
        return sum(1 for r in self.results if r.error is None and r.losses)

    @property
    def mapped(self) -> int:
        """Mapped with nothing lost."""
        return len(self.results) - self.skipped - self.lossy


def run_batch(items: Sequence[EventInput], errors: Sequence[InputError], settings: Settings) -> BatchReport:
    """Transform every event without traces (fast), check every event's shape, build the table's columns."""
    with collector_paused():
        return _run_batch(items, errors, settings)


def _run_batch(items: Sequence[EventInput], errors: Sequence[InputError], settings: Settings) -> BatchReport:
    destination = settings.destination()
    messages = [item.message for item in items]
    results = [transform_event(item.message, destination if item.bare
                               else masked_destination(item.destination), _RESOLVER, trace=False, losses=True)
               for item in items]
    shapes = [validate_event(m) for m in messages]
    cols: dict[str, list] = {name: [] for name in (
        "#", "input", "type", "event", "user", "status", "requests", "lookups", "shape problems", "reason",
        "RudderStack", "destination")}
    for item, result, shape in zip(items, results, shapes, strict=True):
        kind, event = _kind_of(item.message, result)
        error = result.error
        lookups = result.lookups
        cols["#"].append(item.index + 1)
        cols["input"].append(item.location)
        cols["type"].append(kind)
        cols["event"].append(event)
        cols["user"].append(user_of(item.message))
        cols["status"].append(result.outcome.value)
        cols["requests"].append(len(result.steps) - len(lookups))
        cols["lookups"].append(", ".join(("writes " if s.writes else "reads ") + s.request.path for s in lookups))
        cols["shape problems"].append("; ".join(str(s) for s in shape))
        cols["reason"].append(error.message if error else " · ".join(loss.text for loss in result.losses))
        cols["RudderStack"].append(_disposition(error))
        cols["destination"].append("own (processor body)" if not item.bare else "sidebar settings")
    for problem in errors:
        cols["#"].append(None)
        cols["input"].append(problem.location or "input")
        for name in ("type", "event", "user", "lookups", "shape problems"):
            cols[name].append("")
        cols["status"].append(STATUS_UNREADABLE.value)
        cols["requests"].append(0)
        cols["reason"].append(problem.message)
        cols["RudderStack"].append("never receives it")
        cols["destination"].append("")
    content = [search_text(item.message) for item in items] + [problem.message.lower() for problem in errors]
    return BatchReport(list(items), results, shapes, list(errors), cols, content)


def search_text(message: Any) -> str:
    """An event's content as search reads it: every key and value, lower-cased (JSON, so nothing is lost)."""
    try:
        return json.dumps(message, ensure_ascii=False, default=str).lower()
    except (ValueError, RecursionError):  # a value nested too deep for json: its top level still counts
        return str(list(message) if isinstance(message, dict) else message).lower()

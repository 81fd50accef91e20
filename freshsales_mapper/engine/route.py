"""RudderStack's processor route in front of the Freshsales destination, as a pure stage of its own.

Before the destination code sees an item, rudder-transformer's ``destinationTransformAtProcessor``
(src/controllers/destination.ts) does, in this order:

1. ``handleTimestampInEvents`` (src/controllers/util): the message is replaced by a shallow copy
   ``{...message}`` (so ``null``, a missing message or a number become ``{}``), and a RETL event
   (``channel: "sources"`` without ``context.mappedToDestination``) of type identify or track gets its
   ``timestamp`` from the first set key of its own timestamp list, or ``null``.
2. ``DynamicConfigParser`` (src/util/dynamicConfigParser.ts), unless ``destination.hasDynamicConfig`` is
   exactly ``false``: the destination becomes ``{...destination, Config: structuredClone(Config)}`` (a
   missing or null destination throws here) and every string in Config of the form
   ``{{ path || default }}`` is replaced by the value at ``path`` in the item (``event.`` means
   ``message.``) — which is then REMOVED from the item — or by the default without its quotes.

:func:`route_item` returns the message and destination the destination code gets, what was done as
typed :class:`RouteNote` entries, or the JavaScript error that stops the item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from freshsales_mapper.engine.jsnumber import js_string
from freshsales_mapper.engine.jspath import JsPathError, get_value, json_kind, unset_value
from freshsales_mapper.engine.jsvalue import UNDEFINED, JsTypeError, is_set, js_trim, truthy
from freshsales_mapper.engine.secret import mask_key

RETL_CHANNEL = "sources"
# ControllerUtility.timestampValsMap: RETL_TIMESTAMP paths first, then GenericFieldMapping.timestamp.
RETL_TIMESTAMP_KEYS = {
    "identify": ("context.timestamp", "context.traits.timestamp", "traits.timestamp", "timestamp",
                 "originalTimestamp"),
    "track": ("properties.timestamp", "timestamp", "originalTimestamp"),
}
# PATH_VALIDATION_REGEX; JavaScript's \w is ASCII only and its $ does not match before a final newline.
_TEMPLATE_PATH = re.compile(r"[A-Z_a-z][0-9A-Z_a-z]*(?:\.[A-Z_a-z][0-9A-Z_a-z]*)*")
SECRET_SETTINGS = ("apiKey",)


class RouteStep(StrEnum):
    """What the route did to one item."""

    MESSAGE_REPLACED = "message-replaced"  # the message was not an object: RudderStack reads {...message}
    RETL_TIMESTAMP = "retl-timestamp"  # a RETL event's timestamp was rewritten
    TEMPLATE_VALUE = "template-value"  # a setting took a value from the event (removed from it)
    TEMPLATE_DEFAULT = "template-default"  # a setting took its template's default
    TEMPLATE_IGNORED = "template-ignored"  # a setting looks like a template but is not one: used as written
    TEMPLATES_SKIPPED = "templates-skipped"  # hasDynamicConfig is false: templates are used as written
    CONFIG_NOT_OBJECT = "config-not-object"  # Config is a string/list/number: its settings read as undefined


@dataclass(frozen=True)
class RouteNote:
    """One thing the route did, with a sentence that never holds an unmasked key."""

    step: RouteStep
    text: str
    setting: str = ""  # where in Config ("apiKey", "rudderEventsToFreshsalesEvents[0].to")
    template: str = ""
    source: str = ""  # the path read from the item ("message.userId")
    shown_value: str = ""  # the value as a person may see it (masked for the key)
    removed: bool = False  # the value was taken out of the item before the destination ran


@dataclass
class RoutedItem:
    message: Any
    destination: Any
    notes: list[RouteNote] = field(default_factory=list)
    error: str | None = None  # JavaScript's error text when the route itself throws (RudderStack answers 500)

    @property
    def removed_paths(self) -> list[str]:
        """Message paths (without ``message.``) the templates took out of the event."""
        return [n.source.removeprefix("message.") for n in self.notes
                if n.removed and n.source.startswith("message.")]


def route_item(message: Any, destination: Any, metadata: Any = UNDEFINED) -> RoutedItem:
    """What the destination code receives for one processor item; absent keys are ``UNDEFINED``.

    Never changes its arguments.
    """
    if type(message) is dict and type(destination) is dict and _nothing_to_route(message, destination):
        return RoutedItem(dict(message), destination)  # what the full route would build, without the copying
    return full_route(message, destination, metadata)


def full_route(message: Any, destination: Any, metadata: Any = UNDEFINED) -> RoutedItem:
    """``route_item`` without its shortcut: every step, even when nothing can change."""
    notes: list[RouteNote] = []
    message = _spread_message(message, notes)
    try:
        _retl_timestamp(message, notes)
    except JsTypeError as exc:  # a type array holding an object with its own toString key
        return RoutedItem(message, destination, notes, str(exc))
    item: dict[str, Any] = {"message": message}
    if destination is not UNDEFINED:
        item["destination"] = destination
    if metadata is not UNDEFINED:
        item["metadata"] = metadata
    item["request"] = {"query": {}}  # DestinationPreTransformationService.preProcess
    if isinstance(destination, dict) and destination.get("hasDynamicConfig", UNDEFINED) is False:
        if holds_template(destination.get("Config")):
            notes.append(RouteNote(RouteStep.TEMPLATES_SKIPPED, "hasDynamicConfig is false, so RudderStack does "
                                   "not fill the {{ ... }} templates in the settings: they are used as written."))
        return RoutedItem(message, destination, notes)
    if destination is None or destination is UNDEFINED:
        return RoutedItem(message, destination, notes,
                          f"Cannot read properties of {js_string(destination)} (reading 'Config')")
    routed = _spread(destination)
    owned = {id(item), id(message), id(routed)}  # made here: templates may change them in place
    routed["Config"] = _clone(destination.get("Config", UNDEFINED) if isinstance(destination, dict) else UNDEFINED,
                              owned)
    item["destination"] = routed
    try:
        config = _configure(routed["Config"], item, notes, owned)
    except JsPathError as exc:
        return RoutedItem(item.get("message", UNDEFINED), routed, notes, str(exc))
    routed = item.get("destination", UNDEFINED)
    if not isinstance(routed, dict):  # a template took the destination itself away
        return RoutedItem(item.get("message", UNDEFINED), routed, notes,
                          "Cannot set properties of undefined (setting 'Config')")
    routed["Config"] = config
    config = routed["Config"]
    if config is not None and config is not UNDEFINED and not isinstance(config, dict):
        notes.append(RouteNote(RouteStep.CONFIG_NOT_OBJECT, f"Config is {json_kind(config)}, not an object: "
                               "JavaScript reads its apiKey, domain and event mappings as undefined."))
    return RoutedItem(item.get("message", UNDEFINED), routed, notes)


def _nothing_to_route(message: dict, destination: dict) -> bool:
    """Whether the route would hand the destination its item unchanged: settings an object without
    templates (so the clone equals them) and not a RETL event (whose timestamp the route rewrites)."""
    channel = message.get("channel")
    config = destination.get("Config")
    return not (type(channel) is str and channel == RETL_CHANNEL) and type(config) is dict \
        and not holds_template(config)


# --- 1. handleTimestampInEvents ------------------------------------------------------------------

def _spread(value: Any) -> dict:
    """``{...value}`` for JSON data: own keys of an object, indexes of an array or string, else nothing."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, str)):
        return {str(i): v for i, v in enumerate(value)}
    return {}


def _spread_message(message: Any, notes: list[RouteNote]) -> dict:
    if not isinstance(message, dict):
        what = "missing" if message is UNDEFINED else json_kind(message)
        notes.append(RouteNote(RouteStep.MESSAGE_REPLACED, f"The message is {what}: RudderStack's route copies "
                               "it as {...message}, which has no type, so the destination rejects it."))
    return _spread(message)


def _retl_timestamp(message: dict, notes: list[RouteNote]) -> None:
    channel = message.get("channel")
    if not (isinstance(channel, str) and channel == RETL_CHANNEL):
        return
    if truthy(get_value(message, "context.mappedToDestination")):
        return
    keys = RETL_TIMESTAMP_KEYS.get(_property_key(message.get("type", UNDEFINED)))
    if keys is None:
        return
    for path in keys:
        value = get_value(message, path)
        if is_set(value):
            message["timestamp"] = value
            notes.append(RouteNote(RouteStep.RETL_TIMESTAMP, f"RETL event (channel \"sources\"): timestamp taken "
                                   f"from {path}.", source=path, shown_value=js_string(value)))
            return
    message["timestamp"] = None
    notes.append(RouteNote(RouteStep.RETL_TIMESTAMP, "RETL event (channel \"sources\"): none of "
                           f"{', '.join(keys)} is set, so RudderStack sets timestamp to null.", shown_value="null"))


def _property_key(value: Any) -> str | None:
    """The string a JavaScript object index ``map[value]`` looks up (None: no identify/track match)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return js_string(value)  # String(array): may throw like JavaScript's ToPrimitive
    if isinstance(value, dict) and "toString" in value:
        js_string(value)  # throws: the property key of such an object cannot be computed
    return None  # numbers, booleans, null and plain objects never name "identify" or "track"


# --- 2. DynamicConfigParser ------------------------------------------------------------------------

def _clone(value: Any, owned: set[int]) -> Any:
    """structuredClone of JSON data, as a loop (no recursion limit); every new container joins ``owned``."""
    if not isinstance(value, (dict, list)):
        return value
    root = dict(value) if isinstance(value, dict) else list(value)
    owned.add(id(root))
    pending = [root]
    while pending:
        container = pending.pop()
        keys = container.keys() if isinstance(container, dict) else range(len(container))
        for key in keys:
            child = container[key]
            if isinstance(child, (dict, list)):
                container[key] = copy = dict(child) if isinstance(child, dict) else list(child)
                owned.add(id(copy))
                pending.append(copy)
    return root


def holds_template(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "{{" in item:
            return True
        if isinstance(item, (dict, list)):
            pending.extend(item.values() if isinstance(item, dict) else item)
    return False


def _configure(config: Any, item: dict, notes: list[RouteNote], owned: set[int]) -> Any:
    """configureVal: strings are filled in place, depth first in key order, as a loop."""
    if isinstance(config, str):
        return _fill(config, "Config", item, notes, owned)
    if not isinstance(config, (dict, list)):
        return config
    stack: list[tuple[Any, list, str]] = [(config, _keys(config), "")]
    while stack:
        container, keys, where = stack[-1]
        if not keys:
            stack.pop()
            continue
        key = keys.pop()
        setting = f"{where}[{key}]" if isinstance(container, list) else (f"{where}.{key}" if where else key)
        value = container.get(key, UNDEFINED) if isinstance(container, dict) else container[key]
        if isinstance(value, str):
            container[key] = _fill(value, setting, item, notes, owned)
        elif isinstance(value, (dict, list)):
            stack.append((value, _keys(value), setting))
        elif isinstance(container, dict) and key not in container:
            container[key] = UNDEFINED  # `value[key] = configureVal(value[key])` brings back a removed key
    return config


def _keys(container: dict | list) -> list:
    """The keys to visit, reversed so that ``pop()`` yields them in order."""
    keys = list(container) if isinstance(container, dict) else list(range(len(container)))
    keys.reverse()
    return keys


def parse_template(text: str) -> tuple[str, str] | None:
    """``(path, default)`` of ``{{ path || default }}``, or None when the text is not such a template."""
    trimmed = js_trim(text)
    if not (trimmed.startswith("{{") and trimmed.endswith("}}")):
        return None
    content = js_trim(trimmed[2:-2])
    separator = content.find("||")
    if separator < 0:
        return None
    path, default = js_trim(content[:separator]), js_trim(content[separator + 2:])
    if not _TEMPLATE_PATH.fullmatch(path):
        return None
    return path, default


def masked_template(text: str) -> str:
    """A key setting as it may be shown: a template keeps its path, and its default (often the real key) is masked."""
    parsed = parse_template(text)
    if parsed is None:
        return mask_key(text) if "{{" in text else text
    path, default = parsed
    filled = js_trim(default.replace('"', ""))
    return f'{{{{ {path} || "{mask_key(filled)}" }}}}' if filled else text.strip()


def _fill(text: str, setting: str, item: dict, notes: list[RouteNote], owned: set[int]) -> Any:
    if "{{" not in text:
        return text
    if setting in SECRET_SETTINGS:
        return _fill_shown(text, masked_template(text), setting, item, notes, owned)
    return _fill_shown(text, text.strip(), setting, item, notes, owned)


def _fill_shown(text: str, quoted: str, setting: str, item: dict, notes: list[RouteNote], owned: set[int]) -> Any:
    """Fill ``text``; the notes quote it as ``quoted`` (a key template's default masked)."""
    parsed = parse_template(text)
    if parsed is None:
        notes.append(RouteNote(RouteStep.TEMPLATE_IGNORED, f"{setting} contains {{{{ but is not a "
                               "{{ path || default }} template RudderStack understands, so it is used as written.",
                               setting=setting, template=quoted))
        return text
    path, default = parsed
    field_path = "message." + path[len("event."):] if path.startswith("event.") else path
    value = get_value(item, field_path)
    if value is not None and value is not UNDEFINED:
        removed = unset_value(item, field_path, owned)
        shown = _shown(setting, value)
        gone = (f"; RudderStack then removed {field_path} from the event before the destination ran" if removed
                else f"; RudderStack leaves {field_path} in the event because the value is empty")
        notes.append(RouteNote(RouteStep.TEMPLATE_VALUE, f"{setting} came from {quoted}: the value from "
                               f"{field_path} ({shown}){gone}.", setting, quoted, field_path, shown, removed))
        return value
    filled = js_trim(default.replace('"', ""))
    shown = _shown(setting, filled)
    notes.append(RouteNote(RouteStep.TEMPLATE_DEFAULT, f"{setting} came from {quoted}: {field_path} is "
                           f"{'null' if value is None else 'not set'}, so the default was used ({shown}).",
                           setting, quoted, field_path, shown))
    return filled


def _shown(setting: str, value: Any) -> str:
    """A value as the trace may show it: the key masked like any key, everything else in full."""
    if setting in SECRET_SETTINGS:
        return mask_key(value if isinstance(value, str) else _printable(value))
    return _printable(value) if not isinstance(value, str) else repr_text(value)


def _printable(value: Any) -> str:
    try:
        return js_string(value)
    except (TypeError, ValueError):
        return "[object Object]"


def repr_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

"""The npm packages RudderStack's route uses on dynamic config paths, as rules for JSON data in Python.

``get-value`` 3 (read a dotted path), ``has-values`` 2 (is a value "non-empty") and ``unset-value`` 2
(delete the path). They differ from a plain dict walk in ways that decide what the route does:

* ``key in object`` sees inherited properties, so ``message.toString`` finds ``Object.prototype.toString``
  (a function) and an array answers ``length``;
* a missing segment is retried joined with the following ones (``{"address.city": x}``);
* ``unset-value`` deletes only when ``has-values`` calls the value non-empty (``""``, ``{}``, ``[]`` and
  objects holding only such values stay), walks the plain segments (so a value found through a dotted key
  makes it delete on ``undefined`` and throw), refuses ``__proto__``/``constructor``/``prototype`` on the
  way, and in strict mode cannot delete an array's ``length``.

Every walk here is a loop, so values nested 10,000 deep are fine.
"""

from __future__ import annotations

from typing import Any

from freshsales_mapper.engine.jsvalue import UNDEFINED, is_number

# Properties every plain object inherits from Object.prototype (what `key in {}` is true for).
OBJECT_PROTOTYPE = frozenset((
    "constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__",
    "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf", "__proto__",
    "toLocaleString",
))
# And the ones arrays add from Array.prototype.
ARRAY_PROTOTYPE = OBJECT_PROTOTYPE | frozenset((
    "at", "concat", "copyWithin", "fill", "find", "findIndex", "findLast", "findLastIndex", "lastIndexOf",
    "pop", "push", "reverse", "shift", "unshift", "slice", "sort", "splice", "includes", "indexOf", "join",
    "keys", "entries", "values", "forEach", "filter", "flat", "flatMap", "map", "every", "some", "reduce",
    "reduceRight", "toLocaleString", "toReversed", "toSorted", "toSpliced", "with",
))


class JsFunction(str):
    """An inherited method a path reached (``message.toString``); as text it is what ``String(fn)`` prints."""

    __slots__ = ()

    @classmethod
    def named(cls, name: str) -> JsFunction:
        return cls(f"function {name}() {{ [native code] }}")


class JsPathError(Exception):
    """A JavaScript TypeError/Error thrown by the path packages; ``str()`` is JavaScript's text."""


def _is_index(key: str, length: int) -> bool:
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) < length


def has_property(target: Any, key: str) -> bool:
    """``key in target`` for a JSON object or array (own or inherited)."""
    if isinstance(target, dict):
        return key in target or key in OBJECT_PROTOTYPE
    if isinstance(target, list):
        return key == "length" or _is_index(key, len(target)) or key in ARRAY_PROTOTYPE
    return False  # a JsFunction: its own properties are not modelled


def property_of(target: Any, key: str) -> Any:
    """``target[key]`` for a JSON object or array; an inherited method is a :class:`JsFunction`."""
    if isinstance(target, dict):
        if key in target:
            return target[key]
        inherited = OBJECT_PROTOTYPE
    elif isinstance(target, list):
        if key == "length":
            return len(target)
        if _is_index(key, len(target)):
            return target[int(key)]
        inherited = ARRAY_PROTOTYPE
    else:
        return UNDEFINED
    if key == "__proto__":
        return {}  # the prototype object; its own properties are not modelled
    return JsFunction.named(key) if key in inherited else UNDEFINED


def _walkable(value: Any) -> bool:
    return isinstance(value, (dict, list)) or type(value) is JsFunction


def get_value(target: Any, path: str) -> Any:
    """``get-value``: the value at a dotted path, ``UNDEFINED`` when there is none."""
    if not _walkable(target):
        return UNDEFINED
    if has_property(target, path):
        return property_of(target, path)
    segs = path.split(".")
    index = 0
    while True:
        prop = segs[index]
        if has_property(target, prop):
            target = property_of(target, prop)
        else:
            found = False
            for nxt in range(index + 1, len(segs)):
                prop = prop + "." + segs[nxt]
                if has_property(target, prop):
                    target, index, found = property_of(target, prop), nxt, True
                    break
            if not found:
                return UNDEFINED
        index += 1
        if index >= len(segs):
            return target
        if not _walkable(target):
            return UNDEFINED


def has_values(value: Any) -> bool:
    """``has-values``: false for undefined, ``""`` and objects/arrays with nothing but such values inside."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, (dict, list)):
            pending.extend(item.values() if isinstance(item, dict) else item)
        elif item is UNDEFINED or (isinstance(item, str) and item == "" and type(item) is not JsFunction):
            continue
        else:
            return True  # null, booleans, numbers, functions and non-empty strings all count
    return False


def unset_value(target: dict, path: str, owned: set[int] | None = None) -> bool:
    """``unset-value`` on the route's event object; True when a key was deleted.

    A container on the way that is not in ``owned`` (ids of containers the caller made itself) is replaced
    by a shallow copy first, so the caller's data is never changed (RudderStack changes the objects it was
    given; nobody reads them afterwards). ``None`` owns nothing.
    """
    owned = set() if owned is None else owned
    if path in target:  # obj.hasOwnProperty(path) on the whole path first
        del target[path]
        return True
    if not has_values(get_value(target, path)):
        return False
    *parents, last = path.split(".")
    holder: Any = target
    for seg in parents:
        if seg in ("__proto__", "constructor", "prototype"):
            raise JsPathError(f'Cannot set unsafe key: "{seg}"')
        child = property_of(holder, seg) if _walkable(holder) else UNDEFINED
        if holder is None or holder is UNDEFINED:
            raise JsPathError(f"Cannot read properties of {'null' if holder is None else 'undefined'} "
                              f"(reading '{seg}')")
        if (isinstance(child, (dict, list)) and id(child) not in owned and isinstance(holder, dict)
                and seg in holder):
            child = holder[seg] = dict(child) if isinstance(child, dict) else list(child)
            owned.add(id(child))
        holder = child
    if holder is None or holder is UNDEFINED:
        raise JsPathError("Cannot convert undefined or null to object")
    if isinstance(holder, dict):
        holder.pop(last, None)
    elif isinstance(holder, list) and last == "length":
        raise JsPathError("Cannot delete property 'length' of [object Array]")
    return True


def json_kind(value: Any) -> str:
    """A short word for what a template found, for the trace."""
    if isinstance(value, JsFunction):
        return "a function"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    return "a string" if isinstance(value, str) else "null"

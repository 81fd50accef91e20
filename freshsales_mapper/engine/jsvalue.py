"""JavaScript value semantics, written for Python, so the engine decides exactly as RudderStack does.

RudderStack's transformer is JavaScript: a path lookup is the npm package ``get-value`` v3 and "is it
set?" is JS truthiness (here); coercions are ``Number(x)`` and ``Number.parseFloat(x)`` (``jsnumber``). Python's own
rules differ in many small places (``float("inf")``, ``"1_000"``, ``str.strip`` whitespace, ``1.0``
printing as ``1.0``), and each difference would change what the playground claims is sent.
"""

from __future__ import annotations

import re
import sys
from typing import Any


class _Undefined:
    """JavaScript ``undefined``: a path that resolved to nothing (distinct from JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

# RudderStack reads values nested thousands of levels deep (JSON.parse and V8 manage about 4,000 levels of
# its own recursion, more in loops); the stdlib json and this engine recurse once per level, so Python's
# default limit of 1,000 would lose such events. 10,000 levels must work; the C parser's stack use per
# level is small enough for this limit even in a worker thread with the default 8 MB stack.
DEEPEST_VALUE = 20_000
_RECURSION_LIMIT = DEEPEST_VALUE + 2_000


def allow_deep_values() -> None:
    """Raise Python's recursion limit (once, never lowering it) so deeply nested JSON values work."""
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON data nests more than ``limit`` levels (a loop: safe at any depth)."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth >= limit:
                return True
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


class JsTypeError(TypeError):
    """A TypeError JavaScript would throw here (RudderStack answers 500); ``str()`` is its text."""

# ECMAScript WhiteSpace + LineTerminator: what String.prototype.trim, Number() and /\s/ skip.
JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
JS_WHITESPACE_RUN = re.compile(f"[{JS_WHITESPACE}]+")
_ARRAY_INDEX = re.compile(r"(?:0|[1-9][0-9]*)\Z")
MAX_SAFE_INTEGER = 2**53 - 1


def js_trim(text: str) -> str:
    return text.strip(JS_WHITESPACE)


# --- path lookup -------------------------------------------------------------------------------

def _has(target: Any, key: str) -> bool:
    if isinstance(target, dict):
        return key in target
    # Arrays answer canonical indexes and "length", like `key in array` in JavaScript.
    return key == "length" or (_ARRAY_INDEX.match(key) is not None and int(key) < len(target))


def _child(target: Any, key: str) -> Any:
    if isinstance(target, dict):
        return target[key]
    return len(target) if key == "length" else target[int(key)]


def get_path(target: Any, path: str, segments: tuple[str, ...] | None = None) -> Any:
    """``get-value`` v3: dotted path lookup returning ``UNDEFINED`` when it resolves to nothing.

    Quirks kept on purpose: the whole path is first tried as one literal key, and when a segment is
    missing the rest are joined back with dots and tried as a literal key (``{"address.city": x}``).
    """
    segs = segments if segments is not None else tuple(path.split("."))
    if type(target) is dict:
        if path in target:
            return target[path]
        # Hot path of every transform: walk plain dicts inline; anything unusual takes the full rules.
        last = len(segs) - 1
        for index, seg in enumerate(segs):
            if type(target) is not dict:
                return _walk(target, segs, index)
            if seg in target:
                target = target[seg]
            elif index == last or "." not in "".join(target):
                return UNDEFINED  # no dotted key here, so no joined-key fallback can match
            else:
                return _walk(target, segs, index)
        return target
    if isinstance(target, (dict, list)):
        if _has(target, path):
            return _child(target, path)
        return _walk(target, segs, 0)
    return UNDEFINED


def _walk(target: Any, segs: tuple[str, ...], index: int) -> Any:
    """get-value's loop from segment ``index`` on, for arrays, scalars and missing segments."""
    count = len(segs)
    while True:
        if not isinstance(target, (dict, list)):
            return UNDEFINED
        prop = segs[index]
        if _has(target, prop):
            target = _child(target, prop)
        else:
            target, index = _joined_key(target, segs, index)
            if target is UNDEFINED:
                return UNDEFINED
        index += 1
        if index >= count:
            return target


def _joined_key(target: Any, segs: tuple[str, ...], index: int) -> tuple[Any, int]:
    """The segment is missing: try it joined with the following ones as one literal key."""
    prop = segs[index]
    for nxt in range(index + 1, len(segs)):
        prop = prop + "." + segs[nxt]
        if _has(target, prop):
            return _child(target, prop), nxt
    return UNDEFINED, index


class MessageReader:
    """Reads many paths of one message, resolving each shared parent object (``context.traits``) once.

    Exactly ``get_path``: a parent that holds a dotted key, or an array on the way, sends its paths
    through ``get_path`` itself, since only then can the literal-key fallbacks or index rules apply.
    """

    __slots__ = ("message", "parents")

    def __init__(self, message: Any):
        self.message = message
        self.parents: dict[tuple[str, ...], Any] = {}  # resolved parents, never None

    def get(self, path: str, segments: tuple[str, ...]) -> Any:
        node = self.parent(segments[:-1])
        if type(node) is dict:
            return node.get(segments[-1], UNDEFINED)
        if node is UNDEFINED:
            return UNDEFINED
        return get_path(self.message, path, segments)

    def parent(self, segments: tuple[str, ...]) -> Any:
        """The object holding the leaf: a dict, ``UNDEFINED``, or ``USE_GET_PATH``."""
        node = self.parents.get(segments, _UNRESOLVED)
        if node is _UNRESOLVED:
            if segments:
                above = self.parent(segments[:-1])
                node = _usable(above.get(segments[-1], UNDEFINED)) if type(above) is dict else above
            else:
                node = _usable(self.message)
            self.parents[segments] = node
        return node


def _usable(node: Any) -> Any:
    """A dict whose keys have no dots can be read by plain key; arrays and dotted keys need get_path."""
    if type(node) is dict:
        return USE_GET_PATH if "." in "".join(node) else node
    return USE_GET_PATH if isinstance(node, (dict, list)) else UNDEFINED


_UNRESOLVED = object()
USE_GET_PATH = object()


# --- truthiness ----------------------------------------------------------------------------------

def truthy(value: Any) -> bool:
    if value is None or value is UNDEFINED or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, (int, float)):
        return value == value and value != 0  # NaN and ±0 are falsy
    if isinstance(value, str):
        return value != ""
    return True  # objects and arrays, even empty ones


def is_set(value: Any) -> bool:
    """RudderStack's ``value || value === 0 || value === false``."""
    if value is False:
        return True
    if isinstance(value, (int, float)) and value is not True:
        return value == value  # everything but NaN (0 and -0 count as set)
    return truthy(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def type_name(value: Any) -> str:
    """A JSON-ish type name for messages ("a string", "an object")."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"

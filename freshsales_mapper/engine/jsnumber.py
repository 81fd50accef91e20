"""JavaScript's numbers and strings for Python: ``String(x)``, ``Number(x)``, ``parseFloat``, strict
equality, how JS prints a number, and what ``JSON.stringify`` makes of a value.

Each of these decides what the playground claims is sent: ``"0x10"`` is 16 for ``Number()``, ``12.0`` is
sent as ``12``, integers past 2^53 keep only a double's digits and Infinity becomes null.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from freshsales_mapper.engine.jsvalue import JS_WHITESPACE, MAX_SAFE_INTEGER, UNDEFINED, JsTypeError, is_number, js_trim

_DECIMAL_LITERAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_DECIMAL_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_RADIX_LITERAL = re.compile(r"0([xXoObB])([0-9a-fA-F]+)\Z")
_RADIX = {"x": 16, "o": 8, "b": 2}


# --- String(x) and number printing ---------------------------------------------------------------

def _float_of(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # JS parses such an integer literal as ±Infinity
        return math.inf if value > 0 else -math.inf


def js_number_string(value: int | float) -> str:
    """``Number.prototype.toString()``: shortest round-trip digits, JS exponent thresholds."""
    if isinstance(value, int) and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return str(value)
    number = _float_of(value)
    if number != number:
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr() already gives the shortest round-trip digits; only the layout differs from JS.
    _, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exponent  # value = 0.<digits> * 10**point
    k = len(digits)
    if k <= point <= 21:
        text = digits + "0" * (point - k)
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * (-point) + digits
    else:
        e = point - 1
        tail = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{tail}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def js_string(value: Any) -> str:
    """``String(x)``, which is also what a template literal ``${x}`` prints."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if is_number(value):
        return js_number_string(value)
    if isinstance(value, list):
        return _joined(value)
    if "toString" in value:  # ToPrimitive finds an own toString that is not a function, nor is valueOf's result
        raise JsTypeError("Cannot convert object to primitive value")
    return "[object Object]"


def _joined(array: list) -> str:
    """``Array.prototype.join(",")``, nested arrays included, as a loop."""
    out: list[str] = []
    stack: list[tuple[list, int]] = [(array, 0)]
    while stack:
        current, index = stack.pop()
        if index >= len(current):
            continue
        if index:
            out.append(",")
        stack.append((current, index + 1))
        element = current[index]
        if isinstance(element, list):
            stack.append((element, 0))
        elif element is not None and element is not UNDEFINED:
            out.append(js_string(element))
    return "".join(out)


def display_string(value: Any) -> str:
    """``String(x)`` for messages we write ourselves, where JavaScript's TypeError must not escape."""
    try:
        return js_string(value)
    except JsTypeError:
        return "[object with its own toString]"


# --- coercions -----------------------------------------------------------------------------------

def to_number(value: Any) -> float | int:
    """JavaScript ``Number(x)``."""
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if value is UNDEFINED:
        return math.nan
    if is_number(value):
        return value
    if isinstance(value, (list, dict)):
        value = js_string(value)
    text = js_trim(value)
    if text == "":
        return 0
    if _DECIMAL_LITERAL.match(text):
        return float(text)
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    radix = _RADIX_LITERAL.match(text)
    if radix:
        try:
            return float(int(radix.group(2), _RADIX[radix.group(1).lower()]))
        except (ValueError, OverflowError):
            return math.nan
    return math.nan


def radix_of(text: str) -> int | None:
    """The base of a ``0x``/``0o``/``0b`` literal that ``Number()`` accepts, else None."""
    match = _RADIX_LITERAL.match(js_trim(text))
    return _RADIX[match.group(1).lower()] if match else None


def parse_float(value: Any) -> float:
    """JavaScript ``Number.parseFloat(x)``: the longest numeric prefix of ``String(x)``."""
    text = js_string(value).lstrip(JS_WHITESPACE)
    match = _DECIMAL_PREFIX.match(text)
    if not match:
        return math.nan
    literal = match.group(0)
    if literal.endswith("Infinity"):
        return -math.inf if literal.startswith("-") else math.inf
    return float(literal)


def strict_equal(a: Any, b: Any) -> bool:
    """``a === b`` for values that came from JSON (objects compare by identity)."""
    if is_number(a) and is_number(b):
        return _float_of(a) == _float_of(b)
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return a is b
    return type(a) is type(b) and a == b


# --- what JSON.stringify would write --------------------------------------------------------------

def js_json_value(value: Any) -> Any:
    """The value a JavaScript ``JSON.stringify`` round trip would produce, as Python data.

    Integral doubles become ints (``12.0`` is sent as ``12``), integers past 2^53 take the digits a
    double keeps (JS prints 12345678901234567890 as 12345678901234567000), and NaN/Infinity become
    null. Strings, booleans and None pass through.
    """
    kind = type(value)
    if kind is dict:  # request bodies: mostly strings, which need no work (checked inline: the bulk hot path)
        return {k: v if type(v) is str else js_json_value(v) for k, v in value.items() if v is not UNDEFINED}
    if kind is str or kind is bool or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        return _json_double(_float_of(value))
    if isinstance(value, float):
        return _json_double(value)
    if isinstance(value, dict):
        return {k: js_json_value(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [None if v is UNDEFINED else js_json_value(v) for v in value]
    return value


def _json_double(number: float) -> int | float | None:
    if number != number or math.isinf(number):
        return None
    if number.is_integer() and abs(number) < 1e21:
        return int(js_number_string(number)) if abs(number) > MAX_SAFE_INTEGER else int(number)
    return number

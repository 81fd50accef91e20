"""Masking the API key in whatever a server sends back, however it is written.

A hostile or careless server may echo the key: raw, JSON-escaped (``\\"``, ``\\\\``, ``\\/``, any
character as ``\\u00XX``), or percent-encoded in a redirect. Replies are masked twice: the decoded JSON
value is walked (every string and object key), and the raw text is matched against a pattern that
accepts every one of those spellings per character.

A short key (under 12 characters) is only masked where it stands alone, not inside a longer word or
number, so that a key like ``k`` cannot turn ``token`` into ``to****en``; numbers are never rewritten,
so masking cannot break a reply's JSON.
"""

from __future__ import annotations

import re
from typing import Any

from freshsales_mapper.engine.secret import SHOW_TAIL_FROM, mask_key

_ALNUM = "0-9A-Za-z"
_JSON_SHORT_ESCAPES = {'"': r'\\"', "\\": r"\\\\", "/": r"\\/"}


def _spellings(char: str) -> str:
    """A regex for one key character written raw, \\u-escaped, JSON-escaped or percent-encoded."""
    code = ord(char)
    forms = [re.escape(char), rf"\\u(?i:{code:04x})"]
    if code < 0x80:
        forms.append(rf"%(?i:{code:02x})")
    if char in _JSON_SHORT_ESCAPES:
        forms.append(_JSON_SHORT_ESCAPES[char])
    return "(?:" + "|".join(forms) + ")"


class KeyMasker:
    """Replaces one API key with its mask in text and in decoded JSON values."""

    __slots__ = ("_mask", "_pattern")

    def __init__(self, key: str):
        self._mask = mask_key(key)
        pattern = "".join(_spellings(char) for char in key)
        if len(key) < SHOW_TAIL_FROM:
            pattern = rf"(?<![{_ALNUM}]){pattern}(?![{_ALNUM}])"
        self._pattern = re.compile(pattern)

    def __repr__(self) -> str:
        return f"KeyMasker({self._mask})"

    def text(self, text: str) -> str:
        """``text`` with every spelling of the key replaced by its mask."""
        return self._pattern.sub(self._mask, text)

    def value(self, value: Any) -> Any:
        """A decoded JSON value with the key masked in every string and object key (numbers untouched).

        Returns ``value`` itself when nothing needed masking, so clean replies cost no copy.
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            masked = [self.value(item) for item in value]
            return value if all(a is b for a, b in zip(masked, value, strict=True)) else masked
        if isinstance(value, dict):
            pairs = [(self.text(k) if isinstance(k, str) else k, self.value(v)) for k, v in value.items()]
            if all(k1 is k2 and v1 is v2 for (k1, v1), (k2, v2) in zip(pairs, value.items(), strict=True)):
                return value
            return dict(pairs)
        return value

"""Keeping the API key out of everything a person or a log can see."""

from __future__ import annotations

MASK = "****"


def mask_key(key: object) -> str:
    """``****`` plus the last 4 characters; a key too short to hide its tail is masked whole."""
    text = "" if key is None else str(key)
    return MASK + text[-4:] if len(text) >= 8 else MASK


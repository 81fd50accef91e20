"""Keeping the API key out of everything a person or a log can see."""

from __future__ import annotations

MASK = "****"


def mask_key(key: object) -> str:
    """``****`` plus the last 4 characters; a key too short to hide its tail is masked whole."""
    text = "" if key is None else str(key)
    return MASK + text[-4:] if len(text) >= 8 else MASK


def mask_authorization(value: str, key: object) -> str:
    """The Authorization header with the key masked (the key is known, so no guessing at its shape)."""
    text = "" if key is None else str(key)
    return value.replace(text, mask_key(text)) if text else value

"""Keeping the API key out of everything a person or a log can see."""

from __future__ import annotations

MASK = "****"
# What previews send when no key is given (the page, `transform` without --api-key): no secret, shown as is.
PLACEHOLDER_KEY = "YOUR_API_KEY"
# Below this length the last 4 characters are too large a share of the key to show.
SHOW_TAIL_FROM = 12


def mask_key(key: object) -> str:
    """``****`` plus the last 4 characters; a key shorter than 12 characters is masked whole."""
    text = "" if key is None else str(key)
    if text == PLACEHOLDER_KEY:
        return text
    if text.startswith(MASK) and len(text) <= len(MASK) + 4:
        return text  # already masked (views mask keys that were masked upstream): keep it as it is
    return MASK + text[-4:] if len(text) >= SHOW_TAIL_FROM else MASK


def key_fingerprint(key: str) -> str:
    """A short SHA-256 digest of the key: it tells two keys apart (a journal's target, a confirmation) without
    being the key, and unlike the last 4 characters it says nothing about the key's text."""
    import hashlib  # local: the engine's import-time cost stays flat (tests/test_layout.py)

    return hashlib.sha256(key.strip().encode("utf-8", "surrogatepass")).hexdigest()[:16]

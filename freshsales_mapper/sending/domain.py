"""Where the API key may go: the Freshsales host for what a user typed, or a loopback emulator URL."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

API_PREFIX = "/crm/sales/api/"
FRESHSALES_SUFFIXES = (".myfreshworks.com", ".freshworks.com")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


class DomainError(ValueError):
    """The configured Freshsales domain (or emulator base URL) is not a place we may send the key to."""


def normalize_domain(text: str) -> str:
    """Return the Freshsales host for what a user typed, or raise ``DomainError`` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise DomainError("the Freshsales domain is empty; enter e.g. acme.myfreshworks.com")
    host = text.strip().lower()
    if re.search(r"\s", host):
        raise DomainError(f"the domain {text.strip()!r} contains whitespace")
    if host.startswith("http://"):
        raise DomainError("use https:// (or no scheme): Freshsales is only reached over HTTPS, "
                          "and the API key must not travel unencrypted")
    if host.startswith("https://"):
        host = host[len("https://"):]
    elif "://" in host:
        raise DomainError(f"unsupported scheme in {text.strip()!r}; use https:// or just the host")
    if "@" in host:
        raise DomainError("the domain must not contain credentials (user:password@); "
                          "the API key goes in its own field")
    if "?" in host or "#" in host:
        raise DomainError("the domain must not contain a query (?) or fragment (#)")
    host = host.removesuffix("/")
    if "/" in host:
        raise DomainError("enter only the host, without a path: /crm/sales/api/... is added automatically")
    if ":" in host:
        raise DomainError("the domain must not contain a port; Freshsales is always on the HTTPS port")
    if "." not in host:
        host += ".myfreshworks.com"
    suffix = next((s for s in FRESHSALES_SUFFIXES if host.endswith(s) or host == s[1:]), None)
    if suffix is None:
        legacy = " (freshsales.io is the retired Classic API)" if host.endswith(".freshsales.io") else ""
        raise DomainError(f"{host} is not a Freshsales host{legacy}; the API key is only sent to "
                          "<org>.myfreshworks.com or <org>.freshworks.com")
    label = host[: -len(suffix)] if host.endswith(suffix) else ""
    if not label:
        raise DomainError(f"{host} lacks your organisation's name in front (e.g. acme{suffix})")
    if "." in label or not _LABEL.match(label):
        raise DomainError(f"{label!r} is not a valid organisation name: use one label of letters, "
                          "digits and hyphens (not at either end)")
    return host


def loopback_base_url(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in ("http", "https") or not loopback:
        raise DomainError(f"base_url must be an http(s) URL on this machine (127.0.0.1, localhost or ::1), "
                          f"got {base_url!r}; real Freshsales is reached through the domain setting")
    if parts.username or parts.password or parts.path.strip("/") or parts.query or parts.fragment:
        raise DomainError("base_url must be scheme://host:port only, without credentials, path or query")
    return f"{parts.scheme}://{parts.netloc}"

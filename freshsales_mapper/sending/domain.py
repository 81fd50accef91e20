"""Where the API key may go: the Freshsales host for what a user typed, or a loopback emulator URL."""

from __future__ import annotations

import ipaddress
import re

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


_NETLOC = re.compile(r"(?P<host>\[[^\[\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]{1,5}))?\Z")


def loopback_base_url(base_url: str) -> str:
    """``scheme://host[:port]`` when ``base_url`` surely points at this machine, else ``DomainError``.

    Parsed strictly, not with ``urlsplit``'s leniency: the port must be all digits (1-65535) and the host
    exactly ``localhost`` or a loopback IP literal, so ``http://localhost:80.evil.com`` or
    ``http://127.0.0.1:80:evil.com`` are refused here instead of failing (or going elsewhere) later.
    """
    text = base_url.strip() if isinstance(base_url, str) else ""
    scheme, sep, rest = text.partition("://")
    netloc, _slash, path = rest.partition("/")
    refused = (f"base_url must be an http(s) URL on this machine (127.0.0.1, localhost or ::1), got {base_url!r}; "
               "real Freshsales is reached through the domain setting")
    if not sep or scheme.lower() not in ("http", "https"):
        raise DomainError(refused)
    if "@" in netloc or path.strip("/") or "?" in text or "#" in text:
        raise DomainError("base_url must be scheme://host:port only, without credentials, path or query")
    match = _NETLOC.match(netloc)
    if match is None:
        raise DomainError(f"{refused} (the part after the host must be :PORT, digits only)")
    host, port = match["host"], match["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise DomainError(f"base_url port {port} is out of range (1-65535)")
    try:
        loopback = host.lower() == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback or (host.startswith("[") != (":" in host)):
        raise DomainError(refused)
    return f"{scheme.lower()}://{netloc.lower()}"

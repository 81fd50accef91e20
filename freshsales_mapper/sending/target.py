"""Which Freshsales account a send goes to: what binds a journal (or a confirmation) to one target.

A journal records what became of each event *at one account*. Its outcomes say nothing about another
account, so resuming against one would skip events that were never sent there. A target is where the
requests go (``https://<domain>`` or the emulator's loopback URL), the domain, and a fingerprint of the
key (never the key itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from freshsales_mapper.engine.secret import key_fingerprint


@dataclass(frozen=True, order=True)
class SendTarget:
    url: str  # where the requests go: https://<domain>, or the emulator's http://127.0.0.1:PORT
    domain: str
    key: str  # key_fingerprint(api key)

    @classmethod
    def of(cls, url: str, domain: str, api_key: str) -> SendTarget:
        return cls(url, domain, key_fingerprint(api_key))

    def describe(self) -> str:
        where = "" if self.url == f"https://{self.domain}" else f" at {self.url}"
        return f"{self.domain}{where} (key fingerprint {self.key})"

    def to_json(self) -> dict[str, str]:
        return {"url": self.url, "domain": self.domain, "key_sha256": self.key}

    @classmethod
    def from_json(cls, value: Any) -> SendTarget | None:
        if not isinstance(value, dict):
            return None
        fields = value.get("url"), value.get("domain"), value.get("key_sha256")
        return cls(*fields) if all(isinstance(f, str) and f for f in fields) else None

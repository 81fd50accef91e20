"""The API key on the wire: Freshsales' ``Authorization: Token token=<key>`` header, as a requests auth.

Giving requests an explicit ``auth`` is what keeps ``~/.netrc`` out: requests applies netrc only when a
request has no auth of its own, and a ``default`` netrc entry would otherwise replace the token.
"""

from __future__ import annotations

import re

from requests import PreparedRequest
from requests.auth import AuthBase

from freshsales_mapper.engine.secret import mask_key

_HEADER_UNSAFE = re.compile(r"[^\x21-\x7e]")


class Secret:
    """Holds the API key so that reprs, tracebacks with locals and ``vars()`` show only the mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return mask_key(self._value)

    __str__ = __repr__


def checked_key(api_key: object) -> str:
    """The key without surrounding blanks, or ValueError saying why it cannot go in a header."""
    if not isinstance(api_key, str) or not api_key.strip():
        raise ValueError("the Freshsales API key is empty")
    if _HEADER_UNSAFE.search(api_key.strip()):
        raise ValueError("the Freshsales API key contains spaces or characters a header cannot carry")
    return api_key.strip()


class TokenAuth(AuthBase):
    """Sets ``Authorization: Token token=<key>`` on each request it is given.

    :param api_key: the Freshsales API key (kept in a :class:`Secret`; ``repr`` shows only its mask).
    """

    def __init__(self, api_key: str):
        self._key = Secret(checked_key(api_key))

    @property
    def key(self) -> Secret:
        return self._key

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Token token={self._key.reveal()}"
        return request

    def __repr__(self) -> str:
        return f"TokenAuth({self._key!r})"

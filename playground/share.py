"""Share links: the events and the preview settings in the page's URL, never the API key.

The state travels as base64url(zlib(JSON)) in one query parameter, so a colleague who opens the link
sees the same mapping. Only what a preview depends on besides the key goes in: the events text, the
domain and the event mappings. The key setting is left out whatever it holds; if it is a dynamic-config
template (``{{ message.… }}``) the key comes from the events themselves, and the dialog says so before
anyone copies the link.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import pandas as pd
import streamlit as st

from freshsales_mapper.engine.route import parse_template
from freshsales_mapper.engine.secret import PLACEHOLDER_KEY

from . import state
from .display import markdown_literal
from .pipeline import MAPPING_TARGETS, Settings, parse_input

PARAM = "s"
VERSION = 1
MAX_TEXT_BYTES = 1_000_000  # what a link may unpack to; the page never makes more than 8,000 characters hold more
MAX_EVENTS = 5_000
MAX_TOKEN_CHARS = 8000  # long URLs get cut by chat tools, proxies and some browsers well before 64 KB
APPLIED = "_share_applied"  # the token this session has already loaded (so later edits are kept)
SHARE_BUTTON = "share_button"
SHARE_ANYWAY = "share_anyway"
OPEN = "_share_open"


class ShareError(ValueError):
    """A share link that cannot be read; the message says what is wrong with it."""


def own_keys(events: str) -> set[str]:
    """The API keys processor bodies in the events carry themselves (templates are not keys)."""
    found = set()
    for item in parse_input(events, "the text box").items:
        config = item.destination.get("Config") if isinstance(item.destination, dict) else None
        key = config.get("apiKey") if isinstance(config, dict) else None
        if isinstance(key, str) and key.strip() and "{{" not in key and key != PLACEHOLDER_KEY:
            found.add(key)
    return found


def without_keys(events: str) -> str:
    """The events with every processor body's own key replaced by the placeholder, formatting kept."""
    for key in sorted(own_keys(events), key=len, reverse=True):
        events = events.replace(json.dumps(key, ensure_ascii=False)[1:-1], PLACEHOLDER_KEY).replace(key, PLACEHOLDER_KEY)
    return events


@dataclass(frozen=True)
class SharedState:
    events: str
    domain: str
    mappings: tuple[tuple[str, str], ...]


def encode(shared: SharedState) -> str:
    document = {"v": VERSION, "events": shared.events, "domain": shared.domain,
                "mappings": [list(pair) for pair in shared.mappings]}
    packed = zlib.compress(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode(token: str) -> SharedState:
    if len(token) > MAX_TOKEN_CHARS:  # no link this page makes is longer; a forged one must not unpack into GBs
        raise ShareError(f"it is {len(token):,} characters long; share links hold at most {MAX_TOKEN_CHARS:,}")
    try:
        packed = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ShareError("it is not base64url text (was the link cut short or edited?)") from exc
    try:
        inflater = zlib.decompressobj()
        text = inflater.decompress(packed, MAX_TEXT_BYTES + 1)  # a forged link can inflate 1,000-fold: stop early
        if len(text) > MAX_TEXT_BYTES or inflater.unconsumed_tail:
            raise ShareError(f"it unpacks to more than {MAX_TEXT_BYTES:,} bytes of text; share links hold at most that")
        document = json.loads(text.decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShareError("its data does not unpack (was the link cut short?)") from exc
    if not isinstance(document, dict) or document.get("v") != VERSION:
        raise ShareError(f"it was made by another version of the playground (format {document.get('v')!r})"
                         if isinstance(document, dict) else "it does not hold the playground's settings")
    events, domain, mappings = document.get("events"), document.get("domain"), document.get("mappings")
    if not isinstance(events, str) or not isinstance(domain, str) or not isinstance(mappings, list):
        raise ShareError("it lacks the events, the domain or the event mappings")
    pairs = []
    for entry in mappings:
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)
                and entry[1] in MAPPING_TARGETS):
            raise ShareError(f"an event mapping in it is not a [from, to] pair: {json.dumps(entry)[:80]}")
        pairs.append((entry[0], entry[1]))
    parsed = parse_input(events, "the share link")
    if len(parsed.items) + len(parsed.errors) > MAX_EVENTS:
        raise ShareError(f"it holds {len(parsed.items) + len(parsed.errors):,} events; share links hold at most "
                         f"{MAX_EVENTS:,}")
    return SharedState(events, domain, tuple(pairs))


def too_long(token: str) -> str | None:
    if len(token) <= MAX_TOKEN_CHARS:
        return None
    return (f"These events are too large for a link: compressed they take {len(token):,} characters and a share "
            f"link holds at most {MAX_TOKEN_CHARS:,}. Share fewer events, or send the file itself.")


def key_comes_from_events(key_setting: str | None) -> bool:
    """A dynamic-config template in the key setting reads the key from each event: the events carry it."""
    return bool(key_setting) and parse_template(key_setting) is not None  # the route's own template rule


def link_for(page_url: str, token: str) -> str:
    parts = urlsplit(page_url or "")
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode({PARAM: token}), ""))


# ---------------------------------------------------------------------------------------------
# On the page


def apply_from_url() -> None:
    """Load a share link's state once per session, before the widgets are drawn."""
    token = st.query_params.get(PARAM)
    if not token or st.session_state.get(APPLIED) == token:
        return
    st.session_state[APPLIED] = token
    try:
        shared = decode(token)
    except ShareError as exc:
        st.error(f"This share link could not be read: {markdown_literal(str(exc))}. The page starts empty instead.", icon=":material/link_off:")
        return
    st.session_state[state.EVENTS_INPUT] = shared.events
    st.session_state[state.DOMAIN] = shared.domain
    st.session_state[state.EVENT_MAP_BASE] = pd.DataFrame(
        {"from": pd.Series([f for f, _ in shared.mappings], dtype="object"),
         "to": pd.Series([t for _, t in shared.mappings], dtype="object")})
    st.session_state.pop(state.EVENT_MAP, None)  # the editor starts again from the shared rows
    st.toast("Loaded the events and settings from the share link.", icon=":material/link:")


def _open() -> None:
    st.session_state[OPEN] = True


def _close() -> None:
    st.session_state[OPEN] = False


def button(events: str, settings: Settings) -> None:
    st.button("Copy link", key=SHARE_BUTTON, icon=":material/link:", on_click=_open,
              help="A link to this page with the events and settings in it (never the API key).")
    if st.session_state.get(OPEN):  # stays open across reruns (the warning's checkbox) until dismissed
        _dialog(events, settings)


@st.dialog("Share this mapping", width="medium", on_dismiss=_close)
def _dialog(events: str, settings: Settings) -> None:
    keys = own_keys(events)
    token = encode(SharedState(without_keys(events), settings.domain, settings.mappings))
    problem = too_long(token)
    if problem:
        st.error(problem, icon=":material/link_off:")
        return
    st.caption("The link holds the events, the domain and the event mappings. The API key is never put in it"
               + (f": the {len(keys)} key(s) your processor bodies carry are replaced by {PLACEHOLDER_KEY} "
                  "(templates stay templates)." if keys else "."))
    if key_comes_from_events(state.api_key()):
        st.warning("Your API key setting is a template that takes the key from the events. Whoever opens this link "
                   "gets the events, so check they hold no key before you share it.", icon=":material/key:")
        if not st.checkbox("The events hold no API key: show the link", key=SHARE_ANYWAY):
            return
    st.query_params[PARAM] = token
    st.session_state[APPLIED] = token  # already on this page: do not load it again
    st.code(link_for(st.context.url, token), language=None, wrap_lines=True)
    st.caption(f"Copy it with the button at the code block's corner ({len(token):,} of {MAX_TOKEN_CHARS:,} "
               "characters). The address bar holds it too.")

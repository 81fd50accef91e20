"""A picture of the flow as data: event → RudderStack's route → each request → the records.

Built from the same plan (``TransformResult.steps``) as the request list and from the same cards as
``records.record_cards``, so the picture and the list cannot disagree. Lookups are drawn dashed, those
that write are flagged, and the step that failed is red with its reason: a lookup Freshsales refused, a
request the send could not deliver, or RudderStack's own rejection of the event.

The graph holds plain text, cut to ``LABEL_CHARS`` with control characters blanked; whoever draws it
escapes it for its own medium (the page: ``playground/flow_view.py``, HTML).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from freshsales_mapper.engine.plan import LookupStep, TransformResult
from freshsales_mapper.engine.records import RecordCard

LABEL_CHARS = 48  # longer values are cut, so one long email or error cannot make a node screen-wide
RED, BLUE, GREEN, GREY = "#d9534f", "#1f77b4", "#2e9e5b", "#8c8c8c"
WHITE, PALE_BLUE, PALE_ORANGE, PALE_RED, PALE_GREEN = "#ffffff", "#eef3fb", "#fdf1e0", "#fbe3e2", "#eaf6ee"


def _lines(*lines: Any) -> tuple[str, ...]:
    """The non-empty lines (a value's own line breaks make lines too), as printable text cut to LABEL_CHARS;
    every renderer escapes them itself."""
    return tuple(_printable(part) for line in lines if line not in (None, "") for part in str(line).split("\n"))


def _printable(value: Any, limit: int = LABEL_CHARS) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrapped(text: str, width: int = 26, lines: int = 2) -> list[str]:
    """A phrase on a few short lines, so a box stays narrow and the picture readable when scaled to the page."""
    return textwrap.wrap(text, width, max_lines=lines, placeholder="…") or [""]


def _short_path(path: str) -> str:
    return path.replace("/crm/sales/api", "", 1) if path.startswith("/crm/sales/api/") else path


class Shape(StrEnum):
    BOX = "box"  # the event, RudderStack and each request: a rounded box
    NOTE = "note"  # a Freshsales record: a note with a folded corner


@dataclass(frozen=True)
class FlowNode:
    id: str  # "event", "route", "step0"…, "rejected", "record0"…
    lines: tuple[str, ...]  # plain text, cut to LABEL_CHARS; each renderer escapes it its own way
    shape: Shape = Shape.BOX
    fill: str = WHITE
    stroke: str | None = None  # None: the default outline
    text: str | None = None  # None: the default text colour
    dashed: bool = False  # a lookup RudderStack makes while transforming
    bold: bool = False  # the step that failed


@dataclass(frozen=True)
class FlowEdge:
    source: str
    target: str
    colour: str | None = None
    dashed: bool = False  # a record the send never reached


@dataclass(frozen=True)
class FlowGraph:
    """The picture as data: a chain from the event down through each request, records hanging off their step."""

    nodes: tuple[FlowNode, ...]
    edges: tuple[FlowEdge, ...]
    large: bool = False  # presenter mode: bigger type


def flow_graph(result: TransformResult, cards: Sequence[RecordCard], event: str,
               sent: Sequence[Mapping[str, Any]] | None = None, *, large: bool = False) -> FlowGraph:
    """The picture of one event.

    ``event``: the event as a person names it ("identify event for amara@…"). ``sent``: after a send, the
    request entries the sender recorded (``{kind, method, url, status, ok, message}``, in the plan's order);
    the first one that was not ok is the failed step, and steps after it were never sent.
    """
    nodes = [FlowNode("event", _lines(event), fill=PALE_BLUE),
             FlowNode("route", _lines("RudderStack", "route + Freshsales destination"), fill=PALE_BLUE)]
    edges = [FlowEdge("event", "route")]
    failed_at, failure = _failure(result, sent)
    previous = "route"
    for number, step in enumerate(result.steps):
        node = f"step{number}"
        lookup = isinstance(step, LookupStep)
        title = f"{number + 1} · " + ("lookup" + (" · WRITES" if step.writes else "") if lookup else "request")
        lines = [title, f"{step.request.method} {_short_path(step.request.path)}"]
        if lookup:
            lines += _wrapped(step.purpose.split(" (")[0])
        else:
            lines.append("delivers: " + step.freshsales_event.replace("_", " "))
        look = {"fill": PALE_ORANGE if lookup and step.writes else WHITE}
        if number == failed_at:
            lines += _wrapped(failure, lines=3)
            look = {"fill": PALE_RED, "stroke": RED, "text": RED, "bold": True}
        elif sent is not None and failed_at is not None and number > failed_at:
            lines.append("not sent")
            look.update(stroke=GREY, text=GREY)
        elif sent is not None and number < len(sent):
            look.update(stroke=GREEN)
        nodes.append(FlowNode(node, _lines(*lines), dashed=lookup, **look))
        edges.append(FlowEdge(previous, node, RED if number == failed_at else None))
        previous = node
    if result.error is not None and failed_at is None:
        nodes.append(FlowNode("rejected", _lines("RudderStack rejects the event", *_wrapped(result.error.message, 30, 3)),
                              fill=PALE_RED, stroke=RED, text=RED, bold=True))
        edges.append(FlowEdge(previous, "rejected", RED))
    for number, card in enumerate(cards):
        node = f"record{number}"
        done = sent is not None and failed_at is None
        state = "stored" if card.state == "stored" or done else "would be"
        nodes.append(FlowNode(node, _lines(card.kind.title + " · " + state, card.name, card.action), Shape.NOTE,
                              PALE_GREEN, GREEN if done else BLUE))
        source = f"step{card.step}" if 0 <= card.step < len(result.steps) else previous
        blocked = failed_at is not None and card.step >= failed_at
        edges.append(FlowEdge(source, node, GREY if blocked else None, dashed=blocked))
    return FlowGraph(tuple(nodes), tuple(edges), large)


def _failure(result: TransformResult, sent: Sequence[Mapping[str, Any]] | None) -> tuple[int | None, str]:
    """(index of the failed step, its reason), or (None, "") when no step failed."""
    if sent is not None:
        for number, entry in enumerate(sent):
            if entry.get("ok") is False or (entry.get("status") is None and entry.get("outcome") != "planned"):
                status = entry.get("status")
                answer = f"HTTP {status}" if status is not None else "no answer"
                if entry.get("outcome") == "unknown":  # a write went out and no clear answer came back
                    reason = f"UNKNOWN: {answer}; Freshsales may have stored it"
                else:
                    reason = f"FAILED: {answer}" + (f" — {entry.get('message')}" if entry.get("message") else "")
                return min(number, max(len(result.steps) - 1, 0)), reason
    for number, step in enumerate(result.steps):
        reply = step.reply if isinstance(step, LookupStep) else None
        if reply is not None and not 200 <= reply.status < 300 and result.error is not None:
            return number, f"FAILED: HTTP {reply.status} — {result.error.message}"
    return None, ""

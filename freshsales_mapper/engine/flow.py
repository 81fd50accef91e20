"""A picture of the flow as Graphviz DOT text: event → RudderStack's route → each request → the records.

Built from the same plan (``TransformResult.steps``) as the request list and from the same cards as
``records.record_cards``, so the picture and the list cannot disagree. Lookups are drawn dashed, those
that write are flagged, and the step that failed is red with its reason: a lookup Freshsales refused, a
request the send could not deliver, or RudderStack's own rejection of the event.

Every value that comes from the event, the settings or a reply goes through ``dot_string``: DOT labels
treat ``"`` and ``\\`` (and ``\\N``, ``\\G``, ``\\l``…) specially, so an event could otherwise break or
restyle the picture.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from freshsales_mapper.engine.plan import LookupStep, TransformResult
from freshsales_mapper.engine.records import RecordCard

LABEL_CHARS = 48  # longer values are cut, so one long email or error cannot make a node screen-wide
RED, ORANGE, BLUE, GREEN, GREY = "#d9534f", "#f0ad4e", "#1f77b4", "#2e9e5b", "#8c8c8c"


def dot_string(value: Any, limit: int = LABEL_CHARS) -> str:
    """``value`` as the inside of a quoted DOT string: cut to ``limit`` characters, every special escaped."""
    text = str(value)
    text = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _label(*lines: Any) -> str:
    return '"' + "\\n".join(dot_string(line) for line in lines if line not in (None, "")) + '"'


def _wrapped(text: str, width: int = 26, lines: int = 2) -> list[str]:
    """A phrase on a few short lines, so a box stays narrow and the picture readable when scaled to the page."""
    return textwrap.wrap(text, width, max_lines=lines, placeholder="…") or [""]


def _short_path(path: str) -> str:
    return path.replace("/crm/sales/api", "", 1) if path.startswith("/crm/sales/api/") else path


def flow_dot(result: TransformResult, cards: Sequence[RecordCard], event: str,
             sent: Sequence[Mapping[str, Any]] | None = None, *, large: bool = False) -> str:
    """DOT text for one event.

    ``event``: the event as a person names it ("identify event for amara@…"). ``sent``: after a send, the
    request entries the sender recorded (``{kind, method, url, status, ok, message}``, in the plan's order);
    the first one that was not ok is the failed step, and steps after it were never sent.
    """
    font = 16 if large else 12
    # Top to bottom, drawn at its natural size: a left-to-right chain of six boxes scaled down to a column's
    # width has unreadable text.
    out = ["digraph flow {", "rankdir=TB;", 'bgcolor="transparent";', "nodesep=0.25;", "ranksep=0.3;",
           f'node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize={font}];',
           f'edge [fontname="Helvetica", fontsize={font - 2}, color="#555555"];',
           f"event [label={_label(event)}, fillcolor=\"#eef3fb\"];",
           f"route [label={_label('RudderStack', 'route + Freshsales destination')}, fillcolor=\"#eef3fb\"];",
           "event -> route;"]
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
        style = '"rounded,filled,dashed"' if lookup else '"rounded,filled"'
        colour = "#fdf1e0" if lookup and step.writes else "#ffffff"
        extra = ""
        if number == failed_at:
            lines += _wrapped(failure, lines=3)
            colour, extra = "#fbe3e2", f', color="{RED}", penwidth=2.5, fontcolor="{RED}"'
        elif sent is not None and failed_at is not None and number > failed_at:
            lines.append("not sent")
            extra = f', color="{GREY}", fontcolor="{GREY}"'
        elif sent is not None and number < len(sent):
            extra = f', color="{GREEN}"'
        out.append(f"{node} [label={_label(*lines)}, style={style}, fillcolor=\"{colour}\"{extra}];")
        edge = f"{previous} -> {node}"
        out.append(edge + (f' [color="{RED}"]' if number == failed_at else "") + ";")
        previous = node
    if result.error is not None and failed_at is None:
        out.append(f'rejected [label={_label("RudderStack rejects the event", *_wrapped(result.error.message, 30, 3))}, '
                   f'fillcolor="#fbe3e2", color="{RED}", fontcolor="{RED}", penwidth=2.5];')
        out.append(f'{previous} -> rejected [color="{RED}"];')
    for number, card in enumerate(cards):
        node = f"record{number}"
        done = sent is not None and failed_at is None
        state = "stored" if card.state == "stored" or done else "would be"
        out.append(f"{node} [label={_label(card.kind.title + ' · ' + state, card.name, card.action)}, "
                   f'shape=note, fillcolor="#eaf6ee", color="{GREEN if done else BLUE}"];')
        source = f"step{card.step}" if 0 <= card.step < len(result.steps) else previous
        blocked = failed_at is not None and card.step >= failed_at
        out.append(f"{source} -> {node}" + (f' [style=dashed, color="{GREY}"]' if blocked else "") + ";")
    out.append("}")
    return "\n".join(out)


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

"""The flow picture as one block of HTML boxes: the browser lays it out with CSS, no Graphviz on the page.

Streamlit's ``graphviz_chart`` lays out every new picture with Graphviz compiled to WebAssembly on the
page's main thread: about 180 ms for a five-box chain, on every paste, before the field table below could
show. The picture is a chain (the event, RudderStack, each request in order, or RudderStack's rejection)
with each record beside the step that makes it, which a two-column grid draws directly. The text stays
text: it wraps, scales in presenter mode and can be searched and copied.

Built from ``engine.flow.flow_graph`` (plain text), so every text is escaped here.
"""

from __future__ import annotations

import html

from freshsales_mapper.engine import flow

from .display import printable

FILLS = {flow.PALE_BLUE: "fm-fill-blue", flow.PALE_ORANGE: "fm-fill-orange", flow.PALE_RED: "fm-fill-red",
         flow.PALE_GREEN: "fm-fill-green"}  # any other fill: white
STROKES = {flow.RED: "fm-line-red", flow.GREEN: "fm-line-green", flow.GREY: "fm-line-grey", flow.BLUE: "fm-line-blue"}
# The look of each class is in style.CSS, beside the cards'.



def flow_html(graph: flow.FlowGraph) -> str:
    """The picture as one escaped HTML block; a narrow column puts each step's records under it."""
    record_of = {e.target: e for e in graph.edges if e.target.startswith("record")}
    into = {e.target: e for e in graph.edges if not e.target.startswith("record")}
    records = [n for n in graph.nodes if n.id in record_of]
    parts = []
    for node in (n for n in graph.nodes if n.id not in record_of):
        edge = into.get(node.id)
        if edge is not None:
            parts.append(f'<div class="fm-flow-arrow {STROKES.get(edge.colour or "", "")}" aria-hidden="true"></div>')
        parts.append(_box(node, "fm-flow-node"))
        made = [r for r in records if record_of[r.id].source == node.id]
        if made:
            parts.append('<div class="fm-flow-records">' + "".join(
                _box(r, "fm-flow-record" + (" fm-blocked" if record_of[r.id].dashed else "")) for r in made) + "</div>")
    size = " fm-flow-large" if graph.large else ""
    # printable: a lone surrogate from an event (valid in JavaScript, not in UTF-8) shows as its escape.
    return printable(f'<div class="fm-flow-box"><div class="fm-flow{size}" role="img" '
                     f'aria-label="{html.escape(_summary(graph))}">' + "".join(parts) + "</div></div>")


def _box(node: flow.FlowNode, kind: str) -> str:
    classes = [kind, FILLS.get(node.fill, ""), STROKES.get(node.stroke or "", "")]
    classes += ["fm-dashed"] if node.dashed else []
    classes += ["fm-bold"] if node.bold else []
    first, *rest = node.lines or ("",)
    lines = f'<div class="fm-flow-title">{html.escape(first)}</div>' + "".join(
        f"<div>{html.escape(line)}</div>" for line in rest)
    kind_word = "record" if node.shape is flow.Shape.NOTE else "step"
    return f'<div class="{" ".join(c for c in classes if c)}" data-node="{node.id}" data-kind="{kind_word}">{lines}</div>'


def _summary(graph: flow.FlowGraph) -> str:
    """What a screen reader says: each box's first line, in order."""
    return "Flow: " + " → ".join(n.lines[0] for n in graph.nodes if n.lines)

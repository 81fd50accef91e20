"""How ``transform`` writes for a person or for a program: indented or compact JSON, shell commands, tables.

On a terminal JSON is indented and ``--view explain`` is a table; piped, both are compact JSON so that
other programs read them. ``--view curl`` is plain shell text either way (it is meant to be pasted).
Every choice can be forced (``--pretty``/``--compact``, ``--table``/``--json``).
"""

from __future__ import annotations

import argparse
import enum
import json
import shutil
import textwrap
from collections.abc import Callable
from typing import Any

import orjson

from freshsales_mapper.cli.common import json_bytes
from freshsales_mapper.engine.jsvalue import deeper_than
from freshsales_mapper.engine.plan import FieldTrace, LookupStep, Placeholder, TransformResult
from freshsales_mapper.engine.tables import USED_FOR
from freshsales_mapper.engine.vocabulary import FieldStatus

VALUE_WIDTH = 28  # the table's value column; longer values wrap onto more lines
VALUE_MOST = 2000  # characters of one value shown in the table; the JSON view has them whole


class Style(enum.Enum):
    """What ``transform`` writes."""

    COMPACT_JSON = "compact JSON"
    PRETTY_JSON = "indented JSON"
    SHELL = "shell commands"
    TABLE = "tables"


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--pretty", action="store_true", help="indent JSON output (the default on a terminal)")
    layout.add_argument("--compact", action="store_true", help="compact JSON output (the default when piped)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--table", action="store_true",
                      help="with --view explain: a readable table per event (the default on a terminal)")
    form.add_argument("--json", action="store_true",
                      help="with --view curl or explain: JSON instead of shell commands or tables "
                           "(explain's default when piped)")


def choose_style(args: argparse.Namespace, terminal: bool) -> Style:
    """The output style for these options, writing to a terminal or not."""
    if args.table and args.view != "explain":
        raise ValueError("--table applies to --view explain only")
    if args.view == "curl" and not args.json:
        return Style.SHELL
    if args.view == "explain" and (args.table or (terminal and not args.json)):
        return Style.TABLE
    if args.pretty or (terminal and not args.compact):
        return Style.PRETTY_JSON
    return Style.COMPACT_JSON


def indented_json_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except TypeError:
        if deeper_than(value, INDENT_DEPTH):
            # indenting 10,000 levels would print ~100 MB of spaces: such an entry stays on one line
            return json_bytes(value)
        # backslashreplace writes a lone surrogate as its JSON escape "\ud800", as JSON.stringify does.
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace")


INDENT_DEPTH = 64




def json_array_member(style: Style) -> Callable[[Any], bytes]:
    """How one entry is written as a member of the output array."""
    if style is Style.PRETTY_JSON:
        # JSON text never holds a raw newline inside a string, so indenting line by line is safe.
        return lambda entry: b"  " + indented_json_bytes(entry).replace(b"\n", b"\n  ")
    return json_bytes


def output_frame(style: Style, separator: str) -> tuple[bytes, bytes, bytes, bytes]:
    """(opening, between entries, closing, the whole output when there is no entry) for a style."""
    if style in (Style.SHELL, Style.TABLE):
        return b"", separator.encode(), b"", b""
    if style is Style.PRETTY_JSON:
        return b"[\n", b",\n", b"\n]\n", b"[]\n"
    return b"[", b",", b"]\n", b"[]\n"


def word(value: Any) -> str:
    """An enum's value or a plain string, as shown to a person."""
    return str(value.value if isinstance(value, enum.Enum) else value)


def shown_value(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, Placeholder) else json.dumps(value, ensure_ascii=False)
    if len(text) <= VALUE_MOST:
        return text
    return f"{text[:VALUE_MOST]}… ({len(text) - VALUE_MOST} more characters; --json shows it whole)"


def shell_text(result: TransformResult, location: str, commands: list[str]) -> str:
    """One commented shell command per request, each followed by a blank line."""
    if result.error is not None:
        return (f"# {location}: skipped, RudderStack rejects it ({result.error.status}): "
                f"{one_line(result.error.message)}\n\n")
    if not commands:
        return f"# {location}: no request\n\n"
    blocks = []
    for number, (step, command) in enumerate(zip(result.steps, commands, strict=True), 1):
        blocks.append(f"# {location}, request {number} of {len(commands)}: {step_label(step)}\n{command}\n\n")
    return "".join(blocks)


def problem_text(problem: Any, style: Style) -> str:
    """An input entry that could not be read, among shell commands (as comments) or tables."""
    lines = str(problem).splitlines() or [""]
    if style is Style.SHELL:
        return "".join(f"# {line}\n" for line in lines) + "\n"
    return "\n".join(lines) + "\n"


def step_label(step: Any) -> str:
    if isinstance(step, LookupStep):
        side_effect = " [writes to Freshsales]" if step.writes else ""
        return f"lookup RudderStack makes while transforming — {step.purpose}{side_effect}"
    return f"{getattr(step, 'freshsales_event', 'request')} (delivered by RudderStack's router)"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def why(trace: FieldTrace) -> str:
    notes = [one_line(w) for w in trace.warnings]
    if trace.not_reached:
        notes.insert(0, trace.not_reached)
    if trace.status is FieldStatus.MISSING_REQUIRED:
        notes.insert(0, f"required, and nothing usable in {trace.sources}")
    elif trace.status is FieldStatus.USED:
        notes.insert(0, "read " + USED_FOR.get(trace.dest, "and acted on (not sent as a field)"))
    elif trace.status is FieldStatus.UNSET:
        notes.insert(0, f"no value in {trace.sources}")
    passed = [f"{c.path} ({word(c.outcome)})" for c in trace.candidates if c.outcome.passed_over and c.found]
    if passed and trace.winner:
        notes.append("passed over: " + ", ".join(passed))
    if isinstance(trace.sent, Placeholder):
        notes.append("placeholder: the real id comes from a lookup's answer")
    if trace.coercion:
        notes.append(f"coerced with {'Number()' if trace.coercion == 'toNumber' else 'parseFloat()'}")
    return "; ".join(notes)


def lost_first(result: TransformResult, traces: list[FieldTrace]) -> list[FieldTrace]:
    """Within each Freshsales object, dropped, missing and lost fields first; otherwise table order."""
    lost = {loss.field for loss in result.losses}
    sections = list(dict.fromkeys(t.section for t in traces))
    return sorted(traces, key=lambda t: (sections.index(t.section), t.dest not in lost and t.status not in (
        FieldStatus.DROPPED, FieldStatus.MISSING_REQUIRED)))


def table(header: list[str], rows: list[list[str]], width: int, wrapped: dict[int, int] | None = None) -> str:
    """Columns sized to their content; the columns in ``wrapped`` (index: widest) and the last one wrap,
    the last to what the terminal has left, so a long value is shown whole, never cut."""
    wrapped = wrapped or {}
    last = len(header) - 1
    fixed = [min(max(len(row[i]) for row in [header, *rows]), wrapped.get(i, 1 << 30)) for i in range(last)]
    for i in wrapped:  # a narrow terminal: the wrapped columns give way (to 12) before the last one shrinks
        short = sum(fixed) + 2 * len(fixed) + 24 - width
        if short > 0:
            fixed[i] = max(12, fixed[i] - short)
    left = max(24, width - sum(fixed) - 2 * len(fixed))
    lines = []
    for row in [header, ["-" * n for n in fixed] + ["-" * min(left, 40)], *rows]:
        cells = [_cell_lines(cell, fixed[i]) if i in wrapped else [cell] for i, cell in enumerate(row[:-1])]
        cells.append(_cell_lines(row[-1], left))
        for depth in range(max(map(len, cells))):
            parts = [(cell[depth] if depth < len(cell) else "").ljust(n) for cell, n in zip(cells, fixed, strict=False)]
            end = cells[-1][depth] if depth < len(cells[-1]) else ""
            lines.append("  ".join([*parts, end]).rstrip())
    return "\n".join(lines)


def _cell_lines(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def explain_text(result: TransformResult, location: str, width: int | None = None) -> str:
    """A person's view of one event: the fields, the requests, and what went wrong."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    title = f"{location} — {result.event_type or 'no type'}"
    out = [title, "=" * min(len(title), width)]
    if result.error is not None:
        error = result.error
        out += [textwrap.fill(f"SKIPPED: RudderStack rejects it ({error.status}, {error.disposition}): "
                              f"{one_line(error.message)}", width, subsequent_indent="  "),
                textwrap.fill(f"what it means: {one_line(error.explanation)}", width, initial_indent="  ",
                              subsequent_indent="    "),
                textwrap.fill(f"how to fix it: {one_line(error.fix)}", width, initial_indent="  ",
                              subsequent_indent="    ")]
        if error.also_missing:
            out.append(textwrap.fill("also missing: " + ", ".join(error.also_missing), width, initial_indent="  ",
                                     subsequent_indent="    "))
    if result.losses:  # mapped, but something given does not reach Freshsales as given
        out += [textwrap.fill(f"LOSSY: mapped, but {' · '.join(loss.text for loss in result.losses)}", width,
                              subsequent_indent="  ")]
        out += [textwrap.fill(f"{loss.text}: {one_line(loss.detail)}", width, initial_indent="  ",
                              subsequent_indent="    ") for loss in result.losses]
    if result.route:  # before the destination ran; a key picked by a template is masked in the text
        out += ["", "what RudderStack's route did first:"]
        out += [textwrap.fill(one_line(note.text), width, initial_indent="  ", subsequent_indent="    ")
                for note in result.route]
    shown = lost_first(result, [t for t in result.fields if t.status is not FieldStatus.UNSET])
    unset = [t for t in result.fields if t.status is FieldStatus.UNSET]
    if shown:
        rows, section = [], None
        for t in shown:
            if t.section and t.section != section:  # a heading row per Freshsales object keeps the column narrow
                rows.append([f"{t.section}:", "", "", "", ""])
                section = t.section
            rows.append([f"  {t.dest}" if t.section else t.dest, word(t.status), t.winner or "", shown_value(t.sent),
                         why(t)])
        out += ["", table(["field", "status", "source", "value sent", "why"], rows, width, {3: VALUE_WIDTH})]
    if unset:
        out += ["", textwrap.fill("no value (no source key has one): " + ", ".join(t.dest for t in unset), width)]
    if result.unmapped:
        out += ["", "inputs no field reads:"]
        out += [textwrap.fill(f"{u.path} = {shown_value(u.value)}: {one_line(u.hint)}", width,
                              initial_indent="  ", subsequent_indent="    ") for u in result.unmapped]
    by_note: dict[str, list[str]] = {}  # each note once, naming every field it is about
    for t in shown:
        if t.doc_note:
            by_note.setdefault(one_line(t.doc_note), []).append(t.dest)
    doc_notes = [f"{', '.join(dict.fromkeys(dests))}: {note}" for note, dests in by_note.items()]
    if doc_notes:
        out += ["", "where RudderStack's docs and code differ (the code is what runs):"]
        out += [textwrap.fill(note, width, initial_indent="  ", subsequent_indent="    ") for note in doc_notes]
    if result.steps:
        out += ["", "requests:"]
        for number, step in enumerate(result.steps, 1):
            out += [textwrap.fill(f"{number}. {step_label(step)}", width, initial_indent="  ",
                                  subsequent_indent="     "), f"     {step.request.method} {step.request.url}"]
    for note in dict.fromkeys(result.notes):
        out.append(textwrap.fill(f"note: {one_line(note)}", width, subsequent_indent="  "))
    return "\n".join(out) + "\n"

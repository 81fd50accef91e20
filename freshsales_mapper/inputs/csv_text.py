"""CSV uploads into RudderStack events: one event per row, dotted column names nest.

Kept apart from :mod:`freshsales_mapper.inputs.json_text` (which re-exports :func:`parse_csv_text`) because
pandas is slow to import and JSON input does not need it.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from typing import Any

from freshsales_mapper.inputs.model import (
    BOM,
    MAX_DEPTH,
    PROCESSOR_KEYS,
    UNDECODABLE,
    EventInput,
    InputError,
    ParsedInput,
    decode_json,
    event_entry,
    has_undecodable,
    json_path,
    nesting,
    undecodable_problem,
)

# A dotted name nests one level per part. Events nest a few levels; thousands of parts would only
# build values every later step (JSON output, the table, sending) has to recurse through.
MAX_COLUMN_PARTS = 100

# Only cells starting like a JSON value are tried, which keeps plain text cells cheap.
_JSON_CELL_START = frozenset('-0123456789tfn"[{')


def _cell_value(cell: str) -> Any:
    if cell.lstrip()[:1] in _JSON_CELL_START:
        value, failure = decode_json(cell)
        if failure is None:
            return value
    return cell


def _csv_columns(header: list[str], body: list[list[str]]) -> tuple[list[tuple[str, ...] | None], list[InputError]]:
    """Each column's key path (None for an unnamed, empty column) and any problem with the header."""
    columns: list[tuple[str, ...] | None] = []
    errors: list[InputError] = []
    seen: dict[str, int] = {}
    for number, raw_name in enumerate(header, 1):
        name = raw_name.strip()
        where = f"column {number}"
        if not name:
            columns.append(None)
            if any(row[number - 1] for row in body):
                errors.append(InputError(f"column {number} has values but no name", 1, None, None, where))
            continue
        if name in seen:
            errors.append(InputError(f"column `{name}` appears twice (columns {seen[name]} and {number})",
                                     1, None, None, where))
        seen[name] = number
        if found := UNDECODABLE.search(name):
            errors.append(InputError(f"column {number}'s name: {undecodable_problem(found.group())}",
                                     1, None, None, where))
        segments = tuple(name.split("."))
        if len(segments) > MAX_COLUMN_PARTS:
            errors.append(InputError(f"column `{_shortened(name)}` has {len(segments):,} dotted parts; a name "
                                     f"nests at most {MAX_COLUMN_PARTS} levels", 1, None, None, where))
            segments = segments[:MAX_COLUMN_PARTS]
        if "" in segments:
            errors.append(InputError(f"column `{name}` has an empty part in its dotted name",
                                     1, None, None, where))
        columns.append(segments)
    return columns, errors


def _shortened(name: str) -> str:
    return name if len(name) <= 60 else name[:57] + "…"


def _undecodable_cell(columns: list[tuple[str, ...] | None], cells: list[str], row: int) -> InputError | None:
    for number, (segments, cell) in enumerate(zip(columns, cells, strict=True), 1):
        if found := UNDECODABLE.search(cell):
            path = json_path(segments) if segments else None
            return InputError(f"column {number}: {undecodable_problem(found.group())}", None, None, path,
                              f"row {row}")
    return None


def _build_row(columns: list[tuple[str, ...] | None], cells: list[str], row: int) -> dict | InputError:
    built: dict[str, Any] = {}
    # Which column created each key path, leaf or intermediate, to name both sides of a conflict.
    owner: dict[tuple[str, ...], str] = {}
    leaves: set[tuple[str, ...]] = set()
    for segments, cell in zip(columns, cells, strict=True):
        if segments is None or cell == "":
            continue
        name = ".".join(segments)
        node = built
        for depth in range(1, len(segments) + 1):
            prefix = segments[:depth]
            last = depth == len(segments)
            if prefix in leaves or (last and prefix in owner):
                return InputError(f"columns `{owner[prefix]}` and `{name}` both set `{'.'.join(prefix)}` "
                                  f"in row {row}; fill only one of them", None, None,
                                  json_path(prefix), f"row {row}")
            owner.setdefault(prefix, name)
            if last:
                value = node[segments[-1]] = _cell_value(cell)
                leaves.add(prefix)
                if isinstance(value, (dict, list)) and depth + nesting(value) > MAX_DEPTH:
                    return InputError(f"column `{_shortened(name)}` nests deeper than {MAX_DEPTH} levels "
                                      f"in row {row}", None, None, json_path(segments), f"row {row}")
            else:
                node = node.setdefault(segments[depth - 1], {})
    return built


def _first_line_of_record(text: str, record: int) -> int:
    """Physical line where CSV record ``record`` (1-based, header included) starts."""
    reader = csv.reader(io.StringIO(text))
    previous_end = 0
    try:
        for number, _ in enumerate(reader, 1):
            if number == record:
                break
            previous_end = reader.line_num
    except csv.Error:
        pass
    return previous_end + 1


def _csv_syntax_error(text: str, pandas_message: str) -> InputError:
    detail = pandas_message.replace("Error tokenizing data. C error: ", "").strip()
    record = None
    if match := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail):
        expected, record, saw = (int(g) for g in match.groups())
        detail = f"this row has {saw} cells but the header has {expected}"
    elif match := re.search(r"EOF inside string starting at row (\d+)", detail):
        record = int(match.group(1)) + 1  # pandas counts rows from 0 here
        detail = "a quoted cell starts here and is never closed"
    if record is None:
        return InputError(f"malformed CSV: {detail}", None, None, None, "the CSV")
    line = _first_line_of_record(text, record)
    return InputError(f"malformed CSV: {detail}", line, None, None, f"line {line}")


def parse_csv_text(text: str, source: str = "upload.csv") -> ParsedInput:
    """Parse CSV with a header row into events, one per row.

    * Dotted column names nest: ``context.traits.email`` becomes
      ``{"context": {"traits": {"email": ...}}}``. Every segment is an object key.
    * If any column starts with ``message.``, ``destination.`` or ``metadata.`` (or is named so),
      each row is a processor request ``{message, destination, metadata}``; every column must then
      start that way.
    * Cells: an empty cell leaves its key out. A cell that is a complete JSON value (``42``,
      ``true``, ``null``, ``{"a": 1}``, ``[1]``, ``"quoted"``) is parsed as JSON; anything else stays
      a string. So ``71010794467`` is a number; write ``"71010794467"`` (with the double quotes,
      CSV-escaped as ``\"\"\"71010794467\"\"\"``) to send a string, since RudderStack treats them
      differently. ``NaN``/``Infinity`` are not JSON and stay strings.
    * Two columns setting the same key (``traits`` and ``traits.email`` both filled in a row) are
      an error for that row. Rows whose cells are all empty are skipped.
    * Row numbers are spreadsheet rows: the header is row 1, the first event row 2.
    """
    try:
        import pandas  # deferred: pandas takes a while to import and JSON input does not need it
    except ImportError:  # an install without the extra that brings it
        raise ImportError("CSV input needs pandas: pip install 'freshsales-mapper[csv]'") from None

    text = text.removeprefix(BOM)
    if not text.strip():
        return ParsedInput([], [], "empty", source)
    undecodable = has_undecodable(text)
    try:
        if undecodable:  # pandas' text path refuses the stand-ins for bad bytes; its bytes path keeps them
            frame = pandas.read_csv(io.BytesIO(text.encode("utf-8", "surrogateescape")), header=None, dtype=object,
                                    keep_default_na=False, skip_blank_lines=False, encoding_errors="surrogateescape")
        else:
            frame = pandas.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                                    skip_blank_lines=False)
    except pandas.errors.ParserError as exc:
        return ParsedInput([], [_csv_syntax_error(text, str(exc))], "csv", source)
    rows = [[cell if isinstance(cell, str) else "" for cell in row] for row in frame.itertuples(index=False)]
    header, body = rows[0], rows[1:]
    columns, errors = _csv_columns(header, body)
    named = [segments for segments in columns if segments]
    as_processor = any(segments[0] in PROCESSOR_KEYS for segments in named)
    if as_processor:
        errors += [InputError(f"column `{'.'.join(segments)}` must start with message., destination. or "
                              "metadata. like the other columns", 1, None, None, "the header")
                   for segments in named if segments[0] not in PROCESSOR_KEYS]
    if errors:
        return ParsedInput([], errors, "csv", source)
    counter = itertools.count()
    items: list[EventInput] = []
    for row_number, cells in enumerate(body, 2):
        if not any(cells):
            continue
        if undecodable and (bad := _undecodable_cell(columns, cells, row_number)):
            errors.append(bad)
            continue
        built = _build_row(columns, cells, row_number)
        if isinstance(built, InputError):
            errors.append(built)
            continue
        if as_processor:
            built.setdefault("message", {})
        entry = event_entry(built, f"row {row_number}", "$", None, counter)
        (items if type(entry) is EventInput else errors).append(entry)
    return ParsedInput(items, errors, "csv", source)



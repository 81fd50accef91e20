"""Reading a large JSON or NDJSON input piece by piece, so that memory follows one event, not the file.

Input up to :data:`WHOLE_BELOW` bytes is read whole and parsed by
:func:`~freshsales_mapper.inputs.json_text.parse_events_text`, exactly as pasted text is. Larger input
is read in chunks and parsed as it arrives, by the same decoder: a top-level array element by element,
a batch body (``{"batch": [...], ...}``) item by item, NDJSON line by line, anything else (one object)
as the one value it is. For well-formed
input the entries are the same, in the same order, with the same locations; every problem still names
its line, column and JSON path. What streaming cannot do is take back what it yielded: a large document
that turns out broken past some point yields the entries before it, then raises :class:`DocumentError`
naming the problem. Two rare shapes are told apart only by what follows them, which streaming has not
seen yet: a one-line array longer than :data:`WHOLE_BELOW` followed by more NDJSON lines keeps the
document's ``item [i]`` labels for its items, and a broken first value is read as NDJSON only if the
lines that are already read look like NDJSON (see ``looks_like_ndjson``).
"""

from __future__ import annotations

import codecs
import itertools
import json
import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from freshsales_mapper.engine.jsvalue import allow_deep_values
from freshsales_mapper.inputs.json_text import (
    document_entries,
    line_entries,
    looks_like_ndjson,
    parse_events_text,
    value_end,
)
from freshsales_mapper.inputs.model import (
    BOM,
    PROCESSOR_KEYS,
    TOO_DEEP,
    UNDECODABLE,
    EventInput,
    InputError,
    NonStandardConstant,
    event_entry,
    json_path,
    undecodable_problem,
    undecodable_strings,
)
from freshsales_mapper.inputs.model import HUGE_INTEGER_DECODER as _HUGE
from freshsales_mapper.inputs.model import STRICT_DECODER as _STRICT

WHOLE_BELOW = 1 << 16  # bytes; at most a few MB parsed, and such input keeps every rule of pasted text
CHUNK = 1 << 20  # bytes read at a time
_LINE_BLOCK = 1 << 16  # characters of NDJSON split into lines at once
_LOOKAHEAD = 1 << 16  # characters of lines read ahead to tell NDJSON from a broken document
_NUMBER_GOES_ON = frozenset("0123456789.eE+-")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_BATCH_LOOKAHEAD = 256  # characters; ``{"batch": [`` with any whitespace an editor would put in it
_BATCH_OPENING = re.compile(r'\{[ \t\n\r]*"batch"[ \t\n\r]*:[ \t\n\r]*\[')
_COMMA = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
_SCAN = _STRICT.scan_once  # raw_decode without its Python frame: (value, end), or an exception
_CONSTANT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')

Entry = EventInput | InputError


class DocumentError(Exception):
    """The input cannot be read past this problem; the entries before it were already yielded."""

    def __init__(self, error: InputError):
        super().__init__(str(error))
        self.error = error


def stream_events(read: Callable[[int], bytes], source: str = "input", *, whole_below: int | None = None,
                  chunk: int = CHUNK) -> Iterator[Entry]:
    """Every event and problem of the input ``read(n)`` returns, in input order (see the module docstring).

    ``read`` returns at most ``n`` bytes, and ``b""`` at the end, like a binary file's ``read``.
    Input of ``whole_below`` bytes or less is parsed whole: a document that does not parse is its one
    error entry, as ``parse_events_text`` answers it. Larger input that breaks past some point raises
    :class:`DocumentError` after the entries before it.
    """
    whole_below = WHOLE_BELOW if whole_below is None else whole_below
    head = bytearray()
    while len(head) <= whole_below and (data := read(whole_below + 1 - len(head))):
        head += data
    if len(head) <= whole_below:
        parsed = parse_events_text(bytes(head).decode("utf-8", "surrogateescape").removeprefix(BOM), source)
        yield from parsed.in_order()
        return
    yield from _Stream(read, bytes(head), chunk).entries()


class _Stream:
    """The input's text, decoded as it is read; only a window of it is kept, positions count from its start."""

    def __init__(self, read: Callable[[int], bytes], head: bytes, chunk: int):
        self.read, self.chunk = read, chunk
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.buf, self.eof = "", False
        self.start = 0  # characters dropped before buf
        self.line = 1  # the line buf starts on
        self.column = 0  # characters of that line dropped before buf
        self.bad: list[int] = []  # offsets (from the start) of bytes that are not UTF-8
        text = self.decoder.decode(head)
        while not text and not self.eof:  # a BOM (3 bytes) may take more than the head to arrive
            data = self.read(chunk)
            text, self.eof = self.decoder.decode(data, final=not data), not data
        self.buf = text.removeprefix(BOM)  # invisible in editors: not counted in lines and columns
        self._note_bad(self.buf, 0)
        self.counter = itertools.count()
        allow_deep_values()

    # -- the window ---------------------------------------------------------------------------------------

    def more(self, at_least: int = 0) -> bool:
        """Append at least one more chunk (or ``at_least`` bytes) to the window; False at the end."""
        if self.eof:
            return False
        data = self.read(max(self.chunk, at_least))
        text = self.decoder.decode(data, final=not data)
        self._note_bad(text, self.start + len(self.buf))
        self.buf += text
        self.eof = not data
        return bool(data) or bool(text)

    def _note_bad(self, text: str, offset: int) -> None:
        if not text.isascii():
            self.bad.extend(offset + m.start() for m in UNDECODABLE.finditer(text))

    def drop(self, pos: int) -> int:
        """Forget the window before ``pos``; returns where ``pos`` is now (0)."""
        lines = self.buf.count("\n", 0, pos)
        if lines:
            self.line += lines
            self.column = pos - self.buf.rfind("\n", 0, pos) - 1
        else:
            self.column += pos
        self.start += pos
        self.buf = self.buf[pos:]
        if self.bad:  # a file full of them (Latin-1 text) must not pile up their offsets
            del self.bad[:bisect_left(self.bad, self.start)]
        return 0

    def where(self, pos: int) -> tuple[int, int]:
        """(line, column), 1-based, of the window position ``pos``."""
        lines = self.buf.count("\n", 0, pos)
        if lines:
            return self.line + lines, pos - self.buf.rfind("\n", 0, pos)
        return self.line, self.column + pos + 1

    def skip(self, pos: int) -> int:
        """Past the whitespace at ``pos``, reading on while the window ends in whitespace."""
        while (pos := _WHITESPACE.match(self.buf, pos).end()) == len(self.buf) and self.more():
            pass
        return pos

    def problem(self, pos: int, message: str, path: str | None = None, label: str = "") -> InputError:
        """What is wrong at window position ``pos``, naming its line and column."""
        line, column = self.where(pos)
        if pos < len(self.buf) and UNDECODABLE.match(self.buf, pos):
            message = undecodable_problem(self.buf[pos])  # a bad byte broke the JSON: say so
        where = f"{label}, line {line}, column {column}" if label else f"line {line}, column {column}"
        return InputError(message, line, column, path, where)

    # -- decoding -----------------------------------------------------------------------------------------

    def value(self, pos: int) -> tuple[Any, int, tuple[int, str] | None]:
        """(value, end, None) of the JSON value at ``pos``, read on until it is whole; or (None, 0, (where, problem))."""
        allow_deep_values()
        while True:
            try:
                try:
                    value, end = _STRICT.raw_decode(self.buf, pos)
                except ValueError as exc:
                    if type(exc) is not ValueError:
                        raise
                    value, end = _HUGE.raw_decode(self.buf, pos)  # Python's int-string limit, nothing else
                # A number may go on in the next chunk ("1" of "1e5"); nothing else changes once it is whole.
                if (end < len(self.buf) and self.buf[end] not in _NUMBER_GOES_ON) or not self.more(len(self.buf) - pos):
                    return value, end, None
            except json.JSONDecodeError as exc:
                cut_short = exc.pos >= len(self.buf) - 8 or exc.msg.startswith("Unterminated string")
                if not (cut_short and self.more(len(self.buf) - pos)):
                    return None, 0, (exc.pos, exc.msg)
            except NonStandardConstant as exc:
                found = next((m for m in _CONSTANT_OR_STRING.finditer(self.buf, pos) if m.group(1)), None)
                problem = f"{exc.name} is not valid JSON (RudderStack would reject it); use null or a number"
                return None, 0, (found.start(1) if found else pos, problem)
            except RecursionError:
                return None, 0, (pos, TOO_DEEP)

    def whole_failure(self, text_start: int, prefix: str) -> tuple[int, str] | None:
        """Where and why the document fails, as one parse of it from ``text_start`` sees it.

        An element's own parse cannot see what the array around it makes of what follows (a trailing
        comma, a missing one, each Python version's wording): the text from ``text_start`` is parsed
        again behind ``prefix``, which puts the parser in the state the whole document had there.
        """
        *_, failure = _Reparse(prefix + self.buf[text_start:]).value(0)
        return None if failure is None else (failure[0] - len(prefix) + text_start, failure[1])

    def fail(self, pos: int, problem: str) -> DocumentError:
        return DocumentError(self.problem(pos, problem))

    # -- the shapes ---------------------------------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        pos = self.skip(0)
        if pos == len(self.buf):
            return
        first_line = self.where(pos)[0]
        while len(self.buf) - pos < _BATCH_LOOKAHEAD and self.more():  # enough to see `{"batch": [`
            pass
        if self.buf[pos] == "[":
            end = yield from self.elements(pos)
        elif batch := _BATCH_OPENING.match(self.buf, pos):  # the batch API body, {"batch": [...], ...}
            end = yield from self.elements(batch.end() - 1, "batch ", "$.batch")
            end = self.batch_rest(pos, end)
        else:
            yield from self.single_or_lines(pos)
            return
        closed_on_first_line = self.where(end)[0] == first_line
        pos = self.skip(end)
        if pos == len(self.buf):
            return
        if closed_on_first_line and self.where(pos)[0] > first_line:
            yield from self.lines(self.buf.index("\n", end) + 1)  # NDJSON whose first line is an array
            return
        raise self.fail(pos, "Extra data")

    def batch_rest(self, opening: int, end: int) -> int:
        """The batch body's members after its ``batch`` array; returns the position after its ``}``.

        They are read as the object ``{"batch": 0, ...}``: its items were events only if it has no
        ``type`` or ``message`` of its own and no second ``batch`` (the last one would win).
        """
        prefix = '{"batch":0'
        self.drop(end)  # then the prefix stands just before: positions after it keep their line and column
        self.buf, self.start, self.column = prefix + self.buf, self.start - len(prefix), self.column - len(prefix)
        rest, after, failure = self.value(0)
        if failure is not None:
            raise self.fail(*failure)
        if rest["batch"] != 0 or "type" in rest or "message" in rest:
            raise self.fail(len(prefix), f"a batch body over {WHOLE_BELOW >> 10} KiB whose other members hold "
                                         "`type`, `message` or a second `batch` cannot be streamed; split it")
        return after

    def elements(self, opening: int, label: str = "", path_prefix: str = "$") -> Iterator[Entry]:
        """The array at ``opening`` (``$`` or a batch body's ``$.batch``), element by element; returns the
        position after its ``]``."""
        pos = self.skip(opening + 1)
        if self.buf.startswith("]", pos):
            return pos + 1
        previous_end = None  # where the element before ends: the whole parse's state there is known
        for index in itertools.count():
            if previous_end is not None and previous_end > self.chunk:
                pos -= previous_end
                previous_end = self.drop(previous_end)
            where = f"{label}item [{index}]"
            buf = self.buf
            try:  # the usual element: an object, whole in the window, followed by a comma
                value, end = _SCAN(buf, pos)
            except Exception:  # anything unusual is read again, with care, below
                value = None
            if type(value) is dict and end < len(buf) and not self.bad and \
                    (comma := _COMMA.match(buf, end)) and comma.end() < len(buf):
                entry = event_entry(value, where, "", None, _NO_INDEX)
                entry.index = next(self.counter)
                yield entry
                previous_end, pos = end, comma.end()
                continue
            path = f"{path_prefix}[{index}]"
            value, end, failure = self.value(pos)
            if failure is None:
                yield self.element(value, pos, end, path, where)
            elif failure[1] == TOO_DEEP and (end := self.deep_end(pos)) is not None:
                yield self.problem(pos, TOO_DEEP, path, where)  # only this element is lost
            else:
                whole = self.whole_failure(opening, "") if previous_end is None else \
                    self.whole_failure(previous_end, "[0")
                raise self.fail(*(whole or failure))
            pos = self.skip(end)
            if self.buf.startswith(",", pos):
                previous_end, pos = end, self.skip(pos + 1)
            elif self.buf.startswith("]", pos):
                return pos + 1
            else:
                raise self.fail(*(self.whole_failure(end, "[0") or (pos, "Expecting ',' delimiter")))
        raise AssertionError("unreachable")

    def deep_end(self, pos: int) -> int | None:
        while (end := value_end(self.buf, pos)) is None and self.more():
            pass
        return end

    def element(self, value: Any, start: int, end: int, path: str, where: str) -> Entry:
        """The array element's entry; an event holding a byte that is not UTF-8 is that byte's problem."""
        entry = event_entry(value, where, path, None, _NO_INDEX)
        if type(entry) is not EventInput:
            return entry
        if self.bad:
            first = bisect_left(self.bad, self.start + start)
            found = next(undecodable_strings([entry.message, entry.destination, entry.metadata]), None) \
                if first < len(self.bad) and self.bad[first] < self.start + end else None
            if found is not None:
                (part, *inner), string = found
                if entry.destination is not None or entry.processor:  # paths start at the processor item
                    inner = [PROCESSOR_KEYS[part], *inner]
                line, column = self.where(self.bad[first] - self.start)
                character = UNDECODABLE.search(string).group()
                return InputError(undecodable_problem(character), line, column, json_path(inner),
                                  f"{where}, line {line}, column {column}")
        entry.index = next(self.counter)
        return entry

    def single_or_lines(self, pos: int) -> Iterator[Entry]:
        """One document (an object, a scalar), or NDJSON when it is followed by more lines."""
        value, end, failure = self.value(pos)
        if failure is None:
            after = self.skip(end)
            if after == len(self.buf):  # the whole input is this one value, and it is all in the window
                if self.bad:  # the rules for bad bytes in a document are parse_events_text's
                    yield from parse_events_text(self.buf, "input").in_order()
                else:
                    yield from document_entries(value, "", None, self.counter)
                return
            if "\n" in self.buf[end:after] and "\n" not in self.buf[pos:end]:  # a line that parses alone
                yield from self.lines(self.buf.rfind("\n", 0, pos) + 1)
                return
            failure = (after, "Extra data")
        if self.looks_like_ndjson(pos):
            yield from self.lines(self.buf.rfind("\n", 0, pos) + 1)
            return
        raise self.fail(*failure)

    def looks_like_ndjson(self, pos: int) -> bool:
        while len(self.buf) - pos < _LOOKAHEAD and self.more():
            pass
        lines = self.buf[self.buf.rfind("\n", 0, pos) + 1:].split("\n")
        return looks_like_ndjson(lines if self.eof else lines[:-1])

    def lines(self, pos: int) -> Iterator[Entry]:
        """NDJSON from ``pos`` (a line start), line by line: each line its entries, a bad line its error."""
        self.drop(pos)
        number = self.line
        while True:
            # Lines are split a block at a time: a chunk of short lines would be a list of many strings.
            last = self.buf.rfind("\n", 0, _LINE_BLOCK)
            if last < 0:
                last = self.buf.find("\n", _LINE_BLOCK)
            if last < 0 and self.more():
                continue
            complete = self.buf if self.eof and last < 0 else self.buf[:last]
            for line in complete.split("\n"):
                if self.bad and (bad := _first_bad(number, line)):
                    yield bad
                elif line and not line.isspace():
                    # Any line may start with a BOM: files concatenated with `cat` keep each one's.
                    yield from line_entries(number, line.removeprefix(BOM), self.counter)
                number += 1
            if last < 0:
                return
            self.drop(last + 1)
            if len(self.buf) < _LINE_BLOCK:
                self.more()


def _first_bad(number: int, line: str) -> InputError | None:
    """A line holding a byte that is not UTF-8 is that byte's problem (see parse_events_text)."""
    found = UNDECODABLE.search(line) if not line.isascii() else None
    if found is None:
        return None
    column = found.start() + 1
    return InputError(undecodable_problem(found.group()), number, column, None, f"line {number}, column {column}")


_NO_INDEX = itertools.repeat(0)  # an element's index is given once it is known to stay an event


class _Reparse(_Stream):
    """A whole text already in memory, parsed once more to find where a document breaks."""

    def __init__(self, text: str):  # nothing to read: the text is all there is
        self.buf, self.eof, self.start, self.line, self.column, self.bad = text, True, 0, 1, 0, []

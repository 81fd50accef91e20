"""Rendering a large input on several cores, in input order, streamed to the output.

Transforming is pure (offline and replay resolvers keep no state), so a forked child can render a
batch of consecutive entries while the parent reads and parses the next ones. Entries come from a
stream and are taken a batch at a time, so only the batches being rendered are in memory, never the
whole input. Every batch is written as it is rendered, entry by entry, to an anonymous temporary file
(unlinked from the start, so nothing is left behind even if a process is killed) that the parent then
copies out in order. A child that fails for any reason has its batch rendered again in the parent, so
the output never depends on whether the fork worked.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO

PARALLEL_FROM = 2000  # events; below this the forks cost more than they save


def default_jobs(count: int) -> int:
    if count < PARALLEL_FROM or not hasattr(os, "fork"):
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class EntrySink:
    """Writes entries to a binary stream with a separator between them; knows whether it wrote any."""

    def __init__(self, stream: BinaryIO, separator: bytes):
        self.stream, self.separator, self.written = stream, separator, False

    def entry(self, data: bytes) -> None:
        if self.written:
            self.stream.write(self.separator)
        self.stream.write(data)
        self.written = True

    def block(self, source: BinaryIO) -> None:
        """Append entries another sink wrote (already separated among themselves) from a file."""
        source.seek(0, os.SEEK_END)
        if not source.tell():
            return
        source.seek(0)
        if self.written:
            self.stream.write(self.separator)
        shutil.copyfileobj(source, self.stream, 1 << 20)
        self.written = True


Render = Callable[[Iterable[Any], EntrySink], None]
# Entries a child renders. A fork costs the parent and the child ~20 ms of copied pages, so a batch should
# take a good part of a second; memory holds `jobs` + 1 batches at once, so not much more.
BATCH = 2000
_BATCH_SECONDS = 0.25
_LARGEST_BATCH = 20_000


def read_ahead(entries: Iterable[Any], count: int) -> tuple[int, Iterator[Any]]:
    """How many of the first ``count`` entries there are, and all the entries again, in order.

    The entries read ahead are let go one by one as they are taken, not kept until the end.
    """
    entries = iter(entries)
    ahead = deque(itertools.islice(entries, count))

    def again() -> Iterator[Any]:
        while ahead:
            yield ahead.popleft()
        yield from entries

    return len(ahead), again()


def write_in_order(items: Iterable[Any], render: Render, jobs: int, sink: EntrySink, batch: int = BATCH,
                   reopen: Callable[[], bool] | None = None) -> None:
    """``render`` every item into ``sink``, in order: in this process (``jobs`` 1), else on several.

    ``reopen``, called in a forked child, lets it read the input on its own (see :func:`_shared`);
    without it, or when it returns False, batches go to children forked one per batch.
    """
    jobs = min(jobs, 1 + _spare_files())
    if jobs <= 1:
        render(items, sink)
    elif reopen is not None and not isinstance(items, Sequence) and _shared(iter(items), render, jobs, sink,
                                                                            batch, reopen):
        pass
    else:
        _forked_per_batch(items, render, jobs, sink, batch)


def _batches(items: Iterator[Any], batch: int) -> Iterator[list[Any]]:
    while part := list(itertools.islice(items, batch)):
        yield part


def _shared(items: Iterator[Any], render: Render, jobs: int, sink: EntrySink, batch: int,
            reopen: Callable[[], bool]) -> bool:
    """Every process reads and parses the whole input; process ``i`` renders batches ``i``, ``i + jobs``, ...

    Parsing twice costs less than handing parsed events over: a child forked per batch copies every
    page the parent writes to afterwards (~0.4 s for 50,000 events), and pickling costs more than
    parsing. Children write their batches to a temporary file and say on a pipe how long each is; this
    process copies them out in order. A batch whose child is gone is rendered here. False (nothing
    done) if no child could be started.
    """
    workers = [_Worker.start(index, jobs, items, render, sink.separator, batch, reopen) for index in range(1, jobs)]
    if not any(workers):
        return False
    finished = False
    try:
        for number, part in enumerate(_batches(items, batch)):
            worker = workers[number % jobs - 1] if number % jobs else None
            if worker is None or not worker.deliver(number, sink):
                render(part, sink)
        finished = True
    finally:
        for worker in workers:
            if worker is not None:
                worker.close(stop=not finished)  # broken input, a closed pipe, Ctrl-C: nothing more is wanted
    return True


class _Worker:
    """A child rendering every ``jobs``-th batch of the same input into a temporary file."""

    def __init__(self, pid: int, spool: BinaryIO, said: int):
        self.pid, self.spool, self.said, self.offset = pid, spool, said, 0

    @classmethod
    def start(cls, index: int, jobs: int, items: Iterator[Any], render: Render, separator: bytes, batch: int,
              reopen: Callable[[], bool]) -> _Worker | None:
        try:
            spool = tempfile.TemporaryFile(prefix="freshsales-transform-")  # noqa: SIM115 - closed in close()
        except OSError:
            return None
        try:
            said, say = os.pipe()
            pid = os.fork()
        except OSError:
            spool.close()
            return None
        if pid:
            os.close(say)
            return cls(pid, spool, said)
        code = 1  # the child: render its batches, then leave without running the parent's cleanups
        try:
            os.close(said)
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the parent says each input problem once
            if reopen():
                for number, part in enumerate(_batches(items, batch)):
                    if number % jobs == index:
                        start = spool.tell()
                        render(part, EntrySink(spool, separator))
                        spool.flush()
                        os.write(say, _SAID.pack(number, spool.tell() - start))
                code = 0
        finally:
            os._exit(code)

    def deliver(self, number: int, sink: EntrySink) -> bool:
        """Copy batch ``number`` out of the child's file into ``sink``; False if the child did not render it."""
        if self.said < 0:
            return False
        message = _read_exactly(self.said, _SAID.size)
        if message is None or _SAID.unpack(message)[0] != number:
            os.close(self.said)
            self.said = -1
            return False
        size = _SAID.unpack(message)[1]
        if size:
            if sink.written:
                sink.stream.write(sink.separator)
            end = self.offset + size
            while self.offset < end:
                data = os.pread(self.spool.fileno(), min(1 << 20, end - self.offset), self.offset)
                sink.stream.write(data)
                self.offset += len(data)
            sink.written = True
        return True

    def close(self, stop: bool = False) -> None:
        if stop:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self.said >= 0:
            os.close(self.said)
        os.waitpid(self.pid, 0)
        self.spool.close()


_SAID = struct.Struct("<qq")  # batch number, bytes


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            return None
        data += more
    return data


def _forked_per_batch(items: Iterable[Any], render: Render, jobs: int, sink: EntrySink, batch: int) -> None:
    """A child per batch, forked as the batches are read (input no child can read on its own: a pipe)."""
    known = isinstance(items, Sequence)
    if known:  # all known already: one batch per child, as even as can be
        batch = max(1, min(batch, -(-len(items) // jobs)))
    items = iter(items)
    # The first batch is rendered here: straight to the output, and every child forked after it finds
    # the engine's compiled tables ready instead of building them again.
    started = time.perf_counter()
    render(list(itertools.islice(items, batch)), sink)
    spent = time.perf_counter() - started
    if not known and spent > 0:  # cheap events: bigger batches, so each fork (and its copied pages) pays
        batch = int(min(max(batch, batch * _BATCH_SECONDS / spent), _LARGEST_BATCH))
    running: deque[_Child] = deque()
    for part in _batches(items, batch):
        if len(running) >= jobs:
            running.popleft().finish_into(sink, render)
        running.append(_Child(part, render, sink.separator))
        del part  # the child has it; the parent keeps it only to render it again if the child fails
    while running:
        running.popleft().finish_into(sink, render)


# Files this process keeps for itself (imports, the input, stdout) whatever the number of children.
_FILES_KEPT = 64


def _spare_files() -> int:
    """How many children's spool files the open-file limit leaves room for (each holds one until it is copied)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(0, soft - _FILES_KEPT) if soft != resource.RLIM_INFINITY else 1 << 20


class _Child:
    """One forked child rendering one batch into a temporary file."""

    def __init__(self, part: list[Any], render: Render, separator: bytes):
        self.pid: int | None = None
        self.part = part
        try:
            # Closed in finish_into, after the child wrote it; unlinked already, so never left on disk.
            self.spool = tempfile.TemporaryFile(prefix="freshsales-transform-")  # noqa: SIM115
        except OSError:  # no file left to open (--jobs 400 under a low `ulimit -n`): this batch renders here
            return
        try:
            # The collector would otherwise visit every object the parent has, in the child, copying
            # each page it touches; frozen, they are left alone (and still freed when let go).
            gc.freeze()
            self.pid = os.fork()
        except OSError:
            self.spool.close()
            return
        if self.pid == 0:  # the child: render, then leave without running the parent's cleanups
            code = 1
            try:
                render(part, EntrySink(self.spool, separator))
                self.spool.flush()
                code = 0
            finally:
                os._exit(code)

    def finish_into(self, sink: EntrySink, render: Render) -> None:
        """Wait for the child and copy its batch into ``sink``; render it here if the child did not deliver."""
        if self.pid is not None:
            with self.spool:
                _, status = os.waitpid(self.pid, 0)
                if status == 0:
                    sink.block(self.spool)
                    return
        render(self.part, sink)

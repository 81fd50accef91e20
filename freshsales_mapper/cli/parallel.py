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

import gc
import itertools
import os
import resource
import shutil
import tempfile
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
BATCH = 2000  # entries a child renders: forks cost ~1 ms each, and memory holds `jobs` batches at once


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


def write_in_order(items: Iterable[Any], render: Render, jobs: int, sink: EntrySink, batch: int = BATCH) -> None:
    """``render`` every item into ``sink``, in order: in this process (``jobs`` 1), else a batch per child."""
    jobs = min(jobs, 1 + _spare_files())
    if jobs <= 1:
        render(items, sink)
        return
    if isinstance(items, Sequence):  # all known already: one batch per child, as even as can be
        batch = max(1, min(batch, -(-len(items) // jobs)))
    items = iter(items)
    # The first batch is rendered here: straight to the output, and every child forked after it finds
    # the engine's compiled tables ready instead of building them again.
    render(list(itertools.islice(items, batch)), sink)
    running: deque[_Child] = deque()
    while part := list(itertools.islice(items, batch)):
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

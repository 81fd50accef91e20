"""Rendering a large batch on several cores, in input order, streamed to the output.

Transforming is pure (offline and replay resolvers keep no state), so a forked child can render a
contiguous slice of the batch while the parent renders the first slice. Every slice is written as
it is rendered, entry by entry, never held whole in memory: the parent's own slice straight to the
output, each child's to an anonymous temporary file (unlinked from the start, so nothing is left
behind even if a process is killed) that the parent then copies out in order. A child that fails for
any reason has its slice rendered again in the parent, so the output never depends on whether the
fork worked.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
from collections.abc import Callable, Sequence
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


Render = Callable[[Sequence[Any], EntrySink], None]


def write_in_order(items: Sequence[Any], render: Render, jobs: int, sink: EntrySink) -> None:
    """``render`` each slice of ``items`` into ``sink``, in order; slices after the first in children."""
    if not items:
        return
    jobs = min(jobs, 1 + _spare_files())
    size = -(-len(items) // max(jobs, 1))
    slices = [items[start:start + size] for start in range(0, len(items), size)]
    children = [_Child(part, render, sink.separator) for part in slices[1:]]
    render(slices[0], sink)
    for child, part in zip(children, slices[1:], strict=True):
        if not child.finish_into(sink):
            render(part, sink)


# Files this process keeps for itself (imports, the input, stdout) whatever the number of children.
_FILES_KEPT = 64


def _spare_files() -> int:
    """How many children's spool files the open-file limit leaves room for (each holds one until it is copied)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(0, soft - _FILES_KEPT) if soft != resource.RLIM_INFINITY else 1 << 20


class _Child:
    """One forked child rendering one slice into a temporary file."""

    def __init__(self, part: Sequence[Any], render: Render, separator: bytes):
        self.pid: int | None = None
        try:
            # Closed in finish_into, after the child wrote it; unlinked already, so never left on disk.
            self.spool = tempfile.TemporaryFile(prefix="freshsales-transform-")  # noqa: SIM115
        except OSError:  # no file left to open (--jobs 400 under a low `ulimit -n`): this slice renders here
            return
        try:
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

    def finish_into(self, sink: EntrySink) -> bool:
        """Wait for the child and copy its slice into ``sink``; False if it did not deliver."""
        if self.pid is None:
            return False
        with self.spool:
            _, status = os.waitpid(self.pid, 0)
            if status != 0:
                return False
            sink.block(self.spool)
        return True

"""Rendering a large batch on several cores, in input order, for the CLI.

Transforming is pure (offline and replay resolvers keep no state), so a forked child can render a
contiguous slice of the batch to bytes while the parent renders the first slice; the parent then
writes the slices in order. A child that fails for any reason has its slice rendered again in the
parent, so the output never depends on whether the fork worked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

PARALLEL_FROM = 2000  # events; below this the forks cost more than they save


def default_jobs(count: int) -> int:
    if count < PARALLEL_FROM or not hasattr(os, "fork"):
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def rendered_in_order(items: Sequence[Any], render: Callable[[Sequence[Any]], bytes], jobs: int) -> Iterator[bytes]:
    """``render`` of each slice of ``items``, in order; slices after the first rendered in children."""
    size = -(-len(items) // max(jobs, 1))
    slices = [items[start:start + size] for start in range(0, len(items), size)] if items else []
    children = [_Child(part, render) for part in slices[1:]]
    if slices:
        yield render(slices[0])
    for child, part in zip(children, slices[1:], strict=True):
        rendered = child.result()
        yield rendered if rendered is not None else render(part)


class _Child:
    """One forked child rendering one slice; ``result()`` is None if it did not deliver."""

    def __init__(self, part: Sequence[Any], render: Callable[[Sequence[Any]], bytes]):
        self.pid = None
        try:
            read, write = os.pipe()
            self.pid = os.fork()
        except OSError:
            return
        if self.pid == 0:  # the child: render, hand the bytes over, leave without running cleanups
            code = 1
            try:
                os.close(read)
                with os.fdopen(write, "wb") as out:
                    out.write(render(part))
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self.read = read

    def result(self) -> bytes | None:
        if self.pid is None:
            return None
        with os.fdopen(self.read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        return data if status == 0 else None

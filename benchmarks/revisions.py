"""The trees a benchmark compares: this checkout, and with ``--before REV`` that git revision beside it."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def trees(before: str | None, tmp: Path) -> Iterator[dict[str, Path]]:
    """``{"before (REV)": a temporary worktree of REV, "now": this tree}`` (just "now" without ``before``);
    the worktree is removed afterwards, whatever happens."""
    if not before:
        yield {"now": ROOT}
        return
    tree = tmp / "before"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), before], cwd=ROOT, check=True)
    try:
        yield {f"before ({before})": tree, "now": ROOT}
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)

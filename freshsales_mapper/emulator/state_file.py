"""The emulator's state file (``--state``): checked at start, replaced whole on every save.

A folder that cannot take the file is refused before the emulator answers anything: otherwise every
POST would answer 500 while the emulator kept the record in memory, and memory and file would disagree.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any


def check_writable(path: str) -> None:
    """ValueError (what the CLI reports with exit 2) when the file's folder cannot take a new file."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, probe = tempfile.mkstemp(prefix=".emulator-", suffix=".probe", dir=folder)
    except OSError as exc:
        raise ValueError(f"cannot write the state file {path}: {exc.strerror} ({folder})") from None
    os.close(handle)
    os.unlink(probe)


def save_atomically(path: str, data: Any) -> None:
    """Write to a temporary file and rename it, so a crash never leaves half a state file (OSError on failure)."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".emulator-", suffix=".json", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise

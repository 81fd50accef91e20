"""Ctrl-C in the command line, whenever it comes: one line on stderr and exit 130, never a traceback.

Installed on import of the package, not in ``cli/``, because the package is what is imported first:
``python -m freshsales_mapper`` sets ``argv[0]`` to ``"-m"`` while it imports it, and the console script is
named ``freshsales-mapper``. A program that imports the package as a library keeps its own hook.
"""

from __future__ import annotations

import os
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
MESSAGE = "freshsales-mapper: interrupted"


def _caused_by_ctrl_c(error: BaseException | None) -> bool:
    """Whether Ctrl-C is behind this exception: Python wraps one raised while a class is being created
    (an import's ``__set_name__``) in a RuntimeError, with the KeyboardInterrupt as its cause."""
    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, KeyboardInterrupt):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _interrupted(kind: type[BaseException], value: BaseException, traceback: object) -> None:
    if not _caused_by_ctrl_c(value):
        sys.__excepthook__(kind, value, traceback)  # type: ignore[arg-type]
        return
    os.write(2, (MESSAGE + "\n").encode())
    os._exit(EXIT_INTERRUPTED)  # after a hook Python would re-raise SIGINT on itself and exit -2


if os.path.basename((getattr(sys, "argv", None) or [""])[0]) in ("-m", "freshsales-mapper"):
    sys.excepthook = _interrupted

"""``python -m freshsales_mapper`` / ``freshsales-mapper``: the argument parser and the subcommand dispatch."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from freshsales_mapper import __version__
from freshsales_mapper.cli.common import EXIT_BAD_INPUT, EXIT_OK, InputProblem
from freshsales_mapper.engine.tables import UPSTREAM_COMMIT
from freshsales_mapper.interrupt import EXIT_INTERRUPTED, MESSAGE

# Each subcommand lives in its own module, imported only when chosen (the HTTP stack is slow to import).
COMMANDS = {
    "transform": ("transform_cmd", "show what RudderStack would send, without sending"),
    "send": ("send_cmd", "transform and really send events to Freshsales (or the local emulator)"),
    "emulator": ("emulator_cmd", "run a local Freshsales emulator for demos and tests"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except InputProblem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `... | head` closed the pipe: not an error worth a traceback
        return EXIT_OK
    except KeyboardInterrupt:
        print(MESSAGE, file=sys.stderr)
        return EXIT_INTERRUPTED


def program_name() -> str:
    """How the user called us: ``python -m freshsales_mapper`` or the ``freshsales-mapper`` console script."""
    called = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "freshsales-mapper" if called.startswith("freshsales-mapper") else "python -m freshsales_mapper"


class ShowVersion(argparse.Action):
    """``--version``: ours, and the rudder-transformer commit the tables and semantics follow (unwrapped)."""

    def __init__(self, option_strings: list[str], dest: str, **_: object):
        super().__init__(option_strings, dest, nargs=0, help="show the version and the upstream commit, then exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"{parser.prog} {__version__}\nmapping tables and semantics: rudder-transformer {UPSTREAM_COMMIT}")
        parser.exit()


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name(),
        description="See, check and send what RudderStack sends to Freshsales.",
    )
    parser.add_argument("--version", action=ShowVersion)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in argv or [] if not a.startswith("-")), None)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(f"{__package__}.{module_name}")
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    return parser

"""The command line: ``freshsales-mapper transform | send | emulator`` (also ``python -m freshsales_mapper``).

Owns argument parsing, reading input files and printing. May import every other subpackage; nothing
imports it back, except ``__main__``.
"""

from freshsales_mapper.cli.main import main

__all__ = ["main"]

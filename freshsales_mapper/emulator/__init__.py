"""A local, stateful Freshsales for demos and tests: the API's endpoints, errors and rate limits on
127.0.0.1, seeded with the records RudderStack's own test recordings use.

May import the standard library, the engine's key masking and the shared rate limiter; never the
HTTP client, the sender or the CLI.
"""

from freshsales_mapper.emulator.server import EmulatorServer

__all__ = ["EmulatorServer"]

"""``emulator``: run the local Freshsales emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import sys
import time

from freshsales_mapper.emulator.faults import Faults
from freshsales_mapper.emulator.server import EmulatorServer
from freshsales_mapper.emulator.transport import BODY_TIMEOUT, HEADER_TIMEOUT, MAX_BODY_BYTES
from freshsales_mapper.engine.secret import mask_key
from freshsales_mapper.interrupt import EXIT_INTERRUPTED, MESSAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--api-key", metavar="KEY", default=None,
                        help='key clients must send (default: $FRESHSALES_API_KEY, else "emulator-key")')
    parser.add_argument("--rate-limit-per-minute", type=int, metavar="N", help="answer 429 beyond N a minute")
    parser.add_argument("--rate-limit-per-hour", type=int, metavar="N", help="answer 429 beyond N an hour")
    parser.add_argument("--latency-ms", type=float, default=0, metavar="N", help="delay every answer")
    parser.add_argument("--fail-rate", type=float, default=0.0, metavar="P",
                        help="fraction of requests that fail with 500 before doing anything (0-1)")
    parser.add_argument("--throttle-rate", type=float, default=0.0, metavar="P",
                        help="fraction of requests answered 429 with a Retry-After (0-1)")
    parser.add_argument("--retry-after", type=int, default=1, metavar="S",
                        help="the Retry-After seconds of --throttle-rate's 429s (default 1)")
    parser.add_argument("--activity-fail-rate", type=float, default=0.0, metavar="P",
                        help="fraction of sales activities answered 500 after they were created, so a "
                             "sender cannot know they were (0-1)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the random faults, so a demo fails the same requests each time")
    parser.add_argument("--state", metavar="FILE", help="keep records in this JSON file across restarts")
    parser.add_argument("--header-timeout", type=float, default=HEADER_TIMEOUT, metavar="S",
                        help=f"drop a connection whose request headers take longer (idle keep-alive too; "
                             f"default {HEADER_TIMEOUT:g})")
    parser.add_argument("--body-timeout", type=float, default=BODY_TIMEOUT, metavar="S",
                        help=f"answer 408 to a body that takes longer to arrive (default {BODY_TIMEOUT:g})")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES, metavar="N",
                        help=f"answer 413 to a larger request body (default {MAX_BODY_BYTES})")


def run(args: argparse.Namespace) -> int:
    key = args.api_key or os.environ.get("FRESHSALES_API_KEY") or "emulator-key"
    try:
        faults = Faults(fail_rate=args.fail_rate, throttle_rate=args.throttle_rate, retry_after=args.retry_after,
                        activity_fail_rate=args.activity_fail_rate, latency_ms=args.latency_ms)
        server = EmulatorServer(args.host, args.port, key, rate_limit_per_minute=args.rate_limit_per_minute,
                                rate_limit_per_hour=args.rate_limit_per_hour, faults=faults, seed=args.seed,
                                state_file=args.state,
                                header_timeout=args.header_timeout, body_timeout=args.body_timeout,
                                max_body_bytes=args.max_body_bytes).start()
    except (OSError, ValueError) as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr, flush=True)
        return 2
    print(f"Freshsales emulator on {server.base_url} (API key {mask_key(key)}); Ctrl-C stops it.", flush=True)
    for fault in faults.describe():
        print(f"  fault on: {fault}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:  # the way to stop it: one line and 130, as for every command
        print(f"{MESSAGE}; the emulator stopped", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    finally:
        server.stop()

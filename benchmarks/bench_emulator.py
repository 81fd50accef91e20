"""How many connections does the emulator reset or drop when many clients arrive at once?

Starts the emulator in its own process, then opens N connections at the same moment from this
process (asyncio, one GET /lists each, ``Connection: close``) and counts what happened to each:
answered 200, reset or refused by the kernel, or no answer within the time bound. Runs for the
default listen backlog and, for comparison, for socketserver's old default of 5. Also sends one
oversized body (200 MB) and prints the emulator's peak RSS before and after (it answers 413 and
drops the body as it arrives), and checks that an idle connection is closed after the header timeout.

    python benchmarks/bench_emulator.py                 # 100 and 500 clients
    python benchmarks/bench_emulator.py --clients 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from freshsales_mapper.emulator.transport import LISTEN_BACKLOG  # noqa: E402

KEY = "bench-key-0123456789"
SERVE = """
import sys, time
from freshsales_mapper.emulator.server import EmulatorServer
server = EmulatorServer("127.0.0.1", 0, sys.argv[1], backlog=int(sys.argv[2]), header_timeout=float(sys.argv[3]))
server.start()
print(server.port, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
server.stop()
"""


def start_emulator(backlog: int, header_timeout: float) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "-c", SERVE, KEY, str(backlog), str(header_timeout)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    return process, int(process.stdout.readline())


def stop_emulator(process: subprocess.Popen) -> None:
    process.stdin.close()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def one_client(port: int, start: asyncio.Event, bound: float) -> str:
    await start.wait()
    try:
        async with asyncio.timeout(bound):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET /crm/sales/api/lists HTTP/1.1\r\nHost: x\r\nAuthorization: Token token={KEY}\r\n"
                         "Connection: close\r\n\r\n".encode())
            await writer.drain()
            status = await reader.readline()
            await reader.read()
            writer.close()
            return "200" if b" 200 " in status else f"answered {status.decode().strip() or 'nothing'}"
    except TimeoutError:
        return "no answer in time"
    except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError):
        return "reset/refused"
    except OSError as exc:
        return type(exc).__name__


async def burst(port: int, clients: int, bound: float) -> Counter:
    start = asyncio.Event()
    tasks = [asyncio.create_task(one_client(port, start, bound)) for _ in range(clients)]
    await asyncio.sleep(0.05)
    start.set()
    return Counter(await asyncio.gather(*tasks))


def idle_closed_after(port: int, limit: float) -> float | None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(limit)
        started = time.monotonic()
        try:
            sock.recv(1)
        except TimeoutError:
            return None
        return time.monotonic() - started


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def post_huge_body(port: int, megabytes: int) -> str:
    """POST a body of ``megabytes`` MB with a Content-Length, in 1 MB writes; the status line answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(f"POST /crm/sales/api/contacts/upsert HTTP/1.1\r\nHost: x\r\nAuthorization: Token token={KEY}"
                     f"\r\nContent-Length: {megabytes << 20}\r\n\r\n".encode())
        chunk = b" " * (1 << 20)
        try:
            for _ in range(megabytes):
                sock.sendall(chunk)
        except OSError as exc:
            return f"connection dropped while sending ({type(exc).__name__})"
        return sock.recv(200).split(b"\r\n", 1)[0].decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--rounds", type=int, default=3, help="bursts per size (figures are summed)")
    parser.add_argument("--bound", type=float, default=20.0, help="seconds a client waits at most")
    parser.add_argument("--header-timeout", type=float, default=2.0)
    parser.add_argument("--body-mb", type=int, default=200, help="size of the oversized body sent once")
    args = parser.parse_args()
    print(f"net.core.somaxconn = {Path('/proc/sys/net/core/somaxconn').read_text().strip()}")
    for backlog in (LISTEN_BACKLOG, 5):
        process, port = start_emulator(backlog, args.header_timeout)
        try:
            for clients in args.clients:
                totals: Counter = Counter()
                started = time.monotonic()
                for _ in range(args.rounds):
                    totals += asyncio.run(burst(port, clients, args.bound))
                elapsed = time.monotonic() - started
                total = clients * args.rounds
                failed = total - totals["200"]
                detail = ", ".join(f"{what}: {n}" for what, n in sorted(totals.items()) if what != "200")
                print(f"backlog {backlog:>4}, {clients:>4} concurrent clients x {args.rounds}: "
                      f"{failed / total:6.1%} not served ({detail or 'none'}), {elapsed:.1f} s")
            before = peak_rss_mb(process.pid)
            answer = post_huge_body(port, args.body_mb)
            print(f"backlog {backlog:>4}: a {args.body_mb} MB body: {answer}; emulator peak RSS "
                  f"{before:.0f} MB before, {peak_rss_mb(process.pid):.0f} MB after")
            closed = idle_closed_after(port, args.header_timeout + 5)
            print(f"backlog {backlog:>4}: an idle connection is closed after "
                  + (f"{closed:.1f} s" if closed is not None else f"more than {args.header_timeout + 5:g} s"))
        finally:
            stop_emulator(process)


if __name__ == "__main__":
    main()

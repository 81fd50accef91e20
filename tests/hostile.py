"""Misbehaving HTTP servers on 127.0.0.1 for the hostile-server tests: each connection is handed to a
behaviour function that may answer, trickle, reset, stall or lie. Every server stops (and joins its
threads) when its ``with`` block ends, so no test leaves anything behind."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Seen:
    """One request the hostile server read: its request line, headers and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class Hostile:
    base_url: str
    seen: list[Seen] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def paths(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.seen]


Behaviour = Callable[[socket.socket, Seen, int, Hostile], None]


def read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Seen(method, path, headers, body)


def response_head(status: int, length: int | None, extra: str = "", content_type: str = "application/json") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n{size}{extra}Connection: close\r\n\r\n".encode()


def answer(conn: socket.socket, status: int, body, extra: str = "") -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.sendall(response_head(status, len(data), extra) + data)


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed proxy or a dropped link does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@contextlib.contextmanager
def hostile_server(behaviour: Behaviour) -> Iterator[Hostile]:
    """Serve every connection with ``behaviour(conn, request, number, server)`` (number counts from 0)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)
    server = Hostile(f"http://127.0.0.1:{listener.getsockname()[1]}")
    workers: list[threading.Thread] = []
    lock = threading.Lock()

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.settimeout(5)
            request = read_request(conn)
            if request is None:
                conn.close()
                return
            with lock:
                number = len(server.seen)
                server.seen.append(request)
            behaviour(conn, request, number, server)
            conn.close()

    def serve() -> None:
        while not server.stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            worker = threading.Thread(target=handle, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join()
        listener.close()
        for worker in workers:
            worker.join(10)


# ---- behaviours ----------------------------------------------------------------------------------

def reset_mid_body(conn: socket.socket, _request: Seen, _number: int, _server: Hostile) -> None:
    """Promise 200 bytes, send 20, then reset the connection."""
    conn.sendall(response_head(200, 200) + b'{"contact": {"id": 1')
    time.sleep(0.05)
    reset(conn)


def never_answer(conn: socket.socket, _request: Seen, _number: int, server: Hostile) -> None:
    """Read the request and say nothing until the server is stopped."""
    server.stop.wait(30)


def trickle(seconds_per_byte: float) -> Behaviour:
    def behaviour(conn: socket.socket, _request: Seen, _number: int, server: Hostile) -> None:
        body = b'{"contact": {"id": 1, "padding": "' + b"x" * 200 + b'"}}'
        conn.sendall(response_head(200, len(body)))
        for byte in body:
            if server.stop.wait(seconds_per_byte):
                return
            conn.sendall(bytes([byte]))
    return behaviour


def echo_key(template: Callable[[str], bytes], status: int = 400) -> Behaviour:
    """Answer with a body built from the Authorization header's token (a server leaking the key)."""
    def behaviour(conn: socket.socket, request: Seen, _number: int, _server: Hostile) -> None:
        token = request.headers.get("authorization", "").removeprefix("Token token=")
        answer(conn, status, template(token))
    return behaviour


def redirect_to(location: str) -> Behaviour:
    def behaviour(conn: socket.socket, _request: Seen, _number: int, _server: Hostile) -> None:
        conn.sendall(response_head(302, 0, f"Location: {location}\r\n"))
    return behaviour

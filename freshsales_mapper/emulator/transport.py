"""The emulator's HTTP side: connections, keep-alive, and limits a slow or hostile client cannot outlast.

Each connection gets a thread (so one slow client delays nobody else), reads go through a deadline
per phase (headers, then body), a body over the size limit is refused unread, and the listen backlog
is large enough that a burst of clients is queued rather than reset.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import re
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Protocol

from freshsales_mapper.emulator.state import error_body

logger = logging.getLogger("freshsales_mapper.emulator.server")

# Defaults a slow or hostile client cannot outlast; all are EmulatorServer options.
LISTEN_BACKLOG = 1024  # the kernel caps it at net.core.somaxconn
HEADER_TIMEOUT = 10.0  # seconds from waiting for a request (idle keep-alive too) to its last header
BODY_TIMEOUT = 30.0  # seconds to receive the body once the headers are in
MAX_BODY_BYTES = 5 * 1024 * 1024


_DIGITS = re.compile(r"[0-9]{1,18}")  # more digits than 10^18 bytes is no length this server takes


class Answer(NamedTuple):
    status: int
    body: Any  # JSON data, or a Page sent as HTML
    headers: dict[str, str]


class Page(NamedTuple):
    """An HTML page for a person who opens the emulator's address in a browser (escaped by its maker)."""

    html: str


class Emulator(Protocol):
    """What the transport needs of the emulator behind it (``EmulatorServer``): its limits and its answers."""

    header_timeout: float
    body_timeout: float
    max_body_bytes: int

    def handle(self, method: str, target: str, authorization: str | None, raw_body: bytes) -> Answer: ...

    def check_idle(self) -> None: ...


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator  # set by EmulatorServer.start

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], backlog: int):
        self.request_queue_size = backlog  # socketserver's default of 5 resets connections under load
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def service_actions(self) -> None:
        self.emulator.check_idle()  # serve_forever calls this after every poll

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can hang without DNS; we never need it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver calls this from inside its except block, so the traceback is available.
        logger.debug("emulator connection error from %s", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients exercise their connection pools
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed ACK
    # (~40 ms per answer on Linux), which would make every local demo and test crawl.
    disable_nagle_algorithm = True
    server_version = "FreshsalesEmulator/1.0"
    server: HttpServer

    def setup(self) -> None:
        super().setup()
        # Reads go through a deadline: a per-read socket timeout alone lets a client that trickles a
        # byte a second hold a thread forever.
        self._deadline = _Deadline(self.connection)
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self._deadline))

    def handle_one_request(self) -> None:
        self._deadline.start(self.server.emulator.header_timeout)
        super().handle_one_request()

    def _serve(self) -> None:
        emulator = self.server.emulator
        length = self._body_length()
        if isinstance(length, str):
            self.close_connection = True  # we cannot tell where this body ends, so nothing after it is read
            answer = Answer(400, error_body(400, length), {})
        elif length > emulator.max_body_bytes:
            # Read and drop the body (memory stays flat): closing with it unread would reset the
            # connection, and the client would see a reset instead of this answer.
            self._deadline.start(emulator.body_timeout)
            if not self._discard(length):
                self.close_connection = True
            answer = Answer(413, error_body(413, f"The request body is larger than {emulator.max_body_bytes} bytes"),
                            {})
        else:
            self._deadline.start(emulator.body_timeout)
            try:
                raw = self.rfile.read(length) if length else b""
            except TimeoutError:
                raw = None
            if raw is None or len(raw) < length:
                self.close_connection = True
                answer = Answer(408, error_body(408, f"The body did not arrive within {emulator.body_timeout:g} s"),
                                {})
            else:
                try:
                    answer = emulator.handle(self.command, self.path, self.headers.get("Authorization"), raw)
                except Exception:
                    logger.exception("emulator bug while answering %s %s", self.command, self.path)
                    answer = Answer(500, error_body(500, "Internal server error"), {})
        page = isinstance(answer.body, Page)
        payload = answer.body.html.encode("utf-8") if page else json.dumps(answer.body).encode("utf-8")
        kind = "text/html; charset=utf-8" if page else "application/json; charset=utf-8"
        if self.close_connection:
            answer.headers["Connection"] = "close"
        try:
            self._deadline.start(emulator.header_timeout)  # a client that does not read is dropped too
            self._deadline.arm()
            self.send_response(answer.status)
            for name, value in {"Content-Type": kind,
                                "Content-Length": str(len(payload)), **answer.headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # BrokenPipe, ConnectionReset, a timeout: the client is gone or not reading
            self.close_connection = True

    def _body_length(self) -> int | str:
        """The body's length, framed as RFC 9112 section 6 requires, or why the message cannot be framed.

        Two Content-Length headers, a value that is not all digits (``+7``, ``0_7``, which Python's int()
        takes), or Transfer-Encoding at all (this server reads no chunked bodies, and with a Content-Length
        it is the classic request-smuggling pair) leave the body's end ambiguous: a front end and this
        server could disagree on where the next request starts, so such a message is refused whole.
        """
        lengths = self.headers.get_all("Content-Length") or []
        if self.headers.get_all("Transfer-Encoding"):
            return "Transfer-Encoding is not accepted: send the body with one Content-Length"
        if len(lengths) > 1:
            return "The request has more than one Content-Length header"
        if not lengths:
            return 0
        if not _DIGITS.fullmatch(lengths[0].strip(" \t")):
            return "Content-Length must be a decimal number of bytes"
        return int(lengths[0])

    def _discard(self, length: int) -> bool:
        """Read ``length`` bytes into nothing; False if the client stopped or was too slow."""
        try:
            while length > 0:
                chunk = self.rfile.read1(min(length, 1 << 16))
                if not chunk:
                    return False
                length -= len(chunk)
        except OSError:
            return False
        return True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("emulator: " + format, *args)


class _Deadline:
    """When the current phase of a request (headers, then body) must be done."""

    def __init__(self, connection: socket.socket):
        self.connection, self.at = connection, math.inf

    def start(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def arm(self) -> None:
        """Before each socket read or write: wait at most until the deadline."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the client is too slow")
        self.connection.settimeout(left)


class _DeadlineReader(io.RawIOBase):
    def __init__(self, connection: socket.socket, deadline: _Deadline):
        super().__init__()
        self.connection, self.deadline = connection, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.deadline.arm()
        return self.connection.recv_into(buffer)

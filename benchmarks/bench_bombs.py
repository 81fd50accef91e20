"""The bombs of issue 19 at full size (the tests run them scaled down): time and peak memory of each refusal.

* a gzip bomb reply: about 2 MB on the wire inflating to 2 GB, answered by a loopback server to one
  upsert; the client stops at its 10 MB cap ("reply too large");
* a forged share link: 7,908 characters of base64 that inflate to 1,500,000 events; refused at 1 MB;
* an input with no end: ``transform /dev/zero``, refused at the 1 GiB input cap with exit 2.

Each runs in a fresh child process, so its peak resident memory (ru_maxrss) is its own.

    python benchmarks/bench_bombs.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GZIP_BOMB = """
import resource, socket, threading, time, zlib
from freshsales_mapper.engine.plan import HttpRequest
from freshsales_mapper.sending.client import FreshsalesClient
squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
block = bytes(1 << 20)
bomb = b"".join(squeeze.compress(block) for _ in range(2048)) + squeeze.flush()  # 2 GiB of zeros
listener = socket.create_server(("127.0.0.1", 0))
def serve():
    conn, _ = listener.accept()
    conn.recv(65536)
    head = f"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Encoding: gzip\\r\\nContent-Length: {len(bomb)}\\r\\nConnection: close\\r\\n\\r\\n"
    try:
        conn.sendall(head.encode() + bomb)
    except OSError:
        pass
    conn.close()
threading.Thread(target=serve, daemon=True).start()
client = FreshsalesClient("acme", "bench-key-123456", base_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
                          rate_limit_per_minute=None, rate_limit_per_hour=None, max_retries=0)
body = {"unique_identifier": {"emails": "b@example.com"}, "contact": {"emails": "b@example.com"}}
started = time.monotonic()
reply = client.execute(HttpRequest("POST", "https://acme.myfreshworks.com/crm/sales/api/contacts/upsert", {}, body))
took = time.monotonic() - started
print(f"gzip bomb: {len(bomb) / 1e6:.1f} MB on the wire, 2,147 MB inflated -> {reply.network_error!r} "
      f"in {took:.2f} s, peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
"""

SHARE_BOMB = """
import base64, json, resource, time, zlib
from playground.share import ShareError, decode
events = "\\n".join(['{}'] * 1_500_000)
document = json.dumps({"v": 1, "events": events, "domain": "acme.myfreshworks.com", "mappings": []})
token = base64.urlsafe_b64encode(zlib.compress(document.encode(), 9)).decode().rstrip("=")
started = time.monotonic()
try:
    decode(token)
    verdict = "accepted"
except ShareError as exc:
    verdict = f"refused ({exc})"
took = time.monotonic() - started
print(f"share-link bomb: {len(token):,} characters, {len(document) / 1e6:.1f} MB inflated, 1,500,000 events -> "
      f"{verdict} in {took:.3f} s, peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
"""

ENDLESS = """
import resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", "--domain", "acme.myfreshworks.com",
                       "/dev/zero"], capture_output=True, text=True)
took = time.monotonic() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"transform /dev/zero: exit {done.returncode} in {took:.1f} s, peak {peak:.0f} MB: {done.stderr.strip()[:110]}")
"""


def main() -> None:
    for name, code in (("gzip", GZIP_BOMB), ("share", SHARE_BOMB), ("endless", ENDLESS)):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            print(f"{name}: the measurement failed ({time.monotonic() - started:.0f} s): {done.stderr[-400:]}")
            continue
        print(done.stdout.strip())


if __name__ == "__main__":
    main()

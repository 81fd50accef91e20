"""Peak memory of ``transform`` on many tiny events: 1,000,000 ``{}`` lines (a 3 MB file) by default.

Each ``{}`` is a bare message RudderStack rejects, so the output is one error item per line, about
250 bytes each (~250 MB). Runs ``python -m freshsales_mapper transform`` as a child process per
setting, writes its output to /dev/null, and prints the child's peak resident memory (ru_maxrss of
``resource.getrusage(RUSAGE_CHILDREN)``, one fresh measuring process per run so earlier children do
not count) next to the input and output sizes. Target: under 1.5 GB for 1,000,000 items.

    python benchmarks/bench_memory.py                       # 1,000,000 items, --jobs 1 and the default
    python benchmarks/bench_memory.py --items 200000 --jobs 1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter so RUSAGE_CHILDREN holds exactly one child: the transform.
MEASURE = """
import resource, subprocess, sys, time
started = time.monotonic()
with open(sys.argv[1], "rb") as source, open(sys.argv[2], "wb") as sink:
    done = subprocess.run(sys.argv[3:], stdin=source, stdout=sink, stderr=subprocess.PIPE)
elapsed = time.monotonic() - started
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(done.returncode, peak_kib, elapsed, done.stderr.decode()[-300:].replace(chr(10), " "), sep="\\t")
"""


def measure(events: Path, output: Path, jobs: str) -> tuple[int, float, float, str]:
    command = [sys.executable, "-m", "freshsales_mapper", "transform", "-", "--domain", "acme.myfreshworks.com",
               "--api-key", "bench-key", "--compact"]
    if jobs != "default":
        command += ["--jobs", jobs]
    done = subprocess.run([sys.executable, "-c", MEASURE, str(events), str(output), *command],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    code, peak_kib, elapsed, stderr = done.stdout.rstrip("\n").split("\t")
    return int(code), int(peak_kib) / 1024, float(elapsed), stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--jobs", nargs="+", default=["1", "default"], help="--jobs values to run ('default': none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        events, output = Path(folder) / "events.ndjson", Path(folder) / "out.json"
        events.write_bytes(b"{}\n" * args.items)
        print(f"input: {args.items:,} `{{}}` lines, {events.stat().st_size / 1e6:.1f} MB; cores: "
              f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}")
        for jobs in args.jobs:
            started = time.monotonic()
            code, peak_mb, elapsed, stderr = measure(events, output, jobs)
            size = output.stat().st_size / 1e6
            print(f"--jobs {jobs:>7}: peak RSS {peak_mb:7.0f} MB, output {size:6.0f} MB, {elapsed:5.1f} s, "
                  f"exit {code}" + (f" ({stderr})" if code else ""))
            del started


if __name__ == "__main__":
    main()

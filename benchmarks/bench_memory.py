"""Peak memory of ``transform`` on many tiny events: 1,000,000 ``{}`` items (a 3 MB file) by default.

Each ``{}`` is a bare message RudderStack rejects, so the output is one error item per input item, about
250 bytes each (~250 MB). Runs ``python -m freshsales_mapper transform`` as a child process per
setting, writes its output to /dev/null, and prints the child's peak resident memory (ru_maxrss of
``resource.getrusage(RUSAGE_CHILDREN)``, one fresh measuring process per run so earlier children do
not count, forked children of the transform included) next to the input and output sizes. Input is
parsed as it is read, so the peak should not grow with the number of items: ``--items`` takes several
sizes to show it.

``--before REV`` measures a git revision too (checked out in a temporary worktree that is removed
afterwards, see ``revisions.py``), in the same run and on the same files, and prints both side by side.

    python benchmarks/bench_memory.py                                  # 1,000,000 items, ndjson, --jobs 1 and the default
    python benchmarks/bench_memory.py --items 100000 1000000 --before af880c9
    python benchmarks/bench_memory.py --items 200000 --shape array --jobs 1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from revisions import trees as trees_of  # noqa: E402  (benchmarks/revisions.py, beside this script)

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

SHAPES = {
    "ndjson": lambda count: b"{}\n" * count,
    "array": lambda count: b"[" + b"{}," * (count - 1) + b"{}]" if count else b"[]",
}


def measure(tree: Path, events: Path, output: Path, jobs: str) -> tuple[int, float, float, str]:
    command = [sys.executable, "-m", "freshsales_mapper", "transform", "-", "--domain", "acme.myfreshworks.com",
               "--api-key", "bench-key", "--compact"]
    if jobs != "default":
        command += ["--jobs", jobs]
    done = subprocess.run([sys.executable, "-c", MEASURE, str(events), str(output), *command],
                          capture_output=True, text=True, cwd=tree, check=True)
    code, peak_kib, elapsed, stderr = done.stdout.rstrip("\n").split("\t")
    return int(code), int(peak_kib) / 1024, float(elapsed), stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1_000_000], help="numbers of `{}` items to try")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="ndjson",
                        help="one `{}` per line, or one JSON array of them")
    parser.add_argument("--jobs", nargs="+", default=["1", "default"], help="--jobs values to run ('default': none)")
    parser.add_argument("--before", metavar="REV", help="also measure this git revision, in the same run")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp, trees_of(args.before, Path(tmp)) as trees:
        events, output = Path(tmp) / "events.json", Path(tmp) / "out.json"
        print(f"shape: {args.shape}; cores: {cores}")
        for count in args.items:
            events.write_bytes(SHAPES[args.shape](count))
            print(f"input: {count:,} `{{}}` items, {events.stat().st_size / 1e6:.1f} MB")
            for jobs in args.jobs:
                for name, tree in trees.items():
                    code, peak_mb, elapsed, stderr = measure(tree, events, output, jobs)
                    size = output.stat().st_size / 1e6
                    print(f"  {name:>20} --jobs {jobs:>7}: peak RSS {peak_mb:6.0f} MB, output {size:5.0f} MB, "
                          f"{elapsed:5.1f} s, exit {code}" + (f" ({stderr})" if code else ""))


if __name__ == "__main__":
    main()

"""How fast is `python -m freshsales_mapper transform` next to doing nothing but JSON in and out?

Generates 50,000 mixed events as a RudderStack processor request body, then measures, in this one run:

* the engine alone: ``transform_event`` over every item, trace off, no reading or writing, in
  events per second per core (events / CPU seconds of that loop, so other load on the machine counts less);
* the whole process: the transform CLI and a bare stdlib ``json.load`` + ``json.dumps`` of the same
  file, each as a fresh interpreter (so both pay start-up), best of three, as it runs by default (one
  process per available core for large inputs) and with ``--jobs 1``, and the ratios to the bare JSON.

``--before REV`` measures a git revision too (checked out into a temporary worktree), in the same run
and on the same file, and prints both side by side; the bytes of both outputs are compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import revisions  # noqa: E402  (benchmarks/revisions.py, beside this script)

from freshsales_mapper.cli.parallel import default_jobs  # noqa: E402
from freshsales_mapper.sample_generator import generate_events, processor_items  # noqa: E402

BASELINE = "import json, sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1], encoding='utf-8'))))"
# Run inside the tree being measured (cwd): reads the items as the CLI does, then times the engine only.
ENGINE = """
import argparse, sys, time
sys.path.insert(0, '.')
from freshsales_mapper.cli.common import read_entries
from freshsales_mapper.engine.resolvers import OfflineResolver
from freshsales_mapper.engine.transform import transform_event
items = read_entries(argparse.Namespace(input=sys.argv[1], api_key=None, domain=None, event_map=[]))
resolver, best = OfflineResolver(), None
for _ in range(int(sys.argv[2])):
    start = time.process_time()
    for item in items:
        transform_event(item.message, item.destination, resolver, trace=False, metadata=item.metadata)
    spent = time.process_time() - start
    best = spent if best is None else min(best, spent)
print(len(items) / best)
"""


def best_of(command: list[str], runs: int, cwd: Path, out: Path | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with open(out, "wb") if out else open("/dev/null", "wb") as sink:
            subprocess.run(command, stdout=sink, check=True, cwd=cwd)
        times.append(time.perf_counter() - start)
    return min(times)


def measure(tree: Path, path: Path, runs: int, out: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "freshsales_mapper", "transform", str(path)]
    engine = subprocess.run([sys.executable, "-c", ENGINE, str(path), str(runs)], cwd=tree, check=True,
                            capture_output=True, text=True).stdout
    return {"engine": float(engine.split()[-1]),
            "all": best_of(command, runs, tree, out),
            "one": best_of([*command, "--jobs", "1"], runs, tree)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="REV", help="also measure this git revision, in the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.json"
        path.write_text(json.dumps(processor_items(generate_events(args.events, seed=7))), encoding="utf-8")
        size_mb = path.stat().st_size / 1e6
        baseline = best_of([sys.executable, "-c", BASELINE, str(path)], args.runs, ROOT)
        with revisions.trees(args.before, Path(tmp)) as trees:
            figures = {name: measure(tree, path, args.runs, Path(tmp) / f"out-{i}.json")
                       for i, (name, tree) in enumerate(trees.items())}
            digests = {hashlib.sha256((Path(tmp) / f"out-{i}.json").read_bytes()).hexdigest()
                       for i in range(len(trees))}
    print(f"events: {args.events:,} ({size_mb:.1f} MB processor request body), best of {args.runs}, "
          f"{default_jobs(args.events)} core(s) available")
    print(f"stdlib json.load + json.dumps: {baseline:.2f} s")
    for name, f in figures.items():
        print(f"{name}:")
        print(f"  engine alone (no I/O):        {f['engine']:,.0f} events/s/core  (target >= 30,000)")
        print(f"  transform CLI, all cores:     {f['all']:.2f} s  ratio {f['all'] / baseline:.2f}  (target <= 1.3)")
        print(f"  transform CLI --jobs 1:       {f['one']:.2f} s  ratio {f['one'] / baseline:.2f}  (target <= 2.0)")
    if len(figures) > 1:
        print("outputs byte-identical:", "yes" if len(digests) == 1 else "NO, they differ")


if __name__ == "__main__":
    main()

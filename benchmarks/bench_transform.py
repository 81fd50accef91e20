"""How fast is `python -m freshsales_mapper transform` next to doing nothing but JSON in and out?

Generates 50,000 mixed events as a RudderStack processor request body, then times, in this one run,
the transform CLI and a bare stdlib ``json.load`` + ``json.dumps`` of the same file, each as a fresh
interpreter (so both pay start-up), best of three. Prints the figures and the ratios (target <= 3):
the CLI as it runs by default (one process per available core for large inputs) and with ``--jobs 1``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from freshsales_mapper.cli.parallel import default_jobs  # noqa: E402
from freshsales_mapper.sample_generator import generate_events, processor_items  # noqa: E402

BASELINE = "import json, sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1], encoding='utf-8'))))"


def best_of(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.json"
        path.write_text(json.dumps(processor_items(generate_events(args.events, seed=7))), encoding="utf-8")
        size_mb = path.stat().st_size / 1e6
        baseline = best_of([sys.executable, "-c", BASELINE, str(path)], args.runs)
        command = [sys.executable, "-m", "freshsales_mapper", "transform", str(path)]
        transform = best_of(command, args.runs)
        one_process = best_of([*command, "--jobs", "1"], args.runs)
    print(f"events: {args.events:,} ({size_mb:.1f} MB processor request body), best of {args.runs}, "
          f"{default_jobs(args.events)} core(s) available")
    print(f"stdlib json.load + json.dumps:    {baseline:.2f} s")
    print(f"transform CLI (offline, default): {transform:.2f} s  ({args.events / transform:,.0f} events/s end to end)")
    print(f"transform CLI --jobs 1:           {one_process:.2f} s  ({args.events / one_process:,.0f} events/s)")
    print(f"ratio transform / baseline:       {transform / baseline:.2f}  (target <= 3, aim 1.5); "
          f"--jobs 1: {one_process / baseline:.2f}")


if __name__ == "__main__":
    main()

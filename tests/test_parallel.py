"""Large batches rendered on several cores come out exactly as in one process, in input order."""

import json
import os
import subprocess
import sys
from pathlib import Path

from freshsales_mapper.cli.parallel import rendered_in_order
from freshsales_mapper.sample_generator import generate_events, processor_items

ROOT = Path(__file__).resolve().parents[1]


def test_slices_come_back_in_order():
    items = list(range(10))
    parts = list(rendered_in_order(items, lambda part: ",".join(map(str, part)).encode(), jobs=3))
    assert b",".join(parts) == b"0,1,2,3,4,5,6,7,8,9"
    assert len(parts) == 3


def test_a_child_that_fails_has_its_slice_rendered_here():
    parent = os.getpid()

    def render(part):
        if os.getpid() != parent:
            raise RuntimeError("this child breaks")
        return ",".join(map(str, part)).encode()

    assert b",".join(rendered_in_order(list(range(7)), render, jobs=2)) == b"0,1,2,3,4,5,6"


def test_cli_output_is_identical_with_one_or_several_processes(tmp_path):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(processor_items(generate_events(2500, seed=11))))

    def transform(*options):
        proc = subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", *options, str(path)],
                              capture_output=True, cwd=ROOT, timeout=300, check=True)
        return proc.stdout

    single = transform("--jobs", "1")
    assert transform("--jobs", "3") == single
    assert transform() == single  # the default picks the cores available
    assert len(json.loads(single)) >= 2500

"""Large batches rendered on several cores come out exactly as in one process, in input order."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from freshsales_mapper.cli.parallel import EntrySink, write_in_order
from freshsales_mapper.sample_generator import generate_events, processor_items

ROOT = Path(__file__).resolve().parents[1]


def render_numbers(part, sink):
    for number in part:
        sink.entry(str(number).encode())


def written(items, render, jobs) -> bytes:
    stream = io.BytesIO()
    write_in_order(items, render, jobs, EntrySink(stream, b","))
    return stream.getvalue()


def test_slices_come_back_in_order():
    assert written(list(range(10)), render_numbers, jobs=3) == b"0,1,2,3,4,5,6,7,8,9"


def test_empty_slices_add_no_separator():
    def odd_only(part, sink):
        render_numbers([n for n in part if n % 2], sink)

    assert written([0, 2, 1, 4, 6, 8, 3], odd_only, jobs=3) == b"1,3"


def test_a_child_that_fails_has_its_slice_rendered_here():
    parent = os.getpid()

    def render(part, sink):
        if os.getpid() != parent:
            raise RuntimeError("this child breaks")
        render_numbers(part, sink)

    assert written(list(range(7)), render, jobs=2) == b"0,1,2,3,4,5,6"


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


def test_children_reading_the_input_on_their_own_each_render_their_share_in_order():
    # A generator stands for the input: every forked process goes on from where it was, as with a file.
    stream = io.BytesIO()
    write_in_order(iter(range(23)), render_numbers, 3, EntrySink(stream, b","), batch=2, reopen=lambda: True)
    assert stream.getvalue() == b",".join(str(n).encode() for n in range(23))


def test_a_child_that_cannot_read_the_input_has_its_batches_rendered_here():
    parent = os.getpid()

    def render(part, sink):
        if os.getpid() != parent and 6 in part:  # batch 3 of 2 items: the child's second
            raise RuntimeError("this child breaks at its second batch")
        render_numbers(part, sink)

    for reopen in (lambda: False, lambda: True):
        stream = io.BytesIO()
        write_in_order(iter(range(13)), render, 2, EntrySink(stream, b","), batch=2, reopen=reopen)
        assert stream.getvalue() == b",".join(str(n).encode() for n in range(13))


def test_piped_input_is_rendered_on_several_cores_too_with_the_same_bytes(tmp_path):
    body = json.dumps(processor_items(generate_events(2500, seed=12))).encode()

    def transform(*options):
        return subprocess.run([sys.executable, "-m", "freshsales_mapper", "transform", *options, "-"],
                              input=body, capture_output=True, cwd=ROOT, timeout=300, check=True).stdout

    assert transform("--jobs", "3") == transform("--jobs", "1")

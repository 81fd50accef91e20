"""The mapping tables keep rudder-transformer's own file shape and content, with our notes apart.

The sha256 sums in ``annotations.json`` were taken from rudder-transformer's files at the recorded
commit (canonical JSON: sorted keys, no spaces), so any edit to a table that does not come from
upstream fails here until the sidecar is updated with it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from freshsales_mapper import engine
from freshsales_mapper.engine.tables import TABLE_NAMES, UPSTREAM_COMMIT, VALUE_STEPS, load_tables, read_data

SIDECAR = read_data("annotations.json")
UPSTREAM_FILES = ("identifyConfig.json", "groupConfig.json", "SalesActivityConfig.json", "GenericFieldMapping.json")
ENTRY_KEYS = {"destKey", "sourceKeys", "sourceFromGenericMap", "required", "metadata"}
NOTE_KEYS = {"expects", "doc", "then"}


def _canonical_sha256(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entries(kind: str) -> list[dict]:
    data = read_data(SIDECAR["tables"][kind]["file"])
    return data[kind] if isinstance(data, dict) else data


def test_the_upstream_commit_is_recorded_once_and_exported():
    assert SIDECAR["upstream"]["commit"] == UPSTREAM_COMMIT == engine.UPSTREAM_COMMIT
    assert len(UPSTREAM_COMMIT) == 40 and int(UPSTREAM_COMMIT, 16)


def test_version_flag_shows_the_upstream_commit():
    proc = subprocess.run([sys.executable, "-m", "freshsales_mapper", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"rudder-transformer {UPSTREAM_COMMIT}" in proc.stdout.splitlines()[-1]
    assert proc.stdout.startswith("python -m freshsales_mapper ")


@pytest.mark.parametrize("name", UPSTREAM_FILES)
def test_upstream_files_hold_upstreams_data_at_that_commit(name):
    assert _canonical_sha256(read_data(name)) == SIDECAR["upstream"]["sha256_of_canonical_json"][name]


@pytest.mark.parametrize("kind", TABLE_NAMES)
def test_each_table_has_upstreams_entry_shape(kind):
    generic = read_data("GenericFieldMapping.json")
    entries = _entries(kind)
    assert entries and len({e["destKey"] for e in entries}) == len(entries)
    for entry in entries:
        assert set(entry) <= ENTRY_KEYS and {"destKey", "sourceKeys"} <= set(entry), entry
        sources = entry["sourceKeys"]
        if entry.get("sourceFromGenericMap"):
            assert isinstance(sources, str) and sources in generic, entry
        else:
            assert isinstance(sources, str) or (isinstance(sources, list) and all(isinstance(s, str) for s in sources))
        if "metadata" in entry:
            assert entry["metadata"] in ({"type": "toNumber"}, {"type": "toFloat"}), entry
        assert entry.get("required", False) in (True, False)


@pytest.mark.parametrize("kind", TABLE_NAMES)
def test_annotations_only_annotate_fields_that_exist(kind):
    dests = {e["destKey"] for e in _entries(kind)}
    notes = SIDECAR["tables"][kind]["fields"]
    assert set(notes) <= dests, set(notes) - dests
    for note in notes.values():
        assert set(note) <= NOTE_KEYS, note
        assert set(note.get("then", ())) <= set(VALUE_STEPS)


def test_compiled_specs_follow_the_files():
    tables = load_tables()
    for kind in TABLE_NAMES:
        specs = getattr(tables, kind)
        entries = _entries(kind)
        assert [s.dest for s in specs] == [e["destKey"] for e in entries]
        for spec, entry in zip(specs, entries, strict=True):
            generic = entry.get("sourceFromGenericMap")
            expected = tables.generic[entry["sourceKeys"]] if generic else entry["sourceKeys"]
            assert spec.paths == ((expected,) if isinstance(expected, str) else tuple(expected))
            assert spec.coerce == entry.get("metadata", {}).get("type")
            assert spec.required == bool(entry.get("required"))
    flattened = [(kind, s.dest) for kind in TABLE_NAMES for s in getattr(tables, kind) if s.flatten]
    assert flattened == [("identify", "address"), ("group", "address")]

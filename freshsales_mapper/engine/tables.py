"""The mapping tables compiled once into read-only field specs.

``data/identifyConfig.json``, ``groupConfig.json``, ``SalesActivityConfig.json`` and
``GenericFieldMapping.json`` are rudder-transformer's own mapping data at ``UPSTREAM_COMMIT``, in its
shape (destKey, sourceKeys, sourceFromGenericMap, required, metadata.type); ``codeLookups.json`` holds,
in the same shape, the keys RudderStack reads in code. Our annotations (the type Freshsales expects,
docs-vs-code notes, value steps such as flattenAddress) live in the sidecar ``annotations.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class FieldSpec:
    dest: str
    label: str  # RudderStack's sourceKeys as written in its table: a generic list name or a path
    paths: tuple[str, ...]
    segments: tuple[tuple[str, ...], ...]
    single: bool  # a lone path string: RudderStack returns its value as is, even ""
    required: bool = False
    coerce: str | None = None
    expects: str | None = None
    doc: str | None = None
    flatten: bool = False  # the sidecar's then: ["flattenAddress"]: RudderStack flattens the value after picking it
    # The paths again, grouped into runs that share a parent object, in order, so a lookup can skip
    # a whole run when the parent (say context.traits.address) is absent: (parent, ((leaf, path), ...)).
    runs: tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...] = ()

    @property
    def label_json(self) -> str:
        """How RudderStack names the sources in ``Missing required value from <...>``."""
        named = self.label if self.label is not None else list(self.paths)
        return json.dumps(named, separators=(",", ":"), ensure_ascii=False)


UPSTREAM_COMMIT = "c98d160cfaddc5fe5ddee7891c4f4a23014b9aa8"  # rudder-transformer; annotations.json says the same
TABLE_NAMES = ("identify", "group", "sales_activity", "user_email", "lifecycle_stage")
VALUE_STEPS = ("flattenAddress",)
# What RudderStack does with a value it reads in code rather than through constructPayload (by destKey).
USED_FOR = {
    "user email (contact lookup)": "to find the contact (not sent as a field)",
    "lifecycle_stage_id": "and sent as the contact's lifecycle_stage_id",
    "lifecycle_stage_name (looked up)": "to find the lifecycle stage with this exact name (GET "
                                        "/selector/lifecycle_stages); the stage's id is sent, not the name",
}


@dataclass(frozen=True)
class MappingTables:
    generic: dict[str, tuple[str, ...]]
    identify: tuple[FieldSpec, ...]
    group: tuple[FieldSpec, ...]
    sales_activity: tuple[FieldSpec, ...]
    user_email: tuple[FieldSpec, ...]
    lifecycle_stage: tuple[FieldSpec, ...]

    def generic_paths(self, name: str) -> tuple[str, ...]:
        return self.generic[name]


def _compile(entry: dict, notes: dict, generic: dict[str, tuple[str, ...]]) -> FieldSpec:
    sources = entry["sourceKeys"]
    if entry.get("sourceFromGenericMap"):  # upstream writes true or "true": JavaScript truthiness either way
        paths, single, label = generic[sources], False, sources
    elif isinstance(sources, str):
        paths, single, label = (sources,), True, sources
    else:
        paths, single, label = tuple(sources), False, None
    runs: list[tuple[tuple[str, ...], list[tuple[str, str]]]] = []
    for path in paths:
        *parent, leaf = path.split(".")
        if runs and runs[-1][0] == tuple(parent):
            runs[-1][1].append((leaf, path))
        else:
            runs.append((tuple(parent), [(leaf, path)]))
    return FieldSpec(
        runs=tuple((parent, tuple(leaves)) for parent, leaves in runs),
        dest=entry["destKey"],
        label=label,
        paths=paths,
        segments=tuple(tuple(p.split(".")) for p in paths),
        single=single,
        required=bool(entry.get("required")),
        coerce=entry.get("metadata", {}).get("type"),
        expects=notes.get("expects"),
        doc=notes.get("doc"),
        flatten="flattenAddress" in notes.get("then", ()),
    )


def read_data(name: str) -> object:
    """One file of ``engine/data`` as JSON."""
    return json.loads(resources.files(__package__).joinpath("data", name).read_text("utf-8"))


def table_entries(kind: str) -> list[dict]:
    """The raw, upstream-shaped entries of one table (``codeLookups.json`` holds two tables by name)."""
    file = read_data("annotations.json")["tables"][kind]["file"]
    data = read_data(file)
    return data[kind] if isinstance(data, dict) else data


@lru_cache(maxsize=1)
def load_tables() -> MappingTables:
    generic = {name: tuple(paths) for name, paths in read_data("GenericFieldMapping.json").items()}
    sidecar = read_data("annotations.json")["tables"]
    return MappingTables(
        generic=generic,
        **{kind: tuple(_compile(e, sidecar[kind]["fields"].get(e["destKey"], {}), generic)
                       for e in table_entries(kind)) for kind in TABLE_NAMES},
    )

"""The mapping tables (``data/mapping_tables.json``) compiled once into read-only field specs."""

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
    # The paths again, grouped into runs that share a parent object, in order, so a lookup can skip
    # a whole run when the parent (say context.traits.address) is absent: (parent, ((leaf, path), ...)).
    runs: tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...] = ()

    @property
    def label_json(self) -> str:
        """How RudderStack names the sources in ``Missing required value from <...>``."""
        named = self.label if self.label is not None else list(self.paths)
        return json.dumps(named, separators=(",", ":"), ensure_ascii=False)


TABLE_NAMES = ("identify", "group", "sales_activity", "user_email", "lifecycle_stage")


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


def _compile(entry: dict, generic: dict[str, tuple[str, ...]]) -> FieldSpec:
    sources = entry["sources"]
    if entry.get("generic"):
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
        dest=entry["dest"],
        label=label,
        paths=paths,
        segments=tuple(tuple(p.split(".")) for p in paths),
        single=single,
        required=bool(entry.get("required")),
        coerce=entry.get("coerce"),
        expects=entry.get("expects"),
        doc=entry.get("doc"),
    )


@lru_cache(maxsize=1)
def load_tables() -> MappingTables:
    raw = json.loads(resources.files(__package__).joinpath("data/mapping_tables.json").read_text("utf-8"))
    generic = {name: tuple(paths) for name, paths in raw["generic"].items()}
    return MappingTables(
        generic=generic,
        **{kind: tuple(_compile(e, generic) for e in raw[kind]) for kind in TABLE_NAMES},
    )

"""Seeded generator of dealer-customer exports with ground truth and hard-negative tags.

``generate(records, seed)`` builds a synthetic DMS/CRM export the way real ones come about:
people (and businesses) live in groups - households, a father and son with the same
name, twins, fleet accounts - and appear in the export once per visit or source system,
each time typed in again with its own noise, at a moment in their lives (they move,
marry, change phones and e-mails, buy and sell cars). The result has three tables:

* ``customers``: the export, columns :data:`CUSTOMER_COLUMNS`;
* ``truth``: ``record_id, entity_id``, one row per record;
* ``tags``: ``record_id_a, record_id_b, kind``: pairs of records of *different* entities
  that look alike for a known reason (:data:`TAG_KINDS`); a matcher must not merge them.

Everything is vectorized with numpy over entities, records and "items" (an address, phone,
e-mail or vehicle held by an entity from a start time to an end time); Python loops only
format the values that noise touches. The same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matching.normalize.frame import CANONICAL_COLUMNS
from matching.synth.config import GeneratorConfig
from matching.synth.export import Export
from matching.synth.tags import MAX_PARTNERS, TAG_KINDS, hard_negative_pairs
from matching.synth.vocab import load_vocabulary
from matching.synth.world import World, digits

# The export's columns are the project's canonical export columns (one definition).
CUSTOMER_COLUMNS: tuple[str, ...] = CANONICAL_COLUMNS
TRUTH_COLUMNS: tuple[str, ...] = ("record_id", "entity_id")
TAG_COLUMNS: tuple[str, ...] = ("record_id_a", "record_id_b", "kind")
__all__ = [
    "CUSTOMER_COLUMNS",
    "MAX_PARTNERS",
    "TAG_COLUMNS",
    "TAG_KINDS",
    "TRUTH_COLUMNS",
    "GeneratorConfig",
    "SyntheticData",
    "generate",
    "main",
    "summarize",
    "write",
]


@dataclass(frozen=True)
class SyntheticData:
    """A generated export: ``customers`` (the CSV a dealer would hand over), ``truth``
    (``record_id, entity_id``) and ``tags`` (hard-negative pairs ``record_id_a,
    record_id_b, kind``). All columns are text."""

    customers: pd.DataFrame
    truth: pd.DataFrame
    tags: pd.DataFrame


def generate(records: int, seed: int = 0, config: GeneratorConfig | None = None) -> SyntheticData:
    """Generate ``records`` customer records from ``seed`` (same seed, same data).

    ``config`` sets the rates (see :class:`GeneratorConfig` for the documented defaults).
    Raises ValueError for a negative ``records`` or ``seed``.
    """
    if isinstance(records, bool) or int(records) != records or records < 0:
        raise ValueError(f"records must be a whole number >= 0, got {records!r}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    records, seed = int(records), int(seed)
    cfg = config or GeneratorConfig()
    if records == 0:
        return SyntheticData(
            customers=pd.DataFrame({c: pd.Series([], dtype=object) for c in CUSTOMER_COLUMNS}),
            truth=pd.DataFrame({c: pd.Series([], dtype=object) for c in TRUTH_COLUMNS}),
            tags=pd.DataFrame({c: pd.Series([], dtype=object) for c in TAG_COLUMNS}),
        )
    return _build(records, seed, cfg)


def write(data: SyntheticData, out_dir: str | Path) -> dict[str, Path]:
    """Write ``customers.csv``, ``truth.csv`` and ``pairs_tags.csv`` into ``out_dir``
    (created if needed); returns the paths by table name.

    UTF-8, ``\n`` line endings, fields quoted only when they must be (commas, quotes),
    the same dialect as ``DataFrame.to_csv``; the bytes do not depend on the platform.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "customers": out / "customers.csv",
        "truth": out / "truth.csv",
        "tags": out / "pairs_tags.csv",
    }
    for name, frame in (("customers", data.customers), ("truth", data.truth), ("tags", data.tags)):
        _write_csv(paths[name], frame)
    return paths


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write text columns as ``csv.writer`` (minimal quoting) would, but several times
    faster: columns without a comma, quote or line break are joined as they are."""
    columns = []
    for c in frame.columns:
        values = frame[c].tolist()
        try:
            blob = "\x00".join(values)
        except TypeError:  # not all text: write what str() makes of it, blank for None
            values = ["" if v is None else str(v) for v in values]
            blob = "\x00".join(values)
        if "," in blob or '"' in blob or "\n" in blob or "\r" in blob:
            values = [
                '"' + v.replace('"', '""') + '"'
                if ("," in v or '"' in v or "\n" in v or "\r" in v)
                else v
                for v in values
            ]
        columns.append(values)
    header = ",".join(_quote(str(c)) for c in frame.columns)
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write(header + "\n")
        if len(frame):
            f.write("\n".join(map(",".join, zip(*columns, strict=True))))
            f.write("\n")


def _quote(value: str) -> str:
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def summarize(data: SyntheticData) -> dict[str, object]:
    """Counts that describe a generated export: records, entities, entity sizes, tags."""
    sizes = data.truth["entity_id"].value_counts()
    size_counts = sizes.value_counts().sort_index()
    entities = int(len(sizes))
    return {
        "records": int(len(data.customers)),
        "entities": entities,
        "entities_with_duplicates": float((sizes >= 2).sum() / entities) if entities else 0.0,
        "entity_sizes": {int(k): int(v) for k, v in size_counts.items()},
        "tags": {k: int(v) for k, v in data.tags["kind"].value_counts().sort_index().items()},
    }


# --- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--records``, ``--seed`` and ``--out`` on ``parser``."""
    parser.add_argument(
        "--records", type=int, default=5000, metavar="N", help="records to generate (default 5000)"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")


def run_cli(args: argparse.Namespace) -> int:
    """Generate and write as asked by parsed arguments; print a short summary."""
    for name in ("records", "seed"):
        if getattr(args, name) < 0:
            print(f"generate: --{name} must be >= 0, got {getattr(args, name)}", file=sys.stderr)
            return 2
    started = time.perf_counter()
    data = generate(args.records, seed=args.seed)
    try:
        paths = write(data, args.out)
    except OSError as exc:
        print(f"generate: cannot write to {args.out}: {exc}", file=sys.stderr)
        return 1
    info = summarize(data)
    elapsed = time.perf_counter() - started
    print(
        f"wrote {info['records']:,} records of {info['entities']:,} entities "
        f"({info['entities_with_duplicates']:.1%} with duplicates) and {len(data.tags):,} "
        f"hard-negative pairs to {Path(args.out)} in {elapsed:.1f} s"
    )
    for path in paths.values():
        print(f"  {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python datasets/generate.py --records N --seed S --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="generate",
        description="Generate a synthetic dealer-customer export with ground truth.",
    )
    add_arguments(parser)
    return run_cli(parser.parse_args(argv))


# --- the build ------------------------------------------------------------------------------


def _build(records: int, seed: int, cfg: GeneratorConfig) -> SyntheticData:
    # Three independent streams: the world (who exists), the export (how it was typed),
    # the output (shuffle, ids, tag sampling). Each spawns one stream per stage.
    world_seed, export_seed, output_seed = np.random.SeedSequence(seed).spawn(3)
    world = World(records, cfg, load_vocabulary(), world_seed).build()
    export = Export(world, export_seed)
    cols = export.columns()
    rng = np.random.default_rng(output_seed)
    # Records are already in a random order (duplicates are not adjacent); ids follow it.
    # Entity ids are shuffled too, so they reveal nothing about groups.
    record_id = _ids("R", world.n_rec)
    entity_id = _ids("E", world.n_entities)[rng.permutation(world.n_entities)]
    cols["record_id"] = record_id
    customers = pd.DataFrame({c: cols[c] for c in CUSTOMER_COLUMNS}, dtype=object)
    truth = pd.DataFrame(
        {"record_id": record_id, "entity_id": entity_id[world.rec_entity]}, dtype=object
    )
    tags = hard_negative_pairs(world, export, record_id, cols["customer_key"], rng)
    return SyntheticData(customers=customers, truth=truth, tags=tags)


def _ids(prefix: str, n: int) -> np.ndarray:
    """``R0000001`` ...: zero-padded to 7 digits (more when n needs it)."""
    width = max(7, len(str(n)))
    return prefix + digits(np.arange(1, n + 1), width)

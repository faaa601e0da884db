"""Hard-negative pairs: records of *different* entities that look alike for a known reason.

Kinds and how pairs are listed:

* ``household``, ``jr_sr``, ``twins``, ``fleet``: every pair of records of two different
  members of the same group (these groups are small).
* ``placeholder_email``, ``placeholder_phone``, ``shared_key``, ``resold_vin``,
  ``common_name``: records sharing a value (a placeholder, a recycled customer key, a VIN,
  a first+last name) can number in the hundreds, so each record is paired with at most
  :data:`MAX_PARTNERS` others sharing it (the next ones in a seeded random order),
  which bounds the list at about ``MAX_PARTNERS`` pairs per record. ``resold_vin`` and
  ``common_name`` only pair records of different groups (a family sharing a car or a
  name is already tagged as a household); ``common_name`` uses one record per entity.

A pair can carry several kinds (a household whose members both typed noemail@...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.synth.export import Export
from matching.synth.world import FLEET, HOUSEHOLD, JR_SR, SINGLE, TWINS, World, obj_array

TAG_KINDS: tuple[str, ...] = (
    "jr_sr",
    "twins",
    "household",
    "fleet",
    "common_name",
    "placeholder_email",
    "placeholder_phone",
    "shared_key",
    "resold_vin",
)
# For kinds where many records share one value, each record gets at most this many partners.
MAX_PARTNERS = 5
_GROUP_KINDS = {HOUSEHOLD: "household", JR_SR: "jr_sr", TWINS: "twins", FLEET: "fleet"}


def hard_negative_pairs(
    world: World,
    export: Export,
    record_id: np.ndarray,
    customer_key: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The tag table ``record_id_a, record_id_b, kind``, sorted by kind then ids, without
    repeats; ``record_id`` and ``customer_key`` are indexed like the world's records,
    whose ids must sort in record order (``R0000001`` ...) so that ``a < b``."""
    R = world.n_rec
    ent = world.rec_entity
    grp = world.group[ent]
    parts: list[tuple[np.ndarray, np.ndarray, str]] = []
    # Groups: sorted by group, each record pairs with the later records of its group.
    by_group = np.argsort(grp, kind="stable")
    sgrp = grp[by_group]
    gk = world.gkind[ent[by_group]]
    in_group = np.flatnonzero(gk != SINGLE)
    g_end = np.searchsorted(sgrp, sgrp, side="right")
    per = (g_end - np.arange(R))[in_group] - 1
    a = np.repeat(in_group, per)
    b = a + 1 + (np.arange(len(a)) - np.repeat(np.cumsum(per) - per, per))
    kind_of_pair = gk[a]
    a, b = by_group[a], by_group[b]
    keep = ent[a] != ent[b]
    for code, kind in _GROUP_KINDS.items():
        m = keep & (kind_of_pair == code)
        parts.append((a[m], b[m], kind))

    every = np.arange(R)
    parts.append(
        (*_bounded(world, rng, every, export.rec_email_placeholder, False), "placeholder_email")
    )
    parts.append(
        (*_bounded(world, rng, every, export.rec_phone_placeholder, False), "placeholder_phone")
    )
    # Keys carried by records of two or more entities (recycled customer numbers).
    codes = pd.factorize(pd.Series(customer_key, dtype=object))[0]
    codes[customer_key == ""] = -1
    has = codes >= 0
    owners = pd.DataFrame({"k": codes[has], "e": ent[has]}).drop_duplicates()["k"].value_counts()
    shared = np.zeros(int(codes.max()) + 2, dtype=bool)
    shared[owners.index[owners.to_numpy() >= 2].to_numpy()] = True
    codes = np.where(has & shared[codes], codes, -1)
    parts.append((*_bounded(world, rng, every, codes, False), "shared_key"))
    # The same VIN on records of unrelated customers: a resold car.
    vrec = np.repeat(every, export.rec_vins.shape[1])
    vval = export.rec_vins.ravel()
    sel = vval >= 0
    parts.append((*_bounded(world, rng, vrec[sel], vval[sel], True), "resold_vin"))
    # Same first and last name (as spelled canonically), different people.
    people = np.flatnonzero(world.person & (world.first >= 0) & (world.last >= 0))
    first_code = pd.factorize(pd.Series(world.first_token, dtype=object))[0]
    last_code = pd.factorize(pd.Series(world.last_token, dtype=object))[0]
    name = (
        first_code[world.first[people]] * (int(last_code.max()) + 1) + last_code[world.last[people]]
    )
    parts.append((*_bounded(world, rng, world.first_rec[people], name, True), "common_name"))

    # One integer per (kind, a, b): np.unique drops repeats and sorts in output order.
    kinds = sorted(TAG_KINDS)
    code_of = {k: i for i, k in enumerate(kinds)}
    keys = [(code_of[kind] * R + np.minimum(a, b)) * R + np.maximum(a, b) for a, b, kind in parts]
    key = np.sort(np.concatenate(keys).astype(np.int64))
    if len(key):
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    lo, hi = (key // R) % R, key % R
    return pd.DataFrame(
        {
            "record_id_a": record_id[lo],
            "record_id_b": record_id[hi],
            "kind": obj_array(kinds)[key // (R * R)],
        },
        dtype=object,
    )


def _bounded(
    world: World, rng: np.random.Generator, rec: np.ndarray, value: np.ndarray, other_group: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of records sharing ``value`` (>= 0) but of different entities (and, if
    ``other_group``, of different groups): each record with at most MAX_PARTNERS others."""
    sel = value >= 0
    rec, value = rec[sel], value[sel]
    # Random order within each value: sort value + a random fraction (value < 2**40).
    order = np.argsort(value + 0.5 * rng.random(len(rec)), kind="stable")
    rec, value = rec[order], value[order]
    ent = world.rec_entity[rec]
    grp = world.group[ent]
    out_a, out_b = [], []
    # Looking a little past MAX_PARTNERS ahead still finds partners when the next records
    # belong to the same entity.
    for d in range(1, MAX_PARTNERS + 3):
        i = np.arange(max(len(rec) - d, 0))
        j = i + d
        ok = (value[i] == value[j]) & (ent[i] != ent[j])
        if other_group:
            ok &= grp[i] != grp[j]
        out_a.append(rec[i[ok]])
        out_b.append(rec[j[ok]])
    a, b = np.concatenate(out_a), np.concatenate(out_b)
    keep = pd.Series(a).groupby(a).cumcount().to_numpy() < MAX_PARTNERS
    return a[keep], b[keep]

"""Scorers: Fellegi-Sunter match weights (default) and the documented rules, pairwise.

**Fellegi-Sunter.** Each comparison level has ``m`` (the chance a true match reaches that
level) and ``u`` (the chance two unrelated records do). The pair's weight is the prior
log-odds plus ``log2(m/u)`` of each level it reached (missing values add nothing), plus a
term-frequency adjustment on exact names (a shared "smith" says less than a shared
"zelinski").

- ``u`` for names, address, company, suffix and middle name comes from comparing
  ``u_sample`` random record pairs; for phones, emails, VINs and customer keys it follows
  from value counts alone (two random records share a value with probability
  ``sum c(c-1) / n(n-1)``, split by the value's kind): no sampling of rare events.
- ``m`` and the prior are estimated by EM on the candidate pairs, without labels, over the
  *distinct comparison patterns* and their counts (millions of pairs collapse to a few
  thousand patterns, so each iteration is instant). Levels with ``fixed_m`` (a different
  first name, Jr vs Sr) are pinned: EM would otherwise learn from households that they
  are mild evidence *for* a match.

**Guards** then overrule the score where the evidence is of the wrong kind (see
:data:`VETOES`): different generations or first names never match; a typo-level first
name with only household evidence, or a generation that cannot be told, is at most a
possible match.

The trained model is a versioned, readable JSON document (:meth:`FellegiSunterModel.to_json`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matching.pipeline.cluster import is_business
from matching.pipeline.compare import (
    COMPARISON_BY_NAME,
    COMPARISONS,
    EVIDENCE_FIELDS,
    JUNK,
    MISSING,
    ComparedPairs,
    Comparison,
    _codes_of,
    record_levels,
)
from matching.pipeline.prepare import Prepared

MODEL_VERSION = 1
MATCH, POSSIBLE, NON_MATCH = "match", "possible", "non-match"


@dataclass
class Thresholds:
    """Decision thresholds on the total match weight (log2 odds)."""

    match: float = 6.0
    possible: float = 0.0

    def __post_init__(self) -> None:
        if self.possible > self.match:
            raise ValueError(f"possible threshold {self.possible} is above the match threshold {self.match}")


@dataclass
class FellegiSunterModel:
    """m and u per comparison level, the prior match rate, thresholds; JSON in and out."""

    comparisons: tuple[Comparison, ...] = COMPARISONS
    m: dict[str, list[float]] = field(default_factory=dict)
    u: dict[str, list[float]] = field(default_factory=dict)
    prior: float = 0.01
    thresholds: Thresholds = field(default_factory=Thresholds)
    tf_adjust: bool = True
    em_iterations: int = 0
    trained_on_pairs: int = 0

    # ------------------------------------------------------------------ weights

    def weights(self, name: str) -> np.ndarray:
        m = np.asarray(self.m[name], dtype=float)
        u = np.asarray(self.u[name], dtype=float)
        return np.log2(np.clip(m, 1e-9, 1) / np.clip(u, 1e-9, 1))

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    # ------------------------------------------------------------------ json

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "matching.fellegi-sunter",
            "version": MODEL_VERSION,
            "prior": self.prior,
            "prior_weight": round(self.prior_weight, 6),
            "thresholds": {"match": self.thresholds.match, "possible": self.thresholds.possible},
            "tf_adjust": self.tf_adjust,
            "em_iterations": self.em_iterations,
            "trained_on_pairs": self.trained_on_pairs,
            "comparisons": [
                {
                    "name": c.name,
                    "levels": [
                        {
                            "label": lv.label,
                            "description": lv.description,
                            "m": self.m[c.name][i],
                            "u": self.u[c.name][i],
                            "weight": round(float(self.weights(c.name)[i]), 6),
                            "pinned": lv.fixed_m is not None or lv.fixed_weight is not None,
                        }
                        for i, lv in enumerate(c.levels)
                    ],
                }
                for c in self.comparisons
            ],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> FellegiSunterModel:
        if obj.get("format") != "matching.fellegi-sunter":
            raise ValueError("not a matching Fellegi-Sunter model (format field missing or wrong)")
        if obj.get("version") != MODEL_VERSION:
            raise ValueError(f"model version {obj.get('version')} is not supported (this is {MODEL_VERSION})")
        m, u = {}, {}
        for comp in obj["comparisons"]:
            known = COMPARISON_BY_NAME.get(comp["name"])
            if known is None:
                raise ValueError(f"unknown comparison {comp['name']!r} in model")
            labels = [lv["label"] for lv in comp["levels"]]
            if labels != known.labels():
                raise ValueError(f"comparison {comp['name']!r} levels {labels} differ from {known.labels()}")
            m[comp["name"]] = [float(lv["m"]) for lv in comp["levels"]]
            u[comp["name"]] = [float(lv["u"]) for lv in comp["levels"]]
        th = obj.get("thresholds", {})
        return cls(
            m=m,
            u=u,
            prior=float(obj["prior"]),
            thresholds=Thresholds(float(th.get("match", 6.0)), float(th.get("possible", 0.0))),
            tf_adjust=bool(obj.get("tf_adjust", True)),
            em_iterations=int(obj.get("em_iterations", 0)),
            trained_on_pairs=int(obj.get("trained_on_pairs", 0)),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> FellegiSunterModel:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- training


def _level_distribution(levels: np.ndarray, n_levels: int) -> np.ndarray:
    present = levels[levels != MISSING]
    counts = np.bincount(present, minlength=n_levels).astype(float) + 0.5  # smoothing
    return counts / counts.sum()


def estimate_u(prep: Prepared, compared: ComparedPairs, *, u_sample: int = 300_000, seed: int = 0) -> dict[str, list[float]]:
    """u per level: random pairs for record fields, value counts for shared values."""
    n = prep.n
    rng = np.random.default_rng(seed)
    size = min(u_sample, n * (n - 1) // 2)
    a = rng.integers(0, n, size=size)
    b = rng.integers(0, n - 1, size=size)
    b = np.where(b >= a, b + 1, b)  # never a record with itself
    sampled = record_levels(prep, np.minimum(a, b), np.maximum(a, b))
    u: dict[str, list[float]] = {}
    for comp in COMPARISONS:
        if comp.name in sampled:
            u[comp.name] = _level_distribution(sampled[comp.name], len(comp.levels)).tolist()
    for name in EVIDENCE_FIELDS:
        kinds, records = compared.value_stats[name]
        comp = COMPARISON_BY_NAME[name]
        carriers = records.astype(float)
        # Chance that two random records share a value of each kind.
        share = np.bincount(kinds, weights=carriers * (carriers - 1), minlength=3) / (n * (n - 1))
        has = float(_has_value_fraction(prep, name))
        both = max(has * has, 1e-12)
        p = share / both
        if name == "vin":
            dist = [p[0], p[0] * 0.02, p[1] + p[2]]  # last-8 agreement beyond full: rare
        elif name == "customer_key":
            dist = [p[0], p[1] + p[2]]
        else:
            dist = [p[0], p[1], p[2]]
        dist = [max(x, 1e-9) for x in dist]
        dist.append(max(1.0 - sum(dist), 1e-6))
        u[name] = (np.asarray(dist) / sum(dist)).tolist()
        assert len(u[name]) == len(comp.levels)
    return u


def _patterns(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct codes and how often each occurs (one hash pass; numpy's unique sorts)."""
    inverse, uniques = pd.factorize(code, sort=False)
    return np.asarray(uniques, dtype=np.int64), np.bincount(inverse, minlength=len(uniques))


def _has_value_fraction(prep: Prepared, name: str) -> float:
    cols = {
        "phone": ("phone_1", "phone_2"),
        "email": ("email_1", "email_2"),
        "vin": ("vin_1", "vin_2", "vin_3"),
        "customer_key": ("customer_key",),
    }[name]
    return float(np.logical_or.reduce([_codes_of(prep, c)[0] >= 0 for c in cols]).mean())


def _initial_m(comp: Comparison, u: np.ndarray) -> np.ndarray:
    k = len(comp.levels)
    m = np.array([0.9 * (0.3**i) for i in range(k)], dtype=float)
    return _apply_fixed(comp, m / m.sum(), u)


def _apply_fixed(comp: Comparison, m: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Pin the levels with ``fixed_m`` or ``fixed_weight``; rescale the free ones to sum to 1."""
    pinned = np.array([lv.fixed_m is not None or lv.fixed_weight is not None for lv in comp.levels])
    if not pinned.any():
        return m
    out = m.copy()
    for i, lv in enumerate(comp.levels):
        if lv.fixed_m is not None:
            out[i] = lv.fixed_m
        elif lv.fixed_weight is not None:
            out[i] = u[i] * 2.0**lv.fixed_weight
    pinned_total = out[pinned].sum()
    free = out[~pinned].sum()
    out[~pinned] = out[~pinned] / max(free, 1e-12) * max(1 - pinned_total, 1e-6)
    return out


def train(
    prep: Prepared,
    compared: ComparedPairs,
    *,
    u_sample: int = 300_000,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
    seed: int = 0,
    thresholds: Thresholds | None = None,
) -> FellegiSunterModel:
    """Estimate u (sampling and value counts) and m and the prior (EM over patterns)."""
    comps = COMPARISONS
    u = estimate_u(prep, compared, u_sample=u_sample, seed=seed)
    names = [c.name for c in comps]
    # One int64 code per pair for its pattern of levels (0 = missing), then the distinct
    # patterns and their counts: EM runs over a few thousand patterns, not millions of pairs.
    base = max(len(c.levels) for c in comps) + 1
    code = np.zeros(len(compared), dtype=np.int64)
    for name in names:
        code *= base
        code += compared.levels[name]
        code += 1
    first_seen, counts = _patterns(code)
    order = np.argsort(first_seen)
    patterns, counts = first_seen[order], counts[order]
    # Decode patterns back to a level matrix.
    P = np.zeros((len(patterns), len(comps)), dtype=np.int64)
    rest = patterns.copy()
    for j in range(len(comps) - 1, -1, -1):
        P[:, j] = rest % base
        rest //= base
    P -= 1
    counts = counts.astype(float)
    m = {c.name: _initial_m(c, np.asarray(u[c.name])) for c in comps}
    log_u = np.zeros(len(patterns))
    for j, c in enumerate(comps):
        uj = np.log(np.asarray(u[c.name]))
        ok = P[:, j] != MISSING
        log_u[ok] += uj[P[ok, j]]
    prior = 0.3
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - the count is reported
        log_m = np.zeros(len(patterns))
        for j, c in enumerate(comps):
            mj = np.log(np.clip(m[c.name], 1e-12, 1))
            ok = P[:, j] != MISSING
            log_m[ok] += mj[P[ok, j]]
        # Posterior match probability per pattern, in log space for stability.
        lm = math.log(prior) + log_m
        lu = math.log(1 - prior) + log_u
        post = 1.0 / (1.0 + np.exp(np.clip(lu - lm, -700, 700)))
        wpost = post * counts
        new_prior = float(wpost.sum() / counts.sum())
        delta = abs(new_prior - prior)
        for j, c in enumerate(comps):
            ok = P[:, j] != MISSING
            # A pseudo-count per level keeps rarely seen levels from extreme weights.
            num = np.bincount(P[ok, j], weights=wpost[ok], minlength=len(c.levels)) + 1.0
            new = _apply_fixed(c, num / num.sum(), np.asarray(u[c.name]))
            delta = max(delta, float(np.abs(new - m[c.name]).max()))
            m[c.name] = new
        prior = min(max(new_prior, 1e-6), 1 - 1e-6)
        if delta < tolerance:
            break
    return FellegiSunterModel(
        m={k: v.tolist() for k, v in m.items()},
        u=u,
        prior=prior,
        thresholds=thresholds or Thresholds(),
        em_iterations=iterations,
        trained_on_pairs=len(compared),
    )


# --------------------------------------------------------------------------- scoring

VETOES = {
    "generation": "different generation suffixes (Jr vs Sr): never the same person",
    "first_name": "different first names: never merged on shared evidence alone (an agreeing identity number or date of birth lets the score decide)",
    "business_vs_person": "a business account and a person are different customers",
    "weak_name": "a typo-level, initial or missing first name with no personal evidence: possible match at most",
    "generation_unclear": "a suffix on one record only, or on neither while a namesake in the same ZIP code has one (father or son?), and no personal phone or email shared: possible match at most",
    "middle_name": "two different middle names (neither an initial of the other) and no identity number or date of birth agrees (two people sharing first and last name): possible match at most",
    "namesake_nearby": "neither record has a suffix, a namesake of one of them who writes one (Jr, Sr) lives nearby (same ZIP code, or linked by a phone, email, VIN or address), and no personal phone, email or VIN, customer key or identity agrees (father or son?): possible match at most",
    "name_only": "nothing but the name agrees (no shared phone, email, VIN, key or address): possible match at most",
    "address_only_contradicted": "only the address agrees while phones and VINs both differ (father and son, roommates): possible match at most",
    "birthday_only": "the date of birth and one name agree while the other name, the address and the identity number all differ (a shared birthday): possible match at most",
    "shared_line_only": "the records share a phone, each also carries a phone the other lacks, and no email, VIN, key or identity agrees (two people on one family line): possible match at most",
    "surname_changed": "different last names and no personal evidence (only shared or household values): possible match at most",
    "email_only_contradicted": "only a plain email (no digits: a name spelled as an address) agrees while the phones differ, or, with no phones to compare, the cars and ZIP codes differ (namesakes who both gave it): possible match at most",
    "identifier_only": "different last names and only a VIN or a key in common, no phone, email, address, identity number or date of birth (a resold car, a recycled key): possible match at most",
}


class FieldWeights(Mapping[str, np.ndarray]):
    """Each comparison's weight per pair, read from the pairs' levels when asked for.

    A weight that depends on the level alone (all but the term-frequency adjusted ones)
    is ``table[level]``: it is not kept for millions of pairs (a dozen float32 columns of
    4.8M pairs are 230 MB) but computed when the explanations are built. Weights that
    depend on more than the level are kept as given (``kept``).
    """

    def __init__(
        self,
        levels: Mapping[str, np.ndarray],
        tables: Mapping[str, np.ndarray],
        kept: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        # ``tables[name][level]`` is the weight; its last slot is read by MISSING (-1).
        self._levels = levels
        self._tables = dict(tables)
        self._kept = dict(kept or {})

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self._kept:
            return self._kept[name]
        if name not in self._tables:
            raise KeyError(name)
        return self._tables[name][self._levels[name]]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._kept, *(k for k in self._tables if k not in self._kept)])

    def __len__(self) -> int:
        return len(self._tables.keys() | self._kept.keys())


def _labels(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """``names[codes]`` as a categorical whose categories are the names that occur, sorted:
    a byte per pair rather than a pointer to a string (4.8M pairs: 5 MB, not 38 MB)."""
    present = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    ordered = sorted(names[i] for i in present)
    remap = np.full(len(names), -1, dtype=np.int8)
    remap[present] = [ordered.index(names[i]) for i in present]
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(np.asarray(ordered, dtype=object)))


@dataclass
class Scores:
    """Per pair: total weight, per-comparison weights, decision and the veto that applied."""

    weight: np.ndarray
    #: name -> weight per pair (a :class:`FieldWeights` computes the level-only ones on access).
    field_weights: Mapping[str, np.ndarray]
    probability: np.ndarray
    #: match / possible / non-match (a categorical of the decisions that occur, sorted).
    decision: pd.Categorical | np.ndarray
    #: "" or a key of VETOES (a categorical, as ``decision``).
    vetoed_by: pd.Categorical | np.ndarray


def _tf_adjustment(
    prep: Prepared, compared: ComparedPairs, model: FellegiSunterModel, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """log2(u_exact / tf(value)) for exact agreements on ``name`` (clipped to +-4 bits):
    the pairs it applies to and their adjustments (every other pair's is 0)."""
    comp = COMPARISON_BY_NAME[name]
    codes, _ = _codes_of(prep, comp.tf_column)
    present = codes >= 0
    tf = np.bincount(codes[present]) / max(present.sum(), 1)
    pairs = np.flatnonzero((compared.levels[name] == 0) & ~compared.swapped)
    ca = codes[compared.a[pairs]]
    keep = ca >= 0
    pairs, ca = pairs[keep], ca[keep]
    u_exact = model.u[name][0]
    # Once per value, not once per pair: many pairs share a value.
    per_value = np.clip(np.log2(u_exact / np.maximum(tf, 1e-9)), -4, 4)
    return pairs, per_value[ca]


def _among(levels: np.ndarray, wanted: list[int]) -> np.ndarray:
    """``np.isin(levels, wanted)`` for int8 levels (:data:`MISSING` allowed in both), by a
    lookup table: a guard reads a dozen of these over every pair."""
    table = np.zeros(_LEVEL_TABLE, dtype=bool)
    table[wanted] = True  # MISSING (-1) lands in the last slot, where levels -1 read
    return table[levels]


#: Slots of a level lookup table: more than any comparison's levels, MISSING in the last.
_LEVEL_TABLE = 16


def score(prep: Prepared, compared: ComparedPairs, model: FellegiSunterModel) -> Scores:
    """Weights, probabilities and decisions (with guards) for every compared pair."""
    n = len(compared)
    total = np.full(n, model.prior_weight, dtype=float)
    kept: dict[str, np.ndarray] = {}
    tables: dict[str, np.ndarray] = {}
    for comp in model.comparisons:
        lv = compared.levels[comp.name]
        table = np.append(model.weights(comp.name), 0.0)  # MISSING (-1) reads the 0 at the end
        w = table[lv]
        if model.tf_adjust and comp.tf_column is not None:
            pairs, adjustment = _tf_adjustment(prep, compared, model, comp.name)
            w[pairs] += adjustment
            kept[comp.name] = w.astype(np.float32)  # for explanations: float32 halves n_pairs
        # Level-only weights are read from the table when explained (float32 as kept ones).
        tables[comp.name] = table.astype(np.float32)
        total += w
    field_weights = FieldWeights(compared.levels, tables, kept)
    # 1 / (1 + 2^-total), in place: one array of millions of pairs, not five.
    probability = np.clip(total, -60, 60)
    np.negative(probability, out=probability)
    np.exp2(probability, out=probability)
    probability += 1.0
    np.reciprocal(probability, out=probability)
    # Decisions and vetoes as small integers while the guards run (labels only at the
    # end: comparing millions of Python strings per guard is what cost the time).
    decision = np.full(n, 2, dtype=np.int8)
    decision[total >= model.thresholds.possible] = 1
    decision[total >= model.thresholds.match] = 0
    vetoed = np.zeros(n, dtype=np.int8)

    lv = compared.levels
    first = COMPARISON_BY_NAME["first_name"]
    contact = (lv["phone"] == 0) | (lv["email"] == 0)
    # Identity-level agreement (an identity number, or a date of birth) is not household
    # evidence: it lets the score decide even when a first name was typed beyond recognition.
    identity = _among(lv["id_number"], [0, 1]) | _among(lv["date_of_birth"], [0, 1])
    personal = contact | (lv["vin"] == 0) | (lv["customer_key"] == 0) | identity
    business = is_business(prep)
    namesakes = compared.namesake_generations if compared.namesake_generations is not None else np.zeros(n, dtype=bool)
    identifying = (
        _among(lv["phone"], [0, 1]) | _among(lv["email"], [0, 1]) | _among(lv["vin"], [0, 1, 2])
        | (lv["customer_key"] == 0) | _among(lv["id_number"], [0, 1]) | _among(lv["date_of_birth"], [0, 1])
    )
    same_address = _among(lv["address"], [0, 1])
    if compared.address_close is not None:
        same_address |= compared.address_close  # one typo apart in the same ZIP
    evidence = identifying | same_address
    contradicted = (lv["phone"] == COMPARISON_BY_NAME["phone"].index("different")) & (
        lv["vin"] == COMPARISON_BY_NAME["vin"].index("different")
    )
    rules = [
        ("generation", lambda: lv["suffix"] == COMPARISON_BY_NAME["suffix"].index("conflict"), NON_MATCH),
        # An identity number that agrees outweighs a first name typed beyond recognition.
        ("first_name", lambda: (lv["first_name"] == first.index("different")) & ~identity, NON_MATCH),
        ("business_vs_person", lambda: business[compared.a] != business[compared.b], NON_MATCH),
        (
            "weak_name",
            lambda: _among(lv["first_name"], [first.index("typo"), first.index("initial"), MISSING]) & ~personal,
            POSSIBLE,
        ),
        (
            "generation_unclear",
            lambda: ((lv["suffix"] == COMPARISON_BY_NAME["suffix"].index("one_missing")) | namesakes) & ~contact,
            POSSIBLE,
        ),
        (
            "middle_name",
            # Two different middle names (not an initial of the other): two people who
            # share first and last name (father and son, cousins) unless an identity agrees.
            lambda: (lv["middle_name"] == COMPARISON_BY_NAME["middle_name"].index("different")) & ~identity,
            POSSIBLE,
        ),
        (
            "namesake_nearby",
            # Father and son who write no suffix on these records: a namesake of either
            # record writes one nearby (the same ZIP code, his first name written
            # another way, or a family that moved). Wider than generation_unclear, so
            # more of one man's own records fall under it: besides a personal phone or
            # email, a car no one else carries, the same customer key or an identity
            # lets the score decide (such pairs were nearly all one man's).
            lambda: (compared.generation_nearby if compared.generation_nearby is not None else np.zeros(n, dtype=bool))
            & ~contact & (lv["vin"] != 0) & (lv["customer_key"] != 0) & ~identity,
            POSSIBLE,
        ),
        ("name_only", lambda: ~evidence, POSSIBLE),
        ("address_only_contradicted", lambda: same_address & ~identifying & contradicted, POSSIBLE),
        (
            "birthday_only",
            lambda: (lv["date_of_birth"] == 0)
            & ((lv["first_name"] == first.index("different")) | (lv["last_name"] == COMPARISON_BY_NAME["last_name"].index("different")))
            & (lv["id_number"] == COMPARISON_BY_NAME["id_number"].index("different"))
            & (lv["address"] == COMPARISON_BY_NAME["address"].index("different")) & ~same_address
            & ~contact & ~_among(lv["vin"], [0, 1, 2]) & (lv["customer_key"] != 0),
            POSSIBLE,
        ),
        (
            "shared_line_only",
            # Each record keeps a phone of its own besides the shared one: two people on
            # one family line (father and son, spouses) unless something personal agrees.
            lambda: (compared.phones_split if compared.phones_split is not None else np.zeros(n, dtype=bool))
            & ~_among(lv["email"], [0, 1]) & ~_among(lv["vin"], [0, 1, 2]) & (lv["customer_key"] != 0) & ~identity,
            POSSIBLE,
        ),
        ("surname_changed", lambda: (lv["last_name"] == COMPARISON_BY_NAME["last_name"].index("different")) & ~personal, POSSIBLE),
        (
            "email_only_contradicted",
            lambda: (compared.plain_email if compared.plain_email is not None else np.zeros(n, dtype=bool))
            & (lv["email"] == 0)
            & (
                (lv["phone"] == COMPARISON_BY_NAME["phone"].index("different"))
                # No phone to compare, but the cars and the ZIP codes differ.
                | ((lv["phone"] == MISSING) & (lv["vin"] == COMPARISON_BY_NAME["vin"].index("different"))
                   & (lv["address"] == COMPARISON_BY_NAME["address"].index("different")))
            )
            & ~_among(lv["vin"], [0, 1, 2]) & (lv["customer_key"] != 0) & ~same_address & ~identity,
            POSSIBLE,
        ),
        (
            "identifier_only",
            lambda: (lv["last_name"] == COMPARISON_BY_NAME["last_name"].index("different"))
            & ~_among(lv["phone"], [0, 1]) & ~_among(lv["email"], [0, 1]) & ~same_address & ~identity,
            POSSIBLE,
        ),
    ]
    # Each guard's mask is made when it is applied: a dozen masks over millions of pairs
    # are not held at once.
    for k, (_key, make_hit, cap) in enumerate(rules, start=1):
        over = make_hit() & (vetoed == 0)
        if cap == NON_MATCH:
            over &= decision != 2
            decision[over] = 2
        else:
            over &= decision == 0
            decision[over] = 1
        vetoed[over] = k
    decision = _labels(decision, [MATCH, POSSIBLE, NON_MATCH])
    vetoed = _labels(vetoed, ["", *(key for key, _, _ in rules)])
    return Scores(weight=total, field_weights=field_weights, probability=probability, decision=decision, vetoed_by=vetoed)


# --------------------------------------------------------------------------- rules scorer


def rules_decisions(compared: ComparedPairs) -> Scores:
    """The documented Customer Matching Logic applied pairwise (the ``rules`` scorer).

    A pair matches when it shares a communication (phone or email) or a VIN that is not
    a placeholder, and the names match exactly (first and last, compatible generation),
    as steps 1-2 of the logic decide; the customerKey and both-evidence steps only choose
    among several such customers, so pairwise they add nothing. Weights are 0/1 counts of
    the agreements, for explanations.
    """
    lv = compared.levels
    shares = np.isin(lv["phone"], [0, 1]) | np.isin(lv["email"], [0, 1]) | np.isin(lv["vin"], [0, 2])
    names = (lv["first_name"] == 0) & (lv["last_name"] == 0) & (lv["suffix"] != 2)
    match = shares & names
    n = len(compared)
    # 1.0 where the field agrees exactly (level 0), else 0 (MISSING reads the last slot).
    field_weights = FieldWeights(lv, {c.name: np.eye(1, len(c.labels()) + 1).ravel() for c in COMPARISONS})
    weight = match.astype(float)
    return Scores(
        weight=weight,
        field_weights=field_weights,
        probability=weight.copy(),
        decision=_labels(np.where(match, 0, 1).astype(np.int8), [MATCH, NON_MATCH]),
        vetoed_by=_labels(np.zeros(n, dtype=np.int8), [""]),
    )


__all__ = [
    "FellegiSunterModel",
    "Thresholds",
    "Scores",
    "FieldWeights",
    "VETOES",
    "train",
    "score",
    "estimate_u",
    "rules_decisions",
    "MATCH",
    "POSSIBLE",
    "NON_MATCH",
    "JUNK",
]

"""The truth behind a synthetic export: who the customers are and what they hold when.

A :class:`World` is built in stages, each drawing from its own seeded random stream:

1. *plan*: groups (a single customer, a household, a father and son, twins, a fleet
   account) and their members (entities), and how many records each entity has;
2. *time*: when each record was created (visits spread over 2010-2025);
3. *place* and *people*: where each group lives, names, sexes, birth years, suffixes,
   marriages, company names;
4. *items*: addresses, phones, e-mails and vehicles, each held by an entity from a start
   time to an end time (people move, switch numbers, marry, buy and resell cars). Shared
   items (a household's landline, a fleet's main line, a family car) are one value held
   by several entities, which is what makes hard negatives hard.

Nothing here is noisy: :mod:`matching.synth.export` turns the world into records and
types them in with errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from matching.synth.config import GeneratorConfig
from matching.synth.vins import make_vins
from matching.synth.vocab import (
    CA_EMAIL_DOMAINS,
    COMMON_FULL_NAMES,
    COMPANY_SUFFIXES,
    COMPANY_TRADES,
    COMPANY_WORDS,
    DEALER_NAMES,
    STREET_SUFFIXES,
    TWIN_NAMES,
    US_EMAIL_DOMAINS,
    Vocabulary,
    strip_accents,
)

# The export covers 2010-01-01 .. 2025-06-30; times are float days since the start.
EPOCH = np.datetime64("2010-01-01T00:00:00", "s")
SPAN_DAYS = float((np.datetime64("2025-06-30") - np.datetime64("2010-01-01")).astype(int))
_INF = np.inf

# Group kinds, and roles inside a group.
SINGLE, HOUSEHOLD, JR_SR, TWINS, FLEET = range(5)
PERSON, HEAD, SPOUSE, CHILD, ROOMMATE, FATHER, SON, TWIN, COMPANY, DRIVER = range(10)
# Item kinds of phones and of e-mails.
MOBILE, HOME, WORK, MAIN_LINE = range(4)
PERSONAL, FAMILY, WORK_EMAIL, COMPANY_EMAIL = range(4)

# States a dealer group is based in (its home market), chosen by the seed.
_HOME_STATES = ("CA", "TX", "FL", "NY", "IL", "PA", "OH", "GA", "NC", "MI", "AZ", "WA", "NJ", "CO")
# Words of e-mail handles that are not names (tigerfan22).
_HANDLE_WORDS = (
    "tiger",
    "sunny",
    "blue",
    "eagle",
    "rocket",
    "lucky",
    "happy",
    "cowboy",
    "angel",
    "shadow",
    "dragon",
    "soccer",
    "golf",
    "fishing",
    "jeep",
    "mustang",
    "ranger",
    "wildcat",
    "buckeye",
    "longhorn",
    "gator",
    "bulldog",
    "panther",
    "hawk",
    "bear",
    "wolf",
    "star",
    "music",
    "mama",
    "papa",
    "nana",
    "coffee",
    "beach",
    "mountain",
    "river",
    "kitty",
    "puppy",
    "ninja",
)
_HANDLE_TAILS = ("fan", "lover", "guy", "girl", "man", "", "", "dude", "mom", "dad", "4life", "1")


def obj_array(values: Sequence[object] | np.ndarray) -> np.ndarray:
    """A 1-d object array holding ``values`` (numpy would otherwise make fixed-width text)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values) if not isinstance(values, np.ndarray) else values
    return out


def pick(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """n indices drawn with probability proportional to ``weights``."""
    cdf = np.cumsum(weights, dtype=np.float64)
    idx = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return np.minimum(idx, len(weights) - 1)


def expand(
    rec_entity: np.ndarray, item_entity: np.ndarray, n_entities: int
) -> tuple[np.ndarray, np.ndarray]:
    """All (record, item) pairs where the item belongs to the record's entity.

    Items are addressed by their position in a stable sort by entity; the returned item
    indices are positions in the *original* item arrays.
    """
    order = np.argsort(item_entity, kind="stable")
    counts = np.bincount(item_entity, minlength=n_entities)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    per_rec = counts[rec_entity]
    rec = np.repeat(np.arange(len(rec_entity)), per_rec)
    offset = np.arange(len(rec)) - np.repeat(np.cumsum(per_rec) - per_rec, per_rec)
    item = order[np.repeat(starts[rec_entity], per_rec) + offset]
    return rec, item


def top_k(
    rec: np.ndarray, item: np.ndarray, key: np.ndarray, keep: np.ndarray, k: int, n_rec: int
) -> np.ndarray:
    """For each record, the ``k`` kept items with the smallest key (-1 where fewer).

    ``rec`` must be sorted (as :func:`expand` returns it): one stable sort of
    ``rec + key scaled into [0, 0.5]`` then orders items within each record, which is
    much faster than a lexsort; ties keep the input order.
    """
    rec, item, key = rec[keep], item[keep], np.clip(key[keep], -1e5, 1e5)
    out = np.full((n_rec, k), -1, dtype=np.int64)
    if not len(rec):
        return out
    lo, hi = float(key.min()), float(key.max())
    frac = (key - lo) * (0.5 / (hi - lo)) if hi > lo else np.zeros(len(key))
    order = np.argsort(rec + frac, kind="stable")
    rec, item = rec[order], item[order]
    rank = _rank_in_runs(rec)
    sel = rank < k
    out[rec[sel], rank[sel]] = item[sel]
    return out


def _rank_in_runs(sorted_values: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of equal values of a sorted array."""
    n = len(sorted_values)
    pos = np.arange(n)
    change = np.ones(n, dtype=bool)
    change[1:] = sorted_values[1:] != sorted_values[:-1]
    return pos - np.maximum.accumulate(np.where(change, pos, 0))


class Items:
    """Things an entity holds over a time span: addresses, phones, e-mails, vehicles."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, entity, value, start, end, kind) -> None:  # noqa: ANN001 - arrays or scalars
        """Append items: ``entity`` is an array, the other fields arrays or scalars."""
        entity = np.asarray(entity, dtype=np.int64)
        n = len(entity)
        as_arr = lambda v, dt: np.broadcast_to(np.asarray(v, dtype=dt), (n,)).copy()  # noqa: E731
        self.parts.append(
            (
                entity,
                as_arr(value, np.int64),
                as_arr(start, np.float64),
                as_arr(end, np.float64),
                as_arr(kind, np.int64),
            )
        )

    def build(self) -> dict[str, np.ndarray]:
        """The items as one table: a dict of arrays ``entity, value, start, end, kind``."""
        cols = ("entity", "value", "start", "end", "kind")
        if not self.parts:
            return {
                c: np.zeros(0, dtype=np.float64 if c in ("start", "end") else np.int64)
                for c in cols
            }
        return {c: np.concatenate([p[i] for p in self.parts]) for i, c in enumerate(cols)}


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded text (object array): 7 -> "07" for width 2."""
    values = np.asarray(values, dtype=np.int64)
    if not len(values):
        return np.empty(0, dtype=object)
    return np.strings.zfill(values.astype(str), width).astype(object)


def ascii_token(text: str) -> str:
    """Lower-case ASCII letters and digits only: ``O'Brien`` -> ``obrien``."""
    return re.sub(r"[^a-z0-9]", "", strip_accents(text).lower())


class World:
    """Entities, their groups, record times and the items they hold (see the module doc).

    Attributes are numpy arrays indexed by entity (``role``, ``first``, ``last`` ...), by
    group (``group_kind``, ``group_city``), by record (``rec_entity``, ``rec_time``), or
    item tables (``addr_items``, ``phone_items``, ``email_items``, ``vehicle_items``: dicts
    of arrays ``entity, value, start, end, kind``) whose ``value`` indexes a value table
    (``addr``, ``phone_values``, ``email_values``, ``vins``).
    """

    STAGES = ("plan", "time", "people", "place", "address", "phone", "email", "vehicle")

    def __init__(
        self, records: int, cfg: GeneratorConfig, vocab: Vocabulary, seed: np.random.SeedSequence
    ) -> None:
        self.n_records = records
        self.cfg = cfg
        self.v = vocab
        streams = seed.spawn(len(self.STAGES))
        self.rng = {
            name: np.random.default_rng(s) for name, s in zip(self.STAGES, streams, strict=True)
        }
        fn, sn = vocab.first_names, vocab.surnames
        # E-mail-safe tokens per vocabulary entry; index -1 (no name) maps to "".
        self.first_token = obj_array([ascii_token(s) for s in fn.name.tolist()] + [""])
        self.last_token = obj_array([ascii_token(s) for s in sn.name.tolist()] + [""])

    def build(self) -> World:
        """Run every stage; returns self."""
        self._plan()
        self._times()
        self._places()
        self._people()
        self._addresses()
        self._phones()
        self._emails()
        self._vehicles()
        return self

    # --- 1. groups, entities, record counts ----------------------------------------------

    def _plan(self) -> None:
        rng, cfg = self.rng["plan"], self.cfg
        weights = np.asarray(cfg.records_per_entity, dtype=np.float64)
        weights = weights / weights.sum()
        mean_size = float((weights * np.arange(1, len(weights) + 1)).sum())
        p_kind = np.array(
            [
                max(
                    0.0, 1.0 - cfg.household_rate - cfg.jr_sr_rate - cfg.twins_rate - cfg.fleet_rate
                ),
                cfg.household_rate,
                cfg.jr_sr_rate,
                cfg.twins_rate,
                cfg.fleet_rate,
            ]
        )
        p_kind /= p_kind.sum()
        n_groups = int(self.n_records / mean_size) + 64
        while True:
            kind = rng.choice(5, size=n_groups, p=p_kind)
            size = np.ones(n_groups, dtype=np.int64)
            hh = kind == HOUSEHOLD
            size[hh] = rng.choice([2, 3, 4, 5], size=int(hh.sum()), p=[0.55, 0.25, 0.15, 0.05])
            size[(kind == JR_SR) | (kind == TWINS)] = 2
            fl = kind == FLEET
            lo, hi = cfg.fleet_drivers
            size[fl] = 1 + rng.integers(lo, hi + 1, size=int(fl.sum()))
            group = np.repeat(np.arange(n_groups), size)
            nrec = rng.choice(np.arange(1, len(weights) + 1), size=len(group), p=weights)
            total = np.cumsum(nrec)
            if total[-1] >= self.n_records:
                break
            n_groups *= 2
        cut = int(np.searchsorted(total, self.n_records))
        nrec = nrec[: cut + 1].copy()
        nrec[-1] -= total[cut] - self.n_records
        group = group[: cut + 1]
        n_groups = int(group[-1]) + 1
        kind, size = kind[:n_groups].copy(), size[:n_groups]
        # The cut may leave the last group with one member: then it is a single customer.
        if (group == n_groups - 1).sum() == 1 and kind[-1] != FLEET:
            kind[-1] = SINGLE
        group_start = np.concatenate(([0], np.cumsum(size)[:-1]))
        pos = np.arange(len(group)) - group_start[group]
        gkind = kind[group]
        roommates = rng.random(n_groups) < cfg.roommate_share
        role = np.full(len(group), PERSON, dtype=np.int64)
        fam = (gkind == HOUSEHOLD) & ~roommates[group]
        role[fam & (pos == 0)] = HEAD
        role[fam & (pos == 1)] = SPOUSE
        role[fam & (pos >= 2)] = CHILD
        role[(gkind == HOUSEHOLD) & roommates[group]] = ROOMMATE
        role[(gkind == JR_SR) & (pos == 0)] = FATHER
        role[(gkind == JR_SR) & (pos == 1)] = SON
        role[gkind == TWINS] = TWIN
        role[(gkind == FLEET) & (pos == 0)] = COMPANY
        role[(gkind == FLEET) & (pos >= 1)] = DRIVER
        self.group, self.gkind, self.role, self.pos = group, gkind, role, pos
        self.group_kind = kind
        self.n_groups, self.n_entities = n_groups, len(group)
        self.nrec = nrec
        self.group_head = group_start  # index of each group's first entity
        self.person = role != COMPANY

    # --- 2. when each record was created ------------------------------------------------

    def _times(self) -> None:
        rng = self.rng["time"]
        E = self.n_entities
        t0 = rng.random(E) * SPAN_DAYS * 0.97
        rec_entity = np.repeat(np.arange(E), self.nrec)
        R = len(rec_entity)
        rec_start = np.concatenate(([0], np.cumsum(self.nrec)[:-1]))
        seq = np.arange(R) - rec_start[rec_entity]
        # Gaps between visits: a fifth are days apart (sales, then F&I or the CRM sync),
        # the rest are service intervals of months to years.
        gap = np.where(rng.random(R) < 0.2, rng.random(R) * 3.0, rng.exponential(420.0, R))
        gap[seq == 0] = 0.0
        cum = np.cumsum(gap)
        offset = cum - cum[rec_start[rec_entity]]
        last_offset = offset[rec_start + self.nrec - 1]
        room = SPAN_DAYS - t0
        # Visits that would run past the end are squeezed into the span (to a random
        # point of it, so that they do not all pile up on the last day).
        fit = room * (0.3 + 0.7 * rng.random(E))
        scale = np.where(last_offset > fit, fit / np.maximum(last_offset, 1e-9), 1.0)
        t = t0[rec_entity] + offset * scale[rec_entity]
        # Business hours: 8:00 to 19:00.
        t = np.floor(t) + (8.0 + 11.0 * rng.random(R)) / 24.0
        self.first_time = t[rec_start]
        self.last_time = t[rec_start + self.nrec - 1]
        # Records are kept in the export's (shuffled) order from here on, so duplicates of
        # one customer are not adjacent and nothing needs reordering at the end.
        order = rng.permutation(R)
        position = np.empty(R, dtype=np.int64)
        position[order] = np.arange(R)
        self.rec_entity, self.rec_time, self.rec_seq = rec_entity[order], t[order], seq[order]
        #: index of each entity's first record
        self.first_rec = position[rec_start]
        self.n_rec = R

    def _within_span(self, rng: np.random.Generator, entities: np.ndarray) -> np.ndarray:
        """A time strictly inside each entity's span of records (when it has two or more)."""
        lo, hi = self.first_time[entities], self.last_time[entities]
        return lo + (0.05 + 0.9 * rng.random(len(entities))) * (hi - lo)

    # --- 3. where groups live -----------------------------------------------------------

    def _places(self) -> None:
        rng, cfg, c = self.rng["place"], self.cfg, self.v.cities
        G = self.n_groups
        us = np.flatnonzero(c.country == "US")
        ca = np.flatnonzero(c.country == "CA")
        self.home_state = _HOME_STATES[int(rng.integers(len(_HOME_STATES)))]
        home = np.flatnonzero((c.country == "US") & (c.region == self.home_state))
        in_ca = rng.random(G) < cfg.canada_share
        at_home = rng.random(G) < cfg.home_state_share
        city = us[pick(rng, c.population[us], G)]
        city[at_home] = home[pick(rng, c.population[home], int(at_home.sum()))]
        city[in_ca] = ca[pick(rng, c.population[ca], int(in_ca.sum()))]
        self.group_city = city
        dealer_city = home[pick(rng, c.population[home], 1)][0]
        self.dealer_city = int(dealer_city)
        name = DEALER_NAMES[int(rng.integers(len(DEALER_NAMES)))]
        self.dealer_domain = ascii_token(name) + ".com"

    def _nearby_city(self, rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
        """Where someone moves: the same city (60 %), the same state (30 %), or anywhere in
        the same country (10 %)."""
        c = self.v.cities
        out = city.copy()
        u = rng.random(len(city))
        region = np.flatnonzero((u >= 0.6) & (u < 0.9))
        for reg in np.unique(c.region[city[region]].astype(str)) if len(region) else []:
            idx = region[c.region[city[region]] == reg]
            pool = np.flatnonzero(c.region == reg)
            out[idx] = pool[pick(rng, c.population[pool], len(idx))]
        far = np.flatnonzero(u >= 0.9)
        for country in ("US", "CA"):
            idx = far[c.country[city[far]] == country]
            pool = np.flatnonzero(c.country == country)
            if len(idx):
                out[idx] = pool[pick(rng, c.population[pool], len(idx))]
        return out

    # --- 4. names and life events -------------------------------------------------------

    def _people(self) -> None:
        rng, cfg, v = self.rng["people"], self.cfg, self.v
        E, G, role = self.n_entities, self.n_groups, self.role
        fn, sn = v.first_names, v.surnames
        # Surnames: one per group (the family name), own names for roommates, drivers,
        # unmarried spouses and singles. Quebec draws mostly French-Canadian surnames.
        quebec_group = v.cities.region[self.group_city] == "QC"
        fr_pool = np.flatnonzero(sn.origin == "fr")

        def surnames(n: int, quebec: np.ndarray) -> np.ndarray:
            out = pick(rng, sn.weight, n)
            qc = np.flatnonzero(quebec & (rng.random(n) < 0.7))
            out[qc] = fr_pool[pick(rng, sn.weight[fr_pool], len(qc))]
            return out

        family = surnames(G, quebec_group)
        own = surnames(E, quebec_group[self.group])
        last = np.where(
            np.isin(role, (HEAD, SPOUSE, CHILD, FATHER, SON, TWIN)), family[self.group], own
        )
        # Spouses: most share the family name; some kept their own (and a few of those
        # marry during the period, see below).
        spouse = np.flatnonzero(role == SPOUSE)
        keeps_own = rng.random(len(spouse)) < 0.3
        last[spouse[keeps_own]] = own[spouse[keeps_own]]

        # Sex (0 = F, 1 = M) by role; companies get -1.
        sex = (rng.random(E) < 0.5).astype(np.int64)
        head_of = self.group_head[self.group]
        sex[role == HEAD] = (rng.random(int((role == HEAD).sum())) < 0.55).astype(np.int64)
        opposite = rng.random(len(spouse)) < 0.92
        sex[spouse] = np.where(opposite, 1 - sex[head_of[spouse]], sex[head_of[spouse]])
        sex[(role == FATHER) | (role == SON)] = 1
        drivers = role == DRIVER
        sex[drivers] = (rng.random(int(drivers.sum())) < 0.78).astype(np.int64)
        sex[role == COMPANY] = -1

        # Birth years (not exported; they drive e-mail digits and who can be whose child).
        birth = np.clip(np.round(rng.normal(1972, 15, E)), 1935, 2004).astype(np.int64)
        birth[spouse] = np.clip(
            birth[head_of[spouse]] + np.round(rng.normal(0, 4, len(spouse))), 1935, 2004
        )
        child = np.flatnonzero(role == CHILD)
        birth[child] = np.minimum(birth[head_of[child]] + rng.integers(22, 39, len(child)), 2006)
        father = np.flatnonzero(role == FATHER)
        birth[father] = np.clip(np.round(rng.normal(1962, 8, len(father))), 1940, 1978)
        son = np.flatnonzero(role == SON)
        birth[son] = np.minimum(birth[son - 1] + rng.integers(20, 35, len(son)), 2006)
        twin = np.flatnonzero(role == TWIN)
        twin_year = rng.integers(1980, 2007, G)
        birth[twin] = twin_year[self.group[twin]]

        # Fixed names first, since they decide the sex: twins get a pair of similar names,
        # and a small share of singles a very common full name (John Smith).
        name_index: dict[str, tuple[int, int]] = {}
        for i, (nm, sx) in enumerate(zip(fn.name.tolist(), fn.sex.tolist(), strict=True)):
            name_index.setdefault(nm, (i, 1 if sx == "M" else 0))
        fixed_first = np.full(E, -1, dtype=np.int64)
        pair = rng.integers(len(TWIN_NAMES), size=G)
        swap = rng.random(G) < 0.5
        for t in twin.tolist():
            g = self.group[t]
            nm = TWIN_NAMES[pair[g]][(self.pos[t] + int(swap[g])) % 2]
            fixed_first[t], sex[t] = name_index[nm]
        surname_index = {nm: i for i, nm in reversed(list(enumerate(sn.name.tolist())))}
        common = np.flatnonzero((role == PERSON) & (rng.random(E) < cfg.common_name_rate))
        choice = rng.integers(len(COMMON_FULL_NAMES), size=len(common))
        for e, c in zip(common.tolist(), choice.tolist(), strict=True):
            f_name, l_name = COMMON_FULL_NAMES[c]
            fixed_first[e], sex[e] = name_index[f_name]
            last[e] = surname_index[l_name]

        # First names from the surname's culture (Hispanic, French-Canadian, Asian) more
        # often than not, else from the general American list; middle names from the
        # general list, of the same sex.
        origin = sn.origin[last]
        p_keep = {"gen": 1.0, "hisp": 0.6, "fr": 0.65, "asia": 0.4}
        keep = rng.random(E) < np.array([p_keep[o] for o in origin.tolist()])
        eff_origin = np.where(keep, origin, "gen")
        first = np.full(E, -1, dtype=np.int64)
        middle = np.full(E, -1, dtype=np.int64)
        has_middle = rng.random(E) < 0.45
        for s_code, s in ((0, "F"), (1, "M")):
            gen_pool = np.flatnonzero((fn.sex == s) & (fn.origin == "gen"))
            for o in ("gen", "hisp", "fr", "asia"):
                idx = np.flatnonzero((sex == s_code) & (eff_origin == o))
                pool = np.flatnonzero((fn.sex == s) & (fn.origin == o))
                if len(idx):
                    first[idx] = pool[pick(rng, fn.weight[pool], len(idx))]
            idx = np.flatnonzero((sex == s_code) & has_middle)
            middle[idx] = gen_pool[pick(rng, fn.weight[gen_pool], len(idx))]
        first = np.where(fixed_first >= 0, fixed_first, first)
        # The son carries his father's first name (and often his middle name too).
        first[son] = first[son - 1]
        same_middle = rng.random(len(son)) < 0.6
        middle[son[same_middle]] = middle[son[same_middle] - 1]
        middle[fn.name[np.maximum(middle, 0)] == fn.name[np.maximum(first, 0)]] = -1

        # Generational suffixes: Sr/Jr pairs, plus a few Jr/II/III among other men.
        suffix = np.zeros(E, dtype=np.int64)  # 0 none, 1 Jr, 2 Sr, 3 II, 4 III
        suffix[father], suffix[son] = 2, 1
        men = np.flatnonzero(np.isin(role, (PERSON, HEAD, DRIVER, ROOMMATE)) & (sex == 1))
        u = rng.random(len(men))
        suffix[men[u < 0.015]] = 1
        suffix[men[(u >= 0.015) & (u < 0.02)]] = 3
        suffix[men[(u >= 0.02) & (u < 0.025)]] = 4

        # Marriage: the last name changes at a moment inside the record span. Spouses who
        # kept their own name marry into the family name; other women take a new one.
        new_last = np.full(E, -1, dtype=np.int64)
        married_at = np.full(E, _INF)
        multi = self.nrec >= 2
        women = np.flatnonzero(
            np.isin(role, (PERSON, DRIVER, ROOMMATE, CHILD, TWIN))
            & (sex == 0)
            & multi
            & (rng.random(E) < cfg.marriage_rate)
        )
        new_last[women] = surnames(len(women), quebec_group[self.group[women]])
        sp = spouse[
            keeps_own & multi[spouse] & (sex[spouse] == 0) & (rng.random(len(spouse)) < 0.25)
        ]
        new_last[sp] = family[self.group[sp]]
        changed = np.flatnonzero(new_last >= 0)
        married_at[changed] = self._within_span(rng, changed)
        new_last[new_last == last] = -1
        married_at[new_last < 0] = _INF

        # Company names for fleet groups: "<word or surname> <trade> <legal suffix>",
        # unique so that two fleets never share an e-mail domain.
        fleet_groups = np.flatnonzero(self.group_kind == FLEET)
        names: list[str] = []
        seen: set[str] = set()
        while len(names) < len(fleet_groups):
            k = len(fleet_groups) - len(names) + 8
            use_surname = rng.random(k) < 0.35
            words = rng.integers(len(COMPANY_WORDS), size=k)
            sur = pick(rng, sn.weight, k)
            trades = rng.integers(len(COMPANY_TRADES), size=k)
            for j in range(k):
                base = sn.name[sur[j]] if use_surname[j] else COMPANY_WORDS[words[j]]
                nm = f"{base} {COMPANY_TRADES[trades[j]]}"
                if nm not in seen and len(names) < len(fleet_groups):
                    seen.add(nm)
                    names.append(nm)
        legal = rng.integers(len(COMPANY_SUFFIXES), size=len(fleet_groups))
        self.company_base = obj_array(names)
        self.company_legal = obj_array([COMPANY_SUFFIXES[i] for i in legal.tolist()])
        company = np.full(E, -1, dtype=np.int64)
        fleet_of_group = np.full(G, -1, dtype=np.int64)
        fleet_of_group[fleet_groups] = np.arange(len(fleet_groups))
        in_fleet = np.isin(role, (COMPANY, DRIVER))
        company[in_fleet] = fleet_of_group[self.group[in_fleet]]
        first[role == COMPANY] = -1
        last[role == COMPANY] = -1
        middle[role == COMPANY] = -1

        self.sex, self.birth, self.first, self.middle, self.last = sex, birth, first, middle, last
        self.suffix, self.new_last, self.married_at, self.company = (
            suffix,
            new_last,
            married_at,
            company,
        )

    # --- 5. addresses -------------------------------------------------------------------

    def _addresses(self) -> None:
        rng, cfg = self.rng["address"], self.cfg
        E, G, role = self.n_entities, self.n_groups, self.role
        cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("city", "house", "street", "suffix", "dir", "unit", "zip", "business")
        }
        count = 0

        def new(city: np.ndarray, business: np.ndarray) -> np.ndarray:
            nonlocal count
            n = len(city)
            house = np.floor(10 ** (1.0 + 3.3 * rng.random(n))).astype(np.int64)
            house[business] = rng.integers(100, 10000, int(business.sum()))
            unit = np.full(n, "", dtype=object)
            apt = np.flatnonzero(~business & (rng.random(n) < 0.18))
            num = rng.integers(1, 450, len(apt))
            letter = rng.random(len(apt)) < 0.25
            unit[apt] = [
                f"{k}{'ABCD'[k % 4]}" if lt else str(k)
                for k, lt in zip(num.tolist(), letter.tolist(), strict=True)
            ]
            suite = np.flatnonzero(business & (rng.random(n) < 0.6))
            unit[suite] = [str(k) for k in rng.integers(100, 1000, len(suite)).tolist()]
            cols["city"].append(city)
            cols["house"].append(house)
            street = np.empty(n, dtype=np.int64)
            for ctry in ("US", "CA"):
                idx = np.flatnonzero(self.v.cities.country[city] == ctry)
                pool = np.flatnonzero(self.v.street_country != ("CA" if ctry == "US" else "US"))
                street[idx] = pool[pick(rng, self.v.street_weight[pool], len(idx))]
            cols["street"].append(street)
            cols["suffix"].append(pick(rng, np.array([s[2] for s in STREET_SUFFIXES]), n))
            cols["dir"].append(np.where(rng.random(n) < 0.12, rng.integers(0, 4, n), -1))
            cols["unit"].append(unit)
            cols["zip"].append(self._postal_codes(rng, city))
            cols["business"].append(business)
            ids = np.arange(count, count + n)
            count += n
            return ids

        items = Items()
        fleet_group = self.group_kind == FLEET
        base = new(self.group_city, fleet_group)
        ent = np.arange(E)
        # Drivers are often registered at the company's address, else at home.
        home_driver = np.flatnonzero(
            (role == DRIVER) & (rng.random(E) >= cfg.driver_company_address_rate)
        )
        at_base = np.setdiff1d(ent, home_driver)
        items.add(at_base, base[self.group[at_base]], -_INF, _INF, 0)
        if len(home_driver):
            own = new(
                self.group_city[self.group[home_driver]], np.zeros(len(home_driver), dtype=bool)
            )
            items.add(home_driver, own, -_INF, _INF, 0)
        # Households (and Jr/Sr, twins) that move together.
        multi_group = np.isin(self.group_kind, (HOUSEHOLD, JR_SR, TWINS))
        movers = np.flatnonzero(multi_group & (rng.random(G) < cfg.group_move_rate))
        group_first = np.full(G, _INF)
        group_last = np.full(G, -_INF)
        np.minimum.at(group_first, self.group, self.first_time)
        np.maximum.at(group_last, self.group, self.last_time)
        group_moved_at = np.full(G, _INF)
        group_moved_at[movers] = group_first[movers] + (0.1 + 0.8 * rng.random(len(movers))) * (
            group_last[movers] - group_first[movers]
        )
        moved = new(
            self._nearby_city(rng, self.group_city[movers]), np.zeros(len(movers), dtype=bool)
        )
        moved_of_group = np.full(G, -1, dtype=np.int64)
        moved_of_group[movers] = moved
        members = np.flatnonzero(moved_of_group[self.group] >= 0)
        items.add(
            members,
            moved_of_group[self.group[members]],
            group_moved_at[self.group[members]],
            _INF,
            1,
        )
        # People who move on their own: singles, and grown children leaving home.
        p_move = np.zeros(E)
        p_move[role == PERSON] = cfg.move_rate
        p_move[np.isin(role, (CHILD, SON, TWIN, ROOMMATE))] = cfg.move_out_rate
        p_move[role == DRIVER] = cfg.move_rate * 0.5
        solo = np.flatnonzero((rng.random(E) < p_move) & (self.nrec >= 2))
        solo_at = self._within_span(rng, solo)
        current_city = self.group_city[self.group[solo]]
        solo_addr = new(self._nearby_city(rng, current_city), np.zeros(len(solo), dtype=bool))
        items.add(solo, solo_addr, solo_at, _INF, 2)
        moved_out = np.full(E, _INF)
        moved_out[solo] = solo_at
        self.moved_out, self.group_moved_at = moved_out, group_moved_at
        self.addr = {k: np.concatenate(v) for k, v in cols.items()}
        self.addr_items = items.build()

    def _postal_codes(self, rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
        """A ZIP code in the city's 3-digit area (US) or a postal code in one of its
        forward sortation areas (Canada: ``M5V 3L9``)."""
        c = self.v.cities
        n = len(city)
        u = rng.random((n, 4))
        last2 = rng.integers(1, 100, n)
        zip3 = obj_array([p[0] for p in c.postal_prefixes])
        out = zip3[city] + digits(last2, 2)
        letters = "ABCEGHJKLMNPRSTVWXYZ"
        for i in np.flatnonzero(c.country[city] == "CA").tolist():
            prefixes = c.postal_prefixes[city[i]]
            fsa = prefixes[int(u[i, 0] * len(prefixes))]
            ldu = f"{int(u[i, 2] * 10)}{letters[int(u[i, 3] * 20)]}{last2[i] % 10}"
            out[i] = f"{fsa}{letters[int(u[i, 1] * 20)]} {ldu}"
        return out

    # --- 6. phones ------------------------------------------------------------------------

    def _phones(self) -> None:
        rng, cfg = self.rng["phone"], self.cfg
        E, G, role = self.n_entities, self.n_groups, self.role
        numbers: list[np.ndarray] = []
        count = 0

        codes = self.v.cities.area_codes
        n_codes = np.array([len(c) for c in codes])
        code_table = np.zeros((len(codes), int(n_codes.max())), dtype=np.int64)
        for i, c in enumerate(codes):
            code_table[i, : len(c)] = c

        def new(city: np.ndarray) -> np.ndarray:
            """New numbers in one of each city's area codes."""
            nonlocal count
            n = len(city)
            ac = code_table[city, (rng.random(n) * n_codes[city]).astype(np.int64)]
            numbers.append(ac * 10_000_000 + self._exchange_line(rng, n))
            ids = np.arange(count, count + n)
            count += n
            return ids

        items = Items()
        ent_city = self.group_city[self.group]
        adult = self.person & (role != CHILD)
        p_mobile = np.where(role == CHILD, 0.85, 0.93)
        has_mobile = np.flatnonzero(self.person & (rng.random(E) < p_mobile))
        mobile = new(ent_city[has_mobile])
        switch = rng.random(len(has_mobile)) < cfg.new_phone_rate
        switch &= self.nrec[has_mobile] >= 2
        switch_at = np.full(len(has_mobile), _INF)
        switch_at[switch] = self._within_span(rng, has_mobile[switch])
        keeps_old = rng.random(len(has_mobile)) < 0.3
        items.add(has_mobile, mobile, -_INF, np.where(keeps_old, _INF, switch_at), MOBILE)
        sw = has_mobile[switch]
        items.add(sw, new(ent_city[sw]), switch_at[switch], _INF, MOBILE)
        # Home landlines: shared by a household (and by Jr/Sr, twins); some singles too.
        p_land = np.where(
            np.isin(self.group_kind, (HOUSEHOLD, JR_SR, TWINS)), cfg.shared_landline_rate, 0.2
        )
        p_land[self.group_kind == FLEET] = 0.0
        land_groups = np.flatnonzero(rng.random(G) < p_land)
        land = new(self.group_city[land_groups])
        land_of_group = np.full(G, -1, dtype=np.int64)
        land_of_group[land_groups] = land
        m = np.flatnonzero((land_of_group[self.group] >= 0) & self.person)
        g = self.group[m]
        # A landline ends when the household moves or the person moves out; half of the
        # households that move get a new one.
        items.add(
            m, land_of_group[g], -_INF, np.minimum(self.group_moved_at[g], self.moved_out[m]), HOME
        )
        relanded = land_groups[
            (self.group_moved_at[land_groups] < _INF) & (rng.random(len(land_groups)) < 0.5)
        ]
        if len(relanded):
            land2 = np.full(G, -1, dtype=np.int64)
            land2[relanded] = new(self.group_city[relanded])
            m2 = np.flatnonzero(land2[self.group] >= 0)
            g2 = self.group[m2]
            items.add(m2, land2[g2], self.group_moved_at[g2], self.moved_out[m2], HOME)
        # Work phones, some with an extension.
        work = np.flatnonzero(adult & (role != DRIVER) & (rng.random(E) < 0.1))
        work_ids = new(ent_city[work])
        items.add(work, work_ids, -_INF, _INF, WORK)
        ext = np.zeros(count, dtype=np.int64)
        with_ext = work_ids[rng.random(len(work_ids)) < cfg.extension_rate]
        ext[with_ext] = np.where(
            rng.random(len(with_ext)) < 0.5,
            rng.integers(10, 100, len(with_ext)),
            rng.integers(100, 10000, len(with_ext)),
        )
        # Fleet accounts: the company's main line is on the company and on its drivers.
        fleet_groups = np.flatnonzero(self.group_kind == FLEET)
        main = np.full(G, -1, dtype=np.int64)
        main[fleet_groups] = new(self.group_city[fleet_groups])
        f = np.flatnonzero(main[self.group] >= 0)
        items.add(f, main[self.group[f]], -_INF, _INF, MAIN_LINE)
        values = np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int64)
        values = self._unique_numbers(rng, values)
        self.phone_values = values
        self.phone_ext = np.concatenate([ext, np.zeros(len(values) - len(ext), dtype=np.int64)])
        self.phone_items = items.build()
        # The dealer's own numbers (typed in when a customer gives none).
        dealer = (
            self._exchange_line(rng, 2)
            + int(self.v.cities.area_codes[self.dealer_city][0]) * 10_000_000
        )
        self.dealer_phones = dealer

    @staticmethod
    def _exchange_line(rng: np.random.Generator, n: int) -> np.ndarray:
        """Exchange and line digits of real-looking NANP numbers: the exchange is 200-999
        but never N11 (service codes) nor 555 (reserved, used for placeholders)."""
        exch = rng.integers(200, 1000, n)
        bad = (exch % 100 == 11) | (exch == 555)
        exch[bad] += 1
        return exch * 10_000 + rng.integers(0, 10_000, n)

    @staticmethod
    def _unique_numbers(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
        """Redraw the line digits of numbers that repeat, so unrelated people never share."""
        values = values.copy()
        for _ in range(50):
            dup = pd.Series(values).duplicated().to_numpy()
            if not dup.any():
                break
            d = np.flatnonzero(dup)
            values[d] = (values[d] // 10_000) * 10_000 + rng.integers(0, 10_000, len(d))
        return values

    # --- 7. e-mails -----------------------------------------------------------------------

    def _emails(self) -> None:
        rng, cfg, v = self.rng["email"], self.cfg, self.v
        G, role = self.n_groups, self.role
        fn_tok, sn_tok = self.first_token, self.last_token
        country = v.cities.country[self.group_city[self.group]]
        values: list[np.ndarray] = []
        count = 0

        def add_values(vals: np.ndarray) -> np.ndarray:
            nonlocal count
            values.append(vals)
            ids = np.arange(count, count + len(vals))
            count += len(vals)
            return ids

        def domains(ents: np.ndarray) -> np.ndarray:
            out = np.empty(len(ents), dtype=object)
            for ctry, table in (("US", US_EMAIL_DOMAINS), ("CA", CA_EMAIL_DOMAINS)):
                idx = np.flatnonzero(country[ents] == ctry)
                names = [d for d, _ in table]
                chosen = pick(rng, np.array([w for _, w in table]), len(idx))
                out[idx] = [names[p] for p in chosen.tolist()]
            return out

        # Nickname tokens per first name (for bobsmith), padded into a table.
        nick_lists = [
            [ascii_token(x) for x in v.nicknames.get(t, ())] for t in fn_tok[:-1].tolist()
        ]
        n_nicks = np.array([len(x) for x in nick_lists] + [0])
        nick_table = np.full((len(nick_lists) + 1, max(1, int(n_nicks.max()))), "", dtype=object)
        for i, x in enumerate(nick_lists):
            nick_table[i, : len(x)] = x
        fn_init = obj_array([t[:1] for t in fn_tok.tolist()])
        sn_init = obj_array([t[:1] for t in sn_tok.tolist()])

        def personal(ents: np.ndarray, last_idx: np.ndarray) -> np.ndarray:
            """Personal addresses built from the name the way people pick them:
            john.smith, jsmith, john.smith84, smithj, tigerfan22, bobsmith ..."""
            n = len(ents)
            fi, li = self.first[ents], last_idx
            f, l_, f1, l1 = fn_tok[fi], sn_tok[li], fn_init[fi], sn_init[li]
            m1 = fn_init[self.middle[ents]]
            yy = digits(self.birth[ents] % 100, 2)
            year = self.birth[ents].astype(str).astype(object)
            r = rng.integers(1, 1000, n)
            rs, r2 = r.astype(str).astype(object), (r % 100).astype(str).astype(object)
            handle = obj_array(_HANDLE_WORDS)[rng.integers(len(_HANDLE_WORDS), size=n)]
            tail = obj_array(_HANDLE_TAILS)[rng.integers(len(_HANDLE_TAILS), size=n)]
            nick = nick_table[fi, r % np.maximum(n_nicks[fi], 1)]
            nick = np.where(nick == "", f, nick)
            mid = np.where(m1 == "", "." + l_ + r2, "." + m1 + "." + l_)
            patterns = (
                (18, lambda i: f[i] + "." + l_[i]),
                (12, lambda i: f[i] + l_[i]),
                (12, lambda i: f1[i] + l_[i]),
                (8, lambda i: f[i] + "." + l_[i] + yy[i]),
                (6, lambda i: f[i] + l_[i] + yy[i]),
                (4, lambda i: f[i] + "_" + l_[i]),
                (8, lambda i: f1[i] + l_[i] + rs[i]),
                (4, lambda i: f[i] + l1[i]),
                (3, lambda i: l_[i] + f[i]),
                (5, lambda i: f[i] + year[i]),
                (3, lambda i: f[i] + mid[i]),
                (8, lambda i: handle[i] + tail[i] + r2[i]),
                (4, lambda i: nick[i] + l_[i]),
                (3, lambda i: f[i] + l1[i] + rs[i]),
                (2, lambda i: l_[i] + "." + f[i]),
            )
            pattern = pick(rng, np.array([w for w, _ in patterns], dtype=np.float64), n)
            local = np.empty(n, dtype=object)
            for code, (_w, build) in enumerate(patterns):
                idx = np.flatnonzero(pattern == code)
                if len(idx):
                    local[idx] = build(idx)
            short = np.flatnonzero([len(x.strip("._")) < 3 for x in local.tolist()])
            local[short] = local[short] + rs[short]
            return local + "@" + domains(ents)

        items = Items()
        people = np.flatnonzero(self.person)
        has = people[rng.random(len(people)) < np.where(role[people] == CHILD, 0.7, 0.87)]
        ids = add_values(personal(has, self.last[has]))
        switch = (rng.random(len(has)) < cfg.new_email_rate) & (self.nrec[has] >= 2)
        switch_at = np.full(len(has), _INF)
        switch_at[switch] = self._within_span(rng, has[switch])
        # Marriage: half of the people whose name changes start a new address with it.
        wed = (self.new_last[has] >= 0) & (rng.random(len(has)) < 0.5) & ~switch
        switch_at[wed] = self.married_at[has[wed]]
        ends = np.where(rng.random(len(has)) < 0.4, _INF, switch_at)
        items.add(has, ids, -_INF, ends, PERSONAL)
        sw = has[switch]
        items.add(sw, add_values(personal(sw, self.last[sw])), switch_at[switch], _INF, PERSONAL)
        wd = has[wed]
        items.add(wd, add_values(personal(wd, self.new_last[wd])), switch_at[wed], _INF, PERSONAL)
        second = has[rng.random(len(has)) < 0.12]
        items.add(second, add_values(personal(second, self.last[second])), -_INF, _INF, PERSONAL)
        # Family addresses shared by the adults of a household (and sometimes by Jr/Sr).
        p_family = np.where(self.group_kind == HOUSEHOLD, cfg.family_email_rate, 0.0)
        p_family[self.group_kind == JR_SR] = 0.2
        fam_groups = np.flatnonzero(rng.random(G) < p_family)
        heads = self.group_head[fam_groups]
        partner = heads + 1
        fam_local = []
        pat = rng.integers(0, 4, len(fam_groups))
        num = rng.integers(1, 100, len(fam_groups))
        for h, p2, p, k in zip(
            heads.tolist(), partner.tolist(), pat.tolist(), num.tolist(), strict=True
        ):
            ln = sn_tok[self.last[h]]
            if p == 0:
                fam_local.append(f"{ln}family")
            elif p == 1:
                fam_local.append(f"the{ln}s")
            elif p == 2:
                fam_local.append(f"{fn_tok[self.first[h]][:1]}and{fn_tok[self.first[p2]][:1]}{ln}")
            else:
                fam_local.append(f"{ln}{k}")
        fam_dom = domains(heads)
        fam_ids = add_values(
            obj_array([f"{a}@{b}" for a, b in zip(fam_local, fam_dom.tolist(), strict=True)])
        )
        fam_of_group = np.full(G, -1, dtype=np.int64)
        fam_of_group[fam_groups] = fam_ids
        members = np.flatnonzero(
            (fam_of_group[self.group] >= 0) & np.isin(role, (HEAD, SPOUSE, FATHER, SON))
        )
        items.add(
            members, fam_of_group[self.group[members]], -_INF, self.moved_out[members], FAMILY
        )
        # Fleets: a company mailbox and work addresses of drivers at the company domain.
        fleet_groups = np.flatnonzero(self.group_kind == FLEET)
        n_f = len(fleet_groups)
        tld = np.where(v.cities.country[self.group_city[fleet_groups]] == "CA", ".ca", ".com")
        domain = obj_array(
            [
                ascii_token(b) + t
                for b, t in zip(self.company_base.tolist(), tld.tolist(), strict=True)
            ]
        )
        box = rng.integers(0, 6, n_f)
        boxes = ("info", "service", "fleet", "office", "admin", "accounts")
        comp_ids = add_values(
            obj_array(
                [f"{boxes[b]}@{d}" for b, d in zip(box.tolist(), domain.tolist(), strict=True)]
            )
        )
        comp_of_group = np.full(G, -1, dtype=np.int64)
        comp_of_group[fleet_groups] = comp_ids
        dom_of_group = np.full(G, None, dtype=object)
        dom_of_group[fleet_groups] = domain
        company = np.flatnonzero(role == COMPANY)
        items.add(company, comp_of_group[self.group[company]], -_INF, _INF, COMPANY_EMAIL)
        drivers = np.flatnonzero(role == DRIVER)
        on_box = drivers[rng.random(len(drivers)) < cfg.driver_company_email_rate]
        items.add(on_box, comp_of_group[self.group[on_box]], -_INF, _INF, COMPANY_EMAIL)
        worker = drivers[rng.random(len(drivers)) < 0.5]
        style = rng.random(len(worker)) < 0.6
        work_vals = obj_array(
            [
                (
                    f"{fn_tok[self.first[e]]}.{sn_tok[self.last[e]]}"
                    if s
                    else f"{fn_tok[self.first[e]][:1]}{sn_tok[self.last[e]]}"
                )
                + "@"
                + dom_of_group[self.group[e]]
                for e, s in zip(worker.tolist(), style.tolist(), strict=True)
            ]
        )
        items.add(worker, add_values(work_vals), -_INF, _INF, WORK_EMAIL)
        all_values = np.concatenate(values) if values else np.zeros(0, dtype=object)
        self.email_values = self._unique_emails(rng, all_values)
        self.email_items = items.build()

    @staticmethod
    def _unique_emails(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
        """Make addresses unique (two people cannot own jsmith@gmail.com): later owners get
        digits appended to the local part, as the provider would have required."""
        values = values.copy()
        for _ in range(50):
            dup = pd.Series(values, dtype=object).duplicated().to_numpy()
            if not dup.any():
                break
            d = np.flatnonzero(dup)
            extra = rng.integers(1, 1000, len(d))
            values[d] = [
                f"{v.split('@')[0]}{k}@{v.split('@')[1]}"
                for v, k in zip(values[d].tolist(), extra.tolist(), strict=True)
            ]
        return values

    # --- 8. vehicles ----------------------------------------------------------------------

    def _vehicles(self) -> None:
        rng, cfg, vt = self.rng["vehicle"], self.cfg, self.v.vehicles
        E, G, role = self.n_entities, self.n_groups, self.role
        models: list[np.ndarray] = []
        years: list[np.ndarray] = []
        count = 0

        def new(n: int, acquired: np.ndarray, fleet: bool) -> np.ndarray:
            """New vehicles bought at the given times: a model on sale then, new (this or
            next model year) or used (1-10 years old)."""
            nonlocal count
            pool = np.flatnonzero(vt.fleet) if fleet else np.arange(len(vt.weight))
            model = pool[pick(rng, vt.weight[pool], n)]
            acq_year = 2010 + np.floor(acquired / 365.25).astype(np.int64)
            # A model that did not exist yet is redrawn (no 2020 Model Y bought in 2013).
            for _ in range(8):
                early = np.flatnonzero(vt.first_year[model] > acq_year + 1)
                if not len(early):
                    break
                model[early] = pool[pick(rng, vt.weight[pool], len(early))]
            oldest = pool[np.argmin(vt.first_year[pool])]
            model[vt.first_year[model] > acq_year + 1] = oldest
            age = np.where(rng.random(n) < 0.45, -rng.integers(0, 2, n), rng.integers(1, 11, n))
            year = np.clip(acq_year - age, vt.first_year[model], acq_year + 1)
            models.append(model)
            years.append(year)
            ids = np.arange(count, count + n)
            count += n
            return ids

        people = np.flatnonzero(self.person)
        n_veh = rng.choice([0, 1, 2, 3], size=len(people), p=[0.04, 0.60, 0.27, 0.09])
        owner = np.repeat(people, n_veh)
        k = np.arange(len(owner)) - np.repeat(np.cumsum(n_veh) - n_veh, n_veh)
        # The first car was bought before the first visit; later ones between visits.
        before_first = self.first_time[owner] - 1.0 - rng.random(len(owner)) * 1500
        start = np.where(
            (k == 0) | (self.nrec[owner] < 2), before_first, self._within_span(rng, owner)
        )
        ids = new(len(owner), start, False)
        # Half of the later purchases replace the previous car (traded in).
        end = np.full(len(owner), _INF)
        replaces = (
            (k[1:] > 0) & (rng.random(len(owner) - 1) < 0.5)
            if len(owner) > 1
            else np.zeros(0, dtype=bool)
        )
        prev = np.flatnonzero(replaces)
        end[prev] = np.maximum(start[prev + 1], start[prev])
        items_owner, items_vid, items_start, items_end = [owner], [ids], [start], [end]
        first_vehicle = np.full(E, -1, dtype=np.int64)
        first_item = np.full(E, -1, dtype=np.int64)
        first_item[owner[k == 0]] = np.flatnonzero(k == 0)
        first_vehicle[owner[k == 0]] = ids[k == 0]
        # Shared family cars: the head's (father's, first twin's) first car is also driven
        # by the spouse (son, second twin).
        p_share = np.zeros(G)
        family = (self.group_kind == HOUSEHOLD) & (
            self.role[np.minimum(self.group_head + 1, E - 1)] == SPOUSE
        )
        p_share[family] = cfg.shared_vehicle_rate
        p_share[self.group_kind == JR_SR] = 0.4
        p_share[self.group_kind == TWINS] = 0.2
        sharing = np.flatnonzero((rng.random(G) < p_share) & (first_vehicle[self.group_head] >= 0))
        sharer = self.group_head[sharing] + 1
        shared_item = first_item[self.group_head[sharing]]
        items_owner.append(sharer)
        items_vid.append(ids[shared_item])
        items_start.append(start[shared_item])
        items_end.append(end[shared_item])
        # Fleets: 3-10 work vehicles on the company; each driver brings one or two of them.
        companies = np.flatnonzero(role == COMPANY)
        n_fleet = rng.integers(3, 11, len(companies))
        fowner = np.repeat(companies, n_fleet)
        fleet_bought = self.first_time[fowner] - 1.0 - rng.random(len(fowner)) * 1000
        fids = new(len(fowner), fleet_bought, True)
        items_owner.append(fowner)
        items_vid.append(fids)
        items_start.append(fleet_bought)
        items_end.append(np.full(len(fowner), _INF))
        fleet_start = np.concatenate(([0], np.cumsum(n_fleet)[:-1]))
        comp_slot = np.full(E, -1, dtype=np.int64)
        comp_slot[companies] = np.arange(len(companies))
        drivers = np.flatnonzero(role == DRIVER)
        n_drive = rng.integers(1, 3, len(drivers))
        downer = np.repeat(drivers, n_drive)
        slot = comp_slot[self.group_head[self.group[downer]]]
        chosen = fleet_start[slot] + (rng.random(len(downer)) * n_fleet[slot]).astype(np.int64)
        items_owner.append(downer)
        items_vid.append(fids[chosen])
        items_start.append(fleet_bought[chosen])
        items_end.append(np.full(len(downer), _INF))
        owner_all = np.concatenate(items_owner)
        vid_all = np.concatenate(items_vid)
        start_all = np.concatenate(items_start)
        end_all = np.concatenate(items_end)
        # Resales: a customer's first car is later owned by an unrelated customer whose
        # records come after the sale.
        sellers = np.flatnonzero(first_vehicle >= 0)
        sellers = sellers[
            (rng.random(len(sellers)) < cfg.resold_vin_rate) & (role[sellers] != DRIVER)
        ]
        buyers = people[rng.integers(0, len(people), len(sellers))] if len(people) else sellers
        ok = (self.group[buyers] != self.group[sellers]) & (
            self.last_time[buyers] > self.first_time[sellers] + 1.0
        )
        sellers, buyers = sellers[ok], buyers[ok]
        lo = self.first_time[sellers]
        hi = self.last_time[buyers]
        sold_at = lo + (0.02 + 0.96 * rng.random(len(sellers))) * (hi - lo)
        sold_vid = first_vehicle[sellers]
        # End the seller's (and any co-driver's) ownership at the sale.
        sold_of_vid = np.full(count, _INF)
        sold_of_vid[sold_vid] = sold_at
        end_all = np.minimum(end_all, sold_of_vid[vid_all])
        owner_all = np.concatenate([owner_all, buyers])
        vid_all = np.concatenate([vid_all, sold_vid])
        start_all = np.concatenate([start_all, sold_at])
        end_all = np.concatenate([end_all, np.full(len(buyers), _INF)])
        model = np.concatenate(models)
        year = np.concatenate(years)
        vins = make_vins(rng, vt.wmi[model], vt.vds[model], year)
        for _ in range(50):
            dup = pd.Series(vins, dtype=object).duplicated().to_numpy()
            if not dup.any():
                break
            d = np.flatnonzero(dup)
            vins[d] = make_vins(rng, vt.wmi[model[d]], vt.vds[model[d]], year[d])
        self.vins = vins
        self.vehicle_items = {
            "entity": owner_all,
            "value": vid_all,
            "start": start_all,
            "end": end_all,
            "kind": np.zeros(len(owner_all), dtype=np.int64),
        }

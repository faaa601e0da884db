"""From the world to the export: what each record shows, typed in with realistic noise.

Each record is one visit or one source system's copy of a customer at a moment in time.
:class:`Export` decides which of the entity's items the record shows (the address it had
then, one or two of its phones and e-mails, the cars it owned), then renders every field
the way that source system would: letter case, phone formats, abbreviations, typos,
nicknames, placeholders, "N/A" for blanks, customer keys. All noise comes from seeded
streams; Python loops only touch the few values a given kind of noise applies to.
"""

from __future__ import annotations

import numpy as np

from matching.synth import noise
from matching.synth.config import GeneratorConfig
from matching.synth.vins import corrupt_vin
from matching.synth.vocab import CA_PROVINCES, DIRECTIONS, STREET_SUFFIXES, US_STATES, strip_accents
from matching.synth.world import (
    COMPANY,
    COMPANY_EMAIL,
    DRIVER,
    EPOCH,
    MAIN_LINE,
    World,
    digits,
    expand,
    obj_array,
    pick,
    top_k,
)

# Source systems of a record: the dealer DMS, the CRM, a web lead form.
DMS, CRM, WEB = range(3)
NA_TOKENS: tuple[str, ...] = ("N/A", "NA", "n/a", "NONE", "none", "-", "UNKNOWN")
_PLUS_TAGS = ("dealer", "cars", "service", "auto", "shop", "1")
_SUFFIX_FORMS = {
    1: (" Jr", " Jr.", ", Jr.", " JR"),
    2: (" Sr", " Sr.", ", Sr.", " SR"),
    3: (" II", " II", ", II", " 2nd"),
    4: (" III", " III", ", III", " 3rd"),
}
_LEGAL_FORMS = {
    "Inc": (" Inc", " Inc.", ", Inc.", " Incorporated"),
    "LLC": (" LLC", " LLC", ", LLC", ", L.L.C."),
    "Corp": (" Corp", " Corp.", " Corporation", ", Corp."),
    "Co": (" Co", " Co.", " Company", " & Co"),
    "Ltd": (" Ltd", " Ltd.", " Limited", ", Ltd."),
}


class Export:
    """Renders a :class:`World` into export columns (object arrays of text, one row per
    record in the world's record order) and remembers which records got placeholders."""

    STAGES = ("record", "render", "key")

    def __init__(self, world: World, seed: np.random.SeedSequence) -> None:
        self.w = world
        self.cfg: GeneratorConfig = world.cfg
        self.v = world.v
        streams = seed.spawn(len(self.STAGES))
        self.rng = {
            name: np.random.default_rng(s) for name, s in zip(self.STAGES, streams, strict=True)
        }

    def columns(self) -> dict[str, np.ndarray]:
        """Every customer column except ``record_id`` (assigned after shuffling)."""
        self._select()
        cols = self._render()
        cols["customer_key"] = self._keys()
        return cols

    # --- what each record shows ------------------------------------------------------------

    def _select(self) -> None:
        rng, cfg, w = self.rng["record"], self.cfg, self.w
        R, E = w.n_rec, w.n_entities
        t, ent = w.rec_time, w.rec_entity

        # Address: the latest one that started before the record.
        a = w.addr_items
        rec, item = expand(ent, a["entity"], E)
        self.rec_addr = top_k(rec, item, -a["start"][item], a["start"][item] <= t[rec], 1, R)[:, 0]

        # Phones: up to two of those in use, mobile first more often than not.
        p = w.phone_items
        rec, item = expand(ent, p["entity"], E)
        prio = np.array([0.0, 0.5, 1.0, 0.3])[p["kind"][item]]
        prio[(p["kind"][item] == MAIN_LINE) & (w.role[ent[rec]] == COMPANY)] = -1.0
        active = (p["start"][item] <= t[rec]) & (t[rec] < p["end"][item])
        phones = top_k(rec, item, prio + 1.2 * rng.random(len(rec)), active, 2, R)
        phones[rng.random(R) < cfg.missing_phone_rate] = -1
        phones[rng.random(R) >= cfg.second_phone_shown_rate, 1] = -1
        self.rec_phone_items = phones

        m = w.email_items
        rec, item = expand(ent, m["entity"], E)
        prio = np.array([0.0, 0.6, 0.8, 0.9])[m["kind"][item]]
        prio[(m["kind"][item] == COMPANY_EMAIL) & (w.role[ent[rec]] == COMPANY)] = -1.0
        active = (m["start"][item] <= t[rec]) & (t[rec] < m["end"][item])
        emails = top_k(rec, item, prio + 1.0 * rng.random(len(rec)), active, 2, R)
        emails[rng.random(R) < cfg.missing_email_rate] = -1
        emails[rng.random(R) >= cfg.second_email_shown_rate, 1] = -1
        self.rec_email_items = emails

        # Vehicles in the order they were bought; a record made at a service visit often
        # shows only the car that came in.
        vi = w.vehicle_items
        rec, item = expand(ent, vi["entity"], E)
        active = (vi["start"][item] <= t[rec]) & (t[rec] < vi["end"][item])
        key = (
            np.where(np.isfinite(vi["start"][item]), vi["start"][item], -1e6)
            + rng.random(len(rec)) * 1e-3
        )
        vehicles = top_k(rec, item, key, active, 3, R)
        vehicles[rng.random(R) < cfg.missing_vin_rate] = -1
        only_one = rng.random(R) < 0.35
        n_shown = (vehicles >= 0).sum(axis=1)
        which = np.minimum((rng.random(R) * np.maximum(n_shown, 1)).astype(np.int64), 2)
        one = vehicles[np.arange(R), which]
        vehicles[only_one] = -1
        vehicles[only_one, 0] = one[only_one]
        #: vehicle ids (indexes into ``world.vins``) shown by each record, -1 for none
        self.rec_vins = _take(vi["value"], vehicles, -1)

        # Source system: first records come mostly from the DMS, later ones from anywhere.
        self.rec_source = np.where(
            w.rec_seq == 0,
            pick(rng, np.array([0.7, 0.2, 0.1]), R),
            pick(rng, np.array([0.45, 0.35, 0.2]), R),
        )

    # --- rendering ----------------------------------------------------------------------------

    def _render(self) -> dict[str, np.ndarray]:
        rng, cfg, w = self.rng["render"], self.cfg, self.w
        R, src = w.n_rec, self.rec_source
        # Per-record habits of the system that typed it: letter case (0 as is, 1 upper,
        # 2 lower) and whether accents survive (many DMSs strip them).
        case = np.where(
            src == DMS,
            pick(rng, np.array([0.2, 0.8, 0.0]), R),
            np.where(
                src == CRM,
                pick(rng, np.array([0.85, 0.1, 0.05]), R),
                pick(rng, np.array([0.6, 0.1, 0.3]), R),
            ),
        )
        keeps_accents = rng.random(R) < cfg.accent_kept_rate
        cols = self._render_names(rng, case, keeps_accents)
        cols.update(self._render_phones(rng, src))
        cols.update(self._render_emails(rng))
        cols.update(self._render_addresses(rng, case, keeps_accents))
        cols.update(self._render_vins(rng))
        # Missing values are not always blank: N/A, NONE, - ...
        for name in (
            "first_name",
            "last_name",
            "phone_1",
            "phone_2",
            "email_1",
            "email_2",
            "address_line1",
            "postal_code",
            "vin_1",
        ):
            arr = cols[name]
            empty = np.flatnonzero(arr == "")
            tok = empty[rng.random(len(empty)) < cfg.na_token_rate]
            arr[tok] = obj_array(NA_TOKENS)[rng.integers(len(NA_TOKENS), size=len(tok))]
        stamps = EPOCH + np.round(w.rec_time * 86400.0).astype("timedelta64[s]")
        cols["created_at"] = np.char.replace(
            np.datetime_as_string(stamps, unit="s"), "T", " "
        ).astype(object)
        return cols

    def _render_names(
        self, rng: np.random.Generator, case: np.ndarray, keeps_accents: np.ndarray
    ) -> dict[str, np.ndarray]:
        cfg, w, v = self.cfg, self.w, self.v
        R, ent, t = w.n_rec, w.rec_entity, w.rec_time
        fn, sn = v.first_names, v.surnames
        role = w.role[ent]
        person = role != COMPANY
        sub = np.flatnonzero

        first_idx = w.first[ent]
        first = _blank(R)
        pi = sub(person & (first_idx >= 0))
        first[pi] = np.where(keeps_accents[pi], fn.accented[first_idx[pi]], fn.name[first_idx[pi]])
        nick_u = rng.random(R)
        nick = sub(person & (nick_u < cfg.nickname_rate))
        nick_pick = rng.random(len(nick))
        for i, u in zip(nick.tolist(), nick_pick.tolist(), strict=True):
            options = v.nicknames.get(fn.name[first_idx[i]].lower(), ())
            if options:
                first[i] = options[int(u * len(options))]
        initial = sub(person & (rng.random(R) < cfg.initial_rate) & (nick_u >= cfg.nickname_rate))
        dot = rng.random(len(initial)) < 0.5
        first[initial] = [
            f[:1] + ("." if d else "")
            for f, d in zip(first[initial].tolist(), dot.tolist(), strict=True)
        ]
        middle_idx = w.middle[ent]
        middle = _blank(R)
        has_mid = person & (middle_idx >= 0)
        merged = sub(has_mid & (rng.random(R) < cfg.middle_in_first_rate))
        first[merged] = first[merged] + " " + fn.name[middle_idx[merged]]
        shown = has_mid & (rng.random(R) < cfg.middle_shown_rate)
        shown[merged] = False
        ms = sub(shown)
        as_initial = rng.random(len(ms)) < 0.5
        middle[ms] = [
            m[:1] if ini else m
            for m, ini in zip(fn.name[middle_idx[ms]].tolist(), as_initial.tolist(), strict=True)
        ]
        _typos(rng, first, sub(person & (rng.random(R) < cfg.first_typo_rate)))

        # Last name as of the record's date: after a marriage, usually the new one.
        last_idx = w.last[ent].copy()
        after = (
            (w.new_last[ent] >= 0)
            & (t >= w.married_at[ent])
            & (rng.random(R) < cfg.married_name_shown_rate)
        )
        hyphen = sub(after & (rng.random(R) < 0.1))
        old_idx = last_idx.copy()
        last_idx[after] = w.new_last[ent][after]
        last = _blank(R)
        li = sub(person & (last_idx >= 0))
        last[li] = np.where(keeps_accents[li], sn.accented[last_idx[li]], sn.name[last_idx[li]])
        last[hyphen] = sn.name[old_idx[hyphen]] + "-" + last[hyphen]
        # Punctuation and inner capitals get lost: O'Brien -> OBrien, McDonald -> Mcdonald.
        pl = sub(person & (rng.random(R) < cfg.name_punctuation_loss_rate))
        last[pl] = [
            (
                s.replace("'", "").replace(" ", "")
                if ("'" in s or " " in s)
                else s[:1] + s[1:].lower()
            )
            for s in last[pl].tolist()
        ]
        suffix = w.suffix[ent]
        p_suffix = np.array([0.0, cfg.jr_suffix_shown_rate, cfg.sr_suffix_shown_rate, 0.6, 0.6])[
            suffix
        ]
        sx = sub((suffix > 0) & (rng.random(R) < p_suffix))
        form = rng.integers(0, 4, len(sx))
        last[sx] = [
            s + _SUFFIX_FORMS[k][f]
            for s, k, f in zip(last[sx].tolist(), suffix[sx].tolist(), form.tolist(), strict=True)
        ]
        _typos(rng, last, sub(person & (rng.random(R) < cfg.last_typo_rate)))
        swap = sub(person & (rng.random(R) < cfg.swap_rate))
        first[swap], last[swap] = last[swap].copy(), first[swap].copy()
        first[sub(person & (rng.random(R) < cfg.missing_first_rate))] = ""
        last[sub(person & (rng.random(R) < cfg.missing_last_rate))] = ""

        # Company names with and without their legal form, spelled several ways.
        company = _blank(R)
        comp = w.company[ent]
        ci = sub(comp >= 0)
        drop = rng.random(len(ci)) < cfg.company_suffix_drop_rate
        form = rng.integers(0, 4, len(ci))
        company[ci] = [
            w.company_base[c] + ("" if d else _LEGAL_FORMS[w.company_legal[c]][f])
            for c, d, f in zip(comp[ci].tolist(), drop.tolist(), form.tolist(), strict=True)
        ]
        # Company records carry the business name in company, in last_name (an old DMS
        # habit) or in both.
        is_company = role == COMPANY
        mode = rng.random(R)
        in_last = sub(is_company & (mode < 0.5))
        last[in_last] = company[in_last]
        company[sub(is_company & (mode >= 0.35) & (mode < 0.5))] = ""
        # Drivers' records do not always say which company they drive for.
        company[sub((role == DRIVER) & (rng.random(R) < 0.2))] = ""
        return {
            "first_name": noise.apply_case(first, case),
            "middle_name": noise.apply_case(middle, case),
            "last_name": noise.apply_case(last, case),
            "company": noise.apply_case(company, case),
        }

    def _render_phones(self, rng: np.random.Generator, src: np.ndarray) -> dict[str, np.ndarray]:
        cfg, w = self.cfg, self.w
        R = w.n_rec
        style1 = np.where(
            src == DMS,
            pick(rng, np.array([0.2, 0.3, 0, 0, 0.5, 0, 0, 0]), R),
            np.where(
                src == CRM,
                pick(rng, np.array([0.6, 0.2, 0.1, 0, 0.1, 0, 0, 0]), R),
                rng.integers(0, 8, R),
            ),
        )
        style2 = np.where(rng.random(R) < 0.8, style1, rng.integers(0, 8, R))
        items = self.rec_phone_items.copy()
        value = _take(w.phone_items["value"], items, -1)
        number = _take(w.phone_values, value, 0)
        ext = _take(w.phone_ext, value, 0)
        # Keying errors: two adjacent digits of the subscriber number swapped.
        rows, slots = np.nonzero((items >= 0) & (rng.random(items.shape) < cfg.phone_typo_rate))
        where = 3 + rng.integers(0, 6, len(rows))
        for r_, s_, i in zip(rows.tolist(), slots.tolist(), where.tolist(), strict=True):
            digits = list(f"{number[r_, s_]:010d}")
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
            number[r_, s_] = int("".join(digits))
        # Placeholders in phone_1: the dealer's own numbers, zeros, nines, 555-0100 ...
        ph = rng.random(R) < cfg.placeholder_phone_rate
        dealer_main, dealer_service = (int(x) for x in w.dealer_phones)
        area = dealer_main // 10_000_000
        placeholder_values = np.array(
            [
                dealer_main,
                dealer_service,
                0,
                9_999_999_999,
                1_111_111_111,
                1_234_567_890,
                area * 10_000_000 + 5_550_100,
            ],
            dtype=np.int64,
        )
        which = pick(rng, np.array([0.35, 0.1, 0.2, 0.15, 0.05, 0.05, 0.1]), R)
        # Sometimes the real number survives in the second slot.
        moved = ph & (items[:, 1] < 0) & (items[:, 0] >= 0) & (rng.random(R) < 0.3)
        number[moved, 1], ext[moved, 1], items[moved, 1] = (
            number[moved, 0],
            ext[moved, 0],
            items[moved, 0],
        )
        number[ph, 0], ext[ph, 0], items[ph, 0] = placeholder_values[which[ph]], 0, 0
        #: which placeholder (index) each record's phone_1 holds, -1 for none
        self.rec_phone_placeholder = np.where(ph, which, -1)
        out = {}
        for slot, style in ((0, style1), (1, style2)):
            col = _blank(R)
            shown = np.flatnonzero(items[:, slot] >= 0)
            col[shown] = noise.format_phones(number[shown, slot], style[shown])
            xs = shown[ext[shown, slot] > 0]
            fmt = rng.integers(len(noise.EXTENSION_FORMATS), size=len(xs))
            col[xs] = [
                s + noise.EXTENSION_FORMATS[f].format(n=e)
                for s, f, e in zip(
                    col[xs].tolist(), fmt.tolist(), ext[xs, slot].tolist(), strict=True
                )
            ]
            out[f"phone_{slot + 1}"] = col
        return out

    def _render_emails(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        cfg, w = self.cfg, self.w
        R = w.n_rec
        items = self.rec_email_items.copy()
        ph = rng.random(R) < cfg.placeholder_email_rate
        dd = w.dealer_domain
        placeholders = obj_array(
            [
                f"noemail@{dd}",
                "none@none.com",
                "na@na.com",
                "noemail@noemail.com",
                f"declined@{dd}",
                "no@email.com",
                f"customer@{dd}",
            ]
        )
        which = pick(rng, np.array([0.35, 0.2, 0.1, 0.1, 0.1, 0.1, 0.05]), R)
        # A placeholder usually replaces what the customer would not give; a fifth of the
        # time the real address is still there, in the second slot.
        keep_real = ph & (rng.random(R) < 0.2) & (items[:, 0] >= 0)
        items[ph & ~keep_real, 1] = -1
        items[keep_real, 1] = items[keep_real, 0]
        #: which placeholder (index) each record's email_1 holds, -1 for none
        self.rec_email_placeholder = np.where(ph, which, -1)
        rates = np.array(
            [
                cfg.gmail_dots_rate,
                cfg.plus_tag_rate,
                cfg.email_domain_typo_rate,
                cfg.email_case_rate,
                cfg.email_space_rate,
            ]
        )
        out = {}
        for slot in (0, 1):
            col = _blank(R)
            shown = np.flatnonzero(items[:, slot] >= 0)
            col[shown] = w.email_values[w.email_items["value"][items[shown, slot]]]
            if slot == 0:
                p = np.flatnonzero(ph)
                col[p] = placeholders[which[p]]
                shown = np.union1d(shown, p)
            u = rng.random((len(shown), 6))
            noisy = (u[:, :5] < rates).any(axis=1)
            idx, u = shown[noisy], u[noisy]
            col[idx] = [
                _email_noise(e, uu, rates) for e, uu in zip(col[idx].tolist(), u, strict=True)
            ]
            out[f"email_{slot + 1}"] = col
        return out

    def _render_addresses(
        self, rng: np.random.Generator, case: np.ndarray, keeps_accents: np.ndarray
    ) -> dict[str, np.ndarray]:
        cfg, w, v = self.cfg, self.w, self.v
        R = w.n_rec
        a = w.addr
        aid = w.addr_items["value"][self.rec_addr]
        city_idx = a["city"][aid]
        us = v.cities.country[city_idx] == "US"
        region = v.cities.region[city_idx]
        u = rng.random((R, 8))
        house = a["house"][aid].astype(str).astype(object)
        street = v.streets[a["street"][aid]]
        st_typo = np.flatnonzero(u[:, 6] < cfg.address_typo_rate)
        _typos(rng, street, st_typo)
        # Suffix and direction spelled short (St, N), long (Street, North) or dotted.
        suffix_forms = obj_array(
            [x for abbr, full, _w in STREET_SUFFIXES for x in (abbr, full, abbr + ".")]
        ).reshape(-1, 3)
        sfx_style = np.where(u[:, 0] < 0.65, 0, np.where(u[:, 0] < 0.85, 1, 2))
        dir_forms = obj_array(
            [x for abbr, full in DIRECTIONS for x in (abbr + " ", full + " ", abbr + ". ")]
            + ["", "", ""]
        ).reshape(-1, 3)
        dir_style = np.where(u[:, 1] < 0.7, 0, np.where(u[:, 1] < 0.9, 1, 2))
        dirs = a["dir"][aid]
        line1 = (
            house
            + " "
            + dir_forms[np.where(dirs >= 0, dirs, len(DIRECTIONS)), dir_style]
            + street
            + " "
            + suffix_forms[a["suffix"][aid], sfx_style]
        )
        # Quebec: "123 rue Sherbrooke".
        qc = np.flatnonzero((region == "QC") & (u[:, 7] < 0.6))
        line1[qc] = house[qc] + np.where(u[qc, 5] < 0.5, " rue ", ", rue ") + street[qc]
        # Units: on the second line, or appended to the first.
        unit = a["unit"][aid]
        labels = np.where(
            a["business"][aid],
            obj_array(["Suite ", "Ste ", "STE ", "#"])[(u[:, 2] * 4).astype(np.int64)],
            obj_array(["Apt ", "Apt. ", "#", "Unit "])[(u[:, 2] * 4).astype(np.int64)],
        )
        has_unit = unit != ""
        line2 = _blank(R)
        l2 = np.flatnonzero(has_unit & (u[:, 3] < 0.55))
        line2[l2] = labels[l2] + unit[l2]
        l1 = np.flatnonzero(has_unit & (u[:, 3] >= 0.55))
        line1[l1] = line1[l1] + np.where(u[l1, 4] < 0.5, ", ", " ") + labels[l1] + unit[l1]

        city = np.where(keeps_accents, v.cities.city[city_idx], self._ascii_cities()[city_idx])
        saint = np.flatnonzero(rng.random(R) < 0.15)
        city[saint] = [c.replace("St. ", "Saint ") for c in city[saint].tolist()]
        _typos(rng, city, np.flatnonzero(rng.random(R) < cfg.address_typo_rate / 2))
        state = region.copy()
        full = np.flatnonzero(rng.random(R) < cfg.state_name_rate)
        names = {**US_STATES, **CA_PROVINCES}
        state[full] = [names[s] for s in state[full].tolist()]
        postal = a["zip"][aid].copy()
        z4 = np.flatnonzero(us & (rng.random(R) < cfg.zip4_rate))
        postal[z4] = postal[z4] + "-" + digits(rng.integers(0, 10000, len(z4)), 4)
        # Spreadsheets turn 02134 into 2134.
        zero = np.flatnonzero(us & (rng.random(R) < cfg.zip_zero_loss_rate))
        zero = zero[[p.startswith("0") for p in postal[zero].tolist()]] if len(zero) else zero
        postal[zero] = [p.lstrip("0") for p in postal[zero].tolist()]
        ca = np.flatnonzero(~us)
        cu = rng.random(len(ca))
        postal[ca] = [
            p.replace(" ", "") if r < 0.3 else (p.lower() if r < 0.35 else p)
            for p, r in zip(postal[ca].tolist(), cu.tolist(), strict=True)
        ]
        cu = rng.random(R)
        country = np.where(
            us,
            obj_array(["", "US", "USA", "United States"])[
                np.searchsorted([0.45, 0.75, 0.95], cu, side="right")
            ],
            obj_array(["", "CA", "Canada", "CAN"])[
                np.searchsorted([0.3, 0.6, 0.9], cu, side="right")
            ],
        )
        line1 = noise.apply_case(line1, case)
        line2 = noise.apply_case(line2, case)
        city = noise.apply_case(city, case)
        missing = rng.random(R) < cfg.missing_address_rate
        line1[missing] = ""
        line2[missing] = ""
        all_gone = missing & (rng.random(R) < 0.5)
        for arr in (city, state, postal, country):
            arr[all_gone] = ""
        return {
            "address_line1": line1,
            "address_line2": line2,
            "city": city,
            "state": state,
            "postal_code": postal,
            "country": country,
        }

    def _ascii_cities(self) -> np.ndarray:
        return obj_array([strip_accents(c) for c in self.v.cities.city.tolist()])

    def _render_vins(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        cfg, w = self.cfg, self.w
        R = w.n_rec
        out = {}
        for slot in range(3):
            vid = self.rec_vins[:, slot]
            col = _blank(R)
            shown = np.flatnonzero(vid >= 0)
            col[shown] = w.vins[vid[shown]]
            u = rng.random(R)
            typo = shown[u[shown] < cfg.vin_typo_rate]
            tu = rng.random((len(typo), 3))
            col[typo] = [corrupt_vin(s, tu[k]) for k, s in enumerate(col[typo].tolist())]
            partial = shown[
                (u[shown] >= cfg.vin_typo_rate)
                & (u[shown] < cfg.vin_typo_rate + cfg.vin_partial_rate)
            ]
            col[partial] = [s[-8:] for s in col[partial].tolist()]
            lower = shown[rng.random(len(shown)) < cfg.vin_lower_rate]
            col[lower] = [s.lower() for s in col[lower].tolist()]
            out[f"vin_{slot + 1}"] = col
        return out

    # --- customer keys ------------------------------------------------------------------------

    def _keys(self) -> np.ndarray:
        rng, cfg, w = self.rng["key"], self.cfg, self.w
        R, src, t = w.n_rec, self.rec_source, w.rec_time
        key = _blank(R)
        # DMS customer numbers and CRM ids are handed out in creation order.
        for code, prefix, width, base in (
            (DMS, "", 0, 100_000),
            (CRM, "CRM", 8, 1_000_000),
            (WEB, "WEB-", 6, 10_000),
        ):
            idx = np.flatnonzero(src == code)
            idx = idx[np.argsort(t[idx], kind="stable")]
            key[idx] = prefix + digits(base + np.cumsum(rng.integers(1, 4, len(idx))), width)
        key[(src == WEB) & (rng.random(R) < 0.8)] = ""
        key[rng.random(R) < cfg.missing_key_rate] = ""
        # CRM records synced from the DMS carry the first record's key.
        carry = np.flatnonzero((w.rec_seq > 0) & (rng.random(R) < cfg.carried_key_rate))
        key[carry] = key[w.first_rec[w.rec_entity[carry]]]
        # Recycled keys: the DMS reused the number of a purged, unrelated customer.
        recycled = np.flatnonzero(rng.random(R) < cfg.shared_key_rate)
        donors = rng.integers(0, R, len(recycled))
        ok = (
            (w.group[w.rec_entity[donors]] != w.group[w.rec_entity[recycled]])
            & (key[donors] != "")
            & (src[donors] == DMS)
        )
        key[recycled[ok]] = key[donors[ok]]
        return key


def _take(values: np.ndarray, idx: np.ndarray, fill: int) -> np.ndarray:
    """``values[idx]`` where ``idx >= 0``, ``fill`` elsewhere (also when values is empty)."""
    out = np.full(idx.shape, fill, dtype=values.dtype)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def _blank(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = ""
    return out


def _typos(rng: np.random.Generator, values: np.ndarray, idx: np.ndarray) -> None:
    """Put one typing error into ``values[idx]`` (in place)."""
    u = rng.random((len(idx), 3))
    values[idx] = [noise.typo(s, u[k]) for k, s in enumerate(values[idx].tolist())]


def _email_noise(email: str, u: np.ndarray, rates: np.ndarray) -> str:
    """Apply the e-mail noises whose uniform fell under its rate: gmail dots, a +tag, a
    misspelled provider, upper case, a stray blank (u[5] picks among variants)."""
    local, _, dom = email.partition("@")
    if u[0] < rates[0] and dom == "gmail.com":
        local = noise.gmail_dots(local, u[5])
    if u[1] < rates[1] and dom in ("gmail.com", "outlook.com", "icloud.com", "hotmail.com"):
        local = f"{local}+{_PLUS_TAGS[int(u[5] * len(_PLUS_TAGS))]}"
    if u[2] < rates[2] and dom in noise.DOMAIN_TYPOS:
        typos = noise.DOMAIN_TYPOS[dom]
        dom = typos[int(u[5] * len(typos))]
    email = f"{local}@{dom}"
    if u[3] < rates[3]:
        email = email.upper() if u[5] < 0.6 else email[:1].upper() + email[1:]
    if u[4] < rates[4]:
        email = f" {email}" if u[5] < 0.5 else f"{email} "
    return email

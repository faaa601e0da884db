"""Prepare records for batch matching: normalize once, derive the keys every stage uses.

Records are put in a canonical order (by ``record_id``) first, so that everything
downstream — random samples for u, cluster ids, tie-breaks — is independent of the
input's row order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matching.normalize import addresses, emails, names, phones
from matching.normalize._vector import map_distinct
from matching.normalize.frame import EMAIL_COLUMNS, PHONE_COLUMNS, VIN_COLUMNS, normalize_frame


#: Extra columns read as a date of birth / an identity number (first one present wins).
DOB_COLUMNS = ("date_of_birth", "dob", "birth_date")
ID_NUMBER_COLUMNS = ("id_number", "soc_sec_id", "ssn", "national_id", "drivers_license")


def _digits_date(values: pd.Series) -> pd.Series:
    # A date of birth compares as its digits (19560409, 1956-04-09 and 1956/04/09 agree).
    d = values.astype(object).where(values.notna(), None).astype("string").str.replace(r"\D", "", regex=True)
    return d.where(d.str.len() >= 6, None).astype(object)


def _id_text(values: pd.Series) -> pd.Series:
    d = values.astype(object).where(values.notna(), None).astype("string").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    return d.where(d.str.len() >= 4, None).astype(object)


def _address_key(recs: pd.DataFrame, norm: pd.DataFrame) -> pd.Series:
    """``address_key_series(address_line1, postal_code)``, reusing the normalized street.

    ``norm["street"]`` is read from line 1 joined with line 2; where line 2 is missing or
    empty that is line 1's street, so the key comes from it without parsing the line again
    (and ``norm["postal_code"]`` is ``zip_code_series(postal_code)``). Rows with a line 2
    are keyed from line 1 alone, as before.
    """
    line1 = recs["address_line1"] if "address_line1" in recs.columns else norm["street"]
    zips = recs["postal_code"] if "postal_code" in recs.columns else norm["zip5"]
    if "address_line1" not in recs.columns:
        return addresses.address_key_series(line1, zips)
    if "address_line2" in recs.columns:
        line2 = recs["address_line2"].astype(object)
        same = (line2.isna() | (line2 == "")).to_numpy(dtype=bool)
    else:
        same = np.ones(len(recs), dtype=bool)
    parts = map_distinct(norm["street"], addresses._key_part).to_numpy()
    zip5 = norm["postal_code"].to_numpy(dtype=object)
    result = np.full(len(recs), None, dtype=object)
    ok = same & ~(pd.isna(parts) | pd.isna(zip5))
    if ok.any():
        result[ok] = parts[ok] + " " + zip5[ok]
    if not same.all():
        rest = ~same
        result[rest] = addresses.address_key_series(line1[rest], zips[rest]).to_numpy()
    return pd.Series(result, dtype=object)


@dataclass
class Prepared:
    """Records in canonical order with their normalized fields and derived keys.

    ``records`` keeps the raw canonical columns (text); ``norm`` holds, aligned by
    position 0..n-1: first_name, middle_name, last_name, suffix, company, phone_1/2
    (E.164), email_1/2 (match keys: provider rules folded), vin_1..3, street, unit, city,
    state, postal_code, zip5, country, customer_key, plus ``first_canon`` (nickname
    label), ``first_phon``/``last_phon`` (phonetic keys), ``address_key``, and the
    placeholder flags ``phone_1_junk``/``email_1_junk`` per slot, and ``dob`` / ``id_number``
    from the extra columns :data:`DOB_COLUMNS` / :data:`ID_NUMBER_COLUMNS` when present.
    """

    records: pd.DataFrame
    norm: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.records)

    @property
    def record_ids(self) -> np.ndarray:
        return self.records["record_id"].to_numpy(dtype=object)


def prepare(
    records: pd.DataFrame, *, region: str = "US", dealer_phones: tuple[str, ...] = (), dealer_domains: tuple[str, ...] = ()
) -> Prepared:
    """Sort records by ``record_id`` and normalize them (see :class:`Prepared`)."""
    recs = records.sort_values("record_id", kind="stable").reset_index(drop=True)
    norm = normalize_frame(recs, region=region)
    for col in ("first_name", "middle_name", "last_name", "suffix", "company", "street", "unit",
                "city", "state", "postal_code", "country", "customer_key",
                *PHONE_COLUMNS, *EMAIL_COLUMNS, *VIN_COLUMNS):
        if col not in norm.columns:
            norm[col] = pd.Series([None] * len(recs), dtype=object)
    for col in EMAIL_COLUMNS:
        raw = recs[col] if col in recs.columns else norm[col]
        norm[f"{col}_junk"] = emails.is_placeholder_email_series(raw, dealer_domains=dealer_domains).to_numpy(bool) & norm[col].notna().to_numpy()
        # Match on the provider-folded key (gmail dots and +tags are one mailbox).
        norm[col] = emails.email_match_key_series(norm[col])
    dealer_e164 = {e for e in (phones.phone(p, region=region) for p in dealer_phones) if e}
    for col in PHONE_COLUMNS:
        # phone() already gives None for placeholder patterns (000-000-0000, 123-456-7890,
        # one repeated digit), so a valid number is junk only when it is the dealer's own.
        norm[f"{col}_junk"] = norm[col].isin(dealer_e164).to_numpy(bool) & norm[col].notna().to_numpy()
    for k, col in enumerate(VIN_COLUMNS, start=1):
        v = norm[col]
        norm[f"vin8_{k}"] = v.where(v.str.len() >= 8, None).str[-8:].astype(object)
    norm["zip5"] = norm["postal_code"]
    none = pd.Series([None] * len(recs), dtype=object)
    dob = next((c for c in DOB_COLUMNS if c in recs.columns), None)
    idn = next((c for c in ID_NUMBER_COLUMNS if c in recs.columns), None)
    norm["dob"] = _digits_date(recs[dob]) if dob else none
    norm["id_number"] = _id_text(recs[idn]) if idn else none
    norm["first_canon"] = names.canonical_first_series(norm["first_name"])
    norm["first_phon"] = names.name_phonetic_series(norm["first_name"])
    norm["last_phon"] = names.name_phonetic_series(norm["last_name"])
    # Date of birth with either name's sound: finds pairs whose first and last names swapped.
    for col, name_col in (("dob_first_phon", "first_phon"), ("dob_last_phon", "last_phon")):
        ok = norm["dob"].notna() & norm[name_col].notna()
        norm[col] = (norm["dob"].astype(object) + "|" + norm[name_col].astype(object)).where(ok, None)
    norm["address_key"] = _address_key(recs, norm)
    return Prepared(records=recs, norm=norm)

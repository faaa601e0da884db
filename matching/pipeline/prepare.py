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
from matching.normalize.frame import EMAIL_COLUMNS, PHONE_COLUMNS, VIN_COLUMNS, normalize_frame


@dataclass
class Prepared:
    """Records in canonical order with their normalized fields and derived keys.

    ``records`` keeps the raw canonical columns (text); ``norm`` holds, aligned by
    position 0..n-1: first_name, middle_name, last_name, suffix, company, phone_1/2
    (E.164), email_1/2 (match keys: provider rules folded), vin_1..3, street, unit, city,
    state, postal_code, zip5, country, customer_key, plus ``first_canon`` (nickname
    label), ``first_phon``/``last_phon`` (phonetic keys), ``address_key``, and the
    placeholder flags ``phone_junk_k``/``email_junk_k`` per slot.
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
    for col in PHONE_COLUMNS:
        raw = recs[col] if col in recs.columns else norm[col]
        norm[f"{col}_junk"] = phones.is_placeholder_phone_series(raw, extra=dealer_phones).to_numpy(bool) & norm[col].notna().to_numpy()
    for k, col in enumerate(VIN_COLUMNS, start=1):
        v = norm[col]
        norm[f"vin8_{k}"] = v.where(v.str.len() >= 8, None).str[-8:].astype(object)
    norm["zip5"] = norm["postal_code"]
    norm["first_canon"] = names.canonical_first_series(norm["first_name"])
    norm["first_phon"] = names.name_phonetic_series(norm["first_name"])
    norm["last_phon"] = names.name_phonetic_series(norm["last_name"])
    line1 = recs["address_line1"] if "address_line1" in recs.columns else norm["street"]
    zips = recs["postal_code"] if "postal_code" in recs.columns else norm["zip5"]
    norm["address_key"] = addresses.address_key_series(line1, zips)
    return Prepared(records=recs, norm=norm)

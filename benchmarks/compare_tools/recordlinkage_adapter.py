"""recordlinkage 0.16: block, compare, classify with ECM (unsupervised), cluster by
connected components.

recordlinkage materializes every candidate pair and its feature row in pandas, so it is
run up to ``MAX_RECORDS`` and reported as skipped beyond.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from compare_tools.common import DEALER_SLOTS, Clock, Dataset, ToolOutput, components

MAX_RECORDS = 100_000
JW = 0.85
HUB_SIZE = 100  # as in splink_adapter


def unavailable(meta: dict[str, Any], variant: str) -> str | None:
    from importlib.util import find_spec

    if find_spec("recordlinkage") is None:
        return "not installed: pip install -e '.[bench]'"
    if meta["records"] > MAX_RECORDS:
        return (f"skipped: too many pairs / memory above {MAX_RECORDS:,} records (it holds every "
                "candidate pair and its features in pandas)")
    return None


def load() -> str:
    from importlib import metadata

    import recordlinkage  # noqa: F401

    return f"recordlinkage {metadata.version('recordlinkage')}"


def _any_shared_feature(columns: tuple[str, ...]):
    """A Compare feature: 1 when the two records share any non-missing value across
    ``columns`` (phone_1/phone_2 of one against phone_1/phone_2 of the other)."""
    from recordlinkage.base import BaseCompareFeature

    class AnyShared(BaseCompareFeature):
        def __init__(self, label: str) -> None:
            super().__init__(list(columns), list(columns), label=label)

        def _compute_vectorized(self, *args: pd.Series) -> pd.Series:
            left, right = args[: len(columns)], args[len(columns):]
            hit = np.zeros(len(left[0]), dtype=bool)
            for a in left:
                a = np.asarray(a, dtype=object)
                for b in right:
                    b = np.asarray(b, dtype=object)
                    ok = pd.notna(a) & pd.notna(b)
                    hit |= ok & (a == b)
            return pd.Series(hit.astype(np.float64))

    return AnyShared


def _dealer(frame: pd.DataFrame):
    import recordlinkage

    indexer = recordlinkage.Index()
    for col in ("phone_1", "phone_2", "email_1", "vin_1", "customer_key"):
        # The same blocking-key hygiene as Splink's: values held by more than HUB_SIZE
        # records (a dealership's phone, noemail@dealer) make no blocks; still compared.
        counts = frame[col].map(frame[col].value_counts())
        frame[f"{col}_block"] = frame[col].where(counts <= HUB_SIZE, None)
        indexer.block(f"{col}_block")
    indexer.block(["first_name", "last_name"])
    indexer.block(["last_name", "postal_code"])
    indexer.block(["street", "postal_code"])
    compare = recordlinkage.Compare()
    compare.string("first_name", "first_name", method="jarowinkler", threshold=JW, label="first_name")
    compare.exact("first_canonical", "first_canonical", label="nickname")
    compare.string("last_name", "last_name", method="jarowinkler", threshold=JW, label="last_name")
    compare.exact("suffix", "suffix", label="suffix")
    for name, slots in DEALER_SLOTS.items():
        compare.add(_any_shared_feature(slots)(name))
    compare.exact("customer_key", "customer_key", label="customer_key")
    compare.string("street", "street", method="jarowinkler", threshold=JW, label="street")
    compare.exact("postal_code", "postal_code", label="postal_code")
    compare.exact("city", "city", label="city")
    return indexer, compare


def _febrl(frame: pd.DataFrame):
    import recordlinkage

    indexer = recordlinkage.Index()
    indexer.block(["first_name", "last_name"])
    indexer.block("date_of_birth")
    indexer.block("soc_sec_id")
    indexer.block(["postcode", "street_number"])
    indexer.sortedneighbourhood("last_name", window=5, block_on="postcode")
    compare = recordlinkage.Compare()
    compare.string("first_name", "first_name", method="jarowinkler", threshold=JW, label="first_name")
    compare.string("last_name", "last_name", method="jarowinkler", threshold=JW, label="last_name")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("soc_sec_id", "soc_sec_id", label="soc_sec_id")
    compare.exact("street_number", "street_number", label="street_number")
    compare.string("address_1", "address_1", method="jarowinkler", threshold=JW, label="address_1")
    compare.string("suburb", "suburb", method="jarowinkler", threshold=JW, label="suburb")
    compare.exact("postcode", "postcode", label="postcode")
    compare.exact("state", "state", label="state")
    return indexer, compare


def run(data: Dataset, variant: str, clock: Clock, workdir: Path) -> ToolOutput:
    from recordlinkage import ECMClassifier

    frame = data.prepared.set_index("record_id").copy()
    indexer, compare = (_dealer if data.kind == "dealer" else _febrl)(frame)
    if data.linkage:
        a = frame[frame["source"] == "a"]
        b = frame[frame["source"] == "b"]
        pairs = indexer.index(a, b)
        features = compare.compute(pairs, a, b)
    else:
        pairs = indexer.index(frame)
        features = compare.compute(pairs, frame)
    features = features.fillna(0).astype(np.int8)
    matches = ECMClassifier(binarize=None).fit_predict(features)
    left = matches.get_level_values(0).to_numpy()
    right = matches.get_level_values(1).to_numpy()
    clusters = components(frame.index.to_numpy(), left, right)
    return ToolOutput(clusters, int(len(pairs)), "", [f"{len(matches):,} pairs classified as matches"])


def describe() -> str:
    return f"""### recordlinkage (`recordlinkage`)

recordlinkage 0.16 on the shared normalized columns, unsupervised: `Index` blocks ->
`Compare` features -> `ECMClassifier` (binary features, EM), then connected components
of the matched pairs. Run up to {MAX_RECORDS:,} records: it holds every candidate pair
and its feature row in pandas, and runs out of memory near 1M records.
- Dealer data. Blocks: phone_1, phone_2, email_1, vin_1, customer_key (values held by
  more than {HUB_SIZE} records left out of the blocks, as for Splink), first+last name,
  last name+ZIP, street+ZIP. Features: first name, last name and street Jaro-Winkler >=
  {JW}; same nickname root; suffix, customer key, ZIP, city exact; "a phone / an email / a
  VIN is shared across slots" (one custom `BaseCompareFeature` per group).
- FEBRL. Blocks: first+last name, date of birth, SSN, postcode+street number, sorted
  neighbourhood on last name (window 5) within postcode. Features: first name, last name,
  address_1, suburb Jaro-Winkler >= {JW}; date of birth, SSN, street number, postcode,
  state exact. FEBRL4 links file a to file b."""

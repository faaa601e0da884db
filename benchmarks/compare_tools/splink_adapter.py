"""Splink 5 on DuckDB, configured as a Splink expert would for these columns.

Two variants share everything except two comparison levels:

- ``standard``: every m probability learned by EM, every u by random sampling.
- ``fixed_conflicts``: the "first names differ" level (and, on dealer data, "suffixes
  differ") get fixed m and u (not learned) that weigh about -8 bits against a match.
  EM otherwise learns from households that a different first name is normal among
  "matches" (same surname, phone, address, car).

``describe()`` (printed into RESULTS.md) lists the exact blocking rules, comparisons and
training steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from compare_tools.common import DEALER_SLOTS, Clock, Dataset, ToolOutput, slot_array

THRESHOLD = 0.9
U_MAX_PAIRS = 1e7
SEED = 42
# Contact values carried by more records than this are left out of *blocking* (a dealer's
# own phone typed into thousands of records makes millions of useless pairs); they are
# still compared, where term-frequency adjustment takes their weight away.
HUB_SIZE = 100
# Forced conflict levels weigh log2(m/u) = -CONFLICT_BITS each.
CONFLICT_BITS = 20
FIRST_DIFFER_MU = (0.9 * 2.0**-CONFLICT_BITS, 0.9)
SUFFIX_DIFFER_MU = (2.5e-4 * 2.0**-CONFLICT_BITS, 2.5e-4)


def unavailable(meta: dict[str, Any], variant: str) -> str | None:
    from importlib.util import find_spec

    if find_spec("splink") is None or find_spec("duckdb") is None:
        return "not installed: pip install -e '.[bench]'"
    return None


def load() -> str:
    from importlib import metadata

    import splink  # noqa: F401
    from splink.backends.duckdb import DuckDBAPI  # noqa: F401

    return f"splink {metadata.version('splink')}, duckdb {metadata.version('duckdb')}"


# ---------------------------------------------------------------------------- model


def _first_name(fixed: bool):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    differ = cll.ElseLevel()
    if fixed:
        m, u = FIRST_DIFFER_MU
        differ = differ.configure(
            m_probability=m, u_probability=u, fix_m_probability=True, fix_u_probability=True,
            label_for_charts="first names differ (fixed)",
        )
    return cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name").configure(tf_adjustment_column="first_name"),
            cll.ExactMatchLevel("first_canonical").configure(label_for_charts="same nickname root"),
            cll.JaroWinklerLevel("first_name", 0.92),
            cll.JaroWinklerLevel("first_name", 0.8),
            differ,
        ],
    )


def _suffix(fixed: bool):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    differ = cll.ElseLevel().configure(label_for_charts="suffixes differ")
    if fixed:
        m, u = SUFFIX_DIFFER_MU
        differ = differ.configure(m_probability=m, u_probability=u, fix_m_probability=True, fix_u_probability=True)
    return cl.CustomComparison(
        output_column_name="suffix",
        comparison_levels=[
            cll.CustomLevel('"suffix_l" IS NULL AND "suffix_r" IS NULL').configure(is_null_level=True),
            cll.ExactMatchLevel("suffix"),
            cll.CustomLevel('"suffix_l" IS NULL OR "suffix_r" IS NULL', "one has a suffix"),
            differ,
        ],
    )


def _contacts(name: str, first_slot: str | None):
    """Null / same first slot (term-frequency adjusted) / any slot shared / else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [cll.NullLevel(name)]
    if first_slot:
        levels.append(cll.ExactMatchLevel(first_slot).configure(tf_adjustment_column=first_slot))
    levels += [cll.ArrayIntersectLevel(name, 1), cll.ElseLevel()]
    return cl.CustomComparison(output_column_name=name, comparison_levels=levels)


def _address():
    """Street, unit, ZIP, city and state move together: one comparison, not five."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.CustomLevel(
                '("street_l" IS NULL OR "street_r" IS NULL) AND ("postal_code_l" IS NULL OR "postal_code_r" IS NULL)'
            ).configure(is_null_level=True),
            cll.CustomLevel(
                '"street_l" = "street_r" AND "postal_code_l" = "postal_code_r" '
                'AND ("unit_l" IS NULL OR "unit_r" IS NULL OR "unit_l" = "unit_r")',
                "same street address and ZIP",
            ).configure(tf_adjustment_column="street", disable_tf_exact_match_detection=True),
            cll.CustomLevel(
                'jaro_winkler_similarity("street_l", "street_r") >= 0.9 AND "postal_code_l" = "postal_code_r"',
                "similar street, same ZIP",
            ),
            cll.CustomLevel('"postal_code_l" = "postal_code_r"', "same ZIP"),
            cll.CustomLevel('"city_l" = "city_r" AND "state_l" = "state_r"', "same city"),
            cll.ElseLevel(),
        ],
    )


def dealer_settings(fixed: bool) -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import block_on

    comparisons = [
        _first_name(fixed),
        cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
        _suffix(fixed),
        _contacts("phones", "phone_1"),
        _contacts("emails", "email_1"),
        _contacts("vins", None),
        cl.ExactMatch("customer_key").configure(term_frequency_adjustments=True),
        _address(),
    ]
    blocking = [
        block_on("phones_block", arrays_to_explode=["phones_block"]),
        block_on("emails_block", arrays_to_explode=["emails_block"]),
        block_on("vins_block", arrays_to_explode=["vins_block"]),
        block_on("key_block"),
        block_on("first_name", "last_name", "state"),
        block_on("last_name", "postal_code"),
        block_on("street", "postal_code"),
        block_on("first_phonetic", "last_phonetic", "city"),
    ]
    training = {
        "deterministic": [
            block_on("first_name", "last_name", "phone_1"),
            block_on("first_name", "last_name", "email_1"),
            block_on("first_name", "last_name", "vin_1"),
        ],
        "recall": 0.7,
        "em": [block_on("first_name", "last_name"), block_on("phone_1"), block_on("email_1")],
    }
    return {"comparisons": comparisons, "blocking": blocking, "training": training}


def febrl_settings(fixed: bool) -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import block_on

    comparisons = [
        _first_name(fixed),
        cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
        cl.JaroWinklerAtThresholds("suburb", [0.9]).configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1]).configure(term_frequency_adjustments=True),
        cl.ExactMatch("state"),
    ]
    blocking = [
        block_on("first_name", "last_name"),
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("postcode", "street_number"),
        block_on("first_phonetic", "last_phonetic"),
    ]
    training = {
        "deterministic": [block_on("soc_sec_id", "date_of_birth"), block_on("first_name", "last_name", "date_of_birth")],
        "recall": 0.8,
        "em": [block_on("date_of_birth"), block_on("first_name", "last_name"), block_on("postcode")],
    }
    return {"comparisons": comparisons, "blocking": blocking, "training": training}


# ---------------------------------------------------------------------------- input


def _without_hubs(lists: pd.Series, limit: int) -> pd.Series:
    """``lists`` without the values carried by more than ``limit`` rows (None if empty)."""
    counts = lists.explode().value_counts()
    hubs = set(counts.index[counts > limit])
    if not hubs:
        return lists
    return lists.map(lambda vs: [v for v in vs if v not in hubs] or None if vs is not None else None)


def dealer_input(prepared: pd.DataFrame) -> pd.DataFrame:
    frame = prepared.copy()
    for name, slots in DEALER_SLOTS.items():
        lists = slot_array(frame, slots).map(lambda vs: vs or None)
        frame[name] = lists
        frame[f"{name}_block"] = _without_hubs(lists, HUB_SIZE)
    key = frame["customer_key"]
    counts = key.map(key.value_counts())
    frame["key_block"] = key.where(counts <= HUB_SIZE, None)
    keep = [
        "record_id", "first_name", "first_canonical", "first_phonetic", "last_name", "last_phonetic",
        "suffix", "phone_1", "email_1", "vin_1", "phones", "emails", "vins",
        "phones_block", "emails_block", "vins_block", "customer_key", "key_block",
        "street", "unit", "city", "state", "postal_code",
    ]
    return frame[keep]


# ---------------------------------------------------------------------------- run


def run(data: Dataset, variant: str, clock: Clock, workdir: Path) -> ToolOutput:
    from splink import Linker, SettingsCreator
    from splink.backends.duckdb import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    fixed = variant == "fixed_conflicts"
    if data.kind == "dealer":
        frames = [dealer_input(data.prepared)]
        spec = dealer_settings(fixed)
    else:
        cols = [c for c in data.prepared.columns if c != "source"]
        if data.linkage:
            src = data.prepared["source"]
            frames = [data.prepared.loc[src == s, cols].reset_index(drop=True) for s in ("a", "b")]
        else:
            frames = [data.prepared[cols]]
        spec = febrl_settings(fixed)
    link_type = "link_only" if data.linkage else "dedupe_only"
    settings = SettingsCreator(
        link_type=link_type,
        unique_id_column_name="record_id",
        comparisons=spec["comparisons"],
        blocking_rules_to_generate_predictions=spec["blocking"],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI(connection=str(workdir / "splink.duckdb"))
    tables = [db_api.register(f, dataset_display_name=f"input_{i}") for i, f in enumerate(frames)]
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=None)
    training = spec["training"]
    linker.training.estimate_probability_two_random_records_match(training["deterministic"], recall=training["recall"])
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    for rule in training["em"]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD, warning_mode="never")
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD)
    frame = clustered.as_pandas_dataframe()
    clusters = pd.DataFrame({"record_id": frame["record_id"].astype(str), "cluster_id": frame["cluster_id"].astype(str)})
    clock.stop()
    links = predictions.as_pandas_dataframe()
    # For the report only (not timed): how many pairs the blocking rules made Splink score.
    counts = count_comparisons_from_blocking_rules(
        tables if len(tables) > 1 else tables[0], blocking_rules=spec["blocking"], link_type=link_type,
        unique_id_column_name="record_id", record_sample_proportion=1.0,
    )
    pairs = int(counts[-1]["cumulative_comparison_count"]) if counts else None
    notes = [f"{len(links):,} links at p >= {THRESHOLD}"]
    return ToolOutput(clusters, pairs, "", notes)


def describe() -> str:
    return f"""### Splink (`splink`, `splink-expert`)

Splink 5 on DuckDB, on the shared normalized columns (names folded and stripped of
suffixes, phones E.164, emails lower-cased, VINs cleaned, street/unit/ZIP/city/state
normalized; nickname root and Metaphone keys added). Predict at match probability
>= {THRESHOLD}, cluster with `cluster_pairwise_predictions_at_threshold` at {THRESHOLD}.
Training: `estimate_probability_two_random_records_match` with deterministic rules,
u by `estimate_u_using_random_sampling(max_pairs={U_MAX_PAIRS:.0e}, seed={SEED})` (Splink's docs:
1e7 "often adequate"; 1e8-1e9 for the final model costs 10-100x the time), then m by EM
over three blocking rules (u fixed during EM, as Splink recommends).

**Dealer data.** Phones, emails and VINs are compared as arrays of the record's slots
(`phone_1`+`phone_2`, `email_1`+`email_2`, `vin_1..3`) so a match across slots counts.
- Comparisons: first name (null / exact, term-frequency adjusted / same nickname root /
  Jaro-Winkler >= 0.92 / >= 0.8 / else); last name (`NameComparison`, TF); suffix (both
  missing = null / same / one missing / differ); phones and emails (null / same first
  slot, TF / any slot shared / else); VINs (null / any shared / else); customer key
  (exact, TF); address as **one** comparison, since street, ZIP and city move together
  (null / same street+ZIP with no unit conflict, TF on street / street JW >= 0.9 and same
  ZIP / same ZIP / same city+state / else).
- Blocking for prediction: each phone, email and VIN (exploded arrays), customer key,
  first+last name+state, last name+ZIP, street+ZIP, Metaphone(first)+Metaphone(last)+city.
  Values held by more than {HUB_SIZE} records (a dealership's own phone, `noemail@dealer`)
  are left out of the blocking keys only (an expert's fix after `n_largest_blocks`); they
  are still compared, where TF takes their weight away.
- Prior: first+last name with the same phone_1, email_1 or vin_1, recall 0.7.
- EM blocks: first+last name; phone_1; email_1.

**FEBRL.** First name (as above), last name (`NameComparison`, TF), date of birth
(`DateOfBirthComparison`, YYYYMMDD), SSN (Damerau-Levenshtein <= 1, <= 2), street number
(exact, TF), address_1 (JW 0.9/0.7), suburb (JW 0.9, TF), postcode (DL <= 1, TF), state.
Blocking: first+last name, date of birth, SSN, postcode+street number, Metaphone keys of
both names. Prior: SSN+DOB or names+DOB, recall 0.8. EM blocks: DOB; first+last; postcode.
FEBRL4 runs as `link_only` between its two files.

**Expert, fixed conflicts** (`splink-expert`): the same model, except that "first names
differ" (the else level: not exact, not the same nickname, JW < 0.8) and, on dealer data,
"suffixes differ" have m and u fixed (not learned) at m/u = 1/256, about -8 bits each."""

"""Tests for matching.febrl and the bundled datasets/febrl files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from matching.evaluate import evaluate
from matching.febrl import (
    FEBRL_COLUMNS,
    FEBRL_NAMES,
    febrl_root,
    febrl_truth,
    load_febrl,
    load_febrl_mapping,
)

CANONICAL = {
    "record_id", "customer_key", "first_name", "middle_name", "last_name", "company",
    "phone_1", "phone_2", "email_1", "email_2", "address_line1", "address_line2", "city",
    "state", "postal_code", "country", "vin_1", "vin_2", "vin_3", "created_at",
}  # fmt: skip


def as_clusters(truth: pd.DataFrame) -> pd.DataFrame:
    return truth.rename(columns={"entity_id": "cluster_id"})


# rows, entities, duplicate pairs: the table in datasets/febrl/README.md, checked here
# against the data.
@pytest.mark.parametrize(
    ("name", "rows", "entities", "pairs"),
    [
        ("febrl1", 1_000, 500, 500),
        ("febrl2", 5_000, 4_000, 1_934),
        ("febrl3", 5_000, 2_000, 6_538),
        ("febrl4", 10_000, 5_000, 5_000),
    ],
)
def test_counts_match_the_readme(name: str, rows: int, entities: int, pairs: int) -> None:
    data = load_febrl(name)
    assert len(data.records) == len(data.truth) == rows
    assert data.truth["entity_id"].nunique() == entities
    result = evaluate(data.truth, as_clusters(data.truth))
    assert result.true_pairs == pairs
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)
    assert (result.bcubed_precision, result.bcubed_recall, result.bcubed_f1) == (1.0, 1.0, 1.0)


def test_febrl4_is_a_linkage_of_a_to_b() -> None:
    data = load_febrl("febrl4")
    assert data.is_linkage
    assert data.records_a is not None and data.records_b is not None
    assert len(data.records_a) == len(data.records_b) == 5_000
    a, b = set(data.records_a["rec_id"]), set(data.records_b["rec_id"])
    assert not a & b  # rec-N-org vs rec-N-dup-0: already distinct, no prefix needed
    assert all(r.endswith("-org") for r in a) and all(r.endswith("-dup-0") for r in b)
    # every entity is exactly one record in a and one in b
    side = data.truth["record_id"].isin(a).map({True: "a", False: "b"})
    per_entity = pd.crosstab(data.truth["entity_id"], side)
    assert (per_entity == 1).all().all()


@pytest.mark.parametrize("name", ["febrl1", "febrl2", "febrl3"])
def test_dedup_tasks_have_one_file(name: str) -> None:
    data = load_febrl(name)
    assert not data.is_linkage and data.records_a is None and data.records_b is None


@pytest.mark.parametrize("name", FEBRL_NAMES)
def test_records_are_clean_text(name: str) -> None:
    records = load_febrl(name).records
    assert tuple(records.columns) == FEBRL_COLUMNS  # header spaces stripped
    for column in records.columns:
        values = records[column].dropna()
        assert not values.str.startswith(" ").any(), column  # the ", " separator is gone
        assert not values.str.contains("\r").any(), column  # dataset4a is CRLF
        assert not (values == "").any(), column  # empty cells are missing, not ""
    assert records["rec_id"].notna().all() and records["postcode"].notna().all()
    assert records["postcode"].str.fullmatch(r"\d{4}").all()  # "0800" kept as text


def test_leading_zero_postcodes_survive() -> None:
    assert load_febrl("febrl1").records["postcode"].str.startswith("0").sum() == 4


def test_truth_from_rec_ids() -> None:
    truth = febrl_truth(pd.Series(["rec-12-org", "rec-12-dup-0", "rec-12-dup-3", "rec-4-org"]))
    assert truth.to_dict("list") == {
        "record_id": ["rec-12-org", "rec-12-dup-0", "rec-12-dup-3", "rec-4-org"],
        "entity_id": ["12", "12", "12", "4"],
    }
    with pytest.raises(ValueError, match="not FEBRL record ids"):
        febrl_truth(pd.Series(["rec-1-org", "rec-x-dup-0"]))


def test_unknown_name_and_missing_files() -> None:
    with pytest.raises(ValueError, match="unknown FEBRL dataset 'febrl5'"):
        load_febrl("febrl5")
    with pytest.raises(FileNotFoundError, match="MATCHING_DATASETS"):
        load_febrl("febrl1", root="/nonexistent/febrl")


def test_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "febrl").mkdir()
    shutil.copy(febrl_root() / "dataset1.csv", tmp_path / "febrl" / "dataset1.csv")
    monkeypatch.setenv("MATCHING_DATASETS", str(tmp_path))
    assert febrl_root() == tmp_path / "febrl"
    assert len(load_febrl("febrl1").records) == 1_000
    # an explicit root wins over the environment
    assert febrl_root("/somewhere") == Path("/somewhere")


def test_mapping_names_real_columns() -> None:
    mapping = load_febrl_mapping()
    assert mapping["version"] == 1
    assert set(mapping) == {"version", "columns", "extra"}
    assert set(mapping["columns"]) <= CANONICAL
    assert set(mapping["extra"]) == {"date_of_birth", "soc_sec_id"}
    assert not set(mapping["extra"]) & CANONICAL
    assert mapping["columns"]["address_line1"] == ["street_number", "address_1"]
    used: list[str] = []
    for source in [*mapping["columns"].values(), *mapping["extra"].values()]:
        used += source if isinstance(source, list) else [source]
    assert set(used) <= set(FEBRL_COLUMNS)
    assert set(used) == set(FEBRL_COLUMNS)  # every FEBRL column is used once
    assert len(used) == len(set(used))

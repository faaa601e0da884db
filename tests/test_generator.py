"""Tests of the synthetic dealer-export generator (matching.synth)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.synth import (
    CUSTOMER_COLUMNS,
    MAX_PARTNERS,
    TAG_COLUMNS,
    TAG_KINDS,
    TRUTH_COLUMNS,
    GeneratorConfig,
    generate,
    summarize,
    write,
)
from matching.synth.noise import KEYBOARD_NEIGHBOURS, format_phones, typo
from matching.synth.vins import check_char, check_digit_ok, corrupt_vin, make_vins
from matching.synth.vocab import load_vocabulary

REPO = Path(__file__).resolve().parents[1]
NA_TOKENS = {"N/A", "NA", "n/a", "NONE", "none", "-", "UNKNOWN"}


@pytest.fixture(scope="module")
def small():
    return generate(2_000, seed=11)


@pytest.fixture(scope="module")
def sample():
    return generate(5_000, seed=42)


def _files(data, out: Path) -> dict[str, bytes]:
    paths = write(data, out)
    return {name: path.read_bytes() for name, path in paths.items()}


# --- determinism and contract ------------------------------------------------------------


def test_same_seed_gives_same_bytes_and_other_seeds_differ(tmp_path):
    a = _files(generate(2_000, seed=11), tmp_path / "a")
    b = _files(generate(2_000, seed=11), tmp_path / "b")
    c = _files(generate(2_000, seed=12), tmp_path / "c")
    assert set(a) == {"customers", "truth", "tags"}
    assert a == b
    for name in a:
        assert a[name] != c[name]


def test_file_names_and_columns(tmp_path, small):
    paths = write(small, tmp_path)
    assert {p.name for p in paths.values()} == {"customers.csv", "truth.csv", "pairs_tags.csv"}
    read = {k: pd.read_csv(p, dtype=str, keep_default_na=False) for k, p in paths.items()}
    assert tuple(read["customers"].columns) == CUSTOMER_COLUMNS
    assert tuple(read["truth"].columns) == TRUTH_COLUMNS
    assert tuple(read["tags"].columns) == TAG_COLUMNS
    # What was written reads back as the frames (text, blanks kept as "").
    pd.testing.assert_frame_equal(read["customers"], small.customers.astype(str), check_dtype=False)
    assert len(read["tags"]) == len(small.tags)


def test_written_csv_is_the_standard_dialect(tmp_path, small):
    import csv

    paths = write(small, tmp_path)
    ref = tmp_path / "ref.csv"
    with open(ref, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(small.customers.columns.tolist())
        w.writerows(small.customers.itertuples(index=False))
    assert ref.read_bytes() == paths["customers"].read_bytes()


def test_record_ids_unique_and_each_in_truth_exactly_once(small):
    ids = small.customers["record_id"]
    assert ids.is_unique
    assert all(re.fullmatch(r"R\d{7}", x) for x in ids)
    assert small.truth["record_id"].is_unique
    assert set(small.truth["record_id"]) == set(ids)
    assert small.truth["entity_id"].notna().all()


def test_exact_record_count_including_edge_sizes():
    for n in (0, 1, 2, 7, 50):
        data = generate(n, seed=3)
        assert len(data.customers) == n and len(data.truth) == n
        assert tuple(data.customers.columns) == CUSTOMER_COLUMNS


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="records"):
        generate(-1)
    with pytest.raises(ValueError, match="seed"):
        generate(10, seed=-5)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        GeneratorConfig(nickname_rate=1.5)
    with pytest.raises(ValueError, match="add up"):
        GeneratorConfig(household_rate=0.6, fleet_rate=0.5)


def test_duplicates_are_not_adjacent(small):
    entity = small.truth["entity_id"].to_numpy()
    same_as_next = (entity[1:] == entity[:-1]).mean()
    # A random order puts duplicates next to each other very rarely.
    assert same_as_next < 0.01


# --- tags ----------------------------------------------------------------------------------


def test_tags_reference_existing_records_of_different_entities(small):
    tags = small.tags
    entity = dict(zip(small.truth["record_id"], small.truth["entity_id"], strict=True))
    assert set(tags["kind"]) <= set(TAG_KINDS)
    assert tags["record_id_a"].isin(entity.keys()).all()
    assert tags["record_id_b"].isin(entity.keys()).all()
    assert (tags["record_id_a"] < tags["record_id_b"]).all()
    assert not tags.duplicated().any()
    a = tags["record_id_a"].map(entity)
    b = tags["record_id_b"].map(entity)
    assert (a != b).all()


def test_every_kind_of_hard_negative_appears_at_5000(sample):
    counts = sample.tags["kind"].value_counts()
    for kind in TAG_KINDS:
        assert counts.get(kind, 0) > 0, f"no {kind} pairs"


def test_shared_value_kinds_are_bounded(sample):
    for kind in ("placeholder_email", "placeholder_phone", "common_name"):
        t = sample.tags[sample.tags["kind"] == kind]
        # Each record starts at most MAX_PARTNERS pairs, so appears in at most twice that.
        per_record = pd.concat([t["record_id_a"], t["record_id_b"]]).value_counts()
        assert per_record.max() <= 2 * MAX_PARTNERS + 2


def test_tagged_pairs_look_alike_for_their_reason(sample):
    c = sample.customers.set_index("record_id")
    tags = sample.tags

    def pairs(kind):
        t = tags[tags["kind"] == kind]
        return c.loc[t["record_id_a"]].reset_index(), c.loc[t["record_id_b"]].reset_index()

    a, b = pairs("shared_key")
    assert (a["customer_key"] == b["customer_key"]).all()
    assert (a["customer_key"] != "").all()

    placeholder = re.compile(r"^(noemail|none|na|declined|no|customer)@", re.IGNORECASE)
    a, b = pairs("placeholder_email")
    assert a["email_1"].str.strip().str.match(placeholder).all()
    assert (a["email_1"].str.strip().str.lower() == b["email_1"].str.strip().str.lower()).all()

    def vins(row):
        return {
            v.strip().upper()
            for v in (row["vin_1"], row["vin_2"], row["vin_3"])
            if v not in NA_TOKENS | {""}
        }

    a, b = pairs("resold_vin")
    shared = [
        bool(vins(x) & vins(y)) for (_, x), (_, y) in zip(a.iterrows(), b.iterrows(), strict=True)
    ]
    assert np.mean(shared) > 0.8  # the rest had the VIN mistyped or cut to 8 characters

    def surname(s):
        return re.sub(r"[^a-z]", "", re.sub(r",? (jr|sr)\.?$", "", s.lower()))

    for kind in ("jr_sr", "twins"):
        a, b = pairs(kind)
        same_last = (a["last_name"].map(surname) == b["last_name"].map(surname)).mean()
        assert same_last > 0.6, kind


# --- realism ----------------------------------------------------------------------------


def test_entity_size_distribution_matches_the_configured_rate(sample):
    info = summarize(sample)
    sizes = info["entity_sizes"]
    assert 0.35 <= info["entities_with_duplicates"] <= 0.45
    assert max(sizes) <= 10
    assert sum(v for k, v in sizes.items() if k >= 5) >= 20  # a few with 5-10 records
    # A config with fewer duplicates gives fewer duplicates.
    few = summarize(generate(5_000, seed=42, config=GeneratorConfig(records_per_entity=(0.9, 0.1))))
    assert few["entities_with_duplicates"] < 0.15


def test_missing_rates_are_realistic(sample):
    c = sample.customers

    def missing(col):
        return (c[col].eq("") | c[col].isin(NA_TOKENS)).mean()

    assert missing("first_name") < 0.06
    assert missing("last_name") < 0.04
    assert 0.05 < missing("phone_1") < 0.2
    assert 0.2 < missing("email_1") < 0.5
    assert missing("address_line1") < 0.12
    assert 0.05 < missing("vin_1") < 0.25
    assert (c["customer_key"] != "").mean() > 0.75
    # Blank and N/A both occur.
    assert c["phone_2"].isin(NA_TOKENS).any() and c["phone_2"].eq("").any()


def test_noise_kinds_are_present(sample):
    c = sample.customers
    phones = pd.concat([c["phone_1"], c["phone_2"]])
    for pattern in (
        r"^\(\d{3}\) \d{3}-\d{4}",
        r"^\d{3}\.\d{3}\.\d{4}",
        r"^\+1 \d{3} \d{3} \d{4}",
        r"^\d{10}$",
        r"^1-\d{3}-\d{3}-\d{4}",
        r"(?:x|ext\.?|#) ?\d+$",
    ):
        assert phones.str.contains(pattern, case=False).any(), pattern
    emails = pd.concat([c["email_1"], c["email_2"]])
    assert emails.str.contains(r"[A-Z]").any()
    assert emails.str.contains(r"\+").any()
    assert (emails != emails.str.strip()).any()
    names = c["first_name"]
    assert names.str.isupper().any() and names.str.istitle().any()
    assert names.str.fullmatch(r"[A-Za-z]\.?").any()  # initials
    assert names.str.contains(" ").any()  # MARY ANN
    assert c["last_name"].str.contains(r"(?i)\bjr\.?$").any()
    assert c["company"].str.contains(r"(?i)\b(?:inc|llc)\b").any()
    assert (c["company"] != "").any()
    assert c["postal_code"].str.fullmatch(r"\d{5}-\d{4}").any()
    assert c["postal_code"].str.fullmatch(r"[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d").any()
    everything = " ".join(c["first_name"]) + " ".join(c["last_name"])
    assert re.search(r"[áéíóúñÁÉÍÓÚÑ]", everything)  # accents kept on some records


def test_nicknames_from_the_nicknames_table_are_used(sample):
    vocab = load_vocabulary()
    nick = {n.lower() for names in vocab.nicknames.values() for n in names}
    formal = {n.lower() for n in vocab.first_names.name}
    firsts = sample.customers["first_name"].str.lower()
    assert firsts.isin(nick - formal).mean() > 0.01


def test_canada_share_and_phone_numbers_are_plausible(sample):
    c = sample.customers
    ca_states = {"ON", "QC", "BC", "AB", "MB", "SK", "NS", "NB", "NL", "PE"}
    share = c["state"].isin(ca_states).mean()
    assert 0.03 < share < 0.15
    digits = (
        c["phone_1"]
        .str.replace(r"(?i)\s*(x|ext\.?|#)\s*\d+$", "", regex=True)
        .str.replace(r"\D", "", regex=True)
    )
    digits = digits.str[-10:][digits.str.len() >= 10]
    real = digits[~digits.str.fullmatch(r"(\d)\1{9}|1234567890|\d{3}5550100")]
    # NANP: area code and exchange start with 2-9; 555 is left to placeholders.
    assert real.str.fullmatch(r"[2-9]\d{2}[2-9]\d{6}").mean() > 0.97
    assert (real.str[3:6] == "555").mean() < 0.01


# --- VINs ----------------------------------------------------------------------------------


def test_check_digit_of_known_vins():
    assert check_char("1M8GDM9AXKP042788") == "X"  # the textbook example
    assert check_digit_ok("1HGCM82633A004352")
    assert not check_digit_ok("1HGCM82643A004352")
    assert not check_digit_ok("1HGCM8263OA004352")  # an O is not a VIN character
    assert check_char("SHORT") is None


def test_generated_vins_all_carry_valid_check_digits():
    vt = load_vocabulary().vehicles
    rng = np.random.default_rng(0)
    model = rng.integers(0, len(vt.wmi), 5_000)
    vins = make_vins(rng, vt.wmi[model], vt.vds[model], rng.integers(2001, 2027, 5_000))
    assert all(check_digit_ok(v) for v in vins)
    assert {v[:3] for v in vins} <= set(vt.wmi)
    assert not any(ch in v for v in vins for ch in "IOQ")


def test_corrupted_vins_differ_and_mostly_fail_the_check():
    rng = np.random.default_rng(1)
    vt = load_vocabulary().vehicles
    vins = make_vins(rng, vt.wmi[:50], vt.vds[:50], np.full(50, 2019))
    bad = [corrupt_vin(v, rng.random(3)) for v in vins for _ in range(20)]
    assert all(b != v for b, v in zip(bad, np.repeat(vins, 20), strict=True))
    assert np.mean([check_digit_ok(b) for b in bad]) < 0.2


def test_full_vins_in_the_export_pass_unless_mistyped(sample):
    c = sample.customers
    vins = pd.concat([c["vin_1"], c["vin_2"], c["vin_3"]]).str.strip().str.upper()
    full = vins[vins.str.len() == 17]
    failing = 1 - full.map(check_digit_ok).mean()
    rate = GeneratorConfig().vin_typo_rate
    assert 0.3 * rate < failing < 1.5 * rate
    clean = generate(2_000, seed=5, config=GeneratorConfig(vin_typo_rate=0.0))
    v = pd.concat([clean.customers[f"vin_{i}"] for i in (1, 2, 3)]).str.strip().str.upper()
    assert v[v.str.len() == 17].map(check_digit_ok).all()
    assert (v.str.len() == 8).any()  # partial VINs (last 8)


# --- noise helpers -----------------------------------------------------------------------


def test_phone_formats():
    numbers = np.array([3105550100] * 8)
    out = format_phones(numbers, np.arange(8))
    assert list(out) == [
        "(310) 555-0100",
        "310-555-0100",
        "310.555.0100",
        "+1 310 555 0100",
        "3105550100",
        "1-310-555-0100",
        "+13105550100",
        "310 555 0100",
    ]
    assert list(format_phones(np.array([0]), np.array([1]))) == ["000-000-0000"]


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=30), st.lists(st.floats(0, 0.999), min_size=3, max_size=3))
def test_typo_never_raises_and_changes_at_most_two_characters(text, u):
    out = typo(text, np.array(u))
    assert abs(len(out) - len(text)) <= 1
    if sum(c.isalpha() for c in text) < 2:
        assert out == text


def test_keyboard_neighbours_are_symmetric():
    for key, near in KEYBOARD_NEIGHBOURS.items():
        for other in near:
            assert key in KEYBOARD_NEIGHBOURS[other]


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 400), st.integers(0, 2**32 - 1))
def test_invariants_hold_for_any_size_and_seed(n, seed):
    data = generate(n, seed=seed)
    assert len(data.customers) == n
    assert data.customers["record_id"].is_unique
    assert set(data.truth["record_id"]) == set(data.customers["record_id"])
    entity = dict(zip(data.truth["record_id"], data.truth["entity_id"], strict=True))
    t = data.tags
    assert (t["record_id_a"].map(entity) != t["record_id_b"].map(entity)).all()


# --- command line ------------------------------------------------------------------------


def test_command_module_writes_the_files(tmp_path, capsys):
    from matching.commands import generate as command

    parser = argparse.ArgumentParser()
    command.configure(parser)
    args = parser.parse_args(["--records", "300", "--seed", "4", "--out", str(tmp_path / "out")])
    assert command.run(args) == 0
    for name in ("customers.csv", "truth.csv", "pairs_tags.csv"):
        assert (tmp_path / "out" / name).exists()
    assert "300 records" in capsys.readouterr().out
    # Same bytes as the Python API.
    assert (tmp_path / "out" / "customers.csv").read_bytes() == _files(
        generate(300, seed=4), tmp_path / "api"
    )["customers"]
    bad = parser.parse_args(["--records", "-3", "--out", str(tmp_path / "bad")])
    assert command.run(bad) == 2


def test_script_writes_the_files(tmp_path):
    out = tmp_path / "script"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "datasets" / "generate.py"),
            "--records",
            "200",
            "--seed",
            "9",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    truth = pd.read_csv(out / "truth.csv", dtype=str)
    assert len(truth) == 200


def test_shipped_sample_is_what_the_generator_makes(tmp_path):
    shipped = REPO / "datasets" / "sample"
    assert (shipped / "customers.csv").exists(), "datasets/sample ships with the repository"
    fresh = _files(generate(5_000, seed=42), tmp_path)
    assert fresh["customers"] == (shipped / "customers.csv").read_bytes()
    assert fresh["truth"] == (shipped / "truth.csv").read_bytes()
    assert fresh["tags"] == (shipped / "pairs_tags.csv").read_bytes()


def test_vehicles_are_not_newer_than_the_record(sample):
    c = sample.customers
    year = c["created_at"].str[:4].astype(int)
    for col in ("vin_1", "vin_2", "vin_3"):
        vin = c[col]
        ok = (vin.str.len() == 17) & vin.map(check_digit_ok) & (vin == vin.str.upper())
        code = vin[ok].str[9]
        model_year = code.map(
            lambda ch: 2000 + int(ch) if ch.isdigit() else 2010 + "ABCDEFGHJKLMNPRSTVWXY".index(ch)
        )
        assert (model_year <= year[ok] + 1).all(), col

"""End to end: `matching.dedupe` and `matching dedupe` on the bundled sample."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

import matching
from matching.cli import main
from matching.evaluate import evaluate
from matching.model import CustomerRequest
from matching.pipeline.scoring import FellegiSunterModel

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert main(["dedupe", str(SAMPLE / "customers.csv"), "--out", str(out), "--quiet"]) == 0
    return out


def test_outputs_exist_and_account_for_every_record(run_dir: Path) -> None:
    for name in ("clusters.csv", "pairs.csv", "golden.jsonl", "golden.csv", "rejects.csv", "model.json",
                 "report.html", "profiles.csv", "summary.json"):
        assert (run_dir / name).is_file(), name
    src = pd.read_csv(SAMPLE / "customers.csv", dtype=str)
    clusters = pd.read_csv(run_dir / "clusters.csv", dtype=str)
    rejects = pd.read_csv(run_dir / "rejects.csv", dtype=str)
    assert list(clusters.columns[:2]) == ["record_id", "cluster_id"]
    assert clusters["record_id"].is_unique
    assert len(clusters) + len(rejects) == len(src)
    assert set(clusters["record_id"]) == set(src["record_id"])
    golden = [json.loads(line) for line in (run_dir / "golden.jsonl").read_text().splitlines()]
    assert len(golden) == clusters["cluster_id"].nunique()


def test_accuracy_on_the_sample(run_dir: Path) -> None:
    truth = pd.read_csv(SAMPLE / "truth.csv", dtype=str)
    tags = pd.read_csv(SAMPLE / "pairs_tags.csv", dtype=str)
    ev = evaluate(truth, pd.read_csv(run_dir / "clusters.csv", dtype=str), tags)
    # Floors on the bundled sample (measured F1 0.977, P 0.981 when this test was written).
    assert ev.f1 >= 0.97
    assert ev.precision >= 0.97
    for kind in ("placeholder_email", "placeholder_phone", "shared_key"):
        assert ev.false_merges[kind].rate <= 0.005, kind
    for kind in ("household", "fleet", "common_name"):
        assert ev.false_merges[kind].rate <= 0.05, kind


def test_model_reloads_and_scores_the_same(run_dir: Path, tmp_path: Path) -> None:
    model = FellegiSunterModel.load(run_dir / "model.json")
    again = matching.dedupe(SAMPLE / "customers.csv", model=run_dir / "model.json")
    first = pd.read_csv(run_dir / "clusters.csv", dtype=str)
    assert again.model == model.to_json()
    merged = first.merge(again.clusters, on="record_id", suffixes=("", "_again"))
    assert (merged["cluster_id"] == merged["cluster_id_again"]).all()


def test_pairs_carry_levels_weights_and_decisions(run_dir: Path) -> None:
    pairs = pd.read_csv(run_dir / "pairs.csv", dtype=str, keep_default_na=False)
    for col in ("record_id_a", "record_id_b", "weight", "probability", "decision", "vetoed_by",
                "first_name_level", "first_name_weight", "phone_level", "vin_weight"):
        assert col in pairs.columns
    assert set(pairs["decision"]) <= {"match", "possible", "non-match"}
    total = pairs[[c for c in pairs.columns if c.endswith("_weight")]].astype(float).sum(axis=1)
    model = json.loads((run_dir / "model.json").read_text())
    assert (abs(total + model["prior_weight"] - pairs["weight"].astype(float)) < 1e-2).all()


def test_golden_records_are_valid_requests(run_dir: Path) -> None:
    bodies = [json.loads(line) for line in (run_dir / "golden.jsonl").read_text().splitlines()]
    errors = 0
    for body in bodies:
        issues = CustomerRequest.from_json(body).validate()
        errors += any(i.severity == "error" and "Name" not in i.path and "company" not in i.path for i in issues)
    assert errors == 0


def test_csv_outputs_are_spreadsheet_safe(tmp_path: Path) -> None:
    df = pd.read_csv(SAMPLE / "customers.csv", dtype=str).head(50)
    df.loc[0, "first_name"] = "=HYPERLINK(\"http://x\")"
    df.loc[1, "last_name"] = "@SUM(A1)"
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "out"
    assert main(["dedupe", str(src), "--out", str(out), "--quiet", "--no-report"]) == 0
    with (out / "golden.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            for cell in row:
                assert not cell.startswith(("=", "@")), cell


def test_explain_prints_a_waterfall(run_dir: Path, capsys) -> None:
    pairs = pd.read_csv(run_dir / "pairs.csv", dtype=str, keep_default_na=False)
    row = pairs[pairs["decision"] == "match"].iloc[0]
    assert main(["explain", str(run_dir), row["record_id_a"], row["record_id_b"]]) == 0
    out = capsys.readouterr().out
    assert "total weight" in out and "decision: match" in out
    for name in ("first_name", "phone", "vin", "address"):
        assert name in out


def test_rules_scorer_runs_the_documented_logic_pairwise() -> None:
    res = matching.dedupe(SAMPLE / "customers.csv", scorer="rules")
    truth = pd.read_csv(SAMPLE / "truth.csv", dtype=str)
    ev = evaluate(truth, res.clusters)
    assert res.model["format"] == "matching.rules"
    assert ev.precision > 0.9
    assert 0.3 < ev.recall < 0.95


def test_dataframe_input_gives_the_same_clusters(run_dir: Path) -> None:
    df = pd.read_csv(SAMPLE / "customers.csv", dtype=str).sample(frac=1.0, random_state=1)
    res = matching.dedupe(df)
    first = pd.read_csv(run_dir / "clusters.csv", dtype=str)
    merged = first.merge(res.clusters, on="record_id", suffixes=("", "_df"))
    assert len(merged) == len(first)
    assert (merged["cluster_id"] == merged["cluster_id_df"]).all()


@pytest.mark.parametrize("name, floor", [("febrl3", 0.995), ("febrl4", 0.996)])
def test_febrl_through_the_shipped_mapping(name: str, floor: float) -> None:
    from matching.febrl import load_febrl, load_febrl_mapping

    data = load_febrl(name)
    records = data.records if not data.is_linkage else pd.concat([data.records_a, data.records_b], ignore_index=True)
    res = matching.dedupe(records, mapping=load_febrl_mapping())
    ev = evaluate(data.truth, res.clusters)
    # Floors under the measured 0.9961 / 0.9972 (the goal is 0.998 / 0.999: not met yet).
    assert ev.f1 >= floor
    assert ev.precision >= 0.998


def test_progress_bar_ticks_every_stage_and_changes_nothing(capsys) -> None:
    df = pd.read_csv(SAMPLE / "customers.csv", dtype=str).head(300)
    quiet = matching.dedupe(df)
    assert capsys.readouterr().err == ""  # off by default
    loud = matching.dedupe(df, progress=True)
    err = capsys.readouterr().err
    from matching.pipeline.dedupe import STAGES

    assert f"{len(STAGES)}/{len(STAGES)}" in err
    assert "stage" not in capsys.readouterr().out
    pd.testing.assert_frame_equal(quiet.clusters, loud.clusters)

"""The tool-comparison harness (benchmarks/compare.py) end to end on a tiny generated
dealer export: workers run, clusters are scored, the report has one row per tool."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import compare  # noqa: E402

DATASET = "dealer-1k"


def _run(tools: list[str], cache: Path) -> tuple[list[compare.Row], str]:
    results = compare.run_all([DATASET], tools, cache=cache, timeout=600, echo=False)
    text = compare.report(results, "python benchmarks/compare.py (test)", dt.datetime.now(dt.UTC))
    return results[DATASET], text


def _check_scored(row: compare.Row) -> None:
    assert row.status == "ok", row.reason
    e = row.evaluation
    assert e is not None and e.n_records == 1000 and e.n_missing == 0
    for value in (e.precision, e.recall, e.f1, e.bcubed_precision, e.bcubed_recall, e.bcubed_f1):
        assert 0.0 <= value <= 1.0
    assert row.result["seconds"] > 0 and row.result["peak_mb"] > 0
    assert set(e.false_merges) >= {"household", "jr_sr", "twins"}


def _table_rows(text: str) -> list[str]:
    section = text.split(f"## {DATASET}", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| tool")]


def test_prepared_dataset_is_cached_and_complete(tmp_path: Path) -> None:
    directory = compare.prepare_dataset(DATASET, tmp_path)
    for name in ("meta.json", "raw.parquet", "prepared.parquet", "truth.csv", "pairs_tags.csv"):
        assert (directory / name).is_file()
    stamp = (directory / "prepared.parquet").stat().st_mtime_ns
    assert compare.prepare_dataset(DATASET, tmp_path) == directory
    assert (directory / "prepared.parquet").stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_dataset_names() -> None:
    assert compare.dealer_size("dealer-10k") == 10_000
    assert compare.dealer_size("dealer-1m") == 1_000_000
    assert compare.dealer_size("dealer-2500") == 2_500
    assert compare.dealer_size("febrl3") is None


def test_our_engine_rows(tmp_path: Path) -> None:
    rows, text = _run(["matching-logic", "matching-dedupe"], tmp_path)
    logic, dedupe = rows
    _check_scored(logic)
    assert logic.evaluation.precision > 0.8  # the documented logic rarely merges wrongly
    if dedupe.status == "skipped":
        assert dedupe.reason.startswith("not built yet")
    else:
        _check_scored(dedupe)
    table = _table_rows(text)
    assert [line.split(" | ")[0] for line in table[:2]] == ["| matching (logic replay)", "| matching dedupe"]
    assert "False merges of tagged hard-negative pairs" in text
    assert "## Configuration" in text


@pytest.mark.slow
def test_splink_row(tmp_path: Path) -> None:
    pytest.importorskip("splink")
    rows, text = _run(["splink"], tmp_path)
    (row,) = rows
    _check_scored(row)
    assert row.evaluation.recall > 0.5
    assert row.result["pairs_compared"] > 0
    assert _table_rows(text)[0].startswith("| splink (EM-trained) | ")

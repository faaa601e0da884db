"""Writing a run while it is made: ``dedupe(..., out=DIR)`` writes what ``write_run``
writes, and the CSV writer's frame-wide layout writes what pandas writes."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import matching
from matching.cli import main
from matching.pipeline.dedupe import RUN_FILES, run_files

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "customers.csv", dtype=str).head(1500)


def _without_timings(path: Path) -> bytes:
    """A run file's bytes, but for the timings it shows (they differ from run to run)."""
    data = path.read_bytes()
    if path.name == "summary.json":
        summary = json.loads(data)
        summary["timings"] = list(summary["timings"])  # the stages, not their seconds
        return json.dumps(summary, sort_keys=True).encode()
    if path.name == "report.html":
        return re.sub(rb'<div class="card"><h3>Stage timings</h3>.*?</div>', b"", data, flags=re.S)
    return data


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("matching-write")}


def test_dedupe_out_writes_what_write_run_writes(sample: pd.DataFrame, tmp_path: Path) -> None:
    result = matching.dedupe(sample, out=tmp_path / "during")
    written = matching.write_run(matching.dedupe(sample), tmp_path / "after")
    assert written == run_files(tmp_path / "after")
    assert sorted(p.name for p in (tmp_path / "during").iterdir()) == sorted(RUN_FILES.values())
    for key, path in written.items():
        assert _without_timings(tmp_path / "during" / path.name) == _without_timings(path), key
    # The result is the one dedupe returns without out=, plus the time the files took.
    plain = matching.dedupe(sample)
    pd.testing.assert_frame_equal(result.clusters, plain.clusters)
    pd.testing.assert_frame_equal(result.pairs, plain.pairs)
    assert list(result.stats["timings"]) == [*plain.stats["timings"], "write"]
    assert result.stats["timings"]["write"] > 0
    assert not _threads()


def test_dedupe_out_without_report(sample: pd.DataFrame, tmp_path: Path) -> None:
    matching.dedupe(sample.head(300), out=tmp_path, report=False)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(name for key, name in RUN_FILES.items() if key != "report")
    assert list(run_files(tmp_path, report=False)) == [k for k in RUN_FILES if k != "report"]


def test_the_command_writes_during_the_run(sample: pd.DataFrame, tmp_path: Path, capsys) -> None:
    sample.head(300).to_csv(tmp_path / "in.csv", index=False)
    assert main(["dedupe", str(tmp_path / "in.csv"), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "wrote: " + ", ".join(str(p) for p in run_files(tmp_path / "cli").values()) in out
    matching.write_run(matching.dedupe(tmp_path / "in.csv"), tmp_path / "api")
    for name in RUN_FILES.values():
        assert _without_timings(tmp_path / "cli" / name) == _without_timings(tmp_path / "api" / name), name


def test_an_error_while_pairs_are_written_waits_for_the_writer(sample: pd.DataFrame, tmp_path: Path,
                                                                monkeypatch) -> None:
    import matching.pipeline.golden as golden

    started = threading.Event()

    def failing(*args, **kwargs):
        started.set()
        raise RuntimeError("golden records failed")

    monkeypatch.setattr(golden, "golden_records", failing)
    with pytest.raises(RuntimeError, match="golden records failed"):
        matching.dedupe(sample.head(300), out=tmp_path)
    assert started.is_set()
    assert not _threads()  # the pairs writer ended before the error was raised
    assert (tmp_path / "pairs.csv").is_file()
    assert not (tmp_path / "summary.json").exists()


def test_provenance_csv_only_when_asked(sample: pd.DataFrame, tmp_path: Path, capsys) -> None:
    """``--provenance`` adds provenance.csv: ``result.provenance`` row for row (every
    golden value with the record it came from and the rule); without it, no such file."""
    from matching.pipeline.dedupe import OPTIONAL_RUN_FILES

    sample.head(300).to_csv(tmp_path / "in.csv", index=False)
    assert main(["dedupe", str(tmp_path / "in.csv"), "--out", str(tmp_path / "with"), "--quiet",
                 "--provenance"]) == 0
    assert str(tmp_path / "with" / "provenance.csv") in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "with").iterdir()) == sorted(
        [*RUN_FILES.values(), *OPTIONAL_RUN_FILES.values()]
    )
    result = matching.dedupe(tmp_path / "in.csv")
    written = pd.read_csv(tmp_path / "with" / "provenance.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    expected = result.provenance.astype(object).fillna("").astype(str)
    assert len(written) == len(expected) > 0
    pd.testing.assert_frame_equal(written, expected.reset_index(drop=True))
    # The golden first names are among the values provenance traces to a record.
    traced = set(written.loc[written["field"] == "first_name", "value"])
    assert set(result.golden["first_name"].dropna()) == traced
    assert matching.write_run(result, tmp_path / "api", provenance=True)["provenance"].read_bytes() == (
        tmp_path / "with" / "provenance.csv"
    ).read_bytes()
    assert main(["dedupe", str(tmp_path / "in.csv"), "--out", str(tmp_path / "without"), "--quiet"]) == 0
    assert not (tmp_path / "without" / "provenance.csv").exists()


def test_combination_numbers_are_ravel_multi_index(monkeypatch) -> None:
    """The CSV layout numbers each row's combination of labels of adjacent coded columns as
    ``np.ravel_multi_index(codes, dims, mode="wrap")`` does (missing, -1, last)."""
    import matching.io as mio

    rng = np.random.default_rng(3)
    n = 500
    df = pd.DataFrame({
        "a": pd.Categorical.from_codes(rng.integers(-1, 3, n), categories=["x", "y", "z"]),
        "b": pd.array(np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.5), dtype="boolean"),
        "c": rng.choice([0.5, -0.0, 0.0, np.nan, 1e20], n),
        "d": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(-3, 3, n)), dtype="Int64"),
    })
    series = [df[c] for c in df]
    layout = mio._CsvLayout([mio._csv_kind(s) for s in series], series)
    (segment,) = layout.segments
    codes = [col.codes(0, n) for col in segment.columns]
    expected = np.ravel_multi_index(codes, segment.dims, mode="wrap")
    np.testing.assert_array_equal(segment.combination(0, n), expected)
    np.testing.assert_array_equal(segment.combination(17, 301), expected[17:301])


@pytest.mark.parametrize("combinations", [4096, 2])
def test_many_distinct_numbers_and_categories_write_what_pandas_writes(tmp_path: Path, monkeypatch,
                                                                        combinations: int) -> None:
    """Columns of many labels (each a run of its own, its fields taken block by block) next
    to text, few-label columns and missing values, over several blocks."""
    import matching.io as mio

    monkeypatch.setattr(mio, "_CSV_BLOCK_ROWS", 1000)
    monkeypatch.setattr(mio, "_CSV_MAX_COMBINATIONS", combinations)
    rng = np.random.default_rng(7)
    n = 3500
    ids = pd.Index([f"R{i:05d}" if i % 97 else f"=R,{i}" for i in range(6000)])
    df = pd.DataFrame({
        "text": pd.Series(np.where(rng.random(n) < 0.1, None, rng.choice(["a", "b,c", "+1", '"q"', ""], n)),
                          dtype=object),
        "id_a": pd.Categorical.from_codes(rng.integers(0, len(ids), n), dtype=pd.CategoricalDtype(ids)),
        "id_b": pd.Categorical.from_codes(rng.integers(-1, len(ids), n), dtype=pd.CategoricalDtype(ids)),
        "weight": np.round(rng.normal(0, 10, n), 4),
        "weight32": np.round(rng.normal(0, 10, n), 2).astype(np.float32),
        "count": rng.integers(0, 10**9, n),
        "maybe": pd.array(np.where(rng.random(n) < 0.3, None, rng.integers(0, 5000, n)), dtype="Int64"),
        "flag": rng.random(n) < 0.5,
        "level": pd.Categorical(rng.choice(["exact", "fuzzy", "missing"], n)),
        "last": pd.Series(rng.choice(["x", "y\r\nz", None], n), dtype=pd.StringDtype()),
    })
    for columns in (list(df.columns), list(df.columns)[1:-1], ["weight"], ["id_b"]):
        frame = df[columns]
        mio.write_csv_safe(frame, tmp_path / "new.csv")
        mio._write_csv_pandas(frame, tmp_path / "old.csv")
        assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes(), columns

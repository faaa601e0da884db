"""The memory-saving paths of a dedupe run give what the straightforward ones give."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import matching
from matching.io import _datetime_text
from matching.pipeline.golden import NORM_COLUMNS, golden_records, write_jsonl
from matching.pipeline.prepare import prepare

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"


def _jsonl(gold: Any) -> str:
    """The golden records' JSON lines as written to golden.jsonl."""
    fh = io.StringIO()
    write_jsonl(gold.golden_json, fh)
    return fh.getvalue()


def test_golden_reads_only_norm_columns() -> None:
    """dedupe hands golden records only NORM_COLUMNS of the normalized frame: the golden
    records, their JSON and their provenance are those of the whole frame."""
    result = matching.dedupe(SAMPLE / "customers.csv")
    prep = prepare(result.records)
    clusters = result.clusters.set_index("record_id").loc[prep.record_ids].reset_index()
    full = golden_records(prep.records, clusters, norm=prep.norm, norm_email_keys=True)
    narrow = golden_records(prep.records, clusters, norm_email_keys=True,
                            norm=prep.norm[[c for c in prep.norm.columns if c in NORM_COLUMNS]])
    pd.testing.assert_frame_equal(full.golden, narrow.golden)
    pd.testing.assert_frame_equal(full.provenance, narrow.provenance)
    pd.testing.assert_frame_equal(full.issues, narrow.issues)
    assert _jsonl(full) == _jsonl(narrow)
    pd.testing.assert_frame_equal(narrow.golden, result.golden)


def test_datetime_text_is_str_of_timestamp() -> None:
    rng = np.random.default_rng(7)
    lo, hi = np.datetime64("1000-01-01", "s").astype(np.int64), np.datetime64("2200-12-31", "s").astype(np.int64)
    seconds = rng.integers(lo, hi, 5_000).astype("datetime64[s]").astype("datetime64[ns]")
    fractions = seconds[:50] + np.timedelta64(123_456_789, "ns")
    edges = np.array(["1970-01-01T00:00:00", "1969-12-31T23:59:59", "2000-02-29T12:00:00", "NaT"], dtype="datetime64[ns]")
    values = np.concatenate([seconds, fractions, edges])
    expected = ["" if np.isnat(v) else str(pd.Timestamp(v)) for v in values]
    assert _datetime_text(values).to_pylist() == expected


def test_golden_from_codes_and_released_columns_is_golden_from_the_frame() -> None:
    """What dedupe hands golden records (prepare's codes, the values of the phone, email
    and VIN slots, each column let go once read) gives what the whole frame gives."""
    from matching.pipeline.dedupe import _golden_inputs

    result = matching.dedupe(SAMPLE / "customers.csv")
    prep = prepare(result.records)
    clusters = result.clusters.set_index("record_id").loc[prep.record_ids].reset_index()
    full = golden_records(prep.records, clusters, norm=prep.norm, norm_email_keys=True)
    values, codes = _golden_inputs(prep)
    assert codes and set(values) < set(NORM_COLUMNS)  # codes spare most values
    lean = golden_records(prep.records, clusters, norm=values, norm_codes=codes,
                          norm_email_keys=True, release_norm=True)
    assert not values and not codes  # every column was let go
    pd.testing.assert_frame_equal(full.golden, lean.golden)
    pd.testing.assert_frame_equal(full.provenance, lean.provenance)
    pd.testing.assert_frame_equal(full.issues, lean.issues)
    assert full.golden_cluster_ids == lean.golden_cluster_ids
    assert _jsonl(full) == _jsonl(lean)
    pd.testing.assert_frame_equal(lean.golden, result.golden)

"""The result of a batch deduplication run: plain DataFrames and a JSON-able model.

This is the contract between the pipeline stages and everything that reads a run
(the CLI writer, the HTML report, ``matching explain``, ``matching push``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class DedupeResult:
    """Everything a dedupe run produced.

    - ``records``: the canonical input records that were read (one row per record,
      ``record_id`` first), as text.
    - ``clusters``: ``record_id, cluster_id`` — one row per input record (rejects excluded).
    - ``pairs``: the scored candidate pairs: ``record_id_a, record_id_b, weight`` (total
      match weight, log2 odds), ``probability``, ``decision`` ("match", "possible",
      "non-match"), ``vetoed_by`` (the guard rule that overruled the score, or empty), then for
      every comparison ``<name>_level`` (level label) and ``<name>_weight`` (its log2 weight).
      Millions of rows at scale, so the text columns are categoricals: the ids' categories
      are the record ids (in record_id order), those of ``decision`` and ``vetoed_by``
      their few values (sorted), and the levels' the level labels.
    - ``golden``: one merged customer per cluster (``cluster_id`` first, canonical columns,
      ``record_count``, ``source_record_ids``); its text columns are pandas' ``str``
      (Arrow-backed, missing = NaN), as the records read from a file; ``golden_json``:
      the same in the myKaarma request shape (a sequence of dicts: a
      :class:`~matching.pipeline.golden.GoldenJson` that builds each dict on access, or
      a list); ``provenance``: ``cluster_id, field, value, record_id, rule`` (all but ``value`` categoricals; see
      :class:`~matching.pipeline.golden.GoldenRecords`).
    - ``rejects``: ``line, record_id, reason, raw`` for input rows that could not be read.
    - ``model``: the trained scoring model as a JSON-able dict (``version``, comparisons with
      levels and m/u/weights, prior, thresholds).
    - ``profiles``: ``field, value_masked, records, people, kind`` for shared values
      (kind: "personal", "household", "junk"); values are masked (personal data).
    - ``stats``: counts and per-stage timings (seconds) for the summary and the report;
      ``golden_issues`` counts what validating the golden records found.
    - ``issues``: ``cluster_id, path, message, severity`` from validating each golden
      record as a myKaarma request (``CustomerRequest.validate()``): "error" (the API
      would refuse it, e.g. a person without a last name) or "warning".
    """

    records: pd.DataFrame
    clusters: pd.DataFrame
    pairs: pd.DataFrame
    golden: pd.DataFrame
    golden_json: Sequence[dict[str, Any]]
    provenance: pd.DataFrame
    rejects: pd.DataFrame
    model: dict[str, Any]
    profiles: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    issues: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["cluster_id", "path", "message", "severity"])
    )

"""Batch deduplication, end to end: read -> normalize -> candidates -> compare -> score ->
decide -> cluster -> golden records. One code path for Python (:func:`dedupe`) and the
``matching dedupe`` command (:func:`write_run` writes what :func:`dedupe` returns).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matching.pipeline.blocking import DEFAULT_RULES, BlockingRule, candidates
from matching.pipeline.cluster import cluster
from matching.pipeline.compare import COMPARISONS, KIND_NAMES, MISSING, PROFILED_COLUMNS, compare
from matching.pipeline.prepare import prepare
from matching.pipeline.result import DedupeResult
from matching.pipeline.scoring import (
    MATCH,
    FellegiSunterModel,
    Thresholds,
    rules_decisions,
    score,
    train,
)
from matching.privacy import mask

log = logging.getLogger(__name__)

SCORERS = ("fellegi-sunter", "rules")


#: Masking for reports and profiles (one implementation: :func:`matching.privacy.mask`).
mask_value = mask


#: The stages of :func:`dedupe`, in order: one tick of the progress bar each.
STAGES = ("read", "normalize", "candidates", "compare", "score", "cluster", "golden")


class _Progress:
    """A progress bar over the stages (tqdm on stderr), showing the running stage and
    what the last one found; silent when disabled (the default, and when not a TTY)."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=len(STAGES), unit="stage", desc=STAGES[0], leave=True,
                            bar_format="{desc:<34} {bar:20} {n_fmt}/{total_fmt} [{elapsed}]")

    def __call__(self, message: str) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        following = STAGES[self.bar.n] if self.bar.n < len(STAGES) else "done"
        self.bar.set_description_str(f"{following} ({message})"[:34])
        if self.bar.n >= len(STAGES):
            self.bar.close()


def dedupe(
    data: str | Path | pd.DataFrame,
    mapping: str | Path | dict[str, Any] | None = None,
    scorer: str = "fellegi-sunter",
    model: str | Path | dict[str, Any] | FellegiSunterModel | None = None,
    *,
    thresholds: Thresholds | None = None,
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES,
    max_cluster_size: int = 50,
    dealer_phones: tuple[str, ...] = (),
    dealer_domains: tuple[str, ...] = (),
    golden_rules: Any = None,
    progress: bool = False,
    seed: int = 0,
) -> DedupeResult:
    """Find every group of records that are one customer and merge each into a golden record.

    ``data`` is a CSV or Parquet path or a DataFrame (canonical columns, or any spelling
    the header detection knows, or mapped by ``mapping``). ``scorer`` is
    ``"fellegi-sunter"`` (default: trained on the data by EM, no labels) or ``"rules"`` (the
    documented Customer Matching Logic, pairwise). ``model`` is a saved model (path, dict or
    object) to score with instead of training. ``thresholds`` override the model's.
    """
    if scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {SCORERS}, not {scorer!r}")
    step = _Progress(progress)
    stats: dict[str, Any] = {"timings": {}}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        stats["timings"][name] = round(now - t, 3)
        t = now

    from matching.io import read_export

    export = read_export(data, mapping)
    records, rejects = export.records, export.rejects
    stats["input_rows"] = int(export.source_rows)
    stats["records"] = len(records)
    stats["rejects"] = len(rejects)
    lap("read")
    step(f"read {len(records):,} records ({len(rejects):,} rejects)")

    prep = prepare(records, dealer_phones=dealer_phones, dealer_domains=dealer_domains)
    lap("normalize")
    step("normalized")
    cands = candidates(prep, rules)
    stats["candidate_pairs"] = len(cands)
    stats["pairs_by_rule"] = cands.estimated_pairs
    lap("candidates")
    step(f"{len(cands):,} candidate pairs")
    compared = compare(prep, cands)
    lap("compare")
    step("compared")

    if scorer == "rules":
        fs_model = None
        scores = rules_decisions(compared)
        model_json: dict[str, Any] = {"format": "matching.rules", "version": 1,
                                      "description": rules_decisions.__doc__.strip().splitlines()[0]}
    else:
        if model is None:
            fs_model = train(prep, compared, thresholds=thresholds, seed=seed)
        elif isinstance(model, FellegiSunterModel):
            fs_model = model
        elif isinstance(model, dict):
            fs_model = FellegiSunterModel.from_json(model)
        else:
            fs_model = FellegiSunterModel.load(model)
        if thresholds is not None:
            fs_model.thresholds = thresholds
        scores = score(prep, compared, fs_model)
        model_json = fs_model.to_json()
    lap("score")
    step("scored")

    is_match = scores.decision == MATCH
    clusters_res = cluster(prep, compared.a[is_match], compared.b[is_match], scores.weight[is_match],
                           max_size=max_cluster_size)
    rid = prep.record_ids
    clusters = pd.DataFrame({"record_id": rid, "cluster_id": clusters_res.cluster_ids})
    stats["clusters"] = int(clusters["cluster_id"].nunique())
    stats["split_components"] = clusters_res.split_components
    stats["decisions"] = {k: int(v) for k, v in pd.Series(scores.decision).value_counts().items()}
    stats["vetoes"] = {k: int(v) for k, v in pd.Series(scores.vetoed_by[scores.vetoed_by != ""]).value_counts().items()}
    lap("cluster")
    step(f"{stats['clusters']:,} clusters")

    pairs = _pairs_frame(rid, compared, scores, clusters_res.labels)
    from matching.pipeline.golden import golden_records

    # The prepared frames: records in record_id order (as ``clusters``) and their
    # normalized columns, whose emails are match keys (golden re-reads those it needs).
    gold = golden_records(prep.records, clusters, norm=prep.norm, rules=golden_rules, norm_email_keys=True)
    lap("golden")
    step("golden records built")

    profiles = _profiles_frame(prep, compared, cands)
    return DedupeResult(
        records=records,
        clusters=clusters,
        pairs=pairs,
        golden=gold.golden,
        golden_json=gold.golden_json,
        provenance=gold.provenance,
        rejects=rejects,
        model=model_json,
        profiles=profiles,
        stats=stats,
    )


def _pairs_frame(rid: np.ndarray, compared: Any, scores: Any, labels: np.ndarray) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "record_id_a": rid[compared.a],
        "record_id_b": rid[compared.b],
        "weight": np.round(scores.weight, 4),
        "probability": np.round(scores.probability, 6),
        "decision": scores.decision,
        "vetoed_by": scores.vetoed_by,
        "same_cluster": labels[compared.a] == labels[compared.b],
    }
    for comp in COMPARISONS:
        lv = compared.levels[comp.name]
        cats = ["missing", *comp.labels()]
        cols[f"{comp.name}_level"] = pd.Categorical.from_codes(lv.astype(np.int64) + 1, categories=cats)
        cols[f"{comp.name}_weight"] = np.round(scores.field_weights[comp.name], 4)
    return pd.DataFrame(cols)


def _profiles_frame(prep: Any, compared: Any, cands: Any) -> pd.DataFrame:
    """Shared values by field and kind, masked; plus the values too common to block on."""
    rows = []
    for name, (kinds, records) in compared.value_stats.items():
        shared = np.nonzero(records >= 2)[0]
        if not len(shared):
            continue
        cols = PROFILED_COLUMNS[name]
        stacked = pd.concat([prep.norm[c] for c in cols], ignore_index=True)
        _, uniques = pd.factorize(stacked, use_na_sentinel=True)
        values = np.asarray(uniques, dtype=object)[shared]
        rows.append(pd.DataFrame({
            "field": name,
            "value_masked": [mask_value(v) for v in values],
            "records": records[shared],
            "kind": [KIND_NAMES[int(k)] for k in kinds[shared]],
        }))
    if len(cands.too_common):
        tc = cands.too_common
        rows.append(pd.DataFrame({
            "field": "blocking:" + tc["rule"].astype(str),
            "value_masked": [mask_value(v).replace("\x1f", " ") for v in tc["value"]],
            "records": tc["records"].astype(int),
            "kind": "junk",
        }))
    if not rows:
        return pd.DataFrame(columns=["field", "value_masked", "records", "kind"])
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["kind", "records"], ascending=[True, False], kind="stable").reset_index(drop=True)


def write_run(result: DedupeResult, out_dir: str | Path, *, report: bool = True) -> dict[str, Path]:
    """Write a run's files: clusters.csv, pairs.csv, golden.jsonl, golden.csv, rejects.csv,
    profiles.csv, model.json, summary.json and report.html. CSVs are spreadsheet-safe."""
    from matching.io import write_csv_safe

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "clusters": out / "clusters.csv",
        "pairs": out / "pairs.csv",
        "golden_jsonl": out / "golden.jsonl",
        "golden_csv": out / "golden.csv",
        "rejects": out / "rejects.csv",
        "profiles": out / "profiles.csv",
        "model": out / "model.json",
        "summary": out / "summary.json",
    }
    write_csv_safe(result.clusters, paths["clusters"])
    write_csv_safe(result.pairs, paths["pairs"])
    write_csv_safe(result.golden, paths["golden_csv"])
    write_csv_safe(result.rejects, paths["rejects"])
    write_csv_safe(result.profiles, paths["profiles"])
    with paths["golden_jsonl"].open("w", encoding="utf-8") as fh:
        from matching.pipeline.golden import write_jsonl

        write_jsonl(result.golden_json, fh)  # one json.dumps(body, ensure_ascii=False) a line
    paths["model"].write_text(json.dumps(result.model, indent=2) + "\n", encoding="utf-8")
    paths["summary"].write_text(json.dumps(result.stats, indent=2, default=str) + "\n", encoding="utf-8")
    if report:
        try:
            from matching.report import write_report
        except ImportError:  # the report module is optional until it lands
            pass
        else:
            paths["report"] = out / "report.html"
            write_report(result, paths["report"])
    return paths


__all__ = ["dedupe", "write_run", "mask_value", "SCORERS", "STAGES", "MISSING"]

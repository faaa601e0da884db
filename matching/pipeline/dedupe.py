"""Batch deduplication, end to end: read -> normalize -> candidates -> compare -> score ->
decide -> cluster -> golden records. One code path for Python (:func:`dedupe`) and the
``matching dedupe`` command (``dedupe(..., out=DIR)``: the files :func:`write_run` writes
for what :func:`dedupe` returns, written during the run).
"""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.pipeline.blocking import DEFAULT_RULES, BlockingRule, candidates
from matching.pipeline.cluster import cluster
from matching.pipeline.compare import COMPARISONS, KIND_NAMES, MISSING, compare, release_tables
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
    out: str | Path | None = None,
    report: bool = True,
    provenance: bool = False,
) -> DedupeResult:
    """Find every group of records that are one customer and merge each into a golden record.

    ``data`` is a CSV or Parquet path or a DataFrame (canonical columns, or any spelling
    the header detection knows, or mapped by ``mapping``). ``scorer`` is
    ``"fellegi-sunter"`` (default: trained on the data by EM, no labels) or ``"rules"`` (the
    documented Customer Matching Logic, pairwise). ``model`` is a saved model (path, dict or
    object) to score with instead of training. ``thresholds`` override the model's.

    With ``out`` (a folder, made if need be before any work), the run's files are written
    there too, byte for byte as ``write_run(result, out, report=report,
    provenance=provenance)`` writes them, but sooner: pairs.csv, the largest, is written
    while the golden records are built (on another thread, mostly outside Python's
    lock), the other files once they are.
    ``report`` and ``provenance`` (with ``out`` only) say whether report.html and
    provenance.csv are written (see :func:`write_run`). The timings are
    then wall-clock seconds of each stage in turn: ``golden`` includes what writing
    pairs.csv meanwhile takes from it, and ``write`` (last) is the time from the golden
    records to the last file, not the whole time spent writing.
    """
    if scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {SCORERS}, not {scorer!r}")
    writer = _RunWriter(out, report=report, provenance=provenance) if out is not None else None  # the folder, first
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
    _release_memory()  # see below
    lap("read")
    step(f"read {len(records):,} records ({len(rejects):,} rejects)")

    prep = prepare(records, dealer_phones=dealer_phones, dealer_domains=dealer_domains)
    _release_memory()
    lap("normalize")
    step("normalized")
    cands = candidates(prep, rules)
    _release_memory()
    stats["candidate_pairs"] = len(cands)
    stats["pairs_by_rule"] = cands.estimated_pairs
    lap("candidates")
    step(f"{len(cands):,} candidate pairs")
    compared = compare(prep, cands)
    too_common = cands.too_common  # all the profiles read of the candidates
    del cands  # their rule bits: 8 bytes a pair
    _release_memory()
    lap("compare")
    step("compared")

    if scorer == "rules":
        release_tables(prep, keep=_GUARD_TABLES)
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
        release_tables(prep, keep=_GUARD_TABLES)  # training read the rest
        scores = score(prep, compared, fs_model)
        release_tables(prep, keep=_GUARD_TABLES)
        model_json = fs_model.to_json()
    lap("score")
    step("scored")

    is_match = scores.decision == MATCH
    clusters_res = cluster(prep, compared.a[is_match], compared.b[is_match], scores.weight[is_match],
                           max_size=max_cluster_size)
    clusters = _clusters_frame(clusters_res)
    # Counted on arrays, not on a million ids or millions of decisions as pandas text:
    # cluster ids are the smallest record id of each label, so one id per label.
    stats["clusters"] = int(np.count_nonzero(np.bincount(clusters_res.labels)))
    stats["split_components"] = clusters_res.split_components
    stats["decisions"] = _value_counts(scores.decision)
    stats["vetoes"] = {k: v for k, v in _value_counts(scores.vetoed_by).items() if k != ""}
    lap("cluster")
    step(f"{stats['clusters']:,} clusters")

    # The explanation tables (not a stage of their own in the progress bar). The peak
    # memory of a run is the sum of what is alive at once, so each table is made once
    # what it no longer needs is let go: compare's cached tables (the cluster guard was
    # their last reader) and the normalized frame, all but what golden records read,
    # before the pairs (the largest table) and the profiles; the pairs' arrays before
    # the golden records allocate theirs.
    labels = clusters_res.labels
    record_ids = prep.records["record_id"].array
    del clusters_res, is_match
    prep.__dict__.pop("_compare_cache", None)
    _release_memory()  # before golden's inputs are copied out of ``prep``
    from matching.pipeline.golden import golden_records

    # The prepared frames golden needs: records in record_id order (as ``clusters``),
    # and of the normalized columns it reads the codes prepare kept, and the values of
    # those whose values it keeps (emails are match keys: golden re-reads those it
    # needs). The rest of the frame goes with ``prep``, and golden records lets each
    # column go once it is done with it.
    prep_records = prep.records
    golden_norm, golden_codes = _golden_inputs(prep)
    del prep
    _release_memory()
    pairs = _pairs_frame(record_ids, compared, scores, labels)
    if writer is not None:
        writer.start_pairs(pairs)  # final now: written while the profiles and golden records are built
    del scores, labels, record_ids
    try:
        profiles = _profiles_frame(compared, too_common)
        lap("pairs_and_profiles")
        del compared, too_common
        _release_memory()
        gold = golden_records(prep_records, clusters, norm=golden_norm, rules=golden_rules,
                              norm_email_keys=True, release_norm=True, norm_codes=golden_codes)
    except BaseException:
        if writer is not None:
            writer.close()  # no thread goes on writing after the error is raised
        raise
    del golden_norm, golden_codes, prep_records
    golden, golden_json, provenance, issues = gold.golden, gold.golden_json, gold.provenance, gold.issues
    stats["golden_issues"] = _issue_counts(issues)
    del gold  # its other parts (cluster id list, step times) are not part of the result
    _release_memory()  # golden's working arrays: the files are written next
    lap("golden")
    step("golden records built")
    result = DedupeResult(
        records=records,
        clusters=clusters,
        pairs=pairs,
        golden=golden,
        golden_json=golden_json,
        provenance=provenance,
        rejects=rejects,
        model=model_json,
        profiles=profiles,
        stats=stats,
        issues=issues,
    )
    if writer is not None:
        writer.finish(result)
    return result


#: The tables compare caches that the cluster guard reads again (see
#: :func:`~matching.pipeline.compare.release_tables`): the rest are let go before
#: scoring. One missing here is built again, at a cost in time, not in correctness.
_GUARD_TABLES = (
    "joint:first_name,last_name", "names", "repairs", "generation_marked",
    "codes:suffix", "codes:id_number", "codes:dob",
    "joint:phone_1,phone_2", "joint:email_1,email_2", "joint:vin_1,vin_2,vin_3", "joint:customer_key",
)


def _clusters_frame(res: Any) -> pd.DataFrame:
    """``record_id`` and ``cluster_id`` per record: text columns taken from the records' own
    ids (a million Python strings, and two conversions back to text, avoided) when
    those are text; else as objects, for pandas to infer their type."""
    ids = res.record_ids
    if isinstance(ids.dtype, pd.StringDtype):
        return pd.DataFrame({"record_id": ids, "cluster_id": res.cluster_id_array()}, copy=False)
    return pd.DataFrame({"record_id": np.asarray(ids, dtype=object), "cluster_id": res.cluster_ids})


def _issue_counts(issues: pd.DataFrame) -> dict[str, Any]:
    """What validating the golden records found, for the run summary and the report:
    how many golden records have an error (myKaarma would refuse them) or only warnings,
    and the issues by severity and field path (``"error customer.firstName"``; list
    indices dropped: ``vehicles[].vin``), most frequent first. Counts only: the messages
    may quote values (personal data)."""
    if not len(issues):
        return {"records_with_errors": 0, "records_with_warnings_only": 0, "by_field": {}}
    severity = issues["severity"].astype(object).to_numpy()
    cluster = issues["cluster_id"].astype(object).to_numpy()
    with_errors = set(cluster[severity == "error"].tolist())
    with_warnings = set(cluster[severity == "warning"].tolist()) - with_errors
    paths = issues["path"].astype(str).str.replace(r"\[\d+\]", "[]", regex=True)
    by_field = (severity + " " + paths.to_numpy(dtype=object)).tolist()
    counts = pd.Series(by_field, dtype=object).value_counts(sort=True)
    return {
        "records_with_errors": len(with_errors),
        "records_with_warnings_only": len(with_warnings),
        "by_field": {str(k): int(v) for k, v in counts.items()},
    }


def _value_counts(values: np.ndarray | pd.Categorical) -> dict[str, int]:
    """``pd.Series(values).value_counts()`` as a dict (most frequent first; ties in order of
    first appearance) for a categorical or an object array of a few distinct strings:
    counted on the codes, or as objects, without converting millions of them to pandas
    text first. Values that do not occur are left out."""
    if isinstance(values, pd.Categorical):
        codes = values.codes
        counts = np.bincount(codes[codes >= 0], minlength=len(values.categories))
        present = np.flatnonzero(counts)
        first = [int(np.argmax(codes == k)) for k in present]  # a few categories
        present = present[np.argsort(first, kind="stable")]
        present = present[np.argsort(-counts[present], kind="stable")]
        return {str(values.categories[k]): int(counts[k]) for k in present}
    return {k: int(v) for k, v in pd.Series(values, dtype=object, copy=False).value_counts().items()}


def _release_memory() -> None:
    """Give the memory freed so far back to the system (see
    :func:`matching.pipeline.golden.release_memory`)."""
    from matching.pipeline.golden import release_memory

    release_memory()


def _golden_inputs(prep: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """What golden records read of the prepared frame: the integer codes prepare kept
    for its columns (:meth:`~matching.pipeline.prepare.Prepared.codes`, as int32), and
    the values (object arrays, copied one by one, so that each can be let go alone) of
    the phone, email and VIN slots, whose values golden records keep, and of any column
    without codes. Slots get codes only when every slot of their kind numbers one set of
    values alike."""
    from matching.pipeline.golden import NORM_COLUMNS
    from matching.records import EMAIL_LABELS, PHONE_LABELS

    vins = ("vin_1", "vin_2", "vin_3")
    columns = [c for c in NORM_COLUMNS if c in prep.norm.columns]
    codes: dict[str, np.ndarray] = {}
    uniques: dict[str, Any] = {}
    for column in columns:
        if column in EMAIL_LABELS:
            continue  # emails are compared by mailbox, not by these codes
        got = prep.codes(column)
        if got is not None and len(got[1]) < np.iinfo(np.int32).max:
            codes[column], uniques[column] = got[0].astype(np.int32), got[1]
    for kind in (tuple(PHONE_LABELS), vins):
        slots = [c for c in kind if c in columns]
        if len({id(uniques.get(c)) for c in slots}) > 1 or any(c not in codes for c in slots):
            for c in slots:
                codes.pop(c, None)
    keep = {*PHONE_LABELS, *EMAIL_LABELS, *vins}
    values = {
        c: prep.norm[c].to_numpy(dtype=object, copy=True)
        for c in columns
        if c in keep or c not in codes
    }
    return values, codes


def _pairs_frame(rid: Any, compared: Any, scores: Any, labels: np.ndarray) -> pd.DataFrame:
    """The scored pairs (:attr:`DedupeResult.pairs`): ids, weights, decision, veto, same
    cluster, then every comparison's level (categorical) and weight.

    Millions of rows, so every column is compact: the ids are categoricals whose
    categories are the record ids (``rid``: the prepared records' ids, as an array of
    text or of objects) and whose codes are the pairs' record positions; the decisions and vetoes (a few distinct values) are categoricals too, with
    their values in sorted order. Weights and probabilities are rounded in place: the
    arrays of ``scores`` become the frame's columns without a copy (the caller lets
    ``scores`` go).
    """
    ids = _id_categories(rid)
    if ids is None:  # ids that cannot be categories (repeated): as text
        id_a = pd.array(rid[compared.a], dtype=_text_dtype())
        id_b = pd.array(rid[compared.b], dtype=_text_dtype())
    else:
        id_a = pd.Categorical.from_codes(_codes(compared.a, len(rid)), dtype=ids)
        id_b = pd.Categorical.from_codes(_codes(compared.b, len(rid)), dtype=ids)
    cols: dict[str, Any] = {
        "record_id_a": id_a,
        "record_id_b": id_b,
        "weight": _rounded(scores.weight, 4),
        "probability": _rounded(scores.probability, 6),
        "decision": _few_distinct(scores.decision),
        "vetoed_by": _few_distinct(scores.vetoed_by),
        "same_cluster": labels[compared.a] == labels[compared.b],
    }
    for comp in COMPARISONS:
        lv = compared.levels[comp.name]
        cats = ["missing", *comp.labels()]
        # int8 codes as they come (MISSING is -1): no int64 copy of millions of levels.
        codes = lv + np.int8(1) if lv.dtype == np.int8 else lv.astype(np.int64) + 1
        cols[f"{comp.name}_level"] = pd.Categorical.from_codes(codes, categories=cats)
        cols[f"{comp.name}_weight"] = _rounded(scores.field_weights[comp.name], 4)
    # copy=False: the arrays above are new; a dict would otherwise be copied column by column.
    return pd.DataFrame(cols, copy=False)


def _id_categories(rid: Any) -> pd.CategoricalDtype | None:
    """The record ids as the categories of the pairs' id columns (text, in ``rid``'s
    order), or None when an id is repeated or missing.

    The prepared records come sorted by id, so the ids are distinct when each is
    greater than the one before (no hash table of a million ids, which pandas would
    keep with the categories): compared by Arrow, without Python strings."""
    from matching.pipeline.golden import distinct_categories

    index = pd.Index(pd.array(rid, dtype=_text_dtype()), name=None)
    if index.hasnans:
        return None
    try:
        text = _arrow_text(index.array)
        increasing = len(text) < 2 or bool(pc.all(pc.greater(text[1:], text[:-1])).as_py())
    except (pa.ArrowException, TypeError):  # not text
        increasing = False
    if not increasing and not index.is_unique:
        return None
    return distinct_categories(index)


def _codes(positions: np.ndarray, n: int) -> np.ndarray:
    """Record positions as categorical codes of the narrowest type that holds ``n``
    categories (pandas would make that copy itself)."""
    dtype = np.int32 if n < 2**31 - 1 else np.int64
    return positions.astype(dtype, copy=False)


def _rounded(values: np.ndarray, decimals: int) -> np.ndarray:
    """``np.round(values, decimals)``, in place when ``values`` is a float array that can
    be written (rounding twice gives the same floats, so a second call changes nothing)."""
    if values.dtype.kind == "f" and values.flags.writeable:
        return np.round(values, decimals, out=values)
    return np.round(values, decimals)


def _few_distinct(values: np.ndarray | pd.Categorical) -> pd.Categorical:
    """Text of a few distinct values (decisions, vetoes) as a categorical: one small code
    per pair instead of a string, the values sorted as categories (missing values, if
    any, stay missing). Factorized first: ``pd.Categorical(values)`` of millions of
    objects takes several times longer."""
    if isinstance(values, pd.Categorical):  # already one (the scores' decisions and vetoes)
        return values
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError:  # values that do not sort together: in order of appearance
        order = np.arange(len(uniques))
    rank = np.empty(len(order) + 1, dtype=np.int8 if len(order) < 127 else np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # code -1 (missing) stays -1
    return pd.Categorical.from_codes(rank[codes], categories=pd.Index(uniques[order]))


def _text_dtype() -> Any:
    """The dtype pandas gives a column of Python strings: ``str`` (pandas 3, or
    ``future.infer_string``) or object."""
    return pd.Series(["a"]).dtype


def _arrow_text(values: Any) -> pa.Array:
    """``values`` (text, missing as None/NaN) as one Arrow large_string array."""
    if isinstance(values, pd.Series):
        values = values.array if values.dtype != object else values.to_numpy()
    arr = pa.array(values, type=pa.large_string(), from_pandas=True) if isinstance(values, np.ndarray) \
        else pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string())


def _str_column(arr: pa.Array) -> Any:
    """An Arrow string array as a pandas text column of the default text dtype (see
    :func:`_text_dtype`): without a copy when that is the Arrow-backed ``str``."""
    dtype = _text_dtype()
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pd.array(arr.cast(pa.large_string()), dtype=dtype)
    values = arr.to_numpy(zero_copy_only=False)  # object, None where missing
    return values if dtype == np.dtype(object) else pd.array(values, dtype=dtype)


def _profiles_frame(compared: Any, too_common: pd.DataFrame) -> pd.DataFrame:
    """Shared values by field and kind, masked; plus the values too common to block on
    (``too_common``: the candidates' table of them).

    Columns ``field, value_masked, records, kind``, sorted by kind then most records
    first. Vectorized: the distinct values are found with Arrow, masked by
    :func:`_mask_text` (what :func:`mask_value` does, on arrays) and sorted with numpy.
    """
    # Kinds sort by name; rank each kind code (and "junk", the blocking rows) by its name.
    names = [KIND_NAMES[k] for k in range(max(KIND_NAMES) + 1)]
    rank_of = {name: i for i, name in enumerate(sorted({*names, "junk"}))}
    kind_rank = np.array([rank_of[n] for n in names], dtype=np.int64)
    fields: list[pa.Array] = []
    masked: list[pa.Array] = []
    records_parts: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    for name, (kind_codes, records) in compared.value_stats.items():
        shared = np.nonzero(records >= 2)[0]
        if not len(shared):
            continue
        # The values compare's codes number (in its own order).
        values = _arrow_text(np.asarray(compared.value_uniques[name], dtype=object)[shared])
        fields.append(pa.repeat(pa.scalar(name, pa.large_string()), len(shared)))
        masked.append(_mask_text(values))
        records_parts.append(np.asarray(records[shared], dtype=np.int64))
        ranks.append(kind_rank[kind_codes[shared]])
    if len(too_common):
        tc = too_common
        fields.append(pc.binary_join_element_wise(pa.scalar("blocking:", pa.large_string()),
                                                  _arrow_text(tc["rule"].astype(str)), pa.scalar("", pa.large_string())))
        masked.append(pc.replace_substring(_mask_series(tc["value"]), "\x1f", " "))
        records_parts.append(tc["records"].astype(int).to_numpy(dtype=np.int64))
        ranks.append(np.full(len(tc), rank_of["junk"], dtype=np.int64))
    if not fields:
        return pd.DataFrame(columns=["field", "value_masked", "records", "kind"])
    records = np.concatenate(records_parts)
    rank = np.concatenate(ranks)
    # Kind ascending, then most records first; ties keep their order (lexsort is stable).
    order = np.lexsort((-records, rank))
    rank_names = pa.array(sorted(rank_of, key=rank_of.__getitem__), pa.large_string())
    taken = pa.array(order)
    return pd.DataFrame({
        "field": _str_column(pa.concat_arrays(fields).take(taken)),
        "value_masked": _str_column(pa.concat_arrays(masked).take(taken)),
        "records": records[order],
        "kind": _str_column(rank_names.take(pa.array(rank[order]))),
    }, copy=False)


def _mask_series(values: pd.Series) -> pa.Array:
    """:func:`mask_value` of every value of ``values``, which it reads as ``str(value)``
    (a missing value reads ``nan``)."""
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return pa.array([mask_value(v) for v in values], pa.large_string())  # not text: a few, in Python
    return _mask_text(_arrow_text(values).fill_null("nan"))


def _mask_text(values: pa.Array) -> pa.Array:
    """:func:`mask_value` of every value of a string array (no nulls), vectorized.

    An email keeps the first and last characters of its local part around ``***`` and its
    domain; anything else of up to 4 characters becomes stars, longer text keeps its first
    and last fifth. Lengths count characters, as Python's ``len`` does.
    """
    values = values.cast(pa.large_string())
    if not len(values):
        return values
    out = _mask_plain(values)
    is_email = pc.match_substring(values, "@")
    if pc.any(is_email).as_py():
        emails = values.filter(is_email)
        parts = pc.split_pattern(emails, "@", max_splits=1)
        local, domain = pc.list_element(parts, 0), pc.list_element(parts, 1)
        star3, at, empty = (pa.scalar(s, pa.large_string()) for s in ("***", "@", ""))
        kept = pc.binary_join_element_wise(pc.utf8_slice_codeunits(local, 0, 1), star3,
                                           pc.utf8_slice_codeunits(local, -1), empty)
        local_masked = pc.if_else(pc.greater(pc.utf8_length(local), 2), kept, star3)
        out = pc.replace_with_mask(out, is_email, pc.binary_join_element_wise(local_masked, at, domain, empty))
    return out


def _mask_plain(values: pa.Array) -> pa.Array:
    """The non-email rule of :func:`mask_value` on every value: a text of n characters
    keeps its first and last n // 5 characters (none when n <= 4), the others become one
    ``*`` each. Done on the UTF-8 bytes with numpy: a character is its lead byte and its
    continuation bytes; a starred character keeps one byte, ``*``."""
    bufs = values.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[values.offset : values.offset + len(values) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0] : offsets[-1]] if bufs[2] is not None \
        else np.zeros(0, dtype=np.uint8)
    offsets = offsets - offsets[0]
    lead = (data & 0xC0) != 0x80
    row = np.repeat(np.arange(len(values)), np.diff(offsets))
    # Characters per value, and the character index of each byte within its value.
    n_chars = np.bincount(row[lead], minlength=len(values))
    char_no = np.cumsum(lead) - 1 - (np.cumsum(n_chars) - n_chars)[row]
    keep = np.where(n_chars <= 4, 0, n_chars // 5)
    starred = (char_no >= keep[row]) & (char_no < (n_chars - keep)[row])
    kept_byte = ~starred | lead  # a starred character keeps only its lead byte...
    new_data = np.where(starred, np.uint8(ord("*")), data)[kept_byte]  # ...which becomes "*"
    new_offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row[kept_byte], minlength=len(values)), out=new_offsets[1:])
    return pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(new_offsets), pa.py_buffer(new_data))


#: The files of a run (:func:`write_run`'s keys and names), report.html last when written.
RUN_FILES: dict[str, str] = {
    "clusters": "clusters.csv",
    "pairs": "pairs.csv",
    "golden_jsonl": "golden.jsonl",
    "golden_csv": "golden.csv",
    "rejects": "rejects.csv",
    "profiles": "profiles.csv",
    "model": "model.json",
    "summary": "summary.json",
    "report": "report.html",
}


#: Files a run writes only when asked (``provenance=True``, ``--provenance``).
OPTIONAL_RUN_FILES: dict[str, str] = {"provenance": "provenance.csv"}


def run_files(out_dir: str | Path, *, report: bool = True, provenance: bool = False) -> dict[str, Path]:
    """The paths of the files a run writes into ``out_dir`` (what :func:`write_run`
    returns), by key; without report.html unless ``report``, with provenance.csv (last)
    if ``provenance``."""
    out = Path(out_dir)
    paths = {key: out / name for key, name in RUN_FILES.items() if report or key != "report"}
    if provenance:
        paths["provenance"] = out / OPTIONAL_RUN_FILES["provenance"]
    return paths


def write_run(
    result: DedupeResult, out_dir: str | Path, *, report: bool = True, provenance: bool = False
) -> dict[str, Path]:
    """Write a run's files: clusters.csv, pairs.csv, golden.jsonl, golden.csv, rejects.csv,
    profiles.csv, model.json, summary.json and report.html (unless not ``report``), and
    provenance.csv with ``provenance`` (``result.provenance``: the record each golden
    value came from; millions of rows at scale, so not written by default). CSVs are
    spreadsheet-safe.

    The time this takes is recorded in ``result.stats["timings"]["write"]`` (seconds,
    everything but summary.json itself, which is written last so that it shows it).
    ``dedupe(..., out=out_dir)`` writes the same files, sooner (see :func:`dedupe`).
    """
    return _RunWriter(out_dir, report=report, provenance=provenance).finish(result)


class _RunWriter:
    """Writes a run's files into a folder: :meth:`start_pairs` as soon as the scored
    pairs are final, :meth:`finish` once the whole result is.

    pairs.csv, the largest file, is formatted by Arrow outside Python's lock, so it is
    written on a thread of its own while the caller goes on (building the golden
    records, writing the other files). (Starting golden.csv and golden.jsonl as soon as
    they were built, before the golden records were validated, gained no time that
    could be told from the host's noise, and raised the 1M peak by ~70 MB.)
    """

    def __init__(self, out_dir: str | Path, *, report: bool = True, provenance: bool = False) -> None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.report = report
        self.paths = run_files(out, report=report, provenance=provenance)
        self._pool: ThreadPoolExecutor | None = None
        self._pairs_job: Future[None] | None = None

    def start_pairs(self, pairs: pd.DataFrame) -> None:
        """Begin writing pairs.csv (on another thread); ``pairs`` must not change meanwhile."""
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="matching-write")
        self._pairs_job = self._pool.submit(_write_and_release, pairs, self.paths["pairs"])

    def finish(self, result: DedupeResult) -> dict[str, Path]:
        """Write every file not yet written, wait for pairs.csv, and write summary.json
        last, with the time this took as ``result.stats["timings"]["write"]``."""
        from matching.io import write_csv_safe

        started = time.perf_counter()
        paths = self.paths
        try:
            if self._pairs_job is None:
                self.start_pairs(result.pairs)
            assert self._pool is not None and self._pairs_job is not None
            # golden.jsonl and the report on threads of their own too: most of their work
            # (Arrow's string kernels, numpy) runs outside Python's lock, as most of the
            # CSVs' does on this one; the rest, turning Python strings into Arrow text and
            # the like, takes turns.
            jobs = [self._pool.submit(_write_jsonl, result.golden_json, paths["golden_jsonl"])]
            if self.report:
                jobs.append(self._pool.submit(_write_report, result, paths["report"]))
            write_csv_safe(result.golden, paths["golden_csv"])
            # Each file's working memory goes back before the next is made: the others
            # are being written meanwhile, and they add up.
            _release_memory()
            write_csv_safe(result.clusters, paths["clusters"])
            write_csv_safe(result.rejects, paths["rejects"])
            write_csv_safe(result.profiles, paths["profiles"])
            if "provenance" in paths:
                write_csv_safe(result.provenance, paths["provenance"])
            paths["model"].write_text(json.dumps(result.model, indent=2) + "\n", encoding="utf-8")
            for job in [*jobs, self._pairs_job]:
                job.result()  # its error, if any, is raised here
        finally:
            self.close()
        # Summary last: it shows this step's time along with the stages of dedupe().
        if isinstance(result.stats, dict):
            result.stats.setdefault("timings", {})["write"] = round(time.perf_counter() - started, 3)
        paths["summary"].write_text(json.dumps(result.stats, indent=2, default=str) + "\n", encoding="utf-8")
        return dict(paths)

    def close(self) -> None:
        """Wait for pairs.csv to be written, if it is being written. Its error, if any,
        is not raised here (:meth:`finish` raises it; on another error it would hide it)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _write_jsonl(bodies: Any, path: Path) -> None:
    """golden.jsonl: one ``json.dumps(body, ensure_ascii=False)`` a line, in the UTF-8
    bytes Arrow made, line ends as a text file writes them; then the memory it used goes
    back to the system from this thread (see :func:`_write_and_release`)."""
    from matching.pipeline.golden import write_jsonl

    with path.open("wb") as fh:
        write_jsonl(bodies, fh, newline=os.linesep)
    _release_memory()


def _write_report(result: DedupeResult, path: Path) -> None:
    """report.html (:func:`matching.report.write_report`), then the memory it used goes
    back to the system from this thread (see :func:`_write_and_release`)."""
    from matching.report import write_report

    write_report(result, path)
    _release_memory()


def _write_and_release(frame: pd.DataFrame, path: Path) -> None:
    """:func:`~matching.io.write_csv_safe`, then the memory it used goes back to the
    system from the thread that used it (Arrow's pool keeps freed memory per thread)."""
    from matching.io import write_csv_safe

    write_csv_safe(frame, path)
    _release_memory()


__all__ = ["dedupe", "write_run", "run_files", "RUN_FILES", "OPTIONAL_RUN_FILES", "mask_value", "SCORERS", "STAGES", "MISSING"]

"""Compare this project with general record-linkage tools on the same data, in one run.

    python benchmarks/compare.py                                   # everything (hours at 1M)
    python benchmarks/compare.py --datasets febrl3,dealer-10k --tools splink,custmatch
    python benchmarks/compare.py --datasets dealer-100k --timeout 3600 --out /tmp/r.md

Datasets: ``febrl3`` (5,000 records, deduplicate), ``febrl4`` (5,000 + 5,000, link; scored
over the union of both files), and generated dealer exports ``dealer-10k``,
``dealer-100k``, ``dealer-1m`` (any ``dealer-<N>`` works: ``dealer-2500``, ``dealer-1k``),
made by ``matching.synth.generate(N, seed=42)`` and cached in ``benchmarks/.cache/``.

Tools (``--tools``): ``matching-logic`` (the documented Customer Matching Logic replayed
record by record), ``matching-dedupe`` (batch ``matching.dedupe``, when it exists),
``splink`` and ``splink-expert`` (Splink 5 on DuckDB), ``recordlinkage``, ``custmatch``.
Every tool gets the same records, normalized once by ``matching.normalize``; each runs in
its own process with a timeout, so its peak memory is its own and its crash is a row in
the table. Every tool returns a clustering, scored here by ``matching.evaluate.evaluate``.
Writes ``benchmarks/RESULTS.md`` (``--out``) and prints the same tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import pandas as pd  # noqa: E402
from compare_tools import TOOLS, Tool  # noqa: E402

from matching.evaluate import Evaluation, evaluate, read_clusters, read_tags, read_truth  # noqa: E402

DEFAULT_DATASETS = ("febrl3", "febrl4", "dealer-10k", "dealer-100k", "dealer-1m")
DEFAULT_CACHE = HERE / ".cache"
DEFAULT_OUT = HERE / "RESULTS.md"
SEED = 42
# Bump when the prepared columns change, so stale caches are rebuilt.
PREPARED_VERSION = 1
VERSIONED = ("pandas", "duckdb", "splink", "recordlinkage", "custmatch", "scikit-learn")


# ---------------------------------------------------------------------------- datasets


def dealer_size(name: str) -> int | None:
    """``dealer-10k`` -> 10000, ``dealer-1m`` -> 1000000, ``dealer-2500`` -> 2500."""
    m = re.fullmatch(r"dealer-(\d+)([km]?)", name.lower())
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2)]


def prepare_dataset(name: str, cache: Path = DEFAULT_CACHE) -> Path:
    """The folder of a prepared dataset (see ``compare_tools.common``), built if missing."""
    directory = cache / name
    meta_path = directory / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == PREPARED_VERSION:
            return directory
    directory.mkdir(parents=True, exist_ok=True)
    size = dealer_size(name)
    if size is not None:
        from matching.synth import generate

        data = generate(size, seed=SEED)
        raw, truth, tags = data.customers, data.truth, data.tags
        prepared = prepare_dealer(raw)
        meta = {"kind": "dealer", "linkage": False, "seed": SEED}
    elif name in ("febrl1", "febrl2", "febrl3", "febrl4"):
        from matching.febrl import load_febrl

        febrl = load_febrl(name)
        raw, truth, tags = febrl.records, febrl.truth, None
        source = None
        if febrl.is_linkage:
            source = ["a"] * len(febrl.records_a) + ["b"] * len(febrl.records_b)
        prepared = prepare_febrl(raw, source)
        meta = {"kind": "febrl", "linkage": febrl.is_linkage}
    else:
        raise SystemExit(f"unknown dataset {name!r}: use febrl3, febrl4 or dealer-<N> (dealer-10k, dealer-1m)")
    raw = raw.astype(object).where(raw.notna(), None)
    raw.to_parquet(directory / "raw.parquet", index=False)
    prepared.to_parquet(directory / "prepared.parquet", index=False)
    truth.to_csv(directory / "truth.csv", index=False)
    if tags is not None:
        tags.to_csv(directory / "pairs_tags.csv", index=False)
    meta.update(name=name, records=len(raw), version=PREPARED_VERSION)
    meta_path.write_text(json.dumps(meta, indent=1))
    return directory


def prepare_dealer(raw: pd.DataFrame) -> pd.DataFrame:
    """The clean columns every tool gets for a dealer export: ``normalize_frame`` (names
    folded, suffix split off, phones E.164, emails normalized, VINs cleaned, street and
    unit split, city/state/ZIP normalized) plus first-name nickname label, Metaphone keys
    of first and last name, middle initial, ``record_id`` and ``created_at``."""
    from matching.normalize import canonical_first_series, name_phonetic_series, normalize_frame

    out = normalize_frame(raw)
    out.insert(0, "record_id", raw["record_id"].astype(str))
    out["created_at"] = raw["created_at"]
    out["first_canonical"] = canonical_first_series(raw["first_name"])
    out["first_phonetic"] = name_phonetic_series(raw["first_name"])
    out["last_phonetic"] = name_phonetic_series(raw["last_name"])
    out["middle_initial"] = out["middle_name"].str[:1]
    return out.astype(object).where(out.notna(), None).reset_index(drop=True)


def prepare_febrl(raw: pd.DataFrame, source: list[str] | None) -> pd.DataFrame:
    """The clean columns every tool gets for FEBRL: names folded by ``matching.normalize``,
    nickname label and Metaphone keys, the other fields trimmed and lower-cased."""
    from matching.normalize import canonical_first_series, name_phonetic_series, name_series

    def text(col: str) -> pd.Series:
        s = raw[col].astype(object).where(raw[col].notna(), None)
        s = s.map(lambda v: " ".join(str(v).lower().split()) or None if v is not None else None)
        return s

    out = pd.DataFrame({"record_id": raw["rec_id"].astype(str)})
    if source is not None:
        out["source"] = source
    out["first_name"] = name_series(raw["given_name"])
    out["last_name"] = name_series(raw["surname"])
    for col in ("street_number", "address_1", "address_2", "suburb", "postcode", "state",
                "date_of_birth", "soc_sec_id"):
        out[col] = text(col)
    out["first_canonical"] = canonical_first_series(raw["given_name"])
    out["first_phonetic"] = name_phonetic_series(raw["given_name"])
    out["last_phonetic"] = name_phonetic_series(raw["surname"])
    return out.astype(object).where(out.notna(), None).reset_index(drop=True)


# ---------------------------------------------------------------------------- running


@dataclass
class Row:
    """One tool on one dataset: its measurements and scores, or why there are none."""

    tool: Tool
    status: str  # "ok", "skipped", "failed", "timeout"
    reason: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    evaluation: Evaluation | None = None


def adapter(tool: Tool):
    return importlib.import_module(f"compare_tools.{tool.module}")


def run_tool(tool: Tool, dataset_dir: Path, meta: dict[str, Any], run_dir: Path, timeout: float) -> Row:
    """Run one tool in a worker process and score its clusters."""
    reason = adapter(tool).unavailable(meta, tool.variant)
    if reason:
        return Row(tool, "skipped", reason)
    out = run_dir / tool.id
    if (out / "result.json").exists():
        (out / "result.json").unlink()
    worker = HERE / "compare_tools" / "worker.py"
    started = time.perf_counter()
    with open(run_dir / f"{tool.id}.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(worker), tool.id, str(dataset_dir), str(out)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker's own process group
            proc.wait()
            return Row(tool, "timeout", f"timed out after {timeout:,.0f} s")
    result_path = out / "result.json"
    if not result_path.exists():
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        hint = " (out of memory?)" if code in (-9, 137) else ""
        took = time.perf_counter() - started
        return Row(tool, "failed", f"worker {how}{hint} after {took:,.0f} s; log: {run_dir / (tool.id + '.log')}")
    result = json.loads(result_path.read_text())
    if "error" in result:
        return Row(tool, "failed", result["error"].splitlines()[0][:300], result)
    truth = read_truth(dataset_dir / "truth.csv")
    tags_path = dataset_dir / "pairs_tags.csv"
    tags = read_tags(tags_path) if tags_path.exists() else None
    clusters = read_clusters(result["clusters"])
    try:
        evaluation = evaluate(truth, clusters, tags)
    except ValueError as exc:  # e.g. clusters naming records the truth does not have
        return Row(tool, "failed", f"its clusters could not be scored: {exc}", result)
    result["largest_cluster"] = int(clusters["cluster_id"].value_counts().max()) if len(clusters) else 0
    return Row(tool, "ok", "", result, evaluation)


def run_all(
    datasets: list[str], tools: list[str], *, cache: Path = DEFAULT_CACHE, timeout: float = 1800,
    echo: bool = True, on_row: Callable[[dict[str, list[Row]]], None] | None = None,
) -> dict[str, list[Row]]:
    """Prepare each dataset and run each tool on it; ``{dataset: [Row per tool]}``.
    ``on_row`` is called with the results so far after every tool (to save partial results
    of a long run)."""
    results: dict[str, list[Row]] = {}
    for name in datasets:
        t = time.perf_counter()
        directory = prepare_dataset(name, cache)
        meta = _META[name] = json.loads((directory / "meta.json").read_text())
        if echo:
            print(f"[{name}] {meta['records']:,} records ready in {time.perf_counter() - t:.1f} s", flush=True)
        run_dir = cache / "runs" / name
        run_dir.mkdir(parents=True, exist_ok=True)
        rows = results[name] = []
        for tool_id in tools:
            row = run_tool(TOOLS[tool_id], directory, meta, run_dir, timeout)
            rows.append(row)
            if echo:
                print(f"[{name}] {_row_line(row)}", flush=True)
            if on_row is not None:
                on_row(results)
    return results


# ---------------------------------------------------------------------------- report


def _row_line(row: Row) -> str:
    if row.evaluation is None:
        return f"{row.tool.label}: {row.status}: {row.reason}"
    e = row.evaluation
    return (f"{row.tool.label}: P {e.precision:.4f} R {e.recall:.4f} F1 {e.f1:.4f} "
            f"in {row.result['seconds']:,.1f} s, {row.result['peak_mb']:,.0f} MB")


def _pairs(row: Row) -> str:
    n = row.result.get("pairs_compared")
    text = f"{n:,}" if isinstance(n, int) else "n/a"
    note = row.result.get("pairs_note")
    return f"{text} ({note})" if note else text


def results_table(rows: list[Row]) -> list[str]:
    lines = [
        "| tool | precision | recall | F1 | B-cubed F1 | wall s | peak MB | pairs compared | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if row.evaluation is None:
            status = "not built yet" if row.reason.startswith("not built yet") else row.status
            lines.append(f"| {row.tool.label} | – | – | – | – | – | – | – | {status}: {_cell(row.reason)} |")
            continue
        e, r = row.evaluation, row.result
        notes = "; ".join([
            f"largest cluster {r['largest_cluster']:,}", f"base {r['base_mb']:,.0f} MB", *(r.get("notes") or []),
        ])
        lines.append(
            f"| {row.tool.label} | {e.precision:.4f} | {e.recall:.4f} | {e.f1:.4f} | {e.bcubed_f1:.4f} "
            f"| {r['seconds']:,.1f} | {r['peak_mb']:,.0f} | {_pairs(row)} | {_cell(notes)} |"
        )
    return lines


def false_merge_table(rows: list[Row]) -> list[str]:
    scored = [r for r in rows if r.evaluation is not None and r.evaluation.false_merges]
    if not scored:
        return []
    kinds = list(scored[0].evaluation.false_merges)
    counts = scored[0].evaluation.false_merges
    lines = [
        "| tool | " + " | ".join(f"{k} ({counts[k].pairs:,})" for k in kinds) + " |",
        "|---|" + "---:|" * len(kinds),
    ]
    for row in scored:
        fm = row.evaluation.false_merges
        lines.append(f"| {row.tool.label} | " + " | ".join(f"{fm[k].rate:.1%}" for k in kinds) + " |")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
                break
    except OSError:
        pass
    versions = []
    for package in VERSIONED:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    return [
        f"- Machine: {os.cpu_count()} cores ({cpu}), {ram} RAM, {platform.system()} {platform.release()}; "
        "shared with other work while it ran, so wall times are indicative",
        f"- Python {platform.python_version()}; {', '.join(versions)}",
    ]


def report(results: dict[str, list[Row]], command: str, started: dt.datetime, progress: str = "") -> str:
    took = (dt.datetime.now(dt.UTC) - started).total_seconds() / 60
    lines = [
        "# Matching tools compared",
        "",
        "Written by `benchmarks/compare.py`; do not edit by hand, rerun it.",
        "",
        *([f"**Partial results: {progress}.**", ""] if progress else []),
        f"- Command: `{command}`",
        f"- Run: {started:%Y-%m-%d %H:%M} UTC, " + (f"{took:,.0f} min so far" if progress else f"took {took:,.0f} min"),
        *machine(),
        "",
        "Precision, recall and F1 are pairwise, from each tool's final clusters (every pair of",
        "records put in one cluster counts), scored by `matching.evaluate`; B-cubed F1 averages",
        "over records. Wall time covers fit, predict and clustering (not generating or",
        "normalizing the data, which all tools share, nor importing the tool); peak MB is the",
        "tool process's peak RSS, interpreter and loaded data included (\"base\" in the notes:",
        "what it held before the tool started). Pairs compared: candidate pairs the tool scored",
        "after blocking. Each tool ran alone in its own process, one after another.",
        "",
    ]
    for name, rows in results.items():
        meta = _meta_for(name)
        what = f"{meta.get('records', 0):,} records" if meta else ""
        lines += [f"## {name} ({what})", "", *results_table(rows), ""]
        fm = false_merge_table(rows)
        if fm:
            lines += [
                "False merges of tagged hard-negative pairs (share of the tagged pairs that ended in",
                "one cluster; tagged pairs per kind in brackets):",
                "",
                *fm,
                "",
            ]
    lines += ["## Configuration", ""]
    seen: set[str] = set()
    for tool in TOOLS.values():
        if tool.module in seen:
            continue
        seen.add(tool.module)
        lines += [adapter(tool).describe().strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


_META: dict[str, dict[str, Any]] = {}


def _meta_for(name: str) -> dict[str, Any]:
    return _META.get(name, {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per tool and dataset")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        parser.error(f"unknown tool(s) {unknown}; choose from {', '.join(TOOLS)}")
    started = dt.datetime.now(dt.UTC)
    command = "python benchmarks/compare.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    total = len(datasets) * len(tools)

    def save_partial(partial: dict[str, list[Row]]) -> None:
        done = sum(len(rows) for rows in partial.values())
        if done < total:
            note = f"run in progress: {done} of {total} tool runs done"
            args.out.write_text(report(partial, command.strip(), started, progress=note))

    results = run_all(datasets, tools, cache=args.cache, timeout=args.timeout, on_row=save_partial)
    text = report(results, command.strip(), started)
    args.out.write_text(text)
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: normalize a 1M-row customer export (names, 2 phones, 2 emails, 3 VINs, address).

Usage: python benchmarks/normalize.py [--records 1000000] [--seed 7] [--input export.parquet]

The export comes from the project's synthetic dealer-data generator (realistic repetition
and noise), or from ``--input`` (a Parquet file with the canonical columns, e.g.
``benchmarks/.cache/dealer-1m/raw.parquet``). It is written to Parquet first; a fresh child
process then reads it and times each field group of
:func:`matching.normalize.normalize_frame`, then the whole frame, then the two batch stages
built on it: :func:`matching.pipeline.prepare.prepare` (normalize + derived keys) and
:func:`matching.pipeline.blocking.candidates`; so the peak memory it reports belongs to
those, not to generating. Times are wall clock and CPU (the CPU figure is the one to
compare on a shared machine). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GROUPS = {
    "names (first, middle, last, suffix, company)": ["first_name", "middle_name", "last_name", "company"],
    "phones (2 columns)": ["phone_1", "phone_2"],
    "emails (2 columns)": ["email_1", "email_2"],
    "VINs (3 columns)": ["vin_1", "vin_2", "vin_3"],
    "address (street+unit, city, state, postal, country)": [
        "address_line1", "address_line2", "city", "state", "postal_code", "country",
    ],
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str) -> None:
    import pandas as pd

    from matching.normalize import normalize_frame

    df = pd.read_parquet(path)
    base = _rss_mb()
    rows = len(df)
    results = []
    t_all = time.perf_counter()
    for label, cols in GROUPS.items():
        sub = df[[c for c in cols if c in df.columns]]
        t = time.perf_counter()
        normalize_frame(sub)
        dt = time.perf_counter() - t
        distinct = int(sum(sub[c].nunique() for c in sub.columns))
        results.append({"group": label, "seconds": dt, "distinct": distinct})
    # The whole frame in one call, as the pipeline runs it (fresh caches are per call).
    t, c = time.perf_counter(), time.process_time()
    out = normalize_frame(df)
    whole, whole_cpu = time.perf_counter() - t, time.process_time() - c
    sum_groups = time.perf_counter() - t_all - whole
    peak_normalize = _rss_mb()
    del out
    stages = {}
    if "record_id" in df.columns:
        from matching.pipeline.blocking import candidates
        from matching.pipeline.prepare import prepare

        t, c = time.perf_counter(), time.process_time()
        prep = prepare(df)
        stages["prepare"] = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                             "peak_rss_mb": _rss_mb()}
        t, c = time.perf_counter(), time.process_time()
        cands = candidates(prep)
        stages["candidates"] = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                                "peak_rss_mb": _rss_mb(), "pairs": len(cands)}
    print(json.dumps({
        "rows": rows,
        "groups": results,
        "whole_seconds": whole,
        "whole_cpu": whole_cpu,
        "sum_groups_seconds": sum_groups,
        "rss_before_mb": base,
        "peak_rss_mb": peak_normalize,
        "stages": stages,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--input", help="a Parquet export to read instead of generating one")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    with tempfile.TemporaryDirectory() as tmp:
        if args.input:
            path, gen_s = args.input, 0.0
        else:
            from matching.synth import generate

            path = os.path.join(tmp, "customers.parquet")
            t = time.perf_counter()
            data = generate(args.records, seed=args.seed)
            data.customers.to_parquet(path)
            gen_s = time.perf_counter() - t
            del data
        proc = subprocess.run(
            [sys.executable, __file__, "--child", path], capture_output=True, text=True, check=True
        )
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = r["rows"]
    if args.input:
        print(f"# normalize benchmark: {rows:,} rows ({args.input})")
        command = f"python benchmarks/normalize.py --input {args.input}"
    else:
        print(f"# normalize benchmark: {rows:,} rows (synthetic dealer export, seed {args.seed}; generated in {gen_s:.1f} s)")
        command = f"python benchmarks/normalize.py --records {args.records} --seed {args.seed}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"command: {command}\n")
    print("| field group | distinct values | seconds | rows/s |")
    print("|---|---:|---:|---:|")
    for g in r["groups"]:
        print(f"| {g['group']} | {g['distinct']:,} | {g['seconds']:.2f} | {rows / g['seconds']:,.0f} |")
    print(f"| **whole frame (normalize_frame)** | | **{r['whole_seconds']:.2f}** | **{rows / r['whole_seconds']:,.0f}** |")
    print(f"\nnormalize_frame CPU {r['whole_cpu']:.2f} s")
    for stage, s in r["stages"].items():
        extra = f", {s['pairs']:,} pairs" if "pairs" in s else ""
        print(f"{stage}: {s['seconds']:.2f} s wall, {s['cpu']:.2f} s CPU, peak RSS {s['peak_rss_mb']:,.0f} MB{extra}")
    print()
    print(f"peak RSS {r['peak_rss_mb']:,.0f} MB (after reading the input: {r['rss_before_mb']:,.0f} MB; "
          f"normalizing added {r['peak_rss_mb'] - r['rss_before_mb']:,.0f} MB)")
    goal = 100_000
    rate = rows / r["whole_seconds"]
    print(f"goal >= {goal:,} rows/s: {'met' if rate >= goal else 'NOT met'} ({rate:,.0f} rows/s)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()

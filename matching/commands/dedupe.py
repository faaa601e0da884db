"""``matching dedupe INPUT --out DIR``: batch deduplication of a customer export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from matching.pipeline.dedupe import SCORERS, dedupe, run_files
from matching.pipeline.scoring import Thresholds


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="CSV or Parquet export")
    parser.add_argument("--out", type=Path, required=True, help="folder for the run's outputs")
    parser.add_argument("--mapping", type=Path, help="column mapping JSON (overrides header detection)")
    parser.add_argument("--scorer", choices=SCORERS, default="fellegi-sunter")
    parser.add_argument("--model", type=Path, help="a saved model.json to score with (no training)")
    parser.add_argument("--match-threshold", type=float, help="match weight threshold (log2 odds)")
    parser.add_argument("--possible-threshold", type=float, help="possible-match (review) weight threshold")
    parser.add_argument("--max-cluster-size", type=int, default=50)
    parser.add_argument("--dealer-phone", action="append", default=[], help="the dealer's own phone (junk); repeatable")
    parser.add_argument("--dealer-domain", action="append", default=[], help="the dealer's email domain (junk); repeatable")
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (it is shown only when stderr is a terminal)")


def run(args: argparse.Namespace) -> int:
    thresholds = None
    if args.match_threshold is not None or args.possible_threshold is not None:
        base = Thresholds()
        thresholds = Thresholds(
            match=args.match_threshold if args.match_threshold is not None else base.match,
            possible=args.possible_threshold if args.possible_threshold is not None else base.possible,
        )
    try:
        result = dedupe(
            args.input,
            mapping=args.mapping,
            scorer=args.scorer,
            model=args.model,
            thresholds=thresholds,
            max_cluster_size=args.max_cluster_size,
            dealer_phones=tuple(args.dealer_phone),
            dealer_domains=tuple(args.dealer_domain),
            progress=not args.quiet and sys.stderr.isatty(),
            out=args.out,
            report=not args.no_report,
        )
    except (OSError, ValueError) as exc:
        print(f"matching dedupe: {exc}", file=sys.stderr)
        return 1
    paths = run_files(args.out, report=not args.no_report)
    s = result.stats
    print(f"read {s['input_rows']:,} rows: {s['records']:,} records, {s['rejects']:,} rejects")
    print(f"{s['candidate_pairs']:,} candidate pairs; decisions: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(s['decisions'].items())))
    print(f"{s['clusters']:,} customers from {s['records']:,} records "
          f"({s['records'] - s['clusters']:,} merged away)")
    print("timings (s): " + json.dumps(s["timings"]))
    print("wrote: " + ", ".join(str(p) for p in paths.values()))
    return 0

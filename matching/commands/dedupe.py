"""``matching dedupe INPUT --out DIR``: batch deduplication of a customer export."""

from __future__ import annotations

import argparse
import json
import os
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
    parser.add_argument("--provenance", action="store_true",
                        help="also write provenance.csv: the record each golden value came from, and the rule")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (it is shown only when stderr is a terminal)")


def _small_pages() -> None:
    """Have numpy back its large arrays with ordinary pages, unless the environment says
    otherwise (``NUMPY_MADVISE_HUGEPAGE``, read by numpy itself).

    numpy asks Linux for 2 MB pages for arrays of 4 MB and more; the kernel then counts
    each such page in full where only part of it is used. On a 1M-record run the peak
    was 1.91-2.05 GB with them (12 runs) and 1.86-1.96 GB without (8 runs; 7 under
    1.91), in the same time. A library call leaves numpy as it is; this is the command's
    own choice for its own process.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # pragma: no cover - numpy without the switch
        return
    _set_madvise_hugepage(False)


def run(args: argparse.Namespace) -> int:
    _small_pages()
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
            provenance=args.provenance,
        )
    except (OSError, ValueError) as exc:
        print(f"matching dedupe: {exc}", file=sys.stderr)
        return 1
    paths = run_files(args.out, report=not args.no_report, provenance=args.provenance)
    s = result.stats
    print(f"read {s['input_rows']:,} rows: {s['records']:,} records, {s['rejects']:,} rejects")
    print(f"{s['candidate_pairs']:,} candidate pairs; decisions: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(s['decisions'].items())))
    print(f"{s['clusters']:,} customers from {s['records']:,} records "
          f"({s['records'] - s['clusters']:,} merged away)")
    checks = s.get("golden_issues")
    if checks:
        print(f"golden record checks: {checks['records_with_errors']:,} with errors the API would refuse, "
              f"{checks['records_with_warnings_only']:,} with warnings only (by field in summary.json)")
    print("timings (s): " + json.dumps(s["timings"]))
    print("wrote: " + ", ".join(str(p) for p in paths.values()))
    return 0

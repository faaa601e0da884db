"""``matching evaluate``: score a clustering against the truth (pairwise and B-cubed
precision/recall/F1, false merges of tagged hard negatives), as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from matching.evaluate import evaluate, read_clusters, read_tags, read_truth


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--truth", required=True, metavar="T", help="CSV with record_id, entity_id")
    parser.add_argument(
        "--clusters",
        required=True,
        metavar="C",
        help="CSV with record_id, cluster_id (truth records absent here count as singletons)",
    )
    parser.add_argument(
        "--tags",
        metavar="TAGS",
        help="CSV of must-not-merge pairs: record_id_a, record_id_b, kind (counts false merges per kind)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    """Evaluate and print; 0 on success, 1 when an input is missing or invalid."""
    try:
        truth = read_truth(args.truth)
        clusters = read_clusters(args.clusters)
        tags = read_tags(args.tags) if getattr(args, "tags", None) else None
        result = evaluate(truth, clusters, tags)
    except (OSError, ValueError) as exc:
        # ValueError covers bad CSVs and the evaluate() conventions (duplicated ids, ...);
        # both already say what is wrong, so print the message, not a traceback.
        print(f"matching evaluate: error: {exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result)
    return 0

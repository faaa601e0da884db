"""``matching explain RUN_DIR ID_A ID_B``: why two records were (not) merged, as a waterfall."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from matching.pipeline.compare import COMPARISON_BY_NAME, COMPARISONS
from matching.pipeline.scoring import VETOES


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a folder written by `matching dedupe`")
    parser.add_argument("id_a")
    parser.add_argument("id_b")


def explain_pair(run_dir: Path, id_a: str, id_b: str) -> str:
    """The explanation of one scored pair of a run, as text."""
    pairs = pd.read_csv(run_dir / "pairs.csv", dtype=str, keep_default_na=False)
    hit = pairs[((pairs.record_id_a == id_a) & (pairs.record_id_b == id_b))
                | ((pairs.record_id_a == id_b) & (pairs.record_id_b == id_a))]
    clusters = pd.read_csv(run_dir / "clusters.csv", dtype=str, keep_default_na=False).set_index("record_id")["cluster_id"]
    missing = [i for i in (id_a, id_b) if i not in clusters.index]
    if missing:
        raise KeyError(f"record id(s) not in this run: {', '.join(missing)}")
    same = clusters[id_a] == clusters[id_b]
    lines = [f"{id_a} and {id_b}: {'same' if same else 'different'} cluster "
             f"({clusters[id_a]}{'' if same else ' / ' + clusters[id_b]})"]
    if hit.empty:
        lines.append("This pair was never compared: no blocking rule put them together"
                     + (" (they are joined through other records of the cluster)." if same else "."))
        return "\n".join(lines)
    row = hit.iloc[0]
    model = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
    running = float(model.get("prior_weight", 0.0))
    width = 28
    lines.append(f"{'prior (share of candidate pairs that match)':<{width + 22}} {running:+8.2f}")
    for comp in COMPARISONS:
        level = row[f"{comp.name}_level"]
        w = float(row[f"{comp.name}_weight"])
        running += w
        desc = "no value on one side" if level == "missing" else next(
            (lv.description for lv in COMPARISON_BY_NAME[comp.name].levels if lv.label == level), level)
        bar = ("+" if w > 0 else "-") * min(int(abs(w) + 0.5), 20)
        lines.append(f"{comp.name:<14}{level:<12}{w:+8.2f} {running:+8.2f}  {bar:<20} {desc}")
    lines.append(f"{'total weight':<26}{float(row['weight']):+8.2f}   probability {float(row['probability']):.4f}")
    th = model.get("thresholds")
    if th:
        lines.append(f"thresholds: match >= {th['match']}, possible >= {th['possible']}")
    lines.append(f"decision: {row['decision']}")
    if row["vetoed_by"]:
        lines.append(f"overruled by guard '{row['vetoed_by']}': {VETOES.get(row['vetoed_by'], '')}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        print(explain_pair(args.run_dir, args.id_a, args.id_b))
    except (OSError, KeyError) as exc:
        print(f"matching explain: {exc}", file=sys.stderr)
        return 1
    return 0

"""Run one tool on one prepared dataset, in a process of its own.

    python benchmarks/compare_tools/worker.py TOOL_ID DATASET_DIR OUT_DIR

Loads the dataset and imports the tool (neither is timed), then times the adapter's
``run``. Writes ``OUT_DIR/clusters.csv`` and ``OUT_DIR/result.json`` (wall seconds, peak
RSS of this process in MB, pairs compared, notes, tool version) and exits 0; on an error
writes ``result.json`` with ``error`` and exits 1. Peak memory is the whole process
(interpreter, pandas and the loaded dataset included: ``base_mb`` says how much of it was
there before the tool started).
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1])]  # benchmarks/ (for compare_tools), the repo

from compare_tools import TOOLS  # noqa: E402
from compare_tools.common import Clock, Dataset  # noqa: E402


def main(argv: list[str]) -> int:
    tool_id, dataset_dir, out_dir = argv
    tool = TOOLS[tool_id]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {"tool": tool_id}
    try:
        adapter = importlib.import_module(f"compare_tools.{tool.module}")
        data = Dataset.open(Path(dataset_dir))
        result["version"] = adapter.load()
        workdir = out / "work"
        workdir.mkdir(exist_ok=True)
        clock = Clock()
        output = adapter.run(data, tool.variant, clock, workdir)
        clock.stop()
        output.clusters[["record_id", "cluster_id"]].to_csv(out / "clusters.csv", index=False)
        result.update(
            seconds=clock.seconds,
            peak_mb=clock.peak_mb,
            base_mb=clock.base_mb,
            pairs_compared=output.pairs_compared,
            pairs_note=output.pairs_note,
            notes=output.notes,
            clusters=str(out / "clusters.csv"),
        )
        code = 0
    except Exception as exc:  # reported in the table, not raised: one tool's failure is data
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        code = 1
    finally:
        # What a tool spilled there (DuckDB's temporary files: over 30 GB for Splink at
        # 1M records) is of no use after the run, and would fill the disk for the next.
        shutil.rmtree(out / "work", ignore_errors=True)
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

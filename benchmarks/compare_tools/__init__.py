"""Tool adapters for ``benchmarks/compare.py``: one module per tool, one contract.

Each adapter module defines:

- ``unavailable(meta, variant) -> str | None``: a reason not to run this tool on this
  dataset (not installed, not built yet, too large for it), decided without importing
  the tool, or None to run it.
- ``load() -> str``: import the tool and return its version; not timed.
- ``run(data, variant, clock, workdir) -> ToolOutput``: fit, predict and cluster.
  The clock is running when ``run`` starts; an adapter that does extra work only for
  the report (counting pairs) calls ``clock.stop()`` before it.

``TOOLS`` lists the tool ids the CLI accepts, in table order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    id: str
    label: str
    module: str
    variant: str


TOOLS: dict[str, Tool] = {
    t.id: t
    for t in (
        Tool("matching-logic", "matching (logic replay)", "matching_adapter", "logic"),
        Tool("matching-dedupe", "matching dedupe", "matching_adapter", "dedupe"),
        Tool("splink", "splink (EM-trained)", "splink_adapter", "standard"),
        Tool("splink-expert", "splink (expert, fixed conflicts)", "splink_adapter", "fixed_conflicts"),
        Tool("recordlinkage", "recordlinkage (ECM)", "recordlinkage_adapter", "ecm"),
        Tool("custmatch", "custmatch (forest, 300 oracle labels)", "custmatch_adapter", "forest"),
    )
}

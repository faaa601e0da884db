"""This project: the Customer Matching Logic replayed, and batch ``matching.dedupe``.

``logic``: every record, oldest ``created_at`` first, is saved into an in-memory
``CustomerStore`` with ``searchForDuplicate: true`` (fuzzy name match), as the real-time
API would receive it; it either joins the customer it matched or creates one. The store
normalizes the raw export values itself, so it gets the raw records (its normalization
time is inside its wall time).

``dedupe``: ``matching.dedupe(records, mapping=..., scorer="fellegi-sunter")``; until it
exists the row says "not built yet".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from compare_tools.common import Clock, Dataset, ToolOutput


def unavailable(meta: dict[str, Any], variant: str) -> str | None:
    if variant == "dedupe":
        import matching

        if not hasattr(matching, "dedupe"):
            return "not built yet: `matching.dedupe` does not exist; this row fills in once it does"
    return None


def load() -> str:
    from importlib import metadata

    import matching.store  # noqa: F401

    return metadata.version("matching")


def _canonical(data: Dataset) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Raw records in the canonical export columns, and the mapping used (FEBRL)."""
    if data.kind == "dealer":
        return data.raw, None
    from matching.febrl import load_febrl_mapping

    mapping = load_febrl_mapping()
    out = pd.DataFrame(index=data.raw.index)
    for target, source in mapping["columns"].items():
        if isinstance(source, list):
            parts = data.raw[source].astype(object).fillna("")
            out[target] = parts.agg(" ".join, axis=1).str.strip().replace("", None)
        else:
            out[target] = data.raw[source]
    return out, mapping


def run(data: Dataset, variant: str, clock: Clock, workdir: Path) -> ToolOutput:
    if variant == "dedupe":
        return _dedupe(data)
    return _replay(data)


def _replay(data: Dataset) -> ToolOutput:
    from matching.logic import MatchPolicy
    from matching.records import request_from_row
    from matching.store import CustomerStore

    frame, _ = _canonical(data)
    if "created_at" in frame.columns:
        frame = frame.sort_values(["created_at", "record_id"], na_position="first")
    else:
        frame = frame.sort_values("record_id")
    store = CustomerStore(":memory:", policy=MatchPolicy(name_match="fuzzy"))
    uuids, candidates, matched = [], 0, 0
    for row in frame.to_dict("records"):
        uuid, created, decision = store.save(request_from_row(row, search_for_duplicate=True), department="bench")
        uuids.append(uuid)
        matched += not created
        if decision.trace:  # step 1's output: customers found by communications and VINs
            candidates += len(decision.trace[0].output_ids)
    store.close()
    clusters = pd.DataFrame({"record_id": frame["record_id"].astype(str).to_numpy(), "cluster_id": uuids})
    notes = [f"{matched:,} saves matched an existing customer"]
    if data.kind == "febrl":
        notes.append("FEBRL has no phone, email or VIN, the only keys the logic searches: it cannot link")
    return ToolOutput(clusters, candidates, "record vs stored customer", notes)


def _dedupe(data: Dataset) -> ToolOutput:
    import matching

    frame, mapping = _canonical(data)
    records = data.raw if mapping is not None else frame
    result = matching.dedupe(records, mapping=mapping, scorer="fellegi-sunter")
    clusters = result.clusters[["record_id", "cluster_id"]].astype({"record_id": str})
    stats = getattr(result, "stats", None) or {}
    pairs = stats.get("candidate_pairs")
    notes = []
    if stats.get("rejects"):
        notes.append(f"{stats['rejects']:,} input rows rejected (scored as singletons)")
    return ToolOutput(clusters, int(pairs) if pairs is not None else None, "", notes)


def describe() -> str:
    return """### matching (this project)

- **logic replay** (`matching-logic`): the documented Customer Matching Logic, as the
  real-time API runs it: records replayed oldest `created_at` first through
  `CustomerStore.save(searchForDuplicate=true)` with `name_match="fuzzy"`; each record
  joins the customer it matched or creates one. Raw export values go in (the store
  normalizes them itself, inside the timed part). Pairs compared = customers the store's
  phone/email/VIN lookups (step 1) returned, summed over saves. The logic only searches
  phones, emails, VINs and customer keys, which FEBRL does not have: it is run on FEBRL
  anyway (mapped with `datasets/febrl/mapping.json`) and links nothing, by design.
- **dedupe** (`matching-dedupe`): `matching.dedupe(records, mapping=None or FEBRL's
  mapping.json, scorer="fellegi-sunter").clusters` with its defaults (raw records in: it
  reads and normalizes them itself, inside the timed part). Pairs compared =
  `stats["candidate_pairs"]`. While `matching.dedupe` does not exist the row says "not
  built yet"."""

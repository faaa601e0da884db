"""custmatch: a random forest trained on ~300 labelled pairs, as a careful user runs it.

The user's workflow from its README: ``custmatch sample config --n 200`` (random
candidate pairs), label them; ``custmatch sample config --active labels --n 100`` (the
pairs the forest is least sure of), label them; ``custmatch run config --labels``.
Here an oracle answers each pair the sampler picked from ``truth.csv`` (1 = same true
customer), so the labels are what a careful user would give. Both sampling steps and
the run are timed (the labelling itself takes no time here).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from compare_tools.common import Clock, Dataset, ToolOutput

RANDOM_LABELS = 200
ACTIVE_LABELS = 100
SEED = 0


def unavailable(meta: dict[str, Any], variant: str) -> str | None:
    from importlib.util import find_spec

    if find_spec("custmatch") is None:
        return "not installed: pip install -e '.[bench]'"
    return None


def _offline_nicknames(workdir: Path) -> None:
    """custmatch downloads carltonnorthern/nicknames' names.csv on first use; offline, give it
    the same list as shipped by the `nicknames` package (its error message asks the user
    to put the file in its data folder)."""
    data = workdir / "custmatch_data"
    data.mkdir(parents=True, exist_ok=True)
    target = data / "nicknames.csv"
    if not target.exists():
        import nicknames

        shutil.copy(Path(nicknames.__file__).parent / "names.csv", target)
    os.environ["CUSTMATCH_DATA"] = str(data)


def load() -> str:
    from importlib import metadata

    import custmatch.labels  # noqa: F401
    import custmatch.pipeline  # noqa: F401

    return f"custmatch {metadata.version('custmatch')}"


def _dealer_config(path: str) -> dict[str, Any]:
    columns = {
        "record_id": "record_id", "first_name": "first_name", "middle_initial": "middle_initial",
        "last_name": "last_name", "email": "email_1", "phone": "phone_1", "email_2": "email_2",
        "phone_2": "phone_2", "address": "street", "addr_unit": "unit", "updated_at": "created_at",
        "postal_code": "postal_code", "city": "city", "suffix": "suffix", "customer_key": "customer_key",
        "vin_1": "vin_1", "vin_2": "vin_2", "vin_3": "vin_3",
    }
    return {
        "sources": [{"name": "dealer", "path": path, "columns": columns}],
        "country": "US",
        "aliases": {"phone": ["phone_2"], "email": ["email_2"]},
        "extra_fields": [
            {"name": "postal_code", "compare": "exact"},
            {"name": "city", "compare": "similarity"},
            {"name": "suffix", "compare": "exact"},
            {"name": "customer_key", "compare": "exact"},
            {"name": "vin_1", "compare": "exact"},
            {"name": "vin_2", "compare": "exact"},
            {"name": "vin_3", "compare": "exact"},
        ],
        "extra_blocking": [["vin_1"], ["vin_2"], ["vin_3"], ["customer_key"], ["last_name", "postal_code"]],
        "twin_guard": True,
        "suspect_records": False,
    }


def _febrl_config(paths: dict[str, str]) -> dict[str, Any]:
    columns = {
        "record_id": "record_id", "first_name": "first_name", "last_name": "last_name",
        "date_of_birth": "date_of_birth", "ssn": "soc_sec_id", "addr_number": "street_number",
        "addr_street": "address_1", "addr_unit": "address_2", "suburb": "suburb",
        "postcode": "postcode", "state": "state",
    }
    config: dict[str, Any] = {
        "sources": [{"name": name, "path": path, "columns": columns} for name, path in paths.items()],
        "country": "AU",
        "date_order": "ymd",
        "extra_fields": [
            {"name": "suburb", "compare": "similarity"},
            {"name": "postcode", "compare": "exact"},
            {"name": "state", "compare": "exact"},
        ],
        "extra_blocking": [["postcode"]],
        "suspect_records": False,
    }
    if len(paths) > 1:
        config["unique_sources"] = True  # FEBRL4's two files hold no duplicates within a file
    return config


def _answer(pairs_csv: Path, entity: dict[str, str]) -> pd.DataFrame:
    """The oracle: label each sampled pair 1 if both records are one true customer."""
    rows = pd.read_csv(pairs_csv, dtype=str, keep_default_na=False)
    ids_a = rows["a"].str.split(":", n=1).str[1]
    ids_b = rows["b"].str.split(":", n=1).str[1]
    rows["label"] = [int(entity[a] == entity[b]) for a, b in zip(ids_a, ids_b, strict=True)]
    return rows


def run(data: Dataset, variant: str, clock: Clock, workdir: Path) -> ToolOutput:
    from custmatch import labels, pipeline

    _offline_nicknames(workdir)
    truth = pd.read_csv(data.truth_path, dtype=str)
    entity = dict(zip(truth["record_id"], truth["entity_id"], strict=True))
    prepared = data.prepared
    if data.kind == "dealer":
        prepared.to_csv(workdir / "records.csv", index=False)
        config = _dealer_config("records.csv")
    else:
        paths = {}
        groups = prepared.groupby("source") if data.linkage else [("febrl", prepared)]
        for name, part in groups:
            part.drop(columns=["source"], errors="ignore").to_csv(workdir / f"{name}.csv", index=False)
            paths[name] = f"{name}.csv"
        config = _febrl_config(paths)
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config, indent=1))

    labels.sample(str(config_path), RANDOM_LABELS, str(workdir / "to_label.csv"), seed=SEED)
    answered = _answer(workdir / "to_label.csv", entity)
    answered.to_csv(workdir / "labels.csv", index=False)
    labels.sample_active(str(config_path), str(workdir / "labels.csv"), ACTIVE_LABELS,
                         str(workdir / "more.csv"), seed=SEED)
    answered = pd.concat([answered, _answer(workdir / "more.csv", entity)], ignore_index=True)
    answered.to_csv(workdir / "labels.csv", index=False)
    out = workdir / "out"
    summary = pipeline.run(str(config_path), str(workdir / "labels.csv"), str(out), seed=SEED, log=lambda *_: None)
    clusters = pd.read_csv(out / "clusters.csv", dtype=str)
    result = pd.DataFrame({"record_id": clusters["record_id"], "cluster_id": clusters["customer_id"]})
    n_match = int(answered["label"].sum())
    notes = [f"{len(answered)} oracle labels ({n_match} matches)"]
    warnings = summary.get("warnings") or []
    notes += [f"custmatch warns: {w}" for w in warnings[:2]]
    return ToolOutput(result, summary.get("candidate_pairs"), "", notes)


def describe() -> str:
    return f"""### custmatch (`custmatch`)

custmatch 0.1 (random forest on labelled pairs; threshold chosen on whole clusters from
cross-fitted labels), on the shared normalized columns, used as its README says a careful
user would: `sample --n {RANDOM_LABELS}` (random candidate pairs), label them, `sample --active
--n {ACTIVE_LABELS}` (the pairs its forest is least sure of), label them, `run`. An oracle
answers every sampled pair from `truth.csv`, so the {RANDOM_LABELS + ACTIVE_LABELS} labels are
error-free. Sampling and the run are timed; the run includes its household and golden-record
stages, which cannot be turned off.
- Dealer data: phone_1/email_1 as its phone/email with phone_2/email_2 as `aliases` (so
  both slots are profiled, blocked and compared), street as its address with the unit,
  `country: US`, `updated_at` = created_at; extra fields ZIP (exact), city (similarity),
  suffix, customer key and vin_1..3 (exact), extra blocking on each VIN, customer key and
  last name+ZIP; `twin_guard` on. Default blocking (its fixed keys, blocks over 60 dropped).
- FEBRL: first/last name, date of birth, SSN, street number/street/unit, `country: AU`,
  extra fields suburb (similarity), postcode and state (exact), extra blocking on
  postcode; FEBRL4 as two sources with `unique_sources` (neither file has duplicates).
- Offline: custmatch downloads a nickname list on first use; it is given the same list
  (carltonnorthern/nicknames) from the `nicknames` package instead, and its suspect-record
  flags (a profanity-list download; they never change a match) are off."""

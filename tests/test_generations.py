"""Father and son of one name: the namesake_nearby guard and the middle-name cluster conflict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.pipeline.blocking import candidates
from matching.pipeline.cluster import cluster, conflicts
from matching.pipeline.compare import compare, generation_marked, suffix_nearby
from matching.pipeline.prepare import prepare
from matching.pipeline.scoring import FellegiSunterModel, score, train

_COLUMNS = ("record_id", "customer_key", "first_name", "middle_name", "last_name", "company",
            "phone_1", "phone_2", "email_1", "email_2", "address_line1", "address_line2",
            "city", "state", "postal_code", "country", "vin_1", "vin_2", "vin_3", "created_at")


def _rec(**kw: str) -> dict[str, str | None]:
    base: dict[str, str | None] = dict.fromkeys(_COLUMNS)
    base.update(kw)
    return base


def _decisions(rows: list[dict[str, str | None]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(decision, veto) per compared pair of ids, every pair over the match threshold on
    weight alone: only the guards decide."""
    prep = prepare(pd.DataFrame(rows))
    cp = compare(prep, candidates(prep))
    model = FellegiSunterModel.from_json(train(prep, cp).to_json())
    model.thresholds.match = -100.0
    scores = score(prep, cp, model)
    ids = prep.record_ids
    return {(ids[a], ids[b]): (str(d), str(v))
            for a, b, d, v in zip(cp.a, cp.b, scores.decision, scores.vetoed_by, strict=True)}


def _robinsons() -> list[dict[str, str | None]]:
    # Jack Robinson Jr (his first name as he writes it) lives at 14 Holly Ln; two records
    # of a John Robinson there show no suffix and share only the house: his father, or
    # him under his formal name? Mary Robinson is another initial; the John Robinson of
    # another ZIP code is nobody's namesake.
    home = {"last_name": "Robinson", "address_line1": "14 Holly Ln", "postal_code": "43210"}
    return [
        _rec(record_id="J", first_name="Jack", **{**home, "last_name": "Robinson Jr"}, phone_1="614-555-0101"),
        _rec(record_id="A", first_name="John", **home, phone_1="614-555-0177"),
        _rec(record_id="B", first_name="John", **home, phone_1="614-555-0188"),
        _rec(record_id="M", first_name="Mary", **home, phone_1="614-555-0199"),
        _rec(record_id="X", first_name="John", last_name="Robinson", address_line1="9 Oak St", postal_code="94110"),
    ]


def test_a_suffix_under_another_first_name_marks_its_namesakes() -> None:
    prep = prepare(pd.DataFrame(_robinsons()))
    near = dict(zip(prep.record_ids, suffix_nearby(prep), strict=True))
    assert near == {"J": True, "A": True, "B": True, "M": False, "X": False}
    # Not marked by the same-name rule: Jack is not John.
    assert not generation_marked(prep)[list(prep.record_ids).index("A")]


def test_a_family_that_moved_keeps_its_mark() -> None:
    # Joseph Burton Jr wrote his suffix at the old house; at the new one (another ZIP
    # code) his records share his cell with it, and a record of a Joseph Burton there
    # shares nothing: father or son. A Joseph Burton elsewhere is a stranger.
    rows = [
        _rec(record_id="OLD", first_name="Joseph", last_name="Burton Jr", phone_1="912-555-0101",
             address_line1="2373 Hickory Ct", postal_code="31474"),
        _rec(record_id="NEW", first_name="Joseph", last_name="Burton", phone_1="912-555-0101",
             address_line1="236 Dogwood St", postal_code="31449"),
        _rec(record_id="DAD", first_name="Joseph", last_name="Burton", phone_1="912-555-0177",
             address_line1="236 Dogwood St", postal_code="31449"),
        _rec(record_id="FAR", first_name="Joseph", last_name="Burton", phone_1="912-555-0199",
             address_line1="5 Main St", postal_code="90210"),
    ]
    prep = prepare(pd.DataFrame(rows))
    near = dict(zip(prep.record_ids, suffix_nearby(prep), strict=True))
    assert near == {"OLD": True, "NEW": True, "DAD": True, "FAR": False}
    marked = dict(zip(prep.record_ids, generation_marked(prep), strict=True))
    assert not marked["NEW"] and not marked["DAD"]  # the same-ZIP rule alone misses them


def test_suffix_nearby_widens_generation_marked() -> None:
    for rows in (_robinsons(),):
        prep = prepare(pd.DataFrame(rows))
        assert not (generation_marked(prep) & ~suffix_nearby(prep)).any()
    assert not suffix_nearby(prepare(pd.DataFrame([_rec(record_id="A", first_name="Ann", last_name="Lee")]))).any()


def test_namesakes_near_a_suffix_need_personal_evidence() -> None:
    rows = _robinsons()
    got = _decisions(rows)
    # Only the house and the name: father or son, the score may not merge them.
    assert got[("A", "B")] == ("possible", "namesake_nearby")
    # A car only one man carries lets the score decide (one man's two visits).
    rows[1]["vin_1"] = rows[2]["vin_1"] = "1HGCM82633A004352"
    assert _decisions(rows)[("A", "B")] == ("match", "")
    # So does his own cell.
    rows = _robinsons()
    rows[2]["phone_1"] = rows[1]["phone_1"]
    assert _decisions(rows)[("A", "B")] == ("match", "")


def test_namesakes_far_from_any_suffix_are_left_to_the_score() -> None:
    rows = [r for r in _robinsons() if r["record_id"] != "J"]  # nobody writes a suffix
    assert _decisions(rows)[("A", "B")] == ("match", "")


def _michaels() -> list[dict[str, str | None]]:
    # Michael Andrew and Michael Richard Hernandez (father and son) at one address, and
    # a record of one of them with no middle name between them.
    home = {"first_name": "Michael", "last_name": "Hernandez", "address_line1": "13 Lincoln Pl", "postal_code": "30314"}
    return [
        _rec(record_id="A", middle_name="Andrew", **home),
        _rec(record_id="N", **home),
        _rec(record_id="R", middle_name="Richard", **home),
    ]


def test_a_chain_through_a_record_without_middle_name_splits_two_middle_names() -> None:
    prep = prepare(pd.DataFrame(_michaels()))
    pos = {r: i for i, r in enumerate(prep.record_ids)}
    assert conflicts(prep, np.array([pos["A"]]), np.array([pos["R"]])).all()
    assert not conflicts(prep, np.array([pos["A"], pos["N"]]), np.array([pos["N"], pos["R"]])).any()
    # A-N strong, N-R weaker: the component splits at N-R.
    res = cluster(prep, np.array([pos["A"], pos["N"]]), np.array([pos["N"], pos["R"]]), np.array([30.0, 20.0]))
    lab = dict(zip(prep.record_ids, res.labels, strict=True))
    assert lab["A"] == lab["N"] != lab["R"]
    assert res.split_components == 1


def test_middle_names_do_not_split_an_initial_or_an_agreeing_identity() -> None:
    rows = _michaels()
    rows[2]["middle_name"] = "A."  # an initial of Andrew
    prep = prepare(pd.DataFrame(rows))
    pos = {r: i for i, r in enumerate(prep.record_ids)}
    assert not conflicts(prep, np.array([pos["A"]]), np.array([pos["R"]])).any()
    # Different middle names but one date of birth: one man, the score decides.
    dated = pd.DataFrame(_michaels()).assign(date_of_birth="1961-04-09")
    prep = prepare(dated)
    pos = {r: i for i, r in enumerate(prep.record_ids)}
    assert not conflicts(prep, np.array([pos["A"]]), np.array([pos["R"]])).any()

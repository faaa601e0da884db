"""Tests for matching.evaluate and the ``matching evaluate`` command."""

from __future__ import annotations

import argparse
import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.commands import evaluate as evaluate_command
from matching.evaluate import (
    Evaluation,
    FalseMergeCount,
    evaluate,
    pairs_from_clusters,
    read_clusters,
    read_tags,
    read_truth,
)


def frames(
    truth: dict[str, object], clusters: dict[str, object]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.DataFrame({"record_id": list(truth), "entity_id": list(truth.values())}),
        pd.DataFrame({"record_id": list(clusters), "cluster_id": list(clusters.values())}),
    )


def tag_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_id_a", "record_id_b", "kind"])


# --- hand-computed examples ----------------------------------------------------------


def test_hand_example_symmetric() -> None:
    # truth:    A={1,2,3}  B={4,5}  C={6}
    # clusters: X={1,2}    Y={3,4,5}  Z={6}
    # true pairs: C(3,2)+C(2,2) = 3+1 = 4; predicted pairs: C(2,2)+C(3,2) = 1+3 = 4
    # TP: cells X∩A=2 -> 1, Y∩A=1 -> 0, Y∩B=2 -> 1, Z∩C=1 -> 0: TP = 2, FP = 2, FN = 2
    # P = R = F1 = 2/4 = 0.5
    # B-cubed precision per record |cluster ∩ entity| / |cluster|:
    #   1: 2/2, 2: 2/2, 3: 1/3, 4: 2/3, 5: 2/3, 6: 1/1 -> sum 14/3 -> mean 7/9
    # B-cubed recall per record |cluster ∩ entity| / |entity|:
    #   1: 2/3, 2: 2/3, 3: 1/3, 4: 2/2, 5: 2/2, 6: 1/1 -> sum 14/3 -> mean 7/9
    truth, clusters = frames(
        {"1": "A", "2": "A", "3": "A", "4": "B", "5": "B", "6": "C"},
        {"1": "X", "2": "X", "3": "Y", "4": "Y", "5": "Y", "6": "Z"},
    )
    e = evaluate(truth, clusters)
    assert (e.true_positives, e.false_positives, e.false_negatives) == (2, 2, 2)
    assert (e.precision, e.recall, e.f1) == (0.5, 0.5, 0.5)
    assert e.bcubed_precision == pytest.approx(7 / 9)
    assert e.bcubed_recall == pytest.approx(7 / 9)
    assert e.bcubed_f1 == pytest.approx(7 / 9)
    assert (e.n_records, e.n_clusters, e.n_entities, e.n_missing) == (6, 3, 3, 0)


def test_hand_example_asymmetric() -> None:
    # truth:    A={a,b,c,d}  B={e}
    # clusters: X={a,b}  Y={c}  Z={d,e}
    # true pairs: C(4,2) = 6; predicted: C(2,2)+C(2,2) = 2
    # TP: X∩A=2 -> 1, Y∩A=1, Z∩A=1, Z∩B=1 -> 0: TP = 1, FP = 1, FN = 5
    # P = 1/2, R = 1/6, F1 = 2*(1/2)(1/6)/(1/2+1/6) = (1/6)/(2/3) = 1/4
    # B-cubed precision: a 2/2, b 2/2, c 1/1, d 1/2, e 1/2 -> 4/5 = 0.8
    # B-cubed recall:    a 2/4, b 2/4, c 1/4, d 1/4, e 1/1 -> 2.5/5 = 0.5
    # B-cubed F1 = 2*0.8*0.5/1.3 = 8/13
    truth, clusters = frames(
        {"a": "A", "b": "A", "c": "A", "d": "A", "e": "B"},
        {"a": "X", "b": "X", "c": "Y", "d": "Z", "e": "Z"},
    )
    e = evaluate(truth, clusters)
    assert (e.true_positives, e.false_positives, e.false_negatives) == (1, 1, 5)
    assert e.predicted_pairs == 2 and e.true_pairs == 6
    assert e.precision == pytest.approx(0.5)
    assert e.recall == pytest.approx(1 / 6)
    assert e.f1 == pytest.approx(0.25)
    assert e.bcubed_precision == pytest.approx(0.8)
    assert e.bcubed_recall == pytest.approx(0.5)
    assert e.bcubed_f1 == pytest.approx(8 / 13)


# --- edge cases ----------------------------------------------------------------------


def test_all_singletons() -> None:
    # truth A={1,2} B={3,4,5}; every record alone: no predicted pairs -> P = 1.0 (nothing
    # claimed), R = 0/4 = 0, F1 = 0. B-cubed P = 1; R = (1/2+1/2+1/3+1/3+1/3)/5 = 2/5.
    truth, clusters = frames(
        {"1": "A", "2": "A", "3": "B", "4": "B", "5": "B"},
        {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5},
    )
    e = evaluate(truth, clusters)
    assert (e.precision, e.recall, e.f1) == (1.0, 0.0, 0.0)
    assert (e.true_positives, e.false_positives, e.false_negatives) == (0, 0, 4)
    assert e.bcubed_precision == 1.0
    assert e.bcubed_recall == pytest.approx(0.4)
    assert e.n_clusters == 5


def test_one_big_cluster_over_singletons() -> None:
    # truth: 4 different people; one cluster: 6 predicted pairs, all wrong. No true
    # pairs -> R = 1.0 (nothing to find), P = 0, F1 = 0. B-cubed P = 1/4, R = 1.
    truth, clusters = frames(
        {"1": 1, "2": 2, "3": 3, "4": 4}, {"1": "x", "2": "x", "3": "x", "4": "x"}
    )
    e = evaluate(truth, clusters)
    assert (e.precision, e.recall, e.f1) == (0.0, 1.0, 0.0)
    assert e.false_positives == 6
    assert e.bcubed_precision == pytest.approx(0.25)
    assert e.bcubed_recall == 1.0
    assert e.n_clusters == 1 and e.n_entities == 4


def test_one_big_cluster_over_one_entity_is_perfect() -> None:
    truth, clusters = frames({"1": "A", "2": "A", "3": "A"}, {"1": 0, "2": 0, "3": 0})
    e = evaluate(truth, clusters)
    assert (e.precision, e.recall, e.f1, e.bcubed_f1) == (1.0, 1.0, 1.0, 1.0)


def test_no_pairs_anywhere_scores_one() -> None:
    truth, clusters = frames({"1": "A", "2": "B"}, {"1": "x", "2": "y"})
    e = evaluate(truth, clusters)
    assert (e.precision, e.recall, e.f1) == (1.0, 1.0, 1.0)


def test_empty_input() -> None:
    truth, clusters = frames({}, {})
    e = evaluate(truth, clusters)
    assert (e.precision, e.recall, e.f1) == (1.0, 1.0, 1.0)
    assert (e.bcubed_precision, e.bcubed_recall, e.bcubed_f1) == (1.0, 1.0, 1.0)
    assert (e.n_records, e.n_clusters, e.n_entities) == (0, 0, 0)
    assert (e.true_positives, e.false_positives, e.false_negatives) == (0, 0, 0)


def test_empty_clusters_means_all_singletons() -> None:
    truth, _ = frames({"1": "A", "2": "A"}, {})
    e = evaluate(truth, pd.DataFrame({"record_id": [], "cluster_id": []}))
    assert e.n_missing == 2 and e.n_clusters == 2
    assert (e.precision, e.recall, e.false_negatives) == (1.0, 0.0, 1)


def test_records_missing_from_clusters_are_singletons() -> None:
    # truth A={a,b} B={c,d}; clusters only know a and b (together): c and d are alone.
    truth, clusters = frames({"a": "A", "b": "A", "c": "B", "d": "B"}, {"b": 7, "a": 7})
    e = evaluate(truth, clusters)
    assert e.n_missing == 2
    assert e.n_clusters == 3
    assert (e.true_positives, e.false_positives, e.false_negatives) == (1, 0, 1)
    # B-cubed recall: a 1, b 1, c 1/2, d 1/2 -> 3/4
    assert e.bcubed_recall == pytest.approx(0.75)


def test_missing_cluster_id_is_a_singleton() -> None:
    truth, clusters = frames({"a": "A", "b": "A", "c": "A"}, {"a": None, "b": None, "c": 1})
    e = evaluate(truth, clusters)
    assert e.n_missing == 2 and e.n_clusters == 3
    assert e.predicted_pairs == 0


@pytest.mark.parametrize("where", ["truth", "clusters"])
def test_duplicated_ids_raise_naming_them(where: str) -> None:
    truth, clusters = frames({"a": "A", "b": "A"}, {"a": 1, "b": 1})
    frame = truth if where == "truth" else clusters
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    args = (frame, clusters) if where == "truth" else (truth, frame)
    with pytest.raises(ValueError, match=rf"{where} has .*duplicated record ids.*'b'"):
        evaluate(*args)


def test_records_only_in_clusters_raise_naming_them() -> None:
    truth, clusters = frames({"a": "A"}, {"a": 1, "zz": 1, "yy": 2})
    with pytest.raises(ValueError, match=r"2 record ids that are not in the truth.*'zz'.*'yy'"):
        evaluate(truth, clusters)


def test_missing_ids_and_columns_raise() -> None:
    truth, clusters = frames({"a": "A"}, {"a": 1})
    with pytest.raises(ValueError, match="lacks column"):
        evaluate(truth.rename(columns={"entity_id": "entity"}), clusters)
    with pytest.raises(ValueError, match="missing record_id"):
        evaluate(truth, pd.DataFrame({"record_id": [None], "cluster_id": [1]}))
    with pytest.raises(ValueError, match="without an entity_id"):
        evaluate(pd.DataFrame({"record_id": ["a"], "entity_id": [None]}), clusters)


def test_ids_are_compared_as_strings() -> None:
    truth = pd.DataFrame({"record_id": [1, 2, 3], "entity_id": ["A", "A", "B"]})
    clusters = pd.DataFrame({"record_id": ["3", "2", "1"], "cluster_id": [9, 8, 8]})
    e = evaluate(truth, clusters)
    assert e.n_missing == 0
    assert (e.precision, e.recall) == (1.0, 1.0)


def test_row_order_does_not_matter() -> None:
    truth, clusters = frames(
        {"1": "A", "2": "A", "3": "A", "4": "B", "5": "B", "6": "C"},
        {"1": "X", "2": "X", "3": "Y", "4": "Y", "5": "Y", "6": "Z"},
    )
    reversed_clusters = clusters.iloc[::-1].reset_index(drop=True)
    a = evaluate(truth, clusters).to_dict()
    b = evaluate(truth.sample(frac=1, random_state=1), reversed_clusters).to_dict()
    # floats may differ in the last bit (sums in another order); counts must be equal
    assert a.pop("false_merges") == b.pop("false_merges") == {}
    assert b == pytest.approx(a)
    assert all(a[k] == b[k] for k in a if isinstance(a[k], int))


# --- tagged hard negatives -----------------------------------------------------------


def test_false_merges_per_kind() -> None:
    # entities: sr, jr, twin1, twin2, mom, dad are six people; clusters merge jr+sr and
    # mom+dad, keep the twins apart.
    truth, clusters = frames(
        {"sr": 1, "jr": 2, "t1": 3, "t2": 4, "mom": 5, "dad": 6},
        {"sr": "a", "jr": "a", "t1": "b", "t2": "c", "mom": "d", "dad": "d"},
    )
    tags = tag_frame(
        [
            ("sr", "jr", "jr_sr"),
            ("jr", "sr", "jr_sr"),  # the same unordered pair again: counted once
            ("t1", "t2", "twins"),
            ("mom", "dad", "household"),
            ("mom", "t1", "household"),
        ]
    )
    e = evaluate(truth, clusters, tags)
    assert e.false_merges == {
        "household": FalseMergeCount(pairs=2, merged=1, rate=0.5),
        "jr_sr": FalseMergeCount(pairs=1, merged=1, rate=1.0),
        "twins": FalseMergeCount(pairs=1, merged=0, rate=0.0),
    }
    # the tags do not change the scores
    assert e.f1 == evaluate(truth, clusters).f1


def test_tag_for_record_missing_from_clusters_is_not_merged() -> None:
    truth, clusters = frames({"a": 1, "b": 2}, {"a": "x"})
    e = evaluate(truth, clusters, tag_frame([("a", "b", "common_name")]))
    assert e.false_merges["common_name"] == FalseMergeCount(1, 0, 0.0)


def test_empty_tags_give_no_kinds() -> None:
    truth, clusters = frames({"a": 1}, {"a": "x"})
    assert evaluate(truth, clusters, tag_frame([])).false_merges == {}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("a", "zz", "twins")], r"not in the truth: 'zz'"),
        ([("a", "a", "twins")], r"itself: 'a'"),
        ([("a", "b", "twins")], r"same true entity.*a~b"),
        ([("a", "c", None)], r"missing kind"),
    ],
)
def test_bad_tags_raise(rows: list[tuple[str, str, str]], message: str) -> None:
    truth, clusters = frames({"a": 1, "b": 1, "c": 2}, {"a": "x", "b": "x", "c": "y"})
    with pytest.raises(ValueError, match=message):
        evaluate(truth, clusters, tag_frame(rows))


# --- output --------------------------------------------------------------------------


@pytest.fixture
def example() -> Evaluation:
    truth, clusters = frames(
        {"a": "A", "b": "A", "c": "A", "d": "A", "e": "B"},
        {"a": "X", "b": "X", "c": "Y", "d": "Z", "e": "Z"},
    )
    return evaluate(truth, clusters, tag_frame([("d", "e", "twins")]))


def test_to_dict_is_json_ready(example: Evaluation) -> None:
    data = json.loads(json.dumps(example.to_dict()))
    assert data["precision"] == 0.5
    assert data["true_positives"] == 1 and data["true_pairs"] == 6
    assert data["false_merges"] == {"twins": {"pairs": 1, "merged": 1, "rate": 1.0}}
    assert {"bcubed_f1", "n_records", "n_clusters", "n_entities", "n_missing"} <= set(data)


def test_markdown_and_text(example: Evaluation) -> None:
    md = example.to_markdown()
    assert "| pairwise | 0.5000 | 0.1667 | 0.2500 |" in md
    assert "| twins | 1 | 1 | 100.00% |" in md
    text = str(example)
    assert "pairwise" in text and "B-cubed" in text and "twins" in text
    assert "0.2500" in text


# --- helpers -------------------------------------------------------------------------


def test_pairs_from_clusters() -> None:
    clusters = pd.DataFrame(
        {"record_id": ["c", "a", "b", "d", "e", 5], "cluster_id": [1, 1, 1, 2, None, 2]}
    )
    pairs = pairs_from_clusters(clusters)
    assert list(pairs.columns) == ["record_id_a", "record_id_b"]
    assert pairs.to_numpy().tolist() == [["5", "d"], ["a", "b"], ["a", "c"], ["b", "c"]]
    assert pairs_from_clusters(clusters.iloc[:0]).empty


def test_read_helpers_keep_ids_as_text(tmp_path) -> None:
    (tmp_path / "truth.csv").write_text("record_id,entity_id\n007,NA\n7,NA\n")
    (tmp_path / "clusters.csv").write_text("record_id,cluster_id,score\n007,1,0.5\n7,\n")
    (tmp_path / "tags.csv").write_text("record_id_a,record_id_b,kind\n007,7,twins\n")
    truth = read_truth(tmp_path / "truth.csv")
    clusters = read_clusters(tmp_path / "clusters.csv")
    assert truth["record_id"].tolist() == ["007", "7"]
    assert truth["entity_id"].tolist() == ["NA", "NA"]  # "NA" is a label, not missing
    assert pd.isna(clusters["cluster_id"].iloc[1])  # empty cell: missing -> singleton
    assert read_tags(tmp_path / "tags.csv")["record_id_a"].tolist() == ["007"]
    e = evaluate(truth, clusters)
    assert e.n_records == 2 and e.false_negatives == 1
    (tmp_path / "bad.csv").write_text("id,entity\n1,2\n")
    with pytest.raises(ValueError, match="lacks column"):
        read_truth(tmp_path / "bad.csv")


# --- command -------------------------------------------------------------------------


def write_inputs(tmp_path) -> dict[str, str]:
    (tmp_path / "truth.csv").write_text("record_id,entity_id\na,A\nb,A\nc,A\nd,A\ne,B\n")
    (tmp_path / "clusters.csv").write_text("record_id,cluster_id\na,X\nb,X\nc,Y\nd,Z\ne,Z\n")
    (tmp_path / "tags.csv").write_text("record_id_a,record_id_b,kind\nd,e,twins\n")
    return {k: str(tmp_path / f"{k}.csv") for k in ("truth", "clusters", "tags")}


def test_command_json(tmp_path, capsys) -> None:
    paths = write_inputs(tmp_path)
    parser = argparse.ArgumentParser()
    evaluate_command.configure(parser)
    args = parser.parse_args(
        [
            "--truth",
            paths["truth"],
            "--clusters",
            paths["clusters"],
            "--tags",
            paths["tags"],
            "--json",
        ]
    )
    assert evaluate_command.run(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["f1"] == 0.25
    assert data["false_merges"]["twins"]["merged"] == 1


def test_command_table(tmp_path, capsys) -> None:
    paths = write_inputs(tmp_path)
    args = argparse.Namespace(
        truth=paths["truth"], clusters=paths["clusters"], tags=None, json=False
    )
    assert evaluate_command.run(args) == 0
    out = capsys.readouterr().out
    assert "pairwise" in out and "0.2500" in out and "twins" not in out


def test_command_reports_bad_input(tmp_path, capsys) -> None:
    paths = write_inputs(tmp_path)
    (tmp_path / "dup.csv").write_text("record_id,cluster_id\na,1\na,2\n")
    args = argparse.Namespace(
        truth=paths["truth"], clusters=str(tmp_path / "dup.csv"), tags=None, json=False
    )
    assert evaluate_command.run(args) == 1
    assert "duplicated record ids" in capsys.readouterr().err
    args = argparse.Namespace(
        truth=str(tmp_path / "nope.csv"), clusters=paths["clusters"], tags=None, json=False
    )
    assert evaluate_command.run(args) == 1


# --- oracle --------------------------------------------------------------------------


def brute_force(
    truth: dict[str, int],
    clusters: dict[str, int],
    tags: list[tuple[str, str, str]],
) -> dict[str, object]:
    """The definitions, literally: every pair, every record. Absent records are alone."""
    ids = list(truth)
    cluster_of = {r: clusters.get(r, ("alone", r)) for r in ids}
    tp = fp = fn = 0
    for a, b in combinations(ids, 2):
        same_cluster = cluster_of[a] == cluster_of[b]
        same_entity = truth[a] == truth[b]
        tp += same_cluster and same_entity
        fp += same_cluster and not same_entity
        fn += same_entity and not same_cluster
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    bp = br = 0.0
    for r in ids:
        cluster = {x for x in ids if cluster_of[x] == cluster_of[r]}
        entity = {x for x in ids if truth[x] == truth[r]}
        bp += len(cluster & entity) / len(cluster)
        br += len(cluster & entity) / len(entity)
    bp = bp / len(ids) if ids else 1.0
    br = br / len(ids) if ids else 1.0
    unordered: dict[str, set[frozenset[str]]] = {}
    for a, b, kind in tags:
        unordered.setdefault(kind, set()).add(frozenset((a, b)))
    merges: dict[str, list[int]] = {}
    for kind, pairs in unordered.items():
        merged = sum(len({cluster_of[r] for r in pair}) == 1 for pair in pairs)
        merges[kind] = [len(pairs), merged]

    def f1(p: float, r: float) -> float:
        return 2 * p * r / (p + r) if p + r else 0.0

    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1(precision, recall),
        "bp": bp,
        "br": br,
        "bf1": f1(bp, br),
        "merges": merges,
    }


@st.composite
def problems(
    draw: st.DrawFn,
) -> tuple[dict[str, int], dict[str, int], list[tuple[str, str, str]], int]:
    n = draw(st.integers(0, 30))
    ids = [f"r{i}" for i in range(n)]
    n_entities = draw(st.integers(1, max(n, 1)))
    n_clusters = draw(st.integers(1, max(n, 1)))
    truth = {r: draw(st.integers(0, n_entities - 1)) for r in ids}
    present = [r for r in ids if draw(st.booleans()) or draw(st.booleans())]  # ~75 % kept
    clusters = {r: draw(st.integers(0, n_clusters - 1)) for r in present}
    negatives = [(a, b) for a, b in combinations(ids, 2) if truth[a] != truth[b]]
    tags: list[tuple[str, str, str]] = []
    if negatives:
        for _ in range(draw(st.integers(0, 10))):
            a, b = draw(st.sampled_from(negatives))
            if draw(st.booleans()):
                a, b = b, a
            tags.append((a, b, draw(st.sampled_from(["jr_sr", "twins", "household"]))))
    seed = draw(st.integers(0, 2**32 - 1))
    return truth, clusters, tags, seed


@settings(max_examples=120, deadline=None)
@given(problems())
def test_matches_brute_force(
    problem: tuple[dict[str, int], dict[str, int], list[tuple[str, str, str]], int],
) -> None:
    truth, clusters, tags, seed = problem
    expected = brute_force(truth, clusters, tags)
    truth_frame, clusters_frame = frames(truth, clusters)
    # shuffle the clusters rows: the answer must not depend on row order
    order = np.random.default_rng(seed).permutation(len(clusters_frame))
    clusters_frame = clusters_frame.iloc[order].reset_index(drop=True)
    e = evaluate(truth_frame, clusters_frame, tag_frame(tags))
    assert (e.true_positives, e.false_positives, e.false_negatives) == (
        expected["tp"],
        expected["fp"],
        expected["fn"],
    )
    assert e.precision == pytest.approx(expected["precision"])
    assert e.recall == pytest.approx(expected["recall"])
    assert e.f1 == pytest.approx(expected["f1"])
    assert e.bcubed_precision == pytest.approx(expected["bp"])
    assert e.bcubed_recall == pytest.approx(expected["br"])
    assert e.bcubed_f1 == pytest.approx(expected["bf1"])
    assert {k: [v.pairs, v.merged] for k, v in e.false_merges.items()} == expected["merges"]
    assert e.n_records == len(truth)
    assert e.n_entities == len(set(truth.values()))
    assert e.n_missing == len(truth) - len(clusters)
    # pairs_from_clusters agrees (records absent from the clusters add no pairs)
    assert len(pairs_from_clusters(clusters_frame)) == e.predicted_pairs

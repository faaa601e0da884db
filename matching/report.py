"""The HTML report of a dedupe run: one self-contained page of charts.

:func:`render_report` turns a :class:`~matching.pipeline.result.DedupeResult` into a single
HTML document (inline CSS, inline SVG drawn here, no script, no network), and
:func:`write_report` writes it to ``report.html``. It shows:

- the counts of the run (input rows, records, rejects, candidate pairs, clusters, records
  merged), pairs per blocking rule, decisions, vetoes with their explanations, timings;
- the distribution of match weights, coloured by decision, with the thresholds marked;
- the distribution of cluster sizes and the largest clusters;
- each comparison's levels: m, u, weight and the share of pairs at that level;
- the placeholder and household values found (already masked by the pipeline);
- sample explanations: a waterfall of each comparison's weight for a few pairs.

Everything is aggregated with pandas/numpy before drawing, so the page has a bounded
number of elements whatever the size of the run. Every value from the data is escaped;
phones and emails are masked with :func:`~matching.pipeline.dedupe.mask_value`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.pipeline.dedupe import mask_value
from matching.pipeline.result import DedupeResult
from matching.pipeline.scoring import MATCH, NON_MATCH, POSSIBLE, VETOES

DECISIONS = (MATCH, POSSIBLE, NON_MATCH)
BLUE, RED, GREEN, INK, MUTED, AMBER = "#3d6fb6", "#c0392b", "#2e7d32", "#1f2328", "#6a737d", "#f0a500"
COLORS = {MATCH: GREEN, POSSIBLE: AMBER, NON_MATCH: "#a0a4a8"}
SAMPLES_PER_GROUP = 5
TOP_PROFILES = 20
TOP_CLUSTERS = 10
MAX_BINS = 60
#: Weights binned at a time for the histogram (bounds its temporaries).
_CHUNK = 1 << 20
CHAR_PX = 7.2
FIXED_TAG = '<span class="tag">fixed</span>'  # approximate width of a 12px system-font character, for SVG layout

SECTIONS = (
    ("summary", "Summary"),
    ("pairs", "Candidate pairs and decisions"),
    ("weights", "Match weights"),
    ("clusters", "Clusters"),
    ("comparisons", "Comparisons"),
    ("profiles", "Shared and placeholder values"),
    ("explanations", "Sample explanations"),
)

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  background: #f6f7f9; margin: 0; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 10px; padding-top: 8px; border-top: 1px solid #e1e4e8; }
h3 { font-size: 14px; margin: 18px 0 6px; }
p.note, .muted { color: #6a737d; font-size: 12.5px; }
nav.toc { background: #fff; border: 1px solid #e1e4e8; border-radius: 8px; padding: 8px 14px;
  margin: 14px 0; font-size: 13px; }
nav.toc a { margin-right: 14px; color: #3d6fb6; text-decoration: none; white-space: nowrap; }
nav.toc a:hover { text-decoration: underline; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.kpi { background: #fff; border: 1px solid #e1e4e8; border-radius: 8px; padding: 10px 12px; }
.kpi .n { display: block; font-size: 22px; font-weight: 600; }
.kpi .l { color: #6a737d; font-size: 12px; }
.card { background: #fff; border: 1px solid #e1e4e8; border-radius: 8px; padding: 12px 14px;
  margin: 10px 0; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fill, minmax(470px, 1fr)); gap: 10px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef0f2; vertical-align: middle; }
th { color: #6a737d; font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tag { color: #6a737d; font-size: 10.5px; margin-left: 3px; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1f2328; }
svg text.muted { fill: #6a737d; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
code { background: #f0f2f4; padding: 0 4px; border-radius: 3px; font-size: 12px; }
"""


# --------------------------------------------------------------------------- public API


def render_report(result: DedupeResult) -> str:
    """The report of ``result`` as one self-contained HTML document."""
    model = result.model or {}
    fs = bool(model.get("comparisons"))
    stats = result.stats or {}
    sizes = _cluster_sizes(result)  # once: hashing a million cluster ids is the slow part
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Deduplication report</title>",
        f"<style>{CSS}</style></head><body><main>",
        "<h1>Deduplication report</h1>",
        f'<p class="muted">Scorer: <code>{_esc(model.get("format", "unknown"))}</code>'
        + (f' &middot; EM iterations: {_fmt(model["em_iterations"])}' if "em_iterations" in model else "")
        + (f' &middot; prior match weight: {_fmt(model["prior_weight"])}' if "prior_weight" in model else "")
        + "</p>",
        '<nav class="toc">'
        + "".join(f'<a href="#{sid}">{title}</a>' for sid, title in SECTIONS)
        + "</nav>",
        _summary_section(result, stats, sizes),
        _pairs_section(result, stats),
        _weights_section(result, model),
        _clusters_section(result, sizes, stats),
        _comparisons_section(result, model, fs),
        _profiles_section(result),
        _explanations_section(result, model, fs),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def write_report(result: DedupeResult, path: str | Path) -> None:
    """Write the report of ``result`` to ``path`` (UTF-8 HTML)."""
    Path(path).write_text(render_report(result), encoding="utf-8")


# --------------------------------------------------------------------------- sections


def _summary_section(result: DedupeResult, stats: dict[str, Any], sizes: pd.Series) -> str:
    n_records = int(stats.get("records", len(result.records)))
    n_clusters = int(stats.get("clusters", len(sizes)))
    counts = sizes.to_numpy()
    merged = int(counts[counts >= 2].sum())  # numpy: a boolean Series would align a million ids
    kpis = [
        ("input_rows", "input rows", stats.get("input_rows", n_records + len(result.rejects))),
        ("records", "records", n_records),
        ("rejects", "rejected rows", stats.get("rejects", len(result.rejects))),
        ("candidate_pairs", "candidate pairs", stats.get("candidate_pairs", len(result.pairs))),
        ("clusters", "clusters (customers)", n_clusters),
        ("records_merged", "records merged (in clusters of 2+)", merged),
        ("duplicates_removed", "duplicates removed", n_records - n_clusters),
    ]
    cards = "".join(
        f'<div class="kpi" id="kpi-{key}"><span class="n">{_fmt(value)}</span>'
        f'<span class="l">{_esc(label)}</span></div>'
        for key, label, value in kpis
    )
    funnel = _hbar(
        [("input rows", kpis[0][2], MUTED), ("records read", n_records, BLUE),
         ("customers (clusters)", n_clusters, GREEN)],
    )
    timings = stats.get("timings") or {}
    timing_rows = [(str(k), float(v), BLUE) for k, v in timings.items()]
    total = sum(v for _, v, _ in timing_rows)
    timing_chart = (
        _hbar(timing_rows, unit=" s", decimals=2) + f'<p class="note">Total {total:.1f} s.</p>'
        if timing_rows else '<p class="note">No timings recorded.</p>'
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<div class="kpis">{cards}</div>'
        '<div class="grid2">'
        f'<div class="card"><h3>From rows to customers</h3>{funnel}</div>'
        f'<div class="card"><h3>Stage timings</h3>{timing_chart}</div>'
        "</div></section>"
    )


def _pairs_section(result: DedupeResult, stats: dict[str, Any]) -> str:
    by_rule = stats.get("pairs_by_rule") or {}
    rule_rows = sorted(((str(k), int(v), BLUE) for k, v in by_rule.items()), key=lambda r: -r[1])
    rule_chart = (
        _hbar(rule_rows)
        + '<p class="note">Pairs each blocking rule proposes; rules overlap, so these add up to more '
        f'than the {_fmt(stats.get("candidate_pairs", len(result.pairs)))} distinct candidate pairs.</p>'
        if rule_rows else '<p class="note">No blocking statistics recorded.</p>'
    )
    decisions = stats.get("decisions")
    if decisions is None and "decision" in result.pairs:
        decisions = result.pairs["decision"].value_counts().to_dict()
    decisions = decisions or {}
    dec_rows = [(d, int(decisions.get(d, 0)), COLORS[d]) for d in DECISIONS]
    dec_rows += [(str(d), int(v), MUTED) for d, v in decisions.items() if d not in DECISIONS]
    vetoes = stats.get("vetoes")
    if vetoes is None and "vetoed_by" in result.pairs:
        v = result.pairs["vetoed_by"]
        vetoes = v[v.fillna("") != ""].value_counts().to_dict()
    vetoes = vetoes or {}
    if vetoes:
        vmax = max(vetoes.values())
        rows = "".join(
            f"<tr><td><code>{_esc(k)}</code></td><td class=\"num\">{_fmt(n)}</td>"
            f"<td>{_inline_bar(n, vmax, RED)}</td><td>{_esc(VETOES.get(k, ''))}</td></tr>"
            for k, n in sorted(vetoes.items(), key=lambda kv: -kv[1])
        )
        veto_html = (
            '<table id="vetoes"><tr><th>guard</th><th class="num">pairs</th><th></th>'
            f"<th>why it overrules the score</th></tr>{rows}</table>"
        )
    else:
        veto_html = '<p class="note">No pair was vetoed.</p>'
    return (
        '<section id="pairs"><h2>Candidate pairs and decisions</h2><div class="grid2">'
        f'<div class="card"><h3>Pairs by blocking rule</h3>{rule_chart}</div>'
        f'<div class="card"><h3>Decisions</h3>{_hbar(dec_rows)}</div></div>'
        f'<div class="card"><h3>Vetoes by guard</h3>{veto_html}</div></section>'
    )


def _weights_section(result: DedupeResult, model: dict[str, Any]) -> str:
    head = '<section id="weights"><h2>Match weights</h2>'
    pairs = result.pairs
    if "thresholds" not in model:
        return head + ('<p class="note">This scorer makes rule decisions without match weights '
                       "(no histogram).</p></section>")
    if pairs.empty or "weight" not in pairs:
        return head + '<p class="note">No candidate pairs.</p></section>'
    th = model["thresholds"]
    chart = _weight_histogram(pairs, float(th.get("match", math.nan)), float(th.get("possible", math.nan)))
    return (
        head + f'<div class="card">{chart}{_legend()}'
        f'<p class="note">Total match weight (log2 odds) of every candidate pair; dashed lines: '
        f'possible threshold {_fmt(th.get("possible"))}, match threshold {_fmt(th.get("match"))}. '
        "Grey bars right of the match line are pairs a guard vetoed.</p></div></section>"
    )


def _clusters_section(result: DedupeResult, sizes: pd.Series, stats: dict[str, Any]) -> str:
    counts = sizes.value_counts()
    labels = [str(i) for i in range(1, 10)] + ["10+"]
    values = [int(counts.get(i, 0)) for i in range(1, 10)] + [int(counts[counts.index >= 10].sum())]
    chart = _vbars(labels, [("clusters", BLUE, values)], x_title="records in the cluster",
                   y_title="clusters", show_values=True, height=220)
    top = sizes.nlargest(TOP_CLUSTERS * 5).rename("size").rename_axis("cluster_id").reset_index()
    top = top.sort_values(["size", "cluster_id"], ascending=[False, True], kind="stable").head(TOP_CLUSTERS)
    golden = result.golden
    if "cluster_id" in golden and len(top):
        # Filter before merging: the golden table has a row per cluster (a million at scale).
        gold = golden[golden["cluster_id"].isin(top["cluster_id"])].drop_duplicates("cluster_id")
        top = top.merge(gold, on="cluster_id", how="left", suffixes=("", "_golden"))
    rows = []
    biggest = int(top["size"].max()) if len(top) else 1
    for rec in top.to_dict("records"):
        name = " ".join(str(rec[c]) for c in ("first_name", "last_name") if _present(rec.get(c)))
        rows.append(
            f"<tr><td><code>{_esc(rec['cluster_id'])}</code></td><td class=\"num\">{_fmt(rec['size'])}</td>"
            f"<td>{_inline_bar(rec['size'], biggest, BLUE)}</td><td>{_esc(name)}</td>"
            f"<td>{_esc(rec['company']) if _present(rec.get('company')) else ''}</td>"
            f"<td>{_masked(rec.get('phone_1'))}</td><td>{_masked(rec.get('email_1'))}</td></tr>"
        )
    table = (
        '<table id="largest-clusters"><tr><th>cluster</th><th class="num">records</th><th></th>'
        "<th>golden name</th><th>company</th><th>phone</th><th>email</th></tr>"
        + "".join(rows) + "</table>"
    ) if rows else '<p class="note">No clusters.</p>'
    return (
        '<section id="clusters"><h2>Clusters</h2>'
        f'<div class="card"><h3>Cluster sizes</h3>{chart}</div>'
        f'<div class="card"><h3>Largest clusters</h3>{table}'
        '<p class="note">Phones and emails are masked.</p></div>'
        + _golden_checks(stats.get("golden_issues"))
        + "</section>"
    )


def _golden_checks(counts: dict[str, Any] | None) -> str:
    """What validating the golden records as myKaarma requests found (see
    :func:`matching.pipeline.dedupe._issue_counts`), by field."""
    if counts is None:
        return ""
    by_field = counts.get("by_field") or {}
    rows = [(k, int(v), RED if k.startswith("error") else AMBER) for k, v in list(by_field.items())[:10]]
    errors, warnings = int(counts.get("records_with_errors", 0)), int(counts.get("records_with_warnings_only", 0))
    chart = _hbar(rows) if rows else ""
    return (
        '<div class="card" id="golden-checks"><h3>Golden record checks</h3>'
        f"<p>{_fmt(errors)} golden records have an error (the myKaarma API would refuse them as they "
        f"are, e.g. a person without a first or last name); {_fmt(warnings)} more have warnings only.</p>"
        f"{chart}</div>"
    )


def _comparisons_section(result: DedupeResult, model: dict[str, Any], fs: bool) -> str:
    head = '<section id="comparisons"><h2>Comparisons</h2>'
    pairs = result.pairs
    n_pairs = len(pairs)
    if fs:
        comps = [(c["name"], c["levels"]) for c in model["comparisons"]]
        wmax = max((abs(lv["weight"]) for _, lvs in comps for lv in lvs), default=1.0) or 1.0
        note = ("m: chance a true match reaches the level; u: chance two unrelated records do; "
                "weight = log2(m/u), on one scale for all comparisons. Share: of all candidate "
                "pairs. <i>fixed</i>: set by design, not learned.")
    else:
        # The rules scorer has no m/u: show only how pairs spread over the levels.
        comps = []
        for col in pairs.columns:
            if col.endswith("_level"):
                cats = getattr(pairs[col], "cat", None)
                labels = [str(x) for x in cats.categories] if cats is not None else []
                comps.append((col[: -len("_level")], [{"label": lab} for lab in labels if lab != "missing"]))
        wmax = 1.0
        note = "This scorer has no m/u or weights: only the share of candidate pairs at each level."
    if not comps:
        return head + '<p class="note">No comparisons.</p></section>'
    cards = []
    for name, levels in comps:
        col = f"{name}_level"
        shares = pd.Series(dtype=float)
        if col in pairs and n_pairs:
            # Count first, then turn the few level labels into text (never the column).
            counts = _level_counts(pairs[col])
            shares = pd.Series(counts.to_numpy() / n_pairs, index=[str(k) for k in counts.index])
        rows = []
        for lv in [*levels, {"label": "missing", "description": "a side has no value: no evidence"}]:
            share = float(shares.get(lv["label"], 0.0))
            if lv["label"] == "missing" and share == 0:
                continue
            cells = f"<td><code>{_esc(lv['label'])}</code></td>"
            if fs:
                w = lv.get("weight")
                cells += (
                    f"<td class=\"num\">{_prob(lv.get('m'))}</td><td class=\"num\">{_prob(lv.get('u'))}</td>"
                    f"<td class=\"num\">{_fmt(w) if w is not None else ''}{FIXED_TAG if lv.get('pinned') else ''}</td>"
                    f"<td>{_diverging_bar(float(w), wmax) if w is not None else ''}</td>"
                )
            cells += (f"<td class=\"num\">{share:.1%}</td><td>{_inline_bar(share, 1.0, MUTED)}</td>")
            rows.append(f'<tr title="{_esc(lv.get("description", ""))}">{cells}</tr>')
        header = "<th>level</th>" + (
            '<th class="num">m</th><th class="num">u</th><th class="num">weight</th><th></th>' if fs else ""
        ) + '<th class="num">share</th><th></th>'
        cards.append(f'<div class="card comparison"><h3>{_esc(name)}</h3><table><tr>{header}</tr>'
                     + "".join(rows) + "</table></div>")
    return head + f'<p class="note">{note}</p><div class="grid2">' + "".join(cards) + "</div></section>"


def _profiles_section(result: DedupeResult) -> str:
    head = '<section id="profiles"><h2>Shared and placeholder values</h2>'
    prof = result.profiles
    if prof is None or prof.empty or "kind" not in prof:
        return head + '<p class="note">No shared values found.</p></section>'
    kinds = prof["kind"].value_counts()
    kind_chart = _hbar([(str(k), int(kinds.get(k, 0)), c) for k, c in
                        (("personal", GREEN), ("household", "#f0a500"), ("junk", RED)) if k in kinds])
    # Junk first (placeholders are what to clean at the source), then households.
    order = {"junk": 0, "household": 1}
    top = prof[prof["kind"].isin(list(order))].copy()
    top["_o"] = top["kind"].map(order)
    top = top.sort_values(["_o", "records"], ascending=[True, False], kind="stable").head(TOP_PROFILES)
    rmax = int(top["records"].max()) if len(top) else 1
    has_people = "people" in top
    rows = "".join(
        f"<tr><td>{_esc(r['field'])}</td><td><code>{_esc(r['value_masked'])}</code></td>"
        f"<td>{_esc(r['kind'])}</td><td class=\"num\">{_fmt(r['records'])}</td>"
        + (f"<td class=\"num\">{_fmt(r['people'])}</td>" if has_people else "")
        + f"<td>{_inline_bar(r['records'], rmax, RED if r['kind'] == 'junk' else '#f0a500')}</td></tr>"
        for r in top.to_dict("records")
    )
    table = (
        '<table id="profile-values"><tr><th>field</th><th>value (masked)</th><th>kind</th>'
        '<th class="num">records</th>' + ('<th class="num">people</th>' if has_people else "")
        + f"<th></th></tr>{rows}</table>"
    ) if len(top) else '<p class="note">No household or placeholder values.</p>'
    return (
        head + '<div class="grid2">'
        f'<div class="card"><h3>Shared values by kind</h3>{kind_chart}'
        '<p class="note">personal: one person carries it; household: people with different names '
        "share it; junk: a placeholder or a value too common to mean anything.</p></div></div>"
        f'<div class="card"><h3>Top {TOP_PROFILES} placeholder and household values</h3>{table}</div>'
        "</section>"
    )


def _explanations_section(result: DedupeResult, model: dict[str, Any], fs: bool) -> str:
    head = '<section id="explanations"><h2>Sample explanations</h2>'
    pairs = result.pairs
    if pairs.empty:
        return head + '<p class="note">No candidate pairs.</p></section>'
    # Positions, not filtered frames: copying millions of rows per group is the slow part.
    vetoed = _vetoed(pairs["vetoed_by"]) if "vetoed_by" in pairs else np.zeros(len(pairs), bool)
    weight = _floats(pairs["weight"])
    groups = [
        ("Matches", _spread_sample(np.flatnonzero(_mask(pairs["decision"] == MATCH) & ~vetoed), weight)),
        ("Possible matches",
         _spread_sample(np.flatnonzero(_mask(pairs["decision"] == POSSIBLE) & ~vetoed), weight)),
        ("Vetoed pairs", _veto_sample(pairs, np.flatnonzero(vetoed))),
    ]
    names = [c["name"] for c in model.get("comparisons", [])] or [
        c[: -len("_level")] for c in pairs.columns if c.endswith("_level")
    ]
    th = model.get("thresholds", {})
    prior = float(model.get("prior_weight", 0.0))
    out = [head]
    if fs:
        out.append('<p class="note">Each bar is one comparison\'s weight for the pair, starting from '
                   f"the prior ({_fmt(prior)}); the last bar is the total, coloured by the decision. "
                   "Dashed lines: the thresholds. Comparisons with a missing value add nothing and "
                   "are left out.</p>")
    for title, positions in groups:
        sample = pairs.iloc[positions]
        out.append(f"<h3>{title}</h3>")
        if sample.empty:
            out.append('<p class="note">None.</p>')
            continue
        if fs:
            out.append('<div class="grid2">' + "".join(
                f'<div class="card waterfall">{_pair_waterfall(rec, names, prior, th)}</div>'
                for rec in sample.to_dict("records")) + "</div>")
        else:
            out.append(_levels_table(sample, names))
    out.append("</section>")
    return "".join(out)


# --------------------------------------------------------------------------- data helpers


def _cluster_sizes(result: DedupeResult) -> pd.Series:
    """Records per cluster, indexed by cluster_id (in order of first appearance)."""
    if result.clusters.empty:
        return pd.Series(dtype="int64")
    ids = result.clusters["cluster_id"]
    try:
        # Arrow hashes a million ids several times faster than pandas' factorize, and
        # keeps the distinct ids as Arrow text (no million Python strings).
        encoded = pc.dictionary_encode(pa.array(ids.to_numpy() if ids.dtype == object else ids.array,
                                                type=pa.large_string(), from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids that are not text
        codes, uniques = pd.factorize(ids)
        return pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)), index=uniques)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    counts = np.bincount(codes[valid].astype(np.int64), minlength=len(encoded.dictionary))
    index = pd.Index(pd.array(encoded.dictionary, dtype=ids.dtype)) if ids.dtype != object \
        else pd.Index(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return pd.Series(counts, index=index)


def _level_counts(levels: pd.Series) -> pd.Series:
    """``levels.value_counts(dropna=False)`` (a count per category, zeros included, then
    missing if any), by ``bincount`` of the codes for a categorical: ten times faster."""
    if not isinstance(levels.dtype, pd.CategoricalDtype):
        return levels.value_counts(dropna=False)
    counts = np.bincount(levels.cat.codes.to_numpy().astype(np.int64) + 1, minlength=len(levels.cat.categories) + 1)
    out = pd.Series(counts[1:], index=levels.cat.categories)
    if counts[0]:
        out = pd.concat([out, pd.Series([counts[0]], index=[np.nan])])
    return out.sort_values(ascending=False, kind="stable")


def _floats(values: pd.Series) -> np.ndarray:
    """``pd.to_numeric(values, errors="coerce")`` as a float array (NaN where missing):
    the column's own array, not a copy, when it holds floats already (millions of
    weights)."""
    if isinstance(values.dtype, np.dtype) and values.dtype == np.float64:
        return values.to_numpy()
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _vetoed(values: pd.Series) -> np.ndarray:
    """Where a guard vetoed the pair: ``vetoed_by`` is neither empty nor missing. For a
    categorical (as the pipeline gives it), read from the codes: one test per category."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = np.asarray(values.cat.categories, dtype=object)
        # Code -1 (missing) picks the trailing False.
        flagged = np.array([c != "" for c in categories.tolist()] + [False], dtype=bool)
        return flagged[values.cat.codes.to_numpy()]
    return _mask(values.fillna("") != "")


def _mask(values: pd.Series) -> np.ndarray:
    """A boolean Series as a numpy array (missing is False)."""
    return values.to_numpy(dtype=bool, na_value=False)


def _spread_sample(positions: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Up to five of ``positions`` spread over their weight range (lowest to highest)."""
    if len(positions) <= SAMPLES_PER_GROUP:
        return positions
    ranks = np.unique(np.linspace(0, len(positions) - 1, SAMPLES_PER_GROUP).round().astype(int))
    w = weight[positions]
    np.nan_to_num(w, copy=False, nan=-np.inf)
    # Partitioning at the wanted ranks is linear; a full sort of millions is not needed.
    order = np.argpartition(w, ranks)
    del w
    return positions[order[ranks]]


def _veto_sample(pairs: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """Up to five vetoed pairs, one per guard in turn, so the sample shows each kind of veto."""
    if not len(positions):
        return positions
    values = pairs["vetoed_by"]
    # Category codes (the pipeline's own, or made here from plain values), read a million
    # vetoed pairs at a time: only the first few of each guard are kept, in the order the
    # guards first appear.
    codes = (values.array if isinstance(values.dtype, pd.CategoricalDtype) else pd.Categorical(values)).codes
    found: dict[int, list[int]] = {}
    for start in range(0, len(positions), _CHUNK):
        part = positions[start : start + _CHUNK]
        part_codes = codes[part]
        for k in pd.unique(part_codes).tolist():
            got = found.setdefault(k, []) if k >= 0 else None  # -1: missing
            if got is not None and len(got) < SAMPLES_PER_GROUP:
                got.extend(part[part_codes == k][: SAMPLES_PER_GROUP - len(got)].tolist())
    firsts = list(found.values())
    picked = [f[i] for i in range(SAMPLES_PER_GROUP) for f in firsts if i < len(f)]
    return np.asarray(picked[:SAMPLES_PER_GROUP], dtype=np.int64)


def _levels_table(sample: pd.DataFrame, names: Sequence[str]) -> str:
    """Pairs as rows of comparison levels (for scorers without weights)."""
    head = "<th>pair</th><th>decision</th>" + "".join(f"<th>{_esc(n)}</th>" for n in names)
    rows = "".join(
        f"<tr><td><code>{_esc(r['record_id_a'])}</code> &harr; <code>{_esc(r['record_id_b'])}</code></td>"
        f"<td>{_esc(r['decision'])}</td>"
        + "".join(f"<td>{_esc(r.get(f'{n}_level', ''))}</td>" for n in names) + "</tr>"
        for r in sample.to_dict("records")
    )
    return f'<div class="card"><table><tr>{head}</tr>{rows}</table></div>'


# --------------------------------------------------------------------------- svg charts


def _hbar(rows: Sequence[tuple[str, float, str]], *, unit: str = "", decimals: int = 0,
          width: int = 460) -> str:
    """Horizontal bars: one row per (label, value, colour), value printed after the bar."""
    if not rows:
        return '<p class="note">Nothing to show.</p>'
    label_w = min(200, max(60, int(max(len(r[0]) for r in rows) * CHAR_PX) + 14))
    value_w = 70
    bar_w = width - label_w - value_w
    vmax = max((float(v) for _, v, _ in rows), default=0.0) or 1.0
    h = 22
    out = [f'<svg class="chart hbar" viewBox="0 0 {width} {h * len(rows) + 4}" width="{width}" '
           f'height="{h * len(rows) + 4}" role="img">']
    for i, (label, value, color) in enumerate(rows):
        y = i * h + 2
        w = max(float(value), 0.0) / vmax * bar_w
        text = f"{value:,.{decimals}f}{unit}"
        out.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_esc(_clip(label, 28))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{h - 7}" rx="2" fill="{color}">'
            f"<title>{_esc(label)}: {_esc(text)}</title></rect>"
            f'<text x="{label_w + w + 5:.1f}" y="{y + 15}" class="muted">{_esc(text)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _vbars(labels: Sequence[str], stacks: Sequence[tuple[str, str, Sequence[float]]], *,
           x_title: str = "", y_title: str = "", markers: Sequence[tuple[float, str]] = (),
           show_values: bool = False, width: int = 900, height: int = 260) -> str:
    """Vertical (stacked) bars per label; ``markers`` are (fractional bar index, caption) lines."""
    n = len(labels)
    left, right, top, bottom = 56, 10, 22, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = np.sum([np.asarray(v, dtype=float) for _, _, v in stacks], axis=0) if stacks else np.zeros(n)
    ymax = float(totals.max()) if n and totals.max() > 0 else 1.0
    step = plot_w / max(n, 1)
    out = [f'<svg class="chart vbar" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    for frac in (0, 0.25, 0.5, 0.75, 1.0):  # light gridlines with counts
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f2"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="muted">'
                   f"{_fmt(round(ymax * frac))}</text>")
    for i in range(n):
        x = left + i * step
        base = 0.0
        for name, color, values in stacks:
            v = float(values[i])
            if v <= 0:
                continue
            y0 = top + plot_h * (1 - (base + v) / ymax)
            hh = plot_h * v / ymax
            out.append(f'<rect x="{x + 1:.1f}" y="{y0:.1f}" width="{max(step - 2, 0.8):.1f}" '
                       f'height="{max(hh, 0.5):.1f}" fill="{color}"><title>{_esc(labels[i])}: '
                       f"{_fmt(v)} {_esc(name)}</title></rect>")
            base += v
    every = max(1, math.ceil(n / 20))  # at most ~20 tick labels
    for i in range(0, n, every):
        out.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{top + plot_h + 15}" text-anchor="middle" '
                   f'class="muted">{_esc(labels[i])}</text>')
    if show_values:
        for i in range(n):
            y = top + plot_h * (1 - float(totals[i]) / ymax)
            out.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
                       f"{_fmt(int(totals[i]))}</text>")
    for k, (pos, caption) in enumerate(markers):
        # Captions alternate left/right of their line so close thresholds stay readable.
        x = left + pos * step
        anchor, dx = ("end", -4) if k % 2 == 0 else ("start", 4)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{top + plot_h}" stroke="{INK}" '
                   f'stroke-dasharray="4 3"/><text x="{x + dx:.1f}" y="{top + 4}" text-anchor="{anchor}">'
                   f"{_esc(caption)}</text>")
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#c9ced4"/>')
    if x_title:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" class="muted">'
                   f"{_esc(x_title)}</text>")
    if y_title:
        out.append(f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" class="muted" '
                   f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{_esc(y_title)}</text>')
    out.append("</svg>")
    return "".join(out)


def _weight_histogram(pairs: pd.DataFrame, match: float, possible: float) -> str:
    """Histogram of pair weights in whole-bit bins (wider when the range is large), by decision."""
    w = _floats(pairs["weight"])
    ok = np.isfinite(w)
    everything = bool(ok.all())  # the usual case: no copies of millions of weights
    # Boolean masks, not the text column as objects (slow for millions of arrow strings).
    masks = {d: (pairs["decision"] == d).to_numpy(dtype=bool, na_value=False) for d in DECISIONS}
    if not everything:
        masks = {d: mask[ok] for d, mask in masks.items()}
        w = w[ok]
    if not len(w):
        return '<p class="note">No finite weights.</p>'
    marks = [t for t in (match, possible) if math.isfinite(t)]
    lo = math.floor(min(float(w.min()), *marks))
    hi = math.ceil(max(float(w.max()), *marks)) + 1
    width = max(1, math.ceil((hi - lo) / MAX_BINS))
    edges = np.arange(lo, hi + width, width, dtype=float)
    # The bin of each weight once (what np.histogram counts: edges[k] <= w < edges[k+1];
    # every weight is below the last edge), then a bincount per decision: np.histogram
    # with explicit edges sorts the weights, for each decision. A million weights at a
    # time: the report is written beside the golden records' files, and its temporaries
    # add to theirs.
    totals = {d: np.zeros(len(edges) - 1, dtype=np.int64) for d in DECISIONS}
    for start in range(0, len(w), _CHUNK):
        bins = np.searchsorted(edges, w[start : start + _CHUNK], side="right") - 1
        for d in DECISIONS:
            totals[d] += np.bincount(bins[masks[d][start : start + _CHUNK]], minlength=len(edges) - 1)[: len(edges) - 1]
    stacks = [(d, COLORS[d], totals[d].tolist()) for d in DECISIONS]
    labels = [f"{e:g}" for e in edges[:-1]]
    markers = []
    if math.isfinite(possible):
        markers.append(((possible - lo) / width, f"possible {possible:g}"))
    if math.isfinite(match):
        markers.append(((match - lo) / width, f"match {match:g}"))
    return _vbars(labels, stacks, x_title="match weight (log2 odds)", y_title="pairs", markers=markers)


def _pair_waterfall(rec: dict[str, Any], names: Sequence[str], prior: float, th: dict[str, Any]) -> str:
    """A horizontal waterfall: prior, each comparison's weight, then the pair's total."""
    steps = [("prior", prior, "")]
    missing = []
    for n in names:
        level = rec.get(f"{n}_level")
        weight = float(rec.get(f"{n}_weight") or 0.0)
        if not _present(level) or str(level) == "missing":
            missing.append(n)
            continue
        steps.append((n, weight, str(level)))
    total = float(rec["weight"])
    # Running sums; the total bar is the pair's recorded weight (they agree up to rounding).
    ends = np.cumsum([s[1] for s in steps])
    starts = np.concatenate([[0.0], ends[:-1]])
    marks = [float(th[k]) for k in ("possible", "match") if k in th]
    lo = min(0.0, float(np.min(np.concatenate([starts, ends]))), total, *marks)
    hi = max(0.0, float(np.max(np.concatenate([starts, ends]))), total, *marks)
    span = (hi - lo) or 1.0
    width, label_w, value_w, row_h, top = 470, 190, 44, 18, 40
    plot_w = width - label_w - value_w - 6
    height = top + row_h * (len(steps) + 1) + 8

    def x(v: float) -> float:
        return label_w + (v - lo) / span * plot_w

    decision = str(rec.get("decision", ""))
    veto = str(rec.get("vetoed_by") or "")
    title = f"{rec['record_id_a']} \u2194 {rec['record_id_b']}"
    sub = f"{decision}, weight {total:.2f}" + (f", vetoed by {veto}" if veto else "")
    out = [f'<svg class="chart waterfall" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
           f'<text x="0" y="14" font-weight="600">{_esc(title)}</text>',
           f'<text x="0" y="30" class="muted">{_esc(sub)}</text>',
           f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top - 4}" y2="{height - 4}" stroke="#c9ced4"/>']
    for k in ("possible", "match"):
        if k in th:
            xv = x(float(th[k]))
            out.append(f'<line x1="{xv:.1f}" x2="{xv:.1f}" y1="{top - 4}" y2="{height - 4}" stroke="{INK}" '
                       f'stroke-dasharray="3 3" opacity="0.5"><title>{k} threshold {_esc(th[k])}</title></line>')
    for i, ((name, wgt, level), s, e) in enumerate(zip(steps, starts, ends, strict=True)):
        y = top + i * row_h
        label = name if not level else f"{name}: {level}"
        color = MUTED if name == "prior" else (GREEN if wgt >= 0 else RED)
        x0, x1 = sorted((x(s), x(e)))
        out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{_esc(_clip(label, 28))}</text>'
                   f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 6}" '
                   f'fill="{color}"><title>{_esc(label)}: {wgt:+.2f}</title></rect>'
                   f'<text x="{width - 2}" y="{y + 13}" text-anchor="end" class="muted">{wgt:+.2f}</text>')
    y = top + len(steps) * row_h
    x0, x1 = sorted((x(0), x(total)))
    out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-weight="600">total</text>'
               f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 4}" '
               f'fill="{COLORS.get(decision, BLUE)}"><title>total {total:.2f}</title></rect>'
               f'<text x="{width - 2}" y="{y + 13}" text-anchor="end" font-weight="600">{total:.2f}</text>')
    out.append("</svg>")
    foot = []
    if veto:
        foot.append(f"Vetoed: {_esc(VETOES.get(veto, veto))}.")
    if missing:
        foot.append("Missing: " + ", ".join(_esc(m) for m in missing) + ".")
    return "".join(out) + (f'<p class="note">{" ".join(foot)}</p>' if foot else "")


def _inline_bar(value: float, vmax: float, color: str, width: int = 120) -> str:
    """A small bar for a table cell."""
    w = 0.0 if not vmax else max(float(value), 0.0) / float(vmax) * width
    return (f'<svg class="bar" viewBox="0 0 {width} 10" width="{width}" height="10">'
            f'<rect width="{width}" height="10" fill="#f0f2f4"/>'
            f'<rect width="{w:.1f}" height="10" fill="{color}"/></svg>')


def _diverging_bar(value: float, vmax: float, width: int = 140) -> str:
    """A bar from the centre: right and green for positive weights, left and red for negative."""
    half = width / 2
    w = min(abs(value) / vmax, 1.0) * half
    x = half if value >= 0 else half - w
    return (f'<svg class="bar" viewBox="0 0 {width} 10" width="{width}" height="10">'
            f'<rect width="{width}" height="10" fill="#f0f2f4"/>'
            f'<rect x="{x:.1f}" width="{w:.1f}" height="10" fill="{GREEN if value >= 0 else RED}"/>'
            f'<line x1="{half}" x2="{half}" y1="0" y2="10" stroke="#6a737d"/></svg>')


def _legend() -> str:
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{COLORS[d]}"></i>{d}</span>' for d in DECISIONS) + "</div>"


# --------------------------------------------------------------------------- formatting


def _esc(value: Any) -> str:
    """``value`` as text safe inside HTML elements and attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA \
        and str(value) != ""


def _masked(value: Any) -> str:
    """A phone or email masked and escaped (empty when missing)."""
    return f"<code>{_esc(mask_value(value))}</code>" if _present(value) else ""


def _fmt(value: Any) -> str:
    """Integers with thousands separators, other numbers with two decimals."""
    if value is None:
        return ""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{int(value):,}" if float(value).is_integer() and abs(value) >= 100 else f"{value:,.2f}"
    return _esc(value)


def _prob(value: Any) -> str:
    """A probability compactly: 0.912, 3.1e-05."""
    if value is None:
        return ""
    v = float(value)
    return f"{v:.3f}" if v >= 0.001 else f"{v:.1e}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


__all__ = ["render_report", "write_report"]

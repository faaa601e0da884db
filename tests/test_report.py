"""The HTML report: sections, numbers, escaping, masking, other scorers, and a real browser."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matching.pipeline.result import DedupeResult
from matching.report import SECTIONS, render_report, write_report

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "customers.csv"
CHROMIUM = Path("/usr/bin/chromium")
PAYLOAD = "<script>alert(1)</script>"


def _fake_io() -> types.ModuleType:
    """A stand-in for ``matching.io`` (being written): the sample is already canonical."""
    module = types.ModuleType("matching.io")

    class Export:
        def __init__(self, data: str | Path | pd.DataFrame) -> None:
            self.records = data if isinstance(data, pd.DataFrame) else pd.read_csv(
                data, dtype=str, keep_default_na=False, na_values=[""])
            self.rejects = pd.DataFrame(columns=["line", "record_id", "reason", "raw"])
            self.source_rows = len(self.records)

    module.read_export = lambda data, mapping=None: Export(data)  # type: ignore[attr-defined]
    return module


@pytest.fixture(scope="module")
def result() -> DedupeResult:
    """A real run on the sample (about 10 s: shared by every test here)."""
    from matching.pipeline.dedupe import dedupe

    try:
        import matching.io  # noqa: F401
    except ImportError:
        sys.modules["matching.io"] = _fake_io()
        try:
            return dedupe(SAMPLE)
        finally:
            del sys.modules["matching.io"]  # leave nothing behind for other test modules
    return dedupe(SAMPLE)


@pytest.fixture(scope="module")
def page(result: DedupeResult) -> str:
    return render_report(result)


def _kpi(page: str, key: str) -> int:
    m = re.search(rf'id="kpi-{key}"><span class="n">([\d,]+)</span>', page)
    assert m, f"no KPI {key}"
    return int(m.group(1).replace(",", ""))


def test_sections_and_self_contained(page: str) -> None:
    for sid, title in SECTIONS:
        assert f'<section id="{sid}">' in page
        assert f'<a href="#{sid}">{title}</a>' in page
    assert page.count("<svg") > 30  # charts are drawn, inline
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from the network
    assert page.count('class="card waterfall"') == 15  # 5 matches, 5 possibles, 5 vetoed


def test_numbers_match_the_run(result: DedupeResult, page: str) -> None:
    stats = result.stats
    assert _kpi(page, "clusters") == stats["clusters"] == result.clusters["cluster_id"].nunique()
    assert _kpi(page, "records") == stats["records"]
    assert _kpi(page, "input_rows") == stats["input_rows"]
    assert _kpi(page, "rejects") == stats["rejects"]
    assert _kpi(page, "candidate_pairs") == stats["candidate_pairs"] == len(result.pairs)
    sizes = result.clusters["cluster_id"].value_counts()
    assert _kpi(page, "records_merged") == int(sizes[sizes >= 2].sum())
    for decision, n in stats["decisions"].items():
        assert f"{n:,}</text>" in page, decision
    for rule, n in stats["vetoes"].items():
        assert f'<code>{rule}</code></td><td class="num">{n:,}</td>' in page
    biggest = sizes.index[0]
    assert f"<code>{biggest}</code>" in page.split('id="largest-clusters"')[1]
    th = result.model["thresholds"]
    assert f"match {th['match']:g}" in page and f"possible {th['possible']:g}" in page


def test_data_values_are_escaped(result: DedupeResult) -> None:
    evil = copy.deepcopy(result)
    biggest = evil.clusters["cluster_id"].value_counts().index[0]
    at = evil.golden["cluster_id"] == biggest
    evil.golden.loc[at, "first_name"] = PAYLOAD
    evil.golden.loc[at, "company"] = '"><img src=x onerror=alert(2)>'
    evil.profiles.loc[evil.profiles.index[0], "value_masked"] = PAYLOAD
    evil.stats["pairs_by_rule"] = {PAYLOAD: 3, **evil.stats["pairs_by_rule"]}
    page = render_report(evil)
    assert PAYLOAD not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page


def test_no_unmasked_phone_or_email(result: DedupeResult, page: str) -> None:
    raw = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    emails = set(raw["email_1"]) | set(raw["email_2"])
    phones = set(raw["phone_1"]) | set(raw["phone_2"])
    digits = {re.sub(r"\D", "", p) for p in phones}
    golden = {str(v) for v in result.golden[["phone_1", "phone_2", "email_1", "email_2"]].stack().dropna()}
    secrets = {v for v in emails | phones | digits | {"+1" + d for d in digits} | golden if len(v) >= 7}
    assert secrets
    found = [v for v in secrets if v in page]
    assert not found, found[:5]
    largest = page.split('id="largest-clusters"')[1].split("</table>")[0]
    assert "***" in largest and "+1*" in largest  # shown masked, not dropped


def test_rules_scorer_skips_model_sections(result: DedupeResult) -> None:
    rules = copy.copy(result)
    rules.model = {"format": "matching.rules", "version": 1, "description": "documented logic"}
    page = render_report(rules)
    assert "matching.rules" in page
    assert "without match weights" in page
    assert 'class="card waterfall"' not in page
    assert "only the share of candidate pairs" in page  # level shares still shown
    assert _kpi(page, "clusters") == result.stats["clusters"]


def test_empty_pairs_and_minimal_stats(result: DedupeResult, tmp_path: Path) -> None:
    empty = copy.copy(result)
    empty.pairs = result.pairs.iloc[:0]
    empty.stats = {}
    empty.profiles = pd.DataFrame(columns=["field", "value_masked", "records", "kind"])
    path = tmp_path / "report.html"
    write_report(empty, path)
    page = path.read_text(encoding="utf-8")
    assert "No candidate pairs." in page
    assert _kpi(page, "candidate_pairs") == 0
    assert _kpi(page, "clusters") == result.clusters["cluster_id"].nunique()


@pytest.mark.slow
def test_renders_in_headless_chromium(result: DedupeResult, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install -y chromium)")
    report = tmp_path / "report.html"
    write_report(result, report)
    base = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
    ]
    dom = subprocess.run([*base, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # The parsed DOM has the charts (inline SVG needs no script to render).
    assert dom.stdout.count("<svg") > 30
    assert dom.stdout.count('class="chart waterfall"') == 15
    assert "<rect" in dom.stdout and 'id="kpi-clusters"' in dom.stdout
    problems = [line for line in dom.stderr.splitlines() if "Uncaught" in line or "ERROR:CONSOLE" in line]
    assert not problems, problems
    shot = tmp_path / "report.png"
    run = subprocess.run([*base, "--hide-scrollbars", "--window-size=1100,2600", f"--screenshot={shot}",
                          report.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_vectorized_counts_are_pandas_counts(result: DedupeResult) -> None:
    """Cluster sizes, level counts and weight bins as pandas and numpy count them."""
    import numpy as np

    from matching.report import _cluster_sizes, _level_counts, _veto_sample

    codes, uniques = pd.factorize(result.clusters["cluster_id"])
    expected = pd.Series(np.bincount(codes, minlength=len(uniques)), index=uniques)
    sizes = _cluster_sizes(result)
    assert sizes.tolist() == expected.tolist() and [str(i) for i in sizes.index] == [str(i) for i in uniques]
    for col in [c for c in result.pairs.columns if c.endswith("_level")]:
        assert _level_counts(result.pairs[col]).to_dict() == result.pairs[col].value_counts(dropna=False).to_dict()
    # The veto sample: one pair per guard in turn, guards in order of first appearance
    # (pandas' factorize order), as plain pandas picks them.
    vetoed = result.pairs["vetoed_by"]
    positions = np.flatnonzero(vetoed.astype(object).fillna("").to_numpy() != "")
    first_seen = pd.factorize(vetoed.iloc[positions])[0]
    firsts = [positions[first_seen == k][:5] for k in range(int(first_seen.max()) + 1)]
    expected = [int(f[i]) for i in range(5) for f in firsts if i < len(f)][:5]
    assert len(positions) and _veto_sample(result.pairs, positions).tolist() == expected


def test_weight_histogram_counts_as_numpy(result: DedupeResult) -> None:
    import numpy as np

    from matching.report import MAX_BINS, _fmt, _weight_histogram

    page = _weight_histogram(result.pairs, 10.0, 2.0)
    w = result.pairs["weight"].to_numpy(dtype=float)
    lo, hi = math.floor(min(w.min(), 2.0)), math.ceil(max(w.max(), 10.0)) + 1
    width = max(1, math.ceil((hi - lo) / MAX_BINS))
    edges = np.arange(lo, hi + width, width, dtype=float)
    for d in ("match", "possible", "non-match"):
        counts, _ = np.histogram(w[(result.pairs["decision"] == d).to_numpy(dtype=bool)], bins=edges)
        for e, c in zip(edges, counts, strict=False):
            if c:
                assert f"{e:g}: {_fmt(float(c))} {d}</title>" in page


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_veto_sample_reads_categorical_codes_in_chunks_like_the_plain_values(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    # One guard per pair (or none), in an order where later guards first appear late and
    # a chunk boundary falls between a guard's occurrences: the categorical path, read a
    # chunk at a time, picks what the object path picks (one per guard in turn, in order
    # of first appearance).
    import matching.report as report

    guards = ["", "namesake_nearby", "", "household_only", "namesake_nearby", "different_vin", "",
              "household_only", "household_only", "generation", "namesake_nearby", "generation", "", "different_vin"]
    values = pd.Series(guards * 3, dtype="category")
    pairs = pd.DataFrame({"vetoed_by": values})
    plain = pairs.assign(vetoed_by=values.astype(object))
    positions = np.flatnonzero(values.astype(object) != "")
    monkeypatch.setattr(report, "_CHUNK", chunk)
    expected = report._veto_sample(plain, positions)
    assert expected.tolist() == [1, 3, 5, 9, 4]
    assert report._veto_sample(pairs, positions).tolist() == expected.tolist()
    assert report._veto_sample(pairs, positions[:0]).tolist() == []

"""Tests of matching.push: dry run, apply, and a push under injected faults that is killed
and resumed and still ends with one customer per golden record (as a clean push does)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from matching.client import MyKaarmaClient
from matching.commands import push as push_command
from matching.pipeline.dedupe import dedupe, write_run
from matching.push import JOURNAL_FILE, PLAN_FILE, journal_rows, plan, push
from matching.sandbox import FaultConfig, Sandbox

ROOT = Path(__file__).resolve().parents[1]
DEPT = "dept-1"
USER, PASSWORD = "u", "p"


@pytest.fixture(scope="module")
def run_template(tmp_path_factory) -> Path:
    df = pd.read_csv(ROOT / "datasets" / "sample" / "customers.csv", dtype=str).head(120)
    out = tmp_path_factory.mktemp("run")
    write_run(dedupe(df), out, report=False)
    return out


@pytest.fixture
def run_dir(run_template, tmp_path) -> Path:
    return Path(shutil.copytree(run_template, tmp_path / "run"))


def client_for(sb: Sandbox, **kw: Any) -> MyKaarmaClient:
    return MyKaarmaClient(sb.base_url, USER, PASSWORD, rate_limit_per_second=None, backoff_base=0.01, **kw)


def test_dry_run_writes_plan_and_sends_nothing(run_dir, capsys):
    parser = argparse.ArgumentParser()
    push_command.configure(parser)
    assert push_command.run(parser.parse_args([str(run_dir), "--department", DEPT])) == 0
    lines = (run_dir / PLAN_FILE).read_text().splitlines()
    golden = (run_dir / "golden.jsonl").read_text().splitlines()
    assert len(lines) == len(golden)
    step = json.loads(lines[0])
    assert step["operation"] == "create-or-update" and step["request"]["searchForDuplicate"] is True
    assert not (run_dir / JOURNAL_FILE).exists()
    assert "dry run" in capsys.readouterr().out


def _clean_push(run_dir: Path, tmp_path: Path) -> tuple[int, dict[str, str]]:
    ref = Path(shutil.copytree(run_dir, tmp_path / "ref"))
    with Sandbox(tmp_path / "ref.db", USER, PASSWORD) as sb, client_for(sb) as c:
        summary = push(ref, DEPT, c, apply=True)
        assert summary.created + summary.updated + len(summary.failed) == summary.total
        again = push(ref, DEPT, c, apply=True)
        assert again.skipped == summary.total - len(summary.failed) and again.created == 0
        return sb.store.count(DEPT), {r["key"]: r["state"] for r in journal_rows(ref)}


class Killed(Exception):
    """Stands for the process being killed."""


class KillingClient(MyKaarmaClient):
    """Raises after the server applied the Nth create: the answer is lost to the journal."""

    def __init__(self, *a: Any, kill_at: int, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.calls = 0
        self.kill_at = kill_at

    def create_customer(self, *a: Any, **kw: Any):  # type: ignore[override]
        result = super().create_customer(*a, **kw)
        self.calls += 1
        if self.calls == self.kill_at:
            raise Killed
        return result


@pytest.mark.slow
def test_push_killed_and_resumed_under_faults(run_dir, tmp_path):
    expected_count, expected_states = _clean_push(run_dir, tmp_path)
    faults = FaultConfig(error_rate=0.1, rate_429=0.1, retry_after=0.01, drop_after_write_rate=0.1, seed=11)
    kills = [("sent", 5), ("after-apply", 20), ("done", 40), ("after-apply", 3)]
    with Sandbox(tmp_path / "s.db", USER, PASSWORD, faults=faults) as sb:
        for kind, n in kills:
            seen = [0]

            def hook(step, phase, kind=kind, n=n, seen=seen):
                if phase == kind:
                    seen[0] += 1
                    if seen[0] == n:
                        raise Killed

            kill_at = n if kind == "after-apply" else 0
            with KillingClient(sb.base_url, USER, PASSWORD, kill_at=kill_at, rate_limit_per_second=None,
                               backoff_base=0.01, max_retries=10) as c:
                with pytest.raises(Killed):
                    push(run_dir, DEPT, c, apply=True, on_step=hook)
        with client_for(sb, max_retries=10) as c:
            final = push(run_dir, DEPT, c, apply=True)
            final = push(run_dir, DEPT, c, apply=True)  # a second pass retries transient failures
        assert sb.stats["dropped"] > 0 and sb.stats["500"] > 0
        states = {r["key"]: r["state"] for r in journal_rows(run_dir)}
        assert states == expected_states
        assert sb.store.count(DEPT) == expected_count
        uuids = [r["customerUuid"] for r in journal_rows(run_dir) if r["state"] == "done"]
        assert len(set(uuids)) == expected_count
        assert all("ValidationError" in reason for _, reason in final.failed)


def test_plan_steps_are_create_or_update_with_unique_keys(run_dir):
    steps = plan(run_dir)
    assert all(s.body["searchForDuplicate"] is True for s in steps)
    assert len({s.key for s in steps}) == len(steps)
    assert any(s.record_count > 1 for s in steps)


def test_changed_golden_refuses_to_resume(run_dir, tmp_path):
    with Sandbox(tmp_path / "s.db", USER, PASSWORD) as sb, client_for(sb) as c:
        with pytest.raises(Killed):
            push(run_dir, DEPT, c, apply=True, on_step=lambda s, p: (_ for _ in ()).throw(Killed()) if p == "done" else None)
        lines = (run_dir / "golden.jsonl").read_text().splitlines()
        first = json.loads(lines[0])
        first["customer"]["lastName"] = "Changed"
        lines[0] = json.dumps(first)
        (run_dir / "golden.jsonl").write_text("\n".join(lines) + "\n")
        with pytest.raises(ValueError, match="changed"):
            push(run_dir, DEPT, c, apply=True)

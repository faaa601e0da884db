"""Push the golden records of a dedupe run to myKaarma, safely and resumably.

:func:`plan` turns ``RUN_DIR/golden.jsonl`` into one step per golden record: a
create-or-update (``searchForDuplicate: true``), the operation that is safe to repeat:
a re-sent golden record matches the customer its first send created. :func:`push`
writes the plan (``push_plan.jsonl``) and, with ``apply=True``, executes it through a
:class:`~matching.client.MyKaarmaClient` with a SQLite journal
(``RUN_DIR/push_journal.db``): each step is recorded ``sent`` before the request goes
out and ``done`` (with the customerUuid) or ``failed`` after. A push killed at any moment
and run again skips ``done`` steps, re-sends ``sent``/``failed``/``pending`` ones, and so
finishes without creating a customer twice and without losing one.

Choices where the brief and docs are silent:

- Step identity: the golden record's ``cluster_id`` (from ``golden.csv``, same order)
  when present, else its line number; the journal also keeps a hash of each body and
  refuses to resume against a ``golden.jsonl`` that changed.
- A golden record without phone, email or VIN cannot be found by the server's matching
  logic (step 1 looks only at communications and VINs), so re-sending it after a lost
  answer would create a duplicate. Such steps are sent without re-sends after the
  request left, and a step of that kind found ``sent`` on resume (outcome unknown) is
  not re-sent: it is reported failed "outcome unknown, check before re-sending".
- Summary: ``created`` / ``updated`` (the server matched an existing customer) come from
  the answer's ``created`` flag (a sandbox extension; ``unknown`` otherwise);
  ``merged`` counts golden records that stand for several source records (duplicates
  folded before the push); ``skipped`` = already done by an earlier run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matching.client import MyKaarmaClient, MyKaarmaError

__all__ = ["PushStep", "PushSummary", "plan", "write_plan", "push"]

log = logging.getLogger("matching.push")

PLAN_FILE = "push_plan.jsonl"
JOURNAL_FILE = "push_journal.db"


@dataclass(frozen=True)
class PushStep:
    """One golden record to push: ``key`` (its identity in the journal), the request
    ``body`` (with ``searchForDuplicate: true``), how many source records it stands
    for, and whether the server can match it (it has a phone, email or VIN)."""

    key: str
    line: int
    body: dict[str, Any]
    record_count: int = 1
    matchable: bool = True
    operation: str = "create-or-update"

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "line": self.line,
            "operation": self.operation,
            "recordCount": self.record_count,
            "matchable": self.matchable,
            "request": self.body,
        }


@dataclass
class PushSummary:
    """The outcome of a push: counts, failures ``(key, reason)`` and the plan file."""

    total: int = 0
    created: int = 0
    updated: int = 0
    unknown: int = 0
    merged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0
    applied: bool = False
    plan_path: Path | None = None

    def lines(self) -> list[str]:
        """Human-readable summary lines (no personal data)."""
        out = [
            f"golden records: {self.total}" + ("" if self.applied else " (dry run: nothing sent)"),
        ]
        if self.applied:
            out.append(
                f"created: {self.created}  updated: {self.updated}  unknown: {self.unknown}  "
                f"merged: {self.merged}  failed: {len(self.failed)}  skipped (already done): {self.skipped}"
            )
            out += [f"  failed {key}: {reason}" for key, reason in self.failed]
        else:
            out.append(f"would create-or-update {self.total} (searchForDuplicate true); merged: {self.merged}")
        return out


def _has_identifier(body: dict[str, Any]) -> bool:
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    phones = [p.get("phoneNumber") for p in customer.get("phoneNumbers") or [] if isinstance(p, dict)]
    emails = [e.get("emailAddress") for e in customer.get("emails") or [] if isinstance(e, dict)]
    vins = [v.get("vin") for v in body.get("vehicles") or [] if isinstance(v, dict)]
    return any(isinstance(x, str) and x.strip() for x in phones + emails + vins)


def plan(run_dir: str | Path) -> list[PushStep]:
    """The push plan of a dedupe run directory (``golden.jsonl``, ``golden.csv`` if any)."""
    run = Path(run_dir)
    golden = run / "golden.jsonl"
    if not golden.exists():
        raise FileNotFoundError(f"{golden}: no golden.jsonl (run `matching dedupe` first)")
    bodies = []
    with golden.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    bodies.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{golden}:{n}: not JSON ({exc.msg})") from None
    meta: list[dict[str, str]] = []
    golden_csv = run / "golden.csv"
    if golden_csv.exists():
        with golden_csv.open(encoding="utf-8-sig", newline="") as fh:
            meta = list(csv.DictReader(fh))
    if len(meta) != len(bodies) or any(not m.get("cluster_id") for m in meta):
        meta = []  # cannot align rows with lines: fall back to line numbers
    steps = []
    seen: set[str] = set()
    for i, (n, body) in enumerate(bodies):
        if not isinstance(body, dict):
            raise ValueError(f"{golden}:{n}: a golden record must be a JSON object")
        body = dict(body)
        body["searchForDuplicate"] = True
        key = meta[i]["cluster_id"] if meta else f"line-{n}"
        if key in seen:
            key = f"{key}@line-{n}"
        seen.add(key)
        try:
            count = int(meta[i].get("record_count") or 1) if meta else 1
        except ValueError:
            count = 1
        steps.append(PushStep(key, n, body, count, _has_identifier(body)))
    return steps


def write_plan(run_dir: str | Path, steps: list[PushStep]) -> Path:
    """Write ``RUN_DIR/push_plan.jsonl`` (one step per line); returns its path."""
    path = Path(run_dir) / PLAN_FILE
    with path.open("w", encoding="utf-8") as fh:
        for step in steps:
            fh.write(json.dumps(step.to_json(), ensure_ascii=False) + "\n")
    return path


class _Journal:
    """The push journal: one row per step with its state (pending, sent, done, failed)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a committed step survives a killed process (the brief's
        # case); only a power cut may lose the last steps, and those are re-sent safely.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute(
            """CREATE TABLE IF NOT EXISTS steps (
                key TEXT PRIMARY KEY, line INTEGER, digest TEXT, department TEXT,
                state TEXT NOT NULL, customer_uuid TEXT, created INTEGER, attempts INTEGER DEFAULT 0,
                error TEXT, updated_at TEXT)"""
        )

    def close(self) -> None:
        self.conn.close()

    def load(self, steps: list[PushStep], department: str) -> dict[str, tuple[str, str | None]]:
        rows = {
            r[0]: (r[1], r[2], r[3])
            for r in self.conn.execute("SELECT key, digest, department, state FROM steps")
        }
        for step in steps:
            row = rows.get(step.key)
            if row is not None and (row[0] != step.digest or row[1] != department):
                raise ValueError(
                    f"the journal's step {step.key} was for another golden record or department; "
                    "golden.jsonl changed since the last push: use a new run directory"
                )
        with self.conn:
            self.conn.executemany(
                "INSERT OR IGNORE INTO steps (key, line, digest, department, state, updated_at) "
                "VALUES (?, ?, ?, ?, 'pending', ?)",
                [(s.key, s.line, s.digest, department, _now()) for s in steps],
            )
        return {
            r[0]: (r[1], r[2])
            for r in self.conn.execute("SELECT key, state, error FROM steps")
        }

    def mark(self, key: str, state: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        extra = f", {sets}" if sets else ""
        bump = ", attempts = attempts + 1" if state == "sent" else ""
        self.conn.execute(
            f"UPDATE steps SET state = ?, updated_at = ?{extra}{bump} WHERE key = ?",
            (state, _now(), *values.values(), key),
        )

    def counts(self) -> list[tuple[str, str, str | None, int | None, str | None]]:
        return list(
            self.conn.execute("SELECT key, state, customer_uuid, created, error FROM steps ORDER BY line")
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def push(
    run_dir: str | Path,
    department: str,
    client: MyKaarmaClient | None = None,
    *,
    apply: bool = False,
    on_step: Callable[[PushStep, str], None] | None = None,
) -> PushSummary:
    """Plan (always written to ``push_plan.jsonl``) and, with ``apply``, execute the push
    of a run's golden records to ``department`` through ``client``.

    ``on_step(step, phase)`` is called with phase ``"sent"`` (journal says sent, request
    not yet out) and ``"done"`` (answer recorded): a test hook to kill the push anywhere.
    """
    steps = plan(run_dir)
    summary = PushSummary(total=len(steps), applied=apply)
    summary.merged = sum(1 for s in steps if s.record_count > 1)
    summary.plan_path = write_plan(run_dir, steps)
    if not apply:
        return summary
    if client is None:
        raise ValueError("apply=True needs a client")
    journal = _Journal(Path(run_dir) / JOURNAL_FILE)
    try:
        states = journal.load(steps, department)
        already = {k for k, (state, _) in states.items() if state == "done"}
        summary.skipped = sum(1 for s in steps if s.key in already)
        for step in steps:
            state, error = states[step.key]
            if state == "done":
                continue
            if state == "sent" and not step.matchable:
                # The last run sent it and died: it may exist, and nothing can find it again.
                reason = "outcome unknown (sent, no answer) and the record has no phone, email or VIN: check before re-sending"
                journal.mark(step.key, "failed", error=reason)
                continue
            if state == "failed" and error and error.startswith("outcome unknown"):
                continue  # the same unresolved case from an earlier run
            journal.mark(step.key, "sent")
            if on_step is not None:
                on_step(step, "sent")
            try:
                result = client.create_customer(
                    department, step.body, retry_after_send=None if step.matchable else False
                )
            except MyKaarmaError as exc:
                if exc.maybe_applied and not step.matchable:
                    reason = f"outcome unknown ({type(exc).__name__}) and the record has no phone, email or VIN: check before re-sending"
                else:
                    reason = f"{type(exc).__name__}: {exc}"
                journal.mark(step.key, "failed", error=reason)
                log.warning("push: step %s failed (%s)", step.key, type(exc).__name__)
                continue
            if result.value is None:
                journal.mark(step.key, "failed", error="the answer has no customerUuid")
                continue
            created = None if result.created is None else int(result.created)
            journal.mark(step.key, "done", customer_uuid=result.value, created=created, error=None)
            if on_step is not None:
                on_step(step, "done")
        for key, state, _uuid, created, error in journal.counts():
            if key in already:
                continue
            if state == "done":
                if created == 1:
                    summary.created += 1
                elif created == 0:
                    summary.updated += 1
                else:
                    summary.unknown += 1
            elif state == "failed":
                summary.failed.append((key, error or "failed"))
    finally:
        journal.close()
    return summary


def journal_rows(run_dir: str | Path) -> list[dict[str, Any]]:
    """The journal's rows (key, state, customerUuid, created, error), in plan order."""
    journal = _Journal(Path(run_dir) / JOURNAL_FILE)
    try:
        return [
            {"key": k, "state": s, "customerUuid": u, "created": c, "error": e}
            for k, s, u, c, e in journal.counts()
        ]
    finally:
        journal.close()

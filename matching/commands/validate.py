"""``matching validate FILE...``: check myKaarma customer request JSON against the rules.

Each file holds one request object, a JSON array of them, or JSON Lines. Every issue is
printed with the file, the record (line or array index) and the field path. The exit
code is 1 when any error was found (warnings alone give 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matching.model import CustomerRequest


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, help="request JSON, JSON array or JSON Lines")
    parser.add_argument("--check-vin-digit", action="store_true", help="also require VIN check digits")
    parser.add_argument("--json", action="store_true", help="print issues as JSON Lines")


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, object) for each request in the file: 'line N' or 'item N'."""
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith("["):
        for i, obj in enumerate(json.loads(text)):
            yield f"item {i}", obj
        return
    try:
        yield "record 1", json.loads(text)
        return
    except json.JSONDecodeError:
        pass
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield f"line {n}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"line {n}", exc


def run(args: argparse.Namespace) -> int:
    errors = warnings = records = 0
    for path in args.files:
        try:
            items = list(_records(path))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            print(f"{path}: cannot read: {exc}", file=sys.stderr)
            errors += 1
            continue
        for where, obj in items:
            records += 1
            if isinstance(obj, Exception) or not isinstance(obj, dict):
                what = obj if isinstance(obj, Exception) else f"expected a JSON object, got {type(obj).__name__}"
                _emit(args, path, where, "error", "", None, f"not a request: {what}")
                errors += 1
                continue
            for issue in CustomerRequest.from_json(obj).validate(check_vin_digit=args.check_vin_digit):
                _emit(args, path, where, issue.severity, issue.path, issue.code, issue.message)
                errors += issue.severity == "error"
                warnings += issue.severity == "warning"
    print(f"{records} record(s): {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors else 0


def _emit(args: argparse.Namespace, path: Path, where: str, severity: str, field: str, code: int | None, message: str) -> None:
    if args.json:
        print(json.dumps({"file": str(path), "record": where, "severity": severity, "path": field, "code": code, "message": message}))
    else:
        code_text = f" [{code}]" if code is not None else ""
        print(f"{path}: {where}: {severity}{code_text} {field}: {message}")

"""A local stand-in for the myKaarma Customer API, backed by :class:`~matching.CustomerStore`.

:class:`Sandbox` serves the documented paths under ``/customer/v2`` (spec §3) over HTTP
(stdlib :class:`http.server.ThreadingHTTPServer`, bound to 127.0.0.1 by default), with
Basic auth, the ``{errors, warnings, ...}`` envelope, and seeded fault injection
(:class:`FaultConfig`) to test clients against: 500s, 429 with ``Retry-After``, slow
answers and connections dropped after a write was applied.

Routes (``{dept}`` = departmentUUID; a trailing ``/`` is accepted everywhere):

- ``POST|PUT /department/{dept}/customer``: create; with ``searchForDuplicate: true``
  create-or-update (``CustomerStore.save``). Answer ``{errors, warnings, customerUuid,
  created, customerWithVehicles}``.
- ``GET /department/{dept}/customer/list``: search, answer ``{errors, warnings,
  matchingCount, matchingCustomers}`` (``CustomerStore.search``).
- ``GET /department/{dept}/customer/{uuid}[?excludeVehicles=true]``: read.
- ``PUT|POST /department/{dept}/customer/{uuid}``: update (replace semantics for phones
  and emails), answer ``{errors, warnings, customerUuid}``.
- ``POST /department/{dept}/customer/{uuid}/bulk_merge``: bulk merge (documented body),
  answer ``{errors, warnings, customerWithVehicles}`` of the primary.

Choices where the docs are silent (sandbox inventions, not myKaarma's):

- Error codes: none are documented, so the sandbox uses ``40001 VALIDATION_ERROR`` (one
  per failed rule, message ``path: message``), ``40002 BAD_REQUEST`` (not JSON, bad
  search parameter), ``40101 UNAUTHORIZED``, ``40401 CUSTOMER_NOT_FOUND``, ``40402
  CUSTOMER_MERGED``, ``40501 METHOD_NOT_ALLOWED``, ``42901 TOO_MANY_REQUESTS``,
  ``50001 INTERNAL_ERROR``.
- A merged (tombstone) uuid answers 404 ``CUSTOMER_MERGED`` with ``mergedInto`` (the
  primary's uuid) in the envelope, for read, update and as a merge primary; the client
  then decides (``NotFoundError.merged_into``). Merging it again as an *other* is a
  no-op (bulk merge stays idempotent).
- ``created`` in the create answer is an extension: the real create answer is
  undocumented besides ``customerUuid``.
- Validation: ``CustomerRequest.validate()`` errors give 400; its coded warnings come
  back in ``warnings`` of a successful answer; the update adds 10005-10008.
- Faults are drawn per request, after auth, from one seeded generator: 429 (with
  ``Retry-After``), else 500, both before any write; slow answers delay the request;
  a drop closes the connection without an answer after a create/update/merge was applied.
- Logs (``matching.sandbox``) show method, path without the query, and status.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from matching.model import CustomerRequest
from matching.store import CustomerMerged, CustomerNotFound, CustomerStore

__all__ = ["FaultConfig", "Sandbox", "BASE_PATH"]

log = logging.getLogger("matching.sandbox")

BASE_PATH = "/customer/v2"

_CREATE = re.compile(r"^/department/([^/]+)/customer/?$")
_LIST = re.compile(r"^/department/([^/]+)/customer/list/?$")
_MERGE = re.compile(r"^/department/([^/]+)/customer/([^/]+)/bulk_merge/?$")
_ONE = re.compile(r"^/department/([^/]+)/customer/([^/]+)/?$")

_TITLES = {
    40001: "VALIDATION_ERROR",
    40002: "BAD_REQUEST",
    40101: "UNAUTHORIZED",
    40401: "CUSTOMER_NOT_FOUND",
    40402: "CUSTOMER_MERGED",
    40501: "METHOD_NOT_ALLOWED",
    42901: "TOO_MANY_REQUESTS",
    50001: "INTERNAL_ERROR",
}


@dataclass(frozen=True)
class FaultConfig:
    """Seeded fault injection. Rates are probabilities per request (0..1):
    ``error_rate`` answers 500, ``rate_429`` answers 429 with ``Retry-After:
    retry_after`` seconds (fractions allowed), ``slow_rate`` delays by ``slow_ms``,
    ``drop_after_write_rate`` applies a write then closes the connection unanswered."""

    error_rate: float = 0.0
    rate_429: float = 0.0
    retry_after: float = 1.0
    slow_ms: float = 0.0
    slow_rate: float = 1.0
    drop_after_write_rate: float = 0.0
    seed: int | None = None


class _Fault(Exception):
    """Abort the request with this status (injected)."""


class _DropConnection(Exception):
    """Close the connection without an answer."""


class _HttpError(Exception):
    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = extra


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many short connections from retrying clients: do not refuse them under a burst.
    request_queue_size = 128
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API gateway
    # Headers and body are separate writes: without TCP_NODELAY, Nagle plus delayed ACK
    # adds ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: _Server
    server_version = "mykaarma-sandbox"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line (query included: a search term is PII) to stderr.
        pass

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        body = {
            "errors": [{"errorCode": code, "errorTitle": _TITLES[code], "errorMessage": message}],
            "warnings": [],
            **extra,
        }
        self._reply(status, body, headers)

    def _handle(self, method: str) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status = 0
        try:
            if not sandbox._authorized(self.headers.get("Authorization")):
                raise _HttpError(401, 40101, "missing or wrong Basic credentials", _www=True)
            sandbox._inject_before()
            status, body, dropped = sandbox._route(method, split.path, split.query, raw)
            if dropped:
                raise _DropConnection
            self._reply(status, body)
        except _DropConnection:
            status = -1
            self.close_connection = True
        except _Fault as fault:
            status = fault.args[0]
            if status == 429:
                self._error(
                    429, 42901, "injected rate limit",
                    {"Retry-After": _fmt_seconds(sandbox.faults.retry_after)},
                )
            else:
                self._error(500, 50001, "injected server error")
        except _HttpError as exc:
            status = exc.status
            headers = {"WWW-Authenticate": 'Basic realm="mykaarma-sandbox"'} if exc.extra.pop("_www", False) else None
            self._error(exc.status, exc.code, str(exc), headers, **exc.extra)
        except Exception:  # a bug in the sandbox or the store: answer like a server would
            log.exception("%s %s failed", method, split.path)
            status = 500
            self._error(500, 50001, "internal error")
        log.info("%s %s -> %s", method, split.path, "dropped" if status == -1 else status)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _HttpError(400, 40002, f"the body is not JSON: {exc}") from None


def _request_body(raw: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The request body and its coded warnings; 400 on validation errors."""
    body = _json_body(raw)
    if not isinstance(body, dict):
        raise _HttpError(400, 40002, "the body must be a JSON object")
    issues = CustomerRequest.from_json(body).validate()
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i.to_api_warning().to_json() for i in issues if i.code is not None]
    if errors:
        raise _ValidationFailed(errors, warnings)
    return body, warnings


class _ValidationFailed(Exception):
    def __init__(self, errors: list[Any], warnings: list[dict[str, Any]]) -> None:
        super().__init__("validation failed")
        self.errors = errors
        self.warnings = warnings


class Sandbox:
    """The sandbox server over the store file ``store_path`` (created if missing).

    ``port=0`` picks a free port. Use as a context manager (serves from a background
    thread) or call :meth:`serve_forever`. ``base_url`` is what a
    :class:`~matching.client.MyKaarmaClient` needs; ``store`` is the live store.
    """

    def __init__(
        self,
        store_path: str | Path,
        user: str,
        password: str,
        port: int = 0,
        faults: FaultConfig | None = None,
        *,
        host: str = "127.0.0.1",
    ) -> None:
        if not user or not password:
            raise ValueError("the sandbox needs a user and a password (Basic auth)")
        self.faults = faults or FaultConfig()
        self.store = CustomerStore(store_path)
        self._expected = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._rng = random.Random(self.faults.seed)
        self._rng_lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None
        #: Counters of what happened, for tests and the CLI's final line.
        self.stats: dict[str, int] = {"requests": 0, "500": 0, "429": 0, "slow": 0, "dropped": 0}

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/customer/v2``."""
        return f"http://{self.host}:{self.port}{BASE_PATH}"

    def start(self) -> Sandbox:
        """Serve from a daemon thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`close` (or KeyboardInterrupt)."""
        self._httpd.serve_forever()

    def close(self) -> None:
        """Stop serving and close the store."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ request handling

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        token = header[6:].strip()
        try:
            base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(token.encode(), self._expected.encode())

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._rng_lock:
            return self._rng.random() < rate

    def _count(self, name: str) -> None:
        with self._rng_lock:
            self.stats[name] += 1

    def _inject_before(self) -> None:
        f = self.faults
        self._count("requests")
        if f.slow_ms > 0 and self._roll(f.slow_rate):
            self._count("slow")
            time.sleep(f.slow_ms / 1000)
        if self._roll(f.rate_429):
            self._count("429")
            raise _Fault(429)
        if self._roll(f.error_rate):
            self._count("500")
            raise _Fault(500)

    def _drop_after_write(self) -> bool:
        if self._roll(self.faults.drop_after_write_rate):
            self._count("dropped")
            return True
        return False

    def _route(self, method: str, path: str, query: str, raw: bytes) -> tuple[int, Any, bool]:
        """(status, body, drop the connection) for one request."""
        if not path.startswith(BASE_PATH + "/"):
            raise _HttpError(404, 40401, f"no route {path}")
        rest = path[len(BASE_PATH):]
        try:
            if m := _LIST.match(rest):
                self._allow(method, "GET")
                return 200, self._search(m.group(1), parse_qs(query)), False
            if m := _CREATE.match(rest):
                self._allow(method, "POST", "PUT")
                return self._create(m.group(1), raw)
            if m := _MERGE.match(rest):
                self._allow(method, "POST")
                return self._merge(m.group(1), m.group(2), raw)
            if m := _ONE.match(rest):
                self._allow(method, "GET", "PUT", "POST")
                if method == "GET":
                    return 200, self._read(m.group(1), m.group(2), parse_qs(query)), False
                return self._update(m.group(1), m.group(2), raw)
        except _ValidationFailed as failed:
            return 400, {
                "errors": [
                    {"errorCode": 40001, "errorTitle": _TITLES[40001], "errorMessage": f"{i.path}: {i.message}"}
                    for i in failed.errors
                ],
                "warnings": failed.warnings,
            }, False
        except CustomerMerged as merged:
            raise _HttpError(404, 40402, str(merged), mergedInto=merged.primary_uuid) from None
        except CustomerNotFound as missing:
            raise _HttpError(404, 40401, str(missing)) from None
        raise _HttpError(404, 40401, f"no route {path}")

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise _HttpError(405, 40501, f"{method} is not allowed here; use {' or '.join(allowed)}")

    def _search(self, dept: str, q: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str | None:
            values = q.get(name)
            return values[0] if values else None

        term = one("searchTerm")
        try:
            return self.store.search(
                term if term is not None else "",
                department=dept,
                fields=one("fieldsToBeSearched"),
                operator=one("queryOperator") or "AND",
                max_results=one("maxResults") or 100,
                preference=one("searchPreference") or "customer",
            )
        except ValueError as exc:
            raise _HttpError(400, 40002, str(exc)) from None

    def _read(self, dept: str, uuid: str, q: dict[str, list[str]]) -> dict[str, Any]:
        exclude = (q.get("excludeVehicles") or ["false"])[0].strip().lower() == "true"
        return self.store.read(uuid, department=dept, exclude_vehicles=exclude)

    def _create(self, dept: str, raw: bytes) -> tuple[int, Any, bool]:
        body, warnings = _request_body(raw)
        if body.get("searchForDuplicate") is True:
            uuid, created, _ = self.store.save(body, department=dept)
        else:
            uuid, created = self.store.create(body, department=dept), True
        answer = {
            "errors": [],
            "warnings": warnings,
            "customerUuid": uuid,
            "created": created,
            "customerWithVehicles": self.store.read(uuid, department=dept)["customerWithVehicles"],
        }
        return 200, answer, self._drop_after_write()

    def _update(self, dept: str, uuid: str, raw: bytes) -> tuple[int, Any, bool]:
        body, warnings = _request_body(raw)
        update_warnings = self.store.update(uuid, body, department=dept)
        seen = {w.get("warningCode") for w in warnings}
        warnings += [w.to_json() for w in update_warnings if w.warning_code not in seen]
        answer = {"errors": [], "warnings": warnings, "customerUuid": uuid}
        return 200, answer, self._drop_after_write()

    def _merge(self, dept: str, primary: str, raw: bytes) -> tuple[int, Any, bool]:
        body = _json_body(raw)
        if not isinstance(body, dict):
            raise _HttpError(400, 40002, "the bulk merge body must be a JSON object")
        guids = body.get("customerGUIDs")
        if isinstance(guids, list):
            # Others already merged into this primary: a re-sent merge is a no-op for them.
            body = dict(body)
            body["customerGUIDs"] = [
                g for g in guids
                if not (isinstance(g, str) and self._merged_into(g, dept) == primary)
            ]
        try:
            answer = self.store.merge_json(primary, body, department=dept)
        except (TypeError, ValueError) as exc:
            raise _HttpError(400, 40002, str(exc)) from None
        return 200, answer, self._drop_after_write()

    def _merged_into(self, uuid: str, dept: str) -> str | None:
        try:
            resolved = self.store.resolve(uuid, department=dept)
        except CustomerNotFound:
            return None
        return resolved if resolved != uuid else None

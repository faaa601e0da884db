"""A thin, synchronous client of the myKaarma Customer API (spec §3-§5), built on httpx.

:class:`MyKaarmaClient` sends the documented operations (create, create-or-update with
``searchForDuplicate``, update, read, search, bulk merge) with Basic auth, retries what
is safe to retry, keeps under a client-side rate limit, and returns
:mod:`matching.model` objects wrapped in :class:`ApiResult` (value + warnings).
:meth:`MyKaarmaClient.search_then_save` is the partner flow of spec §1(d).

Retries (exponential backoff with full jitter; ``Retry-After`` seconds honoured, a
fractional value too) cover connection failures, timeouts, 429 and 5xx, never other
4xx. Idempotency decides what may be re-sent once the request may have reached the
server:

- **safe** (re-sent after a lost response, a timeout or a 5xx): read, search, update
  (PUT/POST of the same body gives the same state) and create with
  ``searchForDuplicate: true`` (a re-sent request matches the customer the first one
  created, spec §1(b) save step);
- **unsafe**: a plain create (``searchForDuplicate`` not true) and bulk merge. They are
  retried only when the server surely did not act on them: the connection could not be
  opened, or a 429 answer. After the request may have been sent (read timeout, dropped
  connection, 5xx) :class:`TransportError` / :class:`ServerError` is raised with
  ``maybe_applied=True``: re-sending a plain create could make a duplicate; search for
  the customer, or send it again with ``searchForDuplicate: true``.

Logging (``matching.client``): method, path (department and customer uuid are
identifiers, not personal data), status, attempt and timing. Never bodies, query values
(a search term is a phone, an email or a name), credentials or the Authorization
header. httpx's own INFO line prints the full URL, query included, so the client adds a
filter to the ``httpx`` logger that cuts the query string from it.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from matching.model import (
    ApiError,
    ApiWarning,
    Customer,
    CustomerRequest,
    CustomerWithVehicles,
    validate_search_params,
)
from matching.privacy import mask

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiResult",
    "AuthError",
    "MyKaarmaClient",
    "MyKaarmaError",
    "NotFoundError",
    "RateLimited",
    "SaveOutcome",
    "ServerError",
    "TransportError",
    "ValidationError",
    "TokenBucket",
    "mask",
]

log = logging.getLogger("matching.client")

DEFAULT_BASE_URL = "https://api.mykaarma.com/customer/v2"

T = TypeVar("T")
Request = CustomerRequest | Mapping[str, Any]


# --------------------------------------------------------------------------- results and errors


@dataclass(frozen=True)
class ApiResult(Generic[T]):
    """A successful call: ``value`` (typed per method), the response ``warnings`` and
    the HTTP ``status``. ``created`` is True/False when the answer says whether a
    create-or-update created a customer (the sandbox does; the real API's create
    response is undocumented), else None."""

    value: T
    warnings: list[ApiWarning] = field(default_factory=list)
    status: int = 200
    created: bool | None = None


@dataclass(frozen=True)
class SaveOutcome:
    """What :meth:`MyKaarmaClient.search_then_save` did: the customer, whether it was
    created, and why (which search term found what; values masked)."""

    customer_uuid: str | None
    created: bool
    explanation: str
    warnings: list[ApiWarning] = field(default_factory=list)


class MyKaarmaError(Exception):
    """Base of the client's errors. ``status`` is the HTTP status (None without an
    answer); ``errors``/``warnings`` come from the response envelope; ``method`` and
    ``path`` name the call. ``maybe_applied`` is True when a write may have been applied
    although no success answer came back."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "",
        path: str = "",
        errors: Sequence[ApiError] = (),
        warnings: Sequence[ApiWarning] = (),
        maybe_applied: bool = False,
        merged_into: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.errors = list(errors)
        self.warnings = list(warnings)
        self.maybe_applied = maybe_applied
        self.merged_into = merged_into


class AuthError(MyKaarmaError):
    """401/403: wrong or missing credentials, or a missing scope for the department."""


class ValidationError(MyKaarmaError):
    """400 (or any answer carrying ``errors[]``): the request was rejected; see
    ``errors`` and ``warnings`` (with their codes)."""


class NotFoundError(MyKaarmaError):
    """404: no such customer in the department. ``merged_into`` names the primary when
    the server says the customer was merged (the sandbox does)."""


class ServerError(MyKaarmaError):
    """5xx, after the retries (or at once for a write that must not be re-sent)."""


class RateLimited(MyKaarmaError):
    """429 after the retries."""


class TransportError(MyKaarmaError):
    """No answer: connection refused/reset/dropped or timeout, after the retries."""


# --------------------------------------------------------------------------- helpers


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, bursts up to ``burst``.
    :meth:`acquire` blocks until a token is free."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 tokens per second, not {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting if needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait


class _RedactQuery(logging.Filter):
    """Cuts the query string (a search term is personal data) from httpx's request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _strip_query(a) if isinstance(a, httpx.URL | str) else a for a in record.args
            )
        return True


def _strip_query(value: httpx.URL | str) -> str | httpx.URL:
    text = str(value)
    if "?" not in text:
        return value
    return text.split("?", 1)[0] + "?<redacted>"


_REDACT_LOCK = threading.Lock()


def _install_httpx_redaction() -> None:
    with _REDACT_LOCK:
        logger = logging.getLogger("httpx")
        if not any(isinstance(f, _RedactQuery) for f in logger.filters):
            logger.addFilter(_RedactQuery())


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # [INF] an HTTP date is not worth parsing here: fall back to backoff
    return max(0.0, seconds)


def _body(request: Request) -> dict[str, Any]:
    if isinstance(request, CustomerRequest):
        return request.to_json()
    if isinstance(request, Mapping):
        return dict(request)
    raise TypeError(f"a request must be a CustomerRequest or a JSON object, not {type(request).__name__}")


def _envelope(data: Any) -> tuple[list[ApiError], list[ApiWarning]]:
    if not isinstance(data, Mapping):
        return [], []
    errors = [ApiError.from_json(e) for e in data.get("errors") or [] if isinstance(e, Mapping)]
    warnings = [
        ApiWarning.from_json(w) for w in data.get("warnings") or [] if isinstance(w, Mapping)
    ]
    return errors, warnings


def _customer_with_vehicles(item: Mapping[str, Any]) -> CustomerWithVehicles:
    """One search hit: ``{customer, vehicles}`` or a bare read-customer (which may carry
    its own ``vehicles``)."""
    if isinstance(item.get("customer"), Mapping):
        return CustomerWithVehicles.from_json(dict(item))
    customer = dict(item)
    vehicles = customer.pop("vehicles", None)
    body: dict[str, Any] = {"customer": customer}
    if isinstance(vehicles, list):
        body["vehicles"] = vehicles
    return CustomerWithVehicles.from_json(body)


def parse_search_response(data: Any) -> list[CustomerWithVehicles]:
    """The customers of a search answer in any of the three documented shapes (§4): a
    bare array of ``{customer, vehicles}``; ``{matchingCount, matchingCustomers}``;
    ``{errors, warnings, customers}``. ``None`` (204) is no customer."""
    if data is None:
        return []
    if isinstance(data, list):
        items: Any = data
    elif isinstance(data, Mapping):
        if "matchingCustomers" in data:
            items = data.get("matchingCustomers") or []
        elif "customers" in data:
            items = data.get("customers") or []
        else:
            items = []
    else:
        raise ValueError(f"unexpected search answer: a JSON {type(data).__name__}")
    out: list[CustomerWithVehicles] = []
    for item in items:
        # [INF] the qa API ref hints at nested arrays: flatten one level.
        for hit in item if isinstance(item, list) else [item]:
            if isinstance(hit, Mapping):
                out.append(_customer_with_vehicles(hit))
    return out


def _uuid_of(result: CustomerWithVehicles) -> str | None:
    customer = result.customer
    if isinstance(customer, Customer) and isinstance(customer.customer_uuid, str):
        return customer.customer_uuid
    return None


# --------------------------------------------------------------------------- the client

_SAFE_STATUSES = frozenset({429})  # the server did not act on the request


class MyKaarmaClient:
    """A client of the myKaarma Customer API.

    Credentials come from ``username``/``password`` or the environment variables
    ``MYKAARMA_USERNAME`` / ``MYKAARMA_PASSWORD``. TLS certificates are verified unless
    ``verify`` says otherwise (a CA bundle path, or an ``ssl.SSLContext``). ``transport``
    replaces the network (``httpx.MockTransport`` in tests). ``max_retries`` is the
    number of re-sends after the first attempt; ``rate_limit_per_second`` (None or 0:
    off) caps the request rate of this client. ``update_method`` is PUT (the guide) or
    POST (the API ref). Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 5,
        rate_limit_per_second: float | None = 10.0,
        transport: httpx.BaseTransport | None = None,
        verify: Any = True,
        update_method: str = "PUT",
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        username = username if username is not None else os.environ.get("MYKAARMA_USERNAME")
        password = password if password is not None else os.environ.get("MYKAARMA_PASSWORD")
        if not username or password is None:
            raise ValueError(
                "no credentials: pass username and password, or set MYKAARMA_USERNAME and "
                "MYKAARMA_PASSWORD"
            )
        if update_method.upper() not in ("PUT", "POST"):
            raise ValueError(f"update_method must be PUT or POST, not {update_method!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.update_method = update_method.upper()
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._rng = random.Random(seed)
        self._sleep = sleep
        self._bucket = (
            TokenBucket(rate_limit_per_second, sleep=sleep) if rate_limit_per_second else None
        )
        _install_httpx_redaction()
        if transport is None:
            # TCP_NODELAY: httpx writes headers and body apart; with Nagle and the
            # server's delayed ACK each request would wait ~40 ms.
            transport = httpx.HTTPTransport(
                verify=verify, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            )
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=httpx.BasicAuth(username, password),
            timeout=timeout,
            transport=transport,
            verify=verify,
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:  # never the credentials
        return f"MyKaarmaClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> MyKaarmaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        # Full jitter: spreads the retries of many clients over the whole window.
        return self._rng.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool,
    ) -> httpx.Response:
        """Send with retries; returns the first non-retried answer (any status)."""
        attempt = 0
        while True:
            if self._bucket is not None:
                self._bucket.acquire()
            start = time.perf_counter()
            try:
                response = self._http.request(method, path, params=params, json=json)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left: re-sending is safe for every operation.
                failure: MyKaarmaError = TransportError(
                    f"{method} {path}: cannot connect ({type(exc).__name__})",
                    method=method,
                    path=path,
                )
                retryable = True
            except httpx.TransportError as exc:
                # Sent (maybe in part) and no answer: the server may have acted on it.
                failure = TransportError(
                    f"{method} {path}: no answer ({type(exc).__name__})",
                    method=method,
                    path=path,
                    maybe_applied=method != "GET",
                )
                retryable = idempotent
            else:
                status = response.status_code
                log.info(
                    "%s %s -> %d (attempt %d, %.0f ms)",
                    method,
                    path,
                    status,
                    attempt + 1,
                    (time.perf_counter() - start) * 1000,
                )
                if status != 429 and status < 500:
                    return response
                if attempt >= self.max_retries or not (idempotent or status in _SAFE_STATUSES):
                    return response
                delay = self._backoff(attempt, _retry_after(response))
                log.warning(
                    "%s %s -> %d; retry %d/%d in %.2f s",
                    method, path, status, attempt + 1, self.max_retries, delay,
                )
                response.close()
                self._sleep(delay)
                attempt += 1
                continue
            log.warning("%s (attempt %d)", failure, attempt + 1)
            if not retryable or attempt >= self.max_retries:
                raise failure
            delay = self._backoff(attempt, None)
            self._sleep(delay)
            attempt += 1

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool,
    ) -> tuple[Any, list[ApiWarning], int]:
        """Send and check the answer: (decoded JSON or None, warnings, status); raises
        the matching :class:`MyKaarmaError` on failure."""
        response = self._send(method, path, params=params, json=json, idempotent=idempotent)
        status = response.status_code
        data: Any = None
        if response.content:
            try:
                data = response.json()
            except ValueError:
                data = None
        errors, warnings = _envelope(data)
        merged_into = data.get("mergedInto") if isinstance(data, Mapping) else None
        summary = "; ".join(
            f"{e.error_title or e.error_code}: {e.error_message}" for e in errors
        ) or response.reason_phrase
        kwargs: dict[str, Any] = dict(
            status=status, method=method, path=path, errors=errors, warnings=warnings
        )
        message = f"{method} {path} -> {status}: {summary}"
        if status in (401, 403):
            raise AuthError(message, **kwargs)
        if status == 404:
            raise NotFoundError(message, merged_into=merged_into, **kwargs)
        if status == 429:
            raise RateLimited(message, **kwargs)
        if status >= 500:
            raise ServerError(message, maybe_applied=method != "GET", **kwargs)
        if status >= 400 or errors:
            # [INF] an answer with errors[] is a rejection whatever its status.
            raise ValidationError(message, **kwargs)
        return data, warnings, status

    @staticmethod
    def _dept(department: str) -> str:
        if not isinstance(department, str) or not department.strip():
            raise ValueError("department (the departmentUUID) is required")
        return quote(department, safe="")

    # ------------------------------------------------------------------ operations

    def create_customer(
        self, department: str, request: Request, *, retry_after_send: bool | None = None
    ) -> ApiResult[str | None]:
        """Create a customer (POST /department/{dept}/customer); with
        ``searchForDuplicate: true`` create-or-update (the matched customer is updated).
        The value is the ``customerUuid`` of the answer, None if it has none.

        ``retry_after_send`` overrides whether the request is re-sent once it may have
        reached the server (default: only with ``searchForDuplicate: true``). Pass False
        for a create-or-update the server cannot match (no phone, email or VIN: the
        matching logic has nothing to find it by, so a re-send would duplicate it)."""
        body = _body(request)
        idempotent = body.get("searchForDuplicate") is True
        if retry_after_send is not None:
            idempotent = retry_after_send
        data, warnings, status = self._call(
            "POST", f"/department/{self._dept(department)}/customer", json=body, idempotent=idempotent
        )
        uuid = None
        created = None
        if isinstance(data, Mapping):
            uuid = data.get("customerUuid")
            cwv = data.get("customerWithVehicles")
            if uuid is None and isinstance(cwv, Mapping) and isinstance(cwv.get("customer"), Mapping):
                uuid = cwv["customer"].get("customerUuid")
            if isinstance(data.get("created"), bool):
                created = data["created"]
        if body.get("searchForDuplicate") is not True and created is None:
            created = True  # a plain create always creates
        return ApiResult(uuid if isinstance(uuid, str) else None, warnings, status, created)

    def update_customer(self, department: str, uuid: str, request: Request) -> ApiResult[str]:
        """Update a customer (``update_method`` /department/{dept}/customer/{uuid}). Phones
        and emails are replaced (warnings 10005-10008). The value is the uuid."""
        data, warnings, status = self._call(
            self.update_method,
            f"/department/{self._dept(department)}/customer/{quote(uuid, safe='')}",
            json=_body(request),
            idempotent=True,
        )
        return ApiResult(uuid, warnings, status, False)

    def read_customer(
        self, department: str, uuid: str, exclude_vehicles: bool = False
    ) -> ApiResult[CustomerWithVehicles]:
        """Read a customer with its vehicles (GET /department/{dept}/customer/{uuid})."""
        data, warnings, status = self._call(
            "GET",
            f"/department/{self._dept(department)}/customer/{quote(uuid, safe='')}",
            params={"excludeVehicles": "true" if exclude_vehicles else "false"},
            idempotent=True,
        )
        cwv = data.get("customerWithVehicles") if isinstance(data, Mapping) else None
        if not isinstance(cwv, Mapping):
            raise MyKaarmaError(
                f"GET customer {uuid}: the answer has no customerWithVehicles", status=status
            )
        return ApiResult(CustomerWithVehicles.from_json(dict(cwv)), warnings, status)

    def search_customers(
        self,
        department: str,
        term: str,
        *,
        fields: str | Sequence[str] | None = None,
        max_results: int | None = None,
        query_operator: str | None = None,
        search_preference: str | None = None,
    ) -> ApiResult[list[CustomerWithVehicles]]:
        """Search customers (GET /department/{dept}/customer/list). The parameters are
        checked first (spec §7 rule 8: a term of 1..30 characters, known fields, AND/OR):
        a bad one raises ValueError without a call. Any answer shape of §4 is read."""
        if fields is not None and not isinstance(fields, str):
            fields = ",".join(fields)
        issues = validate_search_params(term, fields, max_results, query_operator, search_preference)
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            raise ValueError("; ".join(f"{i.path}: {i.message}" for i in errors))
        params: dict[str, Any] = {"searchTerm": term}
        if fields is not None:
            params["fieldsToBeSearched"] = fields
        if max_results is not None:
            params["maxResults"] = max_results
        if query_operator is not None:
            params["queryOperator"] = query_operator
        if search_preference is not None:
            params["searchPreference"] = search_preference
        data, warnings, status = self._call(
            "GET",
            f"/department/{self._dept(department)}/customer/list",
            params=params,
            idempotent=True,
        )
        return ApiResult(parse_search_response(data), warnings, status)

    def bulk_merge(
        self,
        department: str,
        primary_uuid: str,
        other_uuids: Sequence[str],
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        preferred_email: str | None = None,
        preferred_phone: str | None = None,
        company: str | None = None,
        requested_by: str | None = None,
        is_manual: bool = False,
    ) -> ApiResult[CustomerWithVehicles | None]:
        """Merge ``other_uuids`` into ``primary_uuid`` (POST
        /department/{dept}/customer/{primary}/bulk_merge, the documented body). The value
        is the merged customer when the answer carries it (undocumented: "200 OK")."""
        if isinstance(other_uuids, str):
            other_uuids = [other_uuids]
        body: dict[str, Any] = {
            "customerGUIDs": list(other_uuids),
            "primaryCustomerGUID": primary_uuid,
            "isManual": is_manual,
        }
        optional = {
            "firstName": first_name,
            "lastName": last_name,
            "preferredEmail": preferred_email,
            "preferredPhone": preferred_phone,
            "company": company,
            "requestedBy": requested_by,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        data, warnings, status = self._call(
            "POST",
            f"/department/{self._dept(department)}/customer/{quote(primary_uuid, safe='')}/bulk_merge",
            json=body,
            idempotent=False,
        )
        cwv = data.get("customerWithVehicles") if isinstance(data, Mapping) else None
        value = CustomerWithVehicles.from_json(dict(cwv)) if isinstance(cwv, Mapping) else None
        return ApiResult(value, warnings, status)

    # ------------------------------------------------------------------ partner flow

    @staticmethod
    def search_terms(request: Request) -> list[tuple[str, str, str]]:
        """The search terms of the partner guidelines (spec §1(d)), best first, as
        ``(kind, term, fieldsToBeSearched)``: the customerKey; the last 8 characters of
        each VIN; each 10-digit phone; the emails when there is no phone. Terms over 30
        characters (the search limit) are left out."""
        from matching.normalize.emails import email as normalize_email
        from matching.normalize.phones import phone_match_key
        from matching.normalize.vins import vin_last8

        body = _body(request)
        model = CustomerRequest.from_json(body)
        customer = model.customer if isinstance(model.customer, Customer) else Customer()
        terms: list[tuple[str, str, str]] = []
        key = customer.customer_key
        if isinstance(key, str) and key.strip():
            terms.append(("customerKey", key.strip(), "customerKey"))
        for vin in model.vins():
            tail = vin_last8(vin)
            if tail:
                terms.append(("vin", tail, "vehicles.vin"))
        phones = [k for k in (phone_match_key(p) for p in customer.phones()) if k and re.fullmatch(r"\d{10}", k)]
        for phone in phones:
            terms.append(("phone", phone, "communications.commValue"))
        if not phones:
            for address in customer.email_addresses():
                normalized = normalize_email(address)
                if normalized:
                    terms.append(("email", normalized, "communications.commValue"))
        seen: set[tuple[str, str]] = set()
        out = []
        for kind, term, fields in terms:
            if len(term) <= 30 and (kind, term) not in seen:
                seen.add((kind, term))
                out.append((kind, term, fields))
        return out

    def search_then_save(self, department: str, request: Request) -> SaveOutcome:
        """The partner flow (spec §1(d)): search by each guideline term in turn (one
        term per call, restricted to its field); the first term that finds customers
        decides: its first customer is updated; when no term finds anyone, the customer
        is created (a plain create: ``searchForDuplicate`` is left out)."""
        body = _body(request)
        body.pop("searchForDuplicate", None)
        notes: list[str] = []
        for kind, term, fields in self.search_terms(body):
            found = self.search_customers(department, term, fields=fields, max_results=10)
            hits = [u for u in (_uuid_of(c) for c in found.value) if u]
            notes.append(f"{kind} {mask(term)}: {len(hits)} customer(s)")
            if hits:
                uuid = hits[0]
                result = self.update_customer(department, uuid, body)
                notes.append(f"updated the first match {uuid}")
                return SaveOutcome(uuid, False, "; ".join(notes), result.warnings)
        if not notes:
            notes.append("no search term (no customerKey, VIN, phone or email)")
        created = self.create_customer(department, body)
        notes.append(
            f"created {created.value}" if created.value else "created (the answer has no customerUuid)"
        )
        return SaveOutcome(created.value, True, "; ".join(notes), created.warnings)


def basic_auth_header(username: str, password: str) -> str:
    """The ``Authorization`` header value of Basic auth (spec §5)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"

"""myKaarma's Customer Matching Logic, step by step, with a trace of every decision.

The documented logic (spec §1(a), §1(b)) decides whether an incoming customer (with its
vehicles) is one a dealer department already has:

1. **Find customers list by communications and VINs**: customers sharing a phone or an
   email with the input, then customers sharing a VIN, merged in that order.
2. **Find matching customer by input name**: none -> abort (no match); exactly one ->
   that customer; more -> go on with the name-filtered list.
3. **Find matching customer by customerKey**: exactly one -> that customer; none -> keep
   the list from step 2; more -> go on with the filtered list.
4. **Filter list by VINs and communications**: keep the customers that share both a
   communication and a VIN with the input.

What the docs leave open is a :class:`MatchPolicy` field, never hard-wired; the defaults
are the spec's recommended ones (§1(b) 1.4, 4.1-4.3 and §1(c)):

- ``on_no_candidates``: nothing found in step 1 -> ``"no_match"`` (default), or
  ``"customer_key"``: look the input's customerKey up alone and go on with those.
- ``after_step4_many``: several customers pass step 4 -> ``"first"`` (default: the first in
  candidate order) or ``"no_match"``.
- ``after_step4_none``: nobody passes step 4 -> ``"first"`` (default: the first of the step-3
  list; each of them already shares the name and a communication or a VIN) or ``"no_match"``.
- ``business_match``: business customers (``isBusiness`` with a company) are compared by
  ``"company"`` (default) or by first and last ``"name"`` like persons.
- ``vin_match``: ``"full"`` VIN equality (default) or ``"full_or_last8"``.
- ``email_key``: ``"exact"`` (trimmed, lower-cased: default) or ``"provider"`` (also folds
  Gmail dots and +tags).
- ``suffix_conflict``: when both sides carry a generation suffix and they differ (Jr vs
  Sr), the names do not match (default True: they are father and son).
- ``candidate_order``: ``"oldest_first"`` (default) or ``"newest_first"``: the order of
  customers inside each list, which decides "the first in the list".
- ``name_match``: ``"exact"`` (default) or ``"fuzzy"``, or any callable
  ``(input_profile, candidate_profile) -> bool``.

The logic itself is pure: it reads candidates from a :class:`CandidateSource` (the
:class:`matching.store.CustomerStore`, or the in-memory :class:`ProfileIndex`) and returns
a :class:`Decision`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

from rapidfuzz.distance import OSA

from matching.normalize.emails import email as normalize_email
from matching.normalize.emails import email_match_key
from matching.normalize.names import are_nicknames, split_suffix
from matching.normalize.names import company as normalize_company
from matching.normalize.names import name as normalize_name
from matching.normalize.phones import phone_match_key
from matching.normalize.vins import vin as normalize_vin

__all__ = [
    "MatchPolicy",
    "Profile",
    "TraceStep",
    "Decision",
    "CandidateSource",
    "ProfileIndex",
    "NameMatcher",
    "names_match_exact",
    "names_match_fuzzy",
    "match_customer",
    "step1_candidates",
    "step2_filter_by_name",
    "step3_filter_by_customer_key",
    "step4_filter_by_vin_and_communication",
]


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class MatchPolicy:
    """Every choice the documentation leaves open. Defaults follow the spec's advice."""

    name_match: Literal["exact", "fuzzy"] | Callable[[Profile, Profile], bool] = "exact"
    on_no_candidates: Literal["no_match", "customer_key"] = "no_match"
    after_step4_many: Literal["first", "no_match"] = "first"
    after_step4_none: Literal["first", "no_match"] = "first"
    business_match: Literal["company", "name"] = "company"
    vin_match: Literal["full", "full_or_last8"] = "full"
    email_key: Literal["exact", "provider"] = "exact"
    suffix_conflict: bool = True
    candidate_order: Literal["oldest_first", "newest_first"] = "oldest_first"
    customer_key_case_sensitive: bool = True

    def __post_init__(self) -> None:
        choices: dict[str, tuple[str, ...]] = {
            "on_no_candidates": ("no_match", "customer_key"),
            "after_step4_many": ("first", "no_match"),
            "after_step4_none": ("first", "no_match"),
            "business_match": ("company", "name"),
            "vin_match": ("full", "full_or_last8"),
            "email_key": ("exact", "provider"),
            "candidate_order": ("oldest_first", "newest_first"),
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"MatchPolicy.{name} must be one of {allowed}, not {value!r}")
        if not callable(self.name_match) and self.name_match not in ("exact", "fuzzy"):
            raise ValueError(
                f"MatchPolicy.name_match must be 'exact', 'fuzzy' or a callable, not {self.name_match!r}"
            )

    def name_matcher(self) -> NameMatcher:
        """The name comparison this policy asks for."""
        if callable(self.name_match):
            return self.name_match
        strict = names_match_exact if self.name_match == "exact" else names_match_fuzzy
        policy = self

        def matcher(a: Profile, b: Profile) -> bool:
            return strict(a, b, policy)

        return matcher

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if callable(self.name_match):
            out["name_match"] = getattr(self.name_match, "__name__", "custom")
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> MatchPolicy:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(obj) - known
        if unknown:
            raise ValueError(f"unknown MatchPolicy fields: {sorted(unknown)}")
        return cls(**dict(obj))


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    """The normalized view of one customer that the matching logic compares.

    ``phones`` hold 10-digit NANP match keys (or E.164 for other countries), ``emails``
    normalized addresses (or provider-folded keys, by policy), ``vins`` normalized VINs.
    ``seq`` is the customer's creation order in its store: it makes "the first in the
    list" deterministic.
    """

    uuid: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    suffix: str | None = None
    company: str | None = None
    is_business: bool = False
    customer_key: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    vins: tuple[str, ...] = ()
    seq: int = 0

    @classmethod
    def from_request(
        cls,
        request: Any,
        *,
        uuid: str | None = None,
        seq: int = 0,
        policy: MatchPolicy | None = None,
    ) -> Profile:
        """Build a profile from a :class:`matching.model.CustomerRequest` or its JSON dict."""
        from matching.model import Customer, CustomerRequest

        policy = policy or MatchPolicy()
        req = request if isinstance(request, CustomerRequest) else CustomerRequest.from_json(request)
        cust = req.customer
        if not isinstance(cust, Customer):
            return cls(uuid=uuid, vins=_vin_keys(req.vins()), seq=seq)
        first_raw = _str_or_none(cust.first_name)
        last_raw = _str_or_none(cust.last_name)
        last, suffix = split_suffix(last_raw) if last_raw else (None, None)
        first, first_suffix = split_suffix(first_raw) if first_raw else (None, None)
        return cls(
            uuid=uuid if uuid is not None else _str_or_none(cust.customer_uuid),
            first_name=normalize_name(first),
            last_name=normalize_name(last),
            suffix=suffix or first_suffix,
            company=normalize_company(_str_or_none(cust.company)),
            is_business=cust.is_business is True,
            customer_key=_key(_str_or_none(cust.customer_key), policy),
            phones=_unique(phone_match_key(p) for p in cust.phones()),
            emails=_unique(_email_key(e, policy) for e in cust.email_addresses()),
            vins=_vin_keys(req.vins()),
            seq=seq,
        )

    def with_identity(self, uuid: str, seq: int) -> Profile:
        return replace(self, uuid=uuid, seq=seq)


def _str_or_none(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v:
            seen.setdefault(v, None)
    return tuple(seen)


def _vin_keys(raw: Iterable[Any]) -> tuple[str, ...]:
    return _unique(normalize_vin(v) for v in raw)


def _email_key(raw: Any, policy: MatchPolicy) -> str | None:
    return email_match_key(raw) if policy.email_key == "provider" else normalize_email(raw)


def _key(raw: str | None, policy: MatchPolicy) -> str | None:
    if raw is None:
        return None
    # customerKey is a DMS identifier: compared as written (trimmed) unless told otherwise.
    return raw if policy.customer_key_case_sensitive else raw.casefold()


# --------------------------------------------------------------------------- names

NameMatcher = Callable[[Profile, Profile], bool]


def _uses_company(a: Profile, b: Profile, policy: MatchPolicy) -> bool:
    return policy.business_match == "company" and a.is_business and a.company is not None


def _suffix_conflict(a: Profile, b: Profile, policy: MatchPolicy) -> bool:
    return policy.suffix_conflict and a.suffix is not None and b.suffix is not None and a.suffix != b.suffix


def names_match_exact(a: Profile, b: Profile, policy: MatchPolicy | None = None) -> bool:
    """Normalized equality of first and last name (company for business customers).

    A missing name never matches, and different generation suffixes (Jr vs Sr) never
    match unless the policy says so.
    """
    policy = policy or MatchPolicy()
    if _uses_company(a, b, policy):
        return b.company is not None and a.company == b.company
    if not (a.first_name and a.last_name and b.first_name and b.last_name):
        return False
    if _suffix_conflict(a, b, policy):
        return False
    return a.first_name == b.first_name and a.last_name == b.last_name


def _first_names_compatible(x: str, y: str) -> bool:
    if x == y:
        return True
    xt, yt = x.split(), y.split()
    # "mary ann" vs "mary": a double first name written in part.
    if xt[0] == yt[0]:
        return True
    a, b = xt[0], yt[0]
    # An initial ("j") stands for any name that starts with it.
    if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return True
    if are_nicknames(a, b):
        return True
    return _is_typo(a, b)


def _is_typo(a: str, b: str) -> bool:
    # A typo keeps the first letter: Ava/Eva and Mason/Jason are twins, not typos.
    if a[0] != b[0] or min(len(a), len(b)) < 4:
        return False
    limit = 2 if min(len(a), len(b)) >= 8 else 1
    return OSA.distance(a, b, score_cutoff=limit) <= limit


# Surname particles: sharing one ("de la cruz" vs "de leon") does not make one surname.
_SURNAME_PARTICLES = frozenset(
    "al bin da das de del della den der di do dos du e el ibn la las le lo los san st ten ter van von y".split()
)


def _last_names_compatible(x: str, y: str) -> bool:
    if x == y:
        return True
    # Compound surnames written in part ("garcia lopez" vs "garcia"); a shared particle
    # alone ("de", "van") is not a shared surname.
    if (set(x.split()) & set(y.split())) - _SURNAME_PARTICLES:
        return True
    return _is_typo(x.replace(" ", ""), y.replace(" ", ""))


def names_match_fuzzy(a: Profile, b: Profile, policy: MatchPolicy | None = None) -> bool:
    """Names that a person would call the same: nicknames, typos, initials, swaps, accents.

    Never across different generation suffixes (Jr vs Sr), and never between different
    first names that merely share a surname (Ava/Eva, Mason/Jason: a typo must keep the
    first letter).
    """
    policy = policy or MatchPolicy()
    if _uses_company(a, b, policy):
        if b.company is None:
            return False
        if a.company == b.company:
            return True
        return _is_typo(a.company.replace(" ", ""), b.company.replace(" ", ""))
    if not (a.first_name and a.last_name and b.first_name and b.last_name):
        return False
    if _suffix_conflict(a, b, policy):
        return False
    if _first_names_compatible(a.first_name, b.first_name) and _last_names_compatible(
        a.last_name, b.last_name
    ):
        return True
    # First and last name swapped between the two records (typos allowed, not nicknames).
    return _same_or_typo(a.first_name, b.last_name) and _same_or_typo(a.last_name, b.first_name)


def _same_or_typo(x: str, y: str) -> bool:
    return x == y or _is_typo(x.replace(" ", ""), y.replace(" ", ""))


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class TraceStep:
    """One step of the logic: which candidates went in, which came out, and why."""

    step: int
    name: str
    input_ids: tuple[str, ...]
    output_ids: tuple[str, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "name": self.name,
            "inputIds": list(self.input_ids),
            "outputIds": list(self.output_ids),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome of the logic: the matched customer (None for no match) and the trace."""

    customer_uuid: str | None
    step: int
    reason: str
    trace: tuple[TraceStep, ...] = field(default_factory=tuple)
    policy: MatchPolicy = field(default_factory=MatchPolicy)

    @property
    def matched(self) -> bool:
        return self.customer_uuid is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "customerUuid": self.customer_uuid,
            "matched": self.matched,
            "step": self.step,
            "reason": self.reason,
            "trace": [t.to_json() for t in self.trace],
            "policy": self.policy.to_json(),
        }

    def to_json_str(self, **kwargs: Any) -> str:
        return json.dumps(self.to_json(), **kwargs)


# --------------------------------------------------------------------------- sources


class CandidateSource(Protocol):
    """Where step 1 finds its candidates (a store, or an in-memory index)."""

    def by_communications(self, phones: Sequence[str], emails: Sequence[str]) -> list[Profile]:
        """Customers with any of these phone keys or email keys."""

    def by_vins(self, vins: Sequence[str], last8: bool = False) -> list[Profile]:
        """Customers with any of these VINs (also by their last 8 characters if asked)."""

    def by_customer_key(self, customer_key: str) -> list[Profile]:
        """Customers with this customerKey."""


class ProfileIndex:
    """An in-memory :class:`CandidateSource` over a list of profiles (tests, batch rules)."""

    def __init__(self, profiles: Iterable[Profile] = ()) -> None:
        self._profiles: dict[str, Profile] = {}
        self._phones: dict[str, list[str]] = {}
        self._emails: dict[str, list[str]] = {}
        self._vins: dict[str, list[str]] = {}
        self._last8: dict[str, list[str]] = {}
        self._keys: dict[str, list[str]] = {}
        for p in profiles:
            self.add(p)

    def add(self, profile: Profile) -> None:
        if profile.uuid is None:
            raise ValueError("a profile in an index needs a uuid")
        if profile.uuid in self._profiles:
            raise ValueError(f"duplicate uuid {profile.uuid!r}")
        self._profiles[profile.uuid] = profile
        for v in profile.phones:
            self._phones.setdefault(v, []).append(profile.uuid)
        for v in profile.emails:
            self._emails.setdefault(v, []).append(profile.uuid)
        for v in profile.vins:
            self._vins.setdefault(v, []).append(profile.uuid)
            if len(v) >= 8:
                self._last8.setdefault(v[-8:], []).append(profile.uuid)
        if profile.customer_key:
            self._keys.setdefault(profile.customer_key, []).append(profile.uuid)

    def __len__(self) -> int:
        return len(self._profiles)

    def _get(self, ids: Iterable[str]) -> list[Profile]:
        return [self._profiles[i] for i in dict.fromkeys(ids)]

    def by_communications(self, phones: Sequence[str], emails: Sequence[str]) -> list[Profile]:
        ids = [i for p in phones for i in self._phones.get(p, ())]
        ids += [i for e in emails for i in self._emails.get(e, ())]
        return self._get(ids)

    def by_vins(self, vins: Sequence[str], last8: bool = False) -> list[Profile]:
        ids = [i for v in vins for i in self._vins.get(v, ())]
        if last8:
            ids += [i for v in vins if len(v) >= 8 for i in self._last8.get(v[-8:], ())]
        return self._get(ids)

    def by_customer_key(self, customer_key: str) -> list[Profile]:
        return self._get(self._keys.get(customer_key, ()))


# --------------------------------------------------------------------------- the steps


def _ids(profiles: Sequence[Profile]) -> tuple[str, ...]:
    return tuple(p.uuid or "" for p in profiles)


def _ordered(profiles: Iterable[Profile], policy: MatchPolicy) -> list[Profile]:
    unique = list({p.uuid: p for p in profiles}.values())
    return sorted(unique, key=lambda p: (p.seq, p.uuid or ""), reverse=policy.candidate_order == "newest_first")


def _shares_communication(a: Profile, b: Profile) -> bool:
    return bool(set(a.phones) & set(b.phones) or set(a.emails) & set(b.emails))


def _shares_vin(a: Profile, b: Profile, policy: MatchPolicy) -> bool:
    if set(a.vins) & set(b.vins):
        return True
    if policy.vin_match == "full_or_last8":
        return bool({v[-8:] for v in a.vins if len(v) >= 8} & {v[-8:] for v in b.vins if len(v) >= 8})
    return False


def step1_candidates(
    incoming: Profile, source: CandidateSource, policy: MatchPolicy
) -> tuple[list[Profile], TraceStep]:
    """Step 1: customers sharing a communication, then those sharing a VIN, merged."""
    by_comm = _ordered(source.by_communications(incoming.phones, incoming.emails), policy) if (
        incoming.phones or incoming.emails
    ) else []
    by_vin = _ordered(source.by_vins(incoming.vins, policy.vin_match == "full_or_last8"), policy) if incoming.vins else []
    # The docs say the two lists are merged: order-preserving union, communications first.
    merged = list({p.uuid: p for p in [*by_comm, *by_vin]}.values())
    reason = (
        f"{len(by_comm)} customer(s) share a communication, {len(by_vin)} share a VIN; "
        f"{len(merged)} after merging"
    )
    if not incoming.phones and not incoming.emails:
        reason = "input has no communication; " + reason
    return merged, TraceStep(1, "Find customers list by communications and VINs", (), _ids(merged), reason)


def step2_filter_by_name(
    incoming: Profile, candidates: Sequence[Profile], matcher: NameMatcher
) -> tuple[list[Profile], TraceStep]:
    """Step 2: keep the candidates whose name matches the input's."""
    kept = [c for c in candidates if matcher(incoming, c)]
    if not kept:
        reason = "no candidate matches the input name: matching aborted"
    elif len(kept) == 1:
        reason = "exactly one candidate matches the input name: returned"
    else:
        reason = f"{len(kept)} candidates match the input name: continue"
    return kept, TraceStep(2, "Find matching customer by input name", _ids(candidates), _ids(kept), reason)


def step3_filter_by_customer_key(
    incoming: Profile, candidates: Sequence[Profile]
) -> tuple[list[Profile], TraceStep]:
    """Step 3: filter by customerKey; an empty result keeps the unfiltered list."""
    if incoming.customer_key is None:
        kept: list[Profile] = []
        reason = "input has no customerKey: step skipped, list kept"
    else:
        kept = [c for c in candidates if c.customer_key == incoming.customer_key]
        if len(kept) == 1:
            reason = "exactly one candidate has the input customerKey: returned"
        elif not kept:
            reason = "no candidate has the input customerKey: step skipped, list kept"
        else:
            reason = f"{len(kept)} candidates have the input customerKey: continue with them"
    out = kept if kept else list(candidates)
    return out, TraceStep(3, "Find matching customer by customerKey", _ids(candidates), _ids(out), reason)


def step4_filter_by_vin_and_communication(
    incoming: Profile, candidates: Sequence[Profile], policy: MatchPolicy
) -> tuple[list[Profile], TraceStep]:
    """Step 4: keep the candidates sharing both a communication and a VIN with the input."""
    kept = [c for c in candidates if _shares_communication(incoming, c) and _shares_vin(incoming, c, policy)]
    reason = f"{len(kept)} candidate(s) share both a communication and a VIN"
    return kept, TraceStep(4, "Filter list by VINs and communications", _ids(candidates), _ids(kept), reason)


def match_customer(
    incoming: Profile,
    source: CandidateSource,
    policy: MatchPolicy | None = None,
) -> Decision:
    """Run the documented Customer Matching Logic for one incoming customer."""
    policy = policy or MatchPolicy()
    trace: list[TraceStep] = []

    def done(uuid: str | None, step: int, reason: str) -> Decision:
        return Decision(uuid, step, reason, tuple(trace), policy)

    candidates, t1 = step1_candidates(incoming, source, policy)
    trace.append(t1)
    if not candidates and policy.on_no_candidates == "customer_key" and incoming.customer_key:
        candidates = _ordered(source.by_customer_key(incoming.customer_key), policy)
        trace.append(
            TraceStep(
                1,
                "Policy on_no_candidates=customer_key: find customers by customerKey",
                (),
                _ids(candidates),
                f"{len(candidates)} customer(s) have the input customerKey",
            )
        )
    if not candidates:
        return done(None, 1, "no customer shares a communication or a VIN with the input")

    named, t2 = step2_filter_by_name(incoming, candidates, policy.name_matcher())
    trace.append(t2)
    if not named:
        return done(None, 2, t2.reason)
    if len(named) == 1:
        return done(named[0].uuid, 2, t2.reason)

    keyed, t3 = step3_filter_by_customer_key(incoming, named)
    trace.append(t3)
    if incoming.customer_key is not None and len(keyed) == 1 and keyed[0].customer_key == incoming.customer_key:
        return done(keyed[0].uuid, 3, t3.reason)

    both, t4 = step4_filter_by_vin_and_communication(incoming, keyed, policy)
    trace.append(t4)
    if len(both) == 1:
        return done(both[0].uuid, 4, "exactly one candidate shares both a communication and a VIN: returned")
    if len(both) > 1:
        if policy.after_step4_many == "first":
            return done(both[0].uuid, 4, f"{len(both)} candidates pass step 4: policy returns the first")
        return done(None, 4, f"{len(both)} candidates pass step 4: policy returns no match")
    if policy.after_step4_none == "first":
        return done(
            keyed[0].uuid,
            4,
            "no candidate shares both a communication and a VIN: policy returns the first of the step-3 list",
        )
    return done(None, 4, "no candidate shares both a communication and a VIN: policy returns no match")

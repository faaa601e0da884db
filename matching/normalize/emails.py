"""Email addresses: normalized form, provider-aware match keys, placeholder detection.

``email(" <John.Smith@Gmail.COM>; ")`` gives ``"john.smith@gmail.com"``; missing cells and
junk ("none", "n/a", "no email", "declined", no @, two @s, spaces inside) give None.
``email_series`` gives the same answers over a pandas Series, each distinct value once.

Choices:

- **The whole address is lower-cased.** RFC 5321 lets the local part be case-sensitive,
  but no real mailbox provider treats it so, and customers type their address in any case.
- **Syntax is email-validator's** (``check_deliverability=False``: no DNS lookups).
  Its normalized form is kept (Unicode NFC, internationalized domains in their Unicode
  form, e.g. ``xn--bcher-kva.de`` -> ``bücher.de``), then lower-cased. Quoted local parts
  and IP-literal domains are rejected (email-validator's defaults; no customer has one).
- **A fast path** accepts plain ASCII dot-atom addresses with a letters-only top-level
  domain using one regex, without email-validator (about 50 times faster); anything it
  does not recognize goes to email-validator. A test checks that both agree.
- **Clean-up before validation**: surrounding whitespace and quotes, a display name
  (``John <john@x.com>`` -> the part in angle brackets), a ``mailto:`` prefix, and
  trailing dots, commas, semicolons and colons are removed. Nothing else is repaired:
  a cell holding two addresses gives None.
- **email() keeps placeholder addresses** (``none@none.com`` is well formed);
  :func:`is_placeholder_email` flags them, with the dealer's own domains as a parameter.
- **Match keys** (:func:`email_match_key`) fold what a provider delivers to one mailbox:
  Gmail ignores dots and ``+tags`` and ``googlemail.com`` is ``gmail.com``; Microsoft,
  Apple, Fastmail and Proton drop ``+tags``. Yahoo is not folded: its disposable
  addresses (``base-keyword@yahoo.com``) use a base name that is *not* the account name,
  so cutting at ``-`` would not find the account and would merge different people with
  hyphenated names.

Extending the lists: the module-level frozensets are defaults; pass your own to the
function, e.g. ``is_placeholder_email(x, local_parts=PLACEHOLDER_EMAIL_LOCAL_PARTS |
{"nomail4u"})``. Nothing is changed globally.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from matching.normalize._vector import (
    arrow_strings,
    as_text,
    map_distinct_batch,
    texts_at,
)

__all__ = [
    "GMAIL_DOMAINS",
    "PLACEHOLDER_EMAIL_DOMAINS",
    "PLACEHOLDER_EMAIL_LOCAL_PARTS",
    "PLUS_ADDRESSING_DOMAINS",
    "email",
    "email_match_key",
    "email_match_key_series",
    "email_series",
    "is_placeholder_email",
    "is_placeholder_email_series",
]

#: Domains of Gmail: dots in the local part are ignored, ``+tag`` is dropped.
GMAIL_DOMAINS: frozenset[str] = frozenset({"gmail.com", "googlemail.com"})

#: Providers that deliver ``name+tag@`` to ``name@`` (subaddressing).
PLUS_ADDRESSING_DOMAINS: frozenset[str] = frozenset(
    {
        # Microsoft
        "outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "live.ca",
        "outlook.fr", "hotmail.fr",
        # Apple
        "icloud.com", "me.com", "mac.com",
        # Fastmail
        "fastmail.com", "fastmail.fm",
        # Proton
        "protonmail.com", "protonmail.ch", "proton.me", "pm.me",
    }
)  # fmt: skip

#: Local parts that mean "no address", compared after removing ``.``, ``-``, ``_``, ``/``,
#: any ``+tag`` and trailing digits (so ``no.email``, ``no_email2`` and ``noemail`` match).
PLACEHOLDER_EMAIL_LOCAL_PARTS: frozenset[str] = frozenset(
    {
        "none", "noemail", "noemails", "nomail", "noemailaddress", "noemailonfile",
        "noemailprovided", "noaddress", "donotemail", "dontemail", "donotmail",
        "donotreply", "noreply", "na", "declined", "decline", "refused", "refuse",
        "unknown", "unk", "email", "test", "x", "xx", "xxx", "xxxx", "customer",
        "customers", "nobody", "noone", "null", "nil", "notprovided", "notavailable",
        "notgiven", "nothing", "fake", "dummy", "placeholder", "sample",
    }
)  # fmt: skip

#: Domains that only placeholder addresses use (subdomains included).
PLACEHOLDER_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "none.com", "none.net", "noemail.com", "noemail.net", "nomail.com", "no-email.com",
        "donotemail.com", "na.com", "test.com", "example.com", "example.net", "example.org",
        "unknown.com", "declined.com", "refused.com", "fake.com", "nowhere.com", "domain.com",
    }
)  # fmt: skip

# Plain ASCII dot-atom addresses (RFC 5322 atext) with a letters-only top-level domain.
# Labels with "--" (Punycode and its look-alikes) are left to email-validator.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FAST_EMAIL = re.compile(
    rf"({_ATEXT}+(?:\.{_ATEXT}+)*)@((?:{_LABEL}\.)+([a-z]{{2,63}}))",
    # ASCII: without it, IGNORECASE lets [a-z] match the Kelvin sign and the long s.
    re.IGNORECASE | re.ASCII,
)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_TRAILING_JUNK = ".,;: \t\r\n"
_QUOTES = "\"'"
_SQUASH = re.compile(r"[._\-/]")


def _fast(text: str) -> str | None:
    """The normalized address if the fast path accepts ``text``, else None (undecided)."""
    match = _FAST_EMAIL.fullmatch(text)
    if match is None:
        return None
    local, domain, tld = match.groups()
    if (
        len(local) > 64
        or len(text) > 254
        or "--" in domain
        or tld.lower() in _SPECIAL_USE  # "localhost", "test", "invalid"... (and home.arpa)
    ):
        return None
    return text.lower()


def _unquote(text: str) -> str:
    """Remove one pair of surrounding quotes ("'bob@x.com'"); a lone quote may be part of
    a valid local part (o'brien@, 'bob@), so it stays."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in _QUOTES:
        return text[1:-1].strip()
    return text


def _clean(text: str) -> str:
    text = _unquote(text.strip())
    if text.endswith(">") and "<" in text:  # "John Smith <john@x.com>" or "<john@x.com>"
        text = text[text.rfind("<") + 1 : -1].strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].strip()
    return _unquote(text.rstrip(_TRAILING_JUNK))


def _validated(text: str) -> str | None:
    try:
        normalized = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None
    lowered = normalized.lower()
    if lowered == normalized:
        return normalized
    # Lower-casing a non-ASCII local part can change its Unicode normalization
    # ("İ".lower() is "i" + a combining dot); validate again so the result is stable.
    try:
        return validate_email(lowered, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def email(text: Any) -> str | None:
    """Normalized, lower-cased email address of a cell, or None if missing or not an
    address."""
    raw = as_text(text)
    if raw is None:
        return None
    fast = _fast(raw)
    if fast is not None:
        return fast
    cleaned = _clean(raw)
    if cleaned.count("@") != 1:  # "none", "n/a", "no email", two addresses
        return None
    fast = _fast(cleaned)
    if fast is not None:
        return fast
    return _validated(cleaned)


def _fold(address: str) -> str:
    local, domain = address.rsplit("@", 1)
    if domain in GMAIL_DOMAINS:
        folded = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    elif domain in PLUS_ADDRESSING_DOMAINS:
        folded = local.split("+", 1)[0]
    else:
        return address
    if not folded:  # "+tag@gmail.com": nothing left to fold to
        return address
    return f"{folded}@{domain}"


def email_match_key(text: Any) -> str | None:
    """The address a provider delivers to (see the module docstring): Gmail without dots
    and ``+tags``, other subaddressing providers without ``+tags``, else :func:`email`."""
    address = email(text)
    return None if address is None else _fold(address)


def _domains(values: Iterable[str] | str) -> frozenset[str]:
    if isinstance(values, str):
        values = (values,)
    return frozenset(d.strip().lstrip("@").lower().rstrip(".") for d in values if d and d.strip())


@functools.lru_cache(maxsize=32)
def _squashed_locals(local_parts: frozenset[str]) -> frozenset[str]:
    return frozenset(_squash(p.lower()) for p in local_parts)


def _squash(local: str) -> str:
    return _SQUASH.sub("", local.split("+", 1)[0]).rstrip("0123456789")


def _at_any(domain: str, domains: frozenset[str]) -> bool:
    """True if ``domain`` is one of ``domains`` or a subdomain of one."""
    if domain in domains:
        return True
    dot = domain.find(".")
    while dot != -1:
        if domain[dot + 1 :] in domains:
            return True
        dot = domain.find(".", dot + 1)
    return False


def _is_placeholder(text: Any, locals_: frozenset[str], domains: frozenset[str]) -> bool:
    address = email(text)
    if address is None:
        return False
    local, domain = address.rsplit("@", 1)
    return _squash(local) in locals_ or _at_any(domain, domains)


def _rules(
    dealer_domains: Iterable[str] | str, local_parts: Iterable[str], domains: Iterable[str]
) -> tuple[frozenset[str], frozenset[str]]:
    return (
        _squashed_locals(frozenset(local_parts)),
        _domains(domains) | _domains(dealer_domains),
    )


def is_placeholder_email(
    text: Any,
    dealer_domains: Iterable[str] | str = (),
    *,
    local_parts: Iterable[str] = PLACEHOLDER_EMAIL_LOCAL_PARTS,
    domains: Iterable[str] = PLACEHOLDER_EMAIL_DOMAINS,
) -> bool:
    """True if a cell holds an address that is not the customer's: a placeholder local
    part (``none@``, ``noemail@``, ``declined@``, ``customer@``...), a placeholder domain
    (``@none.com``, ``@test.com``...), or any address at one of ``dealer_domains`` (the
    dealer's own domains, e.g. ``["smithtoyota.com"]``; subdomains included). Missing
    cells and text that is not an address are not placeholders: ``email`` gives None."""
    locals_, all_domains = _rules(dealer_domains, local_parts, domains)
    return _is_placeholder(text, locals_, all_domains)


# _FAST_EMAIL in RE2 syntax (pyarrow), explicit about case instead of IGNORECASE.
_RE2_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_RE2_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_RE2_FAST_EMAIL = rf"^{_RE2_ATEXT}{{1,64}}(?:\.{_RE2_ATEXT}+)*@(?:{_RE2_LABEL}\.)+[A-Za-z]{{2,63}}$"


def _email_batch(texts: np.ndarray, *, with_fast: bool = False) -> Any:
    """:func:`email` over distinct texts: what ``_fast`` accepts is decided with pyarrow
    (same rules), the rest by :func:`email`. With ``with_fast``, also the bool array of
    the texts the fast path accepted."""
    out = np.full(len(texts), None, dtype=object)
    arr = arrow_strings(texts)
    special = "|".join(re.escape(d) for d in sorted(_SPECIAL_USE) if "." not in d)
    fast = pc.and_(
        pc.and_(pc.string_is_ascii(arr), pc.less_equal(pc.utf8_length(arr), 254)),
        pc.match_substring_regex(arr, _RE2_FAST_EMAIL),
    )
    fast = pc.and_(fast, pc.invert(pc.match_substring_regex(arr, r"@.*--")))
    fast = pc.and_(fast, pc.invert(pc.match_substring_regex(arr, rf"\.(?:{special})$", ignore_case=True)))
    # The local part (before the only '@') has at most 64 characters.
    fast = pc.and_(fast, pc.less_equal(pc.find_substring(arr, "@"), 64))
    fast = fast.to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(fast)
    if len(idx):
        out[idx] = np.asarray(pc.ascii_lower(arr.take(pa.array(idx))).to_numpy(zero_copy_only=False), dtype=object)
    slow = np.flatnonzero(~fast)
    for i, text in zip(slow, texts_at(texts, slow), strict=True):
        out[i] = email(text)
    return (out, fast) if with_fast else out


def _match_keys_of(addresses: np.ndarray, fast: np.ndarray) -> np.ndarray:
    """:func:`email_match_key` of each of ``addresses`` (``email``'s output, None allowed),
    ``fast`` marking those the fast path gave: such an address is lower-case and passes
    the fast path again, so ``email`` gives it back unchanged and only needs folding."""
    again = np.flatnonzero(~fast & ~pd.isna(addresses))
    addresses = np.array(addresses, dtype=object, copy=True)
    if len(again):
        addresses[again] = _email_batch(addresses[again])
    return _fold_batch(addresses)


def _fold_batch(addresses: np.ndarray) -> np.ndarray:
    """:func:`_fold` over an object array of normalized addresses (str, or None kept)."""
    out = np.array(addresses, dtype=object, copy=True)
    present = np.flatnonzero(~pd.isna(out))
    if not len(present):
        return out
    arr = pa.array(out[present], type=pa.string())
    # Only addresses at a folding provider change: "@<domain>" ends them (a domain has
    # no "@", so that is the part after the last "@").
    fold = pc.match_substring_regex(arr, _FOLD_DOMAINS).to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(fold)
    if not len(idx):
        return out
    sub = arr.take(pa.array(idx))
    parts = pc.split_pattern(sub, "@", max_splits=1, reverse=True)
    local, domain = pc.list_element(parts, 0), pc.list_element(parts, 1)
    gmail = pc.is_in(domain, value_set=_GMAIL_ARROW)
    base = pc.list_element(pc.split_pattern(local, "+", max_splits=1), 0)
    folded = pc.if_else(gmail, pc.replace_substring(base, ".", ""), base)
    domain = pc.if_else(gmail, pa.scalar("gmail.com"), domain)
    # "+tag@gmail.com": nothing left to fold to, the address stays.
    key = pc.if_else(pc.equal(folded, ""), sub, pc.binary_join_element_wise(folded, domain, "@"))
    out[present[idx]] = np.asarray(key.to_numpy(zero_copy_only=False), dtype=object)
    return out


_GMAIL_ARROW = pa.array(sorted(GMAIL_DOMAINS), type=pa.string())
_FOLD_DOMAINS = "@(?:" + "|".join(re.escape(d) for d in sorted(GMAIL_DOMAINS | PLUS_ADDRESSING_DOMAINS)) + ")$"


def _placeholder_flags(addresses: np.ndarray, locals_: frozenset[str], domains: frozenset[str]) -> np.ndarray:
    """``_is_placeholder`` for normalized addresses (the output of :func:`email`; None is
    not a placeholder), as a bool array: the squashed local part is a placeholder, or the
    domain or a parent domain is one of ``domains``."""
    out = np.zeros(len(addresses), dtype=bool)
    present = np.flatnonzero(~pd.isna(np.asarray(addresses, dtype=object)))
    if not len(present):
        return out
    arr = pa.array(np.asarray(addresses, dtype=object)[present], type=pa.string())
    parts = pc.split_pattern(arr, "@", max_splits=1, reverse=True)
    local, domain = pc.list_element(parts, 0), pc.list_element(parts, 1)
    # _squash: before any "+", without . _ - /, without trailing ASCII digits.
    squashed = pc.list_element(pc.split_pattern(local, "+", max_splits=1), 0)
    squashed = pc.utf8_rtrim(pc.replace_substring_regex(squashed, r"[._\-/]", ""), characters="0123456789")
    flag = pc.is_in(squashed, value_set=pa.array(sorted(locals_), type=pa.string())).to_numpy(zero_copy_only=False)
    # _at_any once per distinct domain (addresses share few domains).
    enc = pc.dictionary_encode(domain)
    at_any = np.array([_at_any(d, domains) for d in enc.dictionary.to_pylist()], dtype=bool)
    out[present] = flag | at_any[enc.indices.to_numpy(zero_copy_only=False)]
    return out


def email_series(s: pd.Series) -> pd.Series:
    """:func:`email` over a Series (object dtype, None where missing or invalid)."""
    return map_distinct_batch(s, _email_batch)


def _match_key_batch(texts: np.ndarray) -> np.ndarray:
    """:func:`email_match_key` over distinct texts."""
    return _fold_batch(_email_batch(texts))


def email_match_key_series(s: pd.Series) -> pd.Series:
    """:func:`email_match_key` over a Series."""
    return map_distinct_batch(s, _match_key_batch)


def is_placeholder_email_series(
    s: pd.Series,
    dealer_domains: Iterable[str] | str = (),
    *,
    local_parts: Iterable[str] = PLACEHOLDER_EMAIL_LOCAL_PARTS,
    domains: Iterable[str] = PLACEHOLDER_EMAIL_DOMAINS,
) -> pd.Series:
    """:func:`is_placeholder_email` over a Series (bool dtype; False where missing)."""
    locals_, all_domains = _rules(dealer_domains, local_parts, domains)
    flags = map_distinct_batch(s, lambda texts: _placeholder_flags(_email_batch(texts), locals_, all_domains))
    return pd.Series(flags.to_numpy() == True, index=flags.index, name=flags.name, dtype=bool)  # noqa: E712

"""Tests for matching.normalize.emails: examples, the fast path against email-validator,
provider folding, placeholders, and properties (idempotent, total, format, Series ==
scalar)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.normalize import emails
from matching.normalize.emails import (
    PLACEHOLDER_EMAIL_DOMAINS,
    PLACEHOLDER_EMAIL_LOCAL_PARTS,
    email,
    email_match_key,
    email_match_key_series,
    email_series,
    is_placeholder_email,
    is_placeholder_email_series,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("john.smith@gmail.com", "john.smith@gmail.com"),
        (" John.Smith@Gmail.COM ", "john.smith@gmail.com"),
        ("JOHN.SMITH@GMAIL.COM", "john.smith@gmail.com"),
        ("<jane@example.org>", "jane@example.org"),
        ("Jane Doe <Jane.Doe@Yahoo.com>", "jane.doe@yahoo.com"),
        ('"Doe, Jane" <jane@aol.com>', "jane@aol.com"),
        ("mailto:Bob@Comcast.net", "bob@comcast.net"),
        ("MAILTO: bob@comcast.net", "bob@comcast.net"),
        ("bob@comcast.net.", "bob@comcast.net"),
        ("bob@comcast.net,", "bob@comcast.net"),
        ("bob@comcast.net;", "bob@comcast.net"),
        ("bob@comcast.net ;, ", "bob@comcast.net"),
        ("'bob@comcast.net'", "bob@comcast.net"),
        ("bob@comcast.net\n", "bob@comcast.net"),
        ("o'brien+cars@sub.example.co.uk", "o'brien+cars@sub.example.co.uk"),
        ("user@bücher.de", "user@bücher.de"),
        ("user@xn--bcher-kva.de", "user@bücher.de"),  # IDNA: email-validator's Unicode form
        ("ÄÖ@Example.com", "äö@example.com"),
        ("a@ｅｘａｍｐｌｅ.com", "a@example.com"),  # full-width domain
        # junk
        ("none", None),
        ("n/a", None),
        ("N/A", None),
        ("no email", None),
        ("declined", None),
        ("refused", None),
        ("", None),
        ("   ", None),
        ("john.smith.gmail.com", None),  # missing @
        ("john smith@gmail.com", None),  # space inside
        ("john@gmail .com", None),
        ("a@b@gmail.com", None),  # two @s
        ("a@gmail.com; b@gmail.com", None),  # two addresses
        ("john@", None),
        ("@gmail.com", None),
        ("john..smith@gmail.com", None),
        (".john@gmail.com", None),
        ("john@gmail", None),  # no dot in the domain
        ("john@localhost", None),
        ("john@mail.test", None),  # special-use domain
        ("john@-gmail.com", None),
        ("john@gmail.c0m1", None),
        ("john@[10.0.0.1]", None),
        ('"john smith"@gmail.com', None),
        ("john\u200b@gmail.com", None),  # zero-width space
        # spreadsheet cells
        (None, None),
        (float("nan"), None),
        (np.nan, None),
        (pd.NA, None),
        (3.0, None),
        (12345, None),
    ],
)
def test_email_examples(cell: object, expected: str | None) -> None:
    assert email(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("John.Smith@Gmail.com", "johnsmith@gmail.com"),
        ("j.o.h.n.smith+toyota@gmail.com", "johnsmith@gmail.com"),
        ("johnsmith@googlemail.com", "johnsmith@gmail.com"),
        ("John+Service@Outlook.com", "john@outlook.com"),
        ("john+service@hotmail.com", "john@hotmail.com"),
        ("john+a+b@live.com", "john@live.com"),
        ("john+x@icloud.com", "john@icloud.com"),
        ("john+x@me.com", "john@me.com"),
        ("john+x@fastmail.com", "john@fastmail.com"),
        ("john+x@protonmail.com", "john@protonmail.com"),
        ("john.smith@outlook.com", "john.smith@outlook.com"),  # dots matter outside Gmail
        ("mary-jane@yahoo.com", "mary-jane@yahoo.com"),  # Yahoo is not folded
        ("john+x@yahoo.com", "john+x@yahoo.com"),
        ("john+x@comcast.net", "john+x@comcast.net"),  # unknown provider: as is
        ("+tag@gmail.com", "+tag@gmail.com"),  # nothing to fold to
        ("not an email", None),
        (None, None),
    ],
)
def test_email_match_key(cell: object, expected: str | None) -> None:
    assert email_match_key(cell) == expected


@pytest.mark.parametrize(
    "cell",
    [
        "none@none.com",
        "NONE@NONE.COM",
        "noemail@gmail.com",
        "no-email@dealer.com",
        "no.email@yahoo.com",
        "no_email2@aol.com",
        "donotemail@hotmail.com",
        "na@na.com",
        "n/a@gmail.com",
        "test@test.com",
        "test1@gmail.com",
        "x@x.com",
        "declined@gmail.com",
        "unknown@unknown.com",
        "email@email.com",
        "refused@yahoo.com",
        "noreply@somewhere.com",
        "customer@smithtoyota.com",
        "bob@none.com",
        "bob@mail.noemail.com",  # subdomain of a placeholder domain
        "jane@example.com",
    ],
)
def test_placeholder_emails(cell: str) -> None:
    assert is_placeholder_email(cell)


@pytest.mark.parametrize(
    "cell",
    ["john.smith@gmail.com", "nonesuch@gmail.com", "anna@test.co", "email.me.bob@gmail.com",
     "sales@smithtoyota.com", "none", "n/a", "", None, float("nan")],
)  # fmt: skip
def test_not_placeholder_emails(cell: object) -> None:
    assert not is_placeholder_email(cell)


def test_dealer_domains_and_extending_the_lists() -> None:
    assert is_placeholder_email("sales@SmithToyota.com", dealer_domains=["smithtoyota.com"])
    assert is_placeholder_email("bob@service.smithtoyota.com", dealer_domains="@SmithToyota.com")
    assert not is_placeholder_email("bob@notsmithtoyota.com", dealer_domains=["smithtoyota.com"])
    assert not is_placeholder_email("nomail4u@gmail.com")
    more_locals = PLACEHOLDER_EMAIL_LOCAL_PARTS | {"nomail4u"}
    assert is_placeholder_email("nomail4u@gmail.com", local_parts=more_locals)
    assert is_placeholder_email(
        "bob@fake-dealer.com", domains=PLACEHOLDER_EMAIL_DOMAINS | {"fake-dealer.com"}
    )
    # The defaults are untouched.
    assert "nomail4u" not in PLACEHOLDER_EMAIL_LOCAL_PARTS
    assert not is_placeholder_email("nomail4u@gmail.com")


# --- the fast path against email-validator ----------------------------------------------

_atext = "abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-"
_local = st.lists(st.text(alphabet=_atext, min_size=1, max_size=8), min_size=1, max_size=4).map(
    ".".join
)
_label = st.text(alphabet="abcxyzABXY019-", min_size=1, max_size=10)
_tld = st.one_of(
    st.text(alphabet="abcmoqzABZ", min_size=1, max_size=6),
    st.sampled_from(
        ["com", "COM", "test", "local", "localhost", "onion", "arpa", "invalid", "c0m"]
    ),
)
_ascii_addresses = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join([*labels, tld])}",
    _local,
    st.lists(_label, min_size=1, max_size=3),
    _tld,
)


def _validator(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


@settings(max_examples=1000, deadline=None)
@given(_ascii_addresses)
def test_fast_path_agrees_with_email_validator(text: str) -> None:
    fast = emails._fast(text)
    if fast is not None:  # whatever the fast path accepts, email-validator accepts alike
        assert fast == _validator(text)
    assert email(text) == _validator(text)


def test_fast_path_handles_plain_addresses() -> None:
    for text in ["john.smith@gmail.com", "O'Brien+x@Sub.Example.co.uk", "a@b.museum"]:
        assert emails._fast(text) == _validator(text)
    for text in ["a@xn--bcher-kva.de", "a@b.c", "a@localhost.com.test", "a@ab--cd.com"]:
        assert emails._fast(text) is None


# --- properties -------------------------------------------------------------------------

_email_like = st.one_of(
    _ascii_addresses,
    st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=10), st.text(max_size=12)),
    st.builds(lambda a: f" <{a}>; ", _ascii_addresses),
    st.sampled_from(["İ@x.com", "Ǆ@Ǆ.com", "ß@straße.de", "用户@例子.广告", "a@b.com", "none"]),
)
_any_text = st.one_of(_email_like, st.text(), st.text(alphabet=st.characters(codec="utf-8")))


@settings(deadline=None)  # a loaded CI machine must not fail on wall time
@given(_any_text)
def test_email_is_idempotent_and_well_formed(text: str) -> None:
    first = email(text)
    if first is not None:
        assert email(first) == first
        assert first.count("@") == 1
        assert first == first.lower()
        assert first.strip() == first and " " not in first
        key = email_match_key(text)
        assert key is not None and email_match_key(key) == key and email(key) == key


@settings(deadline=None)  # a loaded CI machine must not fail on wall time
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    email(text)
    email_match_key(text)
    is_placeholder_email(text, dealer_domains=["smithtoyota.com"])


@pytest.mark.parametrize(
    "text",
    ["a" * 100_000, "a" * 99_990 + "@gmail.com", "@" * 100_000, "\x00🚗\n" * 33_000 + "x@y.com"],
)
def test_huge_input(text: str) -> None:
    assert email(text) is None
    assert email_match_key(text) is None
    assert not is_placeholder_email(text)


_cells = st.lists(
    st.one_of(
        _email_like,
        st.text(max_size=10),
        st.none(),
        st.just(float("nan")),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
    ),
    max_size=30,
)


@settings(deadline=None)  # a loaded CI machine must not fail on wall time
@given(_cells)
def test_series_equals_scalar(cells: list) -> None:
    s = pd.Series(cells, dtype=object, index=range(100, 100 + len(cells)), name="email")
    for func, series_func in [(email, email_series), (email_match_key, email_match_key_series)]:
        out = series_func(s)
        assert out.index.equals(s.index) and out.name == "email"
        assert out.tolist() == [func(c) for c in cells]
    flags = is_placeholder_email_series(s, dealer_domains=["smithtoyota.com"])
    assert flags.dtype == bool and flags.index.equals(s.index)
    assert flags.tolist() == [
        is_placeholder_email(c, dealer_domains=["smithtoyota.com"]) for c in cells
    ]


def test_series_examples() -> None:
    s = pd.Series(["Bob@Gmail.com", None, "b.o.b+x@gmail.com", "none@none.com", "n/a"], dtype="str")
    assert email_series(s).tolist() == [
        "bob@gmail.com",
        None,
        "b.o.b+x@gmail.com",
        "none@none.com",
        None,
    ]
    assert email_match_key_series(s).tolist() == [
        "bob@gmail.com",
        None,
        "bob@gmail.com",
        "none@none.com",
        None,
    ]
    assert is_placeholder_email_series(s).tolist() == [False, False, False, True, False]


def test_email_series_fast_path_equals_scalar_on_messy_values() -> None:
    import random
    from pathlib import Path

    from matching.normalize import emails as emails_module

    sample = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "customers.csv"
    raw = pd.read_csv(sample, dtype=str, keep_default_na=False)
    base = raw["email_1"].tolist() + raw["email_2"].tolist()
    rnd = random.Random(9)
    values: list[object] = [None, float("nan"), 5, True, "", "none", "a@b.test", "a@b.TEST",
                            "a@b--c.com", "a--b@c.com", "x" * 65 + "@a.com", "x" * 64 + "@a.com",
                            "a@" + "b" * 250 + ".com", "a@b.c", "a..b@c.com", ".a@b.com", "a@b.com.",
                            "a@-b.com", "a@b-.com", "a@localhost", "a@x.local", "a@home.arpa",
                            "\u212a@x.com", "a@b.co1", "José@x.com", "<a@b.com>", "mailto:A@B.com"]
    for e in base:
        values += [e, e.upper(), f" {e}", f"{e};", f"'{e}'", e.replace("@", "@@")]
    chars = "abcXYZ019.-_+@!#'"
    for _ in range(3000):
        values.append("".join(rnd.choice(chars) for _ in range(rnd.randint(1, 12))) + rnd.choice(["@x.com", "@a-b.org", ".com", ""]))
    got = emails_module.email_series(pd.Series(values, dtype=object)).tolist()
    expected = [emails_module.email(v) for v in values]
    assert [(v, g, e) for v, g, e in zip(values, got, expected, strict=True) if g != e] == []


@settings(deadline=None)
@given(st.lists(_any_text, max_size=30))
def test_keys_of_normalized_addresses_equal_scalar(texts: list[str]) -> None:
    """prepare reads the placeholder flags and match keys off email()'s output, reusing
    which addresses the fast path gave."""
    cells = np.array(list(dict.fromkeys(texts)), dtype=object)
    addresses, fast = emails._email_batch(cells, with_fast=True)
    assert addresses.tolist() == [email(c) for c in cells]
    assert emails._match_keys_of(addresses, fast).tolist() == [email_match_key(c) for c in cells]
    locals_, domains = emails._rules(
        ["smithtoyota.com"], emails.PLACEHOLDER_EMAIL_LOCAL_PARTS, emails.PLACEHOLDER_EMAIL_DOMAINS
    )
    assert emails._placeholder_flags(addresses, locals_, domains).tolist() == [
        is_placeholder_email(c, dealer_domains=["smithtoyota.com"]) for c in cells
    ]


def test_keys_of_normalized_addresses_examples() -> None:
    cells = np.array(
        ["J.Smith+cars@GoogleMail.com", "+tag@gmail.com", "a+b@outlook.com", "x@sub.none.com",
         "No.Email2@x.com", "x@mail.smithtoyota.com", "üser@bücher.de", " <Bob@Example.ORG>; ",
         "jane-x@yahoo.com", "n/a"],
        dtype=object,
    )
    addresses, fast = emails._email_batch(cells, with_fast=True)
    assert emails._match_keys_of(addresses, fast).tolist() == [email_match_key(c) for c in cells]
    locals_, domains = emails._rules(
        ["smithtoyota.com"], emails.PLACEHOLDER_EMAIL_LOCAL_PARTS, emails.PLACEHOLDER_EMAIL_DOMAINS
    )
    flags = emails._placeholder_flags(addresses, locals_, domains).tolist()
    assert flags == [is_placeholder_email(c, dealer_domains=["smithtoyota.com"]) for c in cells]
    assert flags[3] and flags[4] and flags[5] and not flags[0]

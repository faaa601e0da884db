"""Normalize person names and company names; nickname equivalence; phonetic keys.

Every function takes any cell value (str, int, float, None, NaN) and returns normalized
text or None for a missing or placeholder value. Each has a vectorized ``<func>_series``
form over a pandas Series that gives exactly the same answers (computed once per
distinct value).

Choices (also the README's):

- **Folding** (:func:`fold`, shared with addresses): case-folded (``ß`` -> ``ss``), accents
  removed from Latin letters (José = jose, Müller = muller), letters that Unicode does not
  decompose folded by a small table (Ø -> o, Ł -> l, Æ -> ae, Đ -> d, Þ -> th, ı -> i).
  Letters of other scripts are kept as they are, only lower-cased (Юлия -> юлия, 김 -> 김):
  we never silently drop a name we cannot transliterate.
- **Punctuation**: apostrophes join (O'Brien -> obrien, D'Angelo -> dangelo); dotted
  initials join (J.R. -> jr); every other mark separates, so hyphenated surnames keep both
  parts separated by a space (Smith-Jones -> "smith jones"), which also equals the
  unhyphenated spelling "Smith Jones". Digits are not part of names and are dropped.
- **Honorifics** (Mr, Mrs, Dr, Rev, Sra, Capt, ...) are removed from the start of a field
  (repeatedly, with a connecting "and": "Mr. & Mrs."), post-nominal credentials (Esq, MD,
  PhD, DDS, CPA) from its end.
- **Suffixes** (Jr, Sr, II, III, IV, V, 2nd, 3rd, 4th, 5th, Junior, Senior) are removed from
  the name and returned on their own by :func:`split_suffix` / :func:`suffix`, normalized to
  ``jr sr ii iii iv v``. A suffix must be a trailing token after another token ("Jr" alone
  is the first name J.R.); ``v`` must follow at least two tokens, because in "John V" or
  "Smith, John V" it is far more often a middle initial. Jr and Sr are different people
  (father and son), and ``ii`` is its own generation: we never equate ii with jr.
- **Placeholders** (n/a, unknown, customer, none, test, xxx, digits only, "-", ".") -> None.
- **Full names** (:func:`parse_full_name`): "Last, First Middle" when there is a comma
  (unless what follows the comma is only a suffix: "John Smith, Jr."), otherwise
  "First Middle... Last"; the middle is everything between first and last ("Mary Ann
  Smith" -> first mary, middle ann: two-word first names cannot be told apart from
  first + middle). Particles (de, del, de la, van, von, da, di, du, le, la, st, bin, al)
  stay with the last name. A single token is taken as the last name (a surname-only
  record like "Mr. Smith" is the common case). "John & Mary Smith" keeps the first person.
- **Nicknames**: the ``nicknames`` package table (Carlton Northern & Nick Crews,
  Apache-2.0) plus ``matching/data/nicknames_extra.csv`` (pairs it lacks: Spanish
  diminutives like Pepe, Paco, Lupe, Memo, and a few English ones), minus
  ``matching/data/nickname_exclusions.csv`` (links it makes between two distinct given
  names, Emily ~ Emma, each with its reason). Pairs the table lists
  in both directions keep only the direction from the name with more nicknames, so a
  formal name does not become a nickname of its own nickname (Robert ~ Bill ~ William
  would otherwise make Robert ~ William). :func:`canonical_first` is one blocking label:
  ``matching/data/first_name_canonical.csv`` decides for common ambiguous names (Bill ->
  william, not robert), otherwise the name among its keys with the most nicknames, followed
  until it stops changing, so every member of a chain gets the same label.
- **Companies** (:func:`company`): '&' -> and, leading "the" dropped, legal forms (Inc, LLC,
  L.L.C., Ltd, Co, Corp, LLP, LP, PC, PLLC, PLC, GmbH, S.A. de C.V., ...) dropped from the
  end, repeatedly ("The Smith Co., Inc." -> "smith"); digits kept ("3M" -> "3m").
- **Phonetic key** (:func:`name_phonetic`): Metaphone per token. Measured on the ~2,200
  names of the nickname table: Metaphone keeps 30 % of random one-edit typos and 39 % of
  the table's near-spelling variants (Jerry/Gerry, Hayley/Hailey) with their name, NYSIIS
  18 % and 25 %, while putting 1.9 in 1,000 pairs of different names together (NYSIIS 1.0,
  Soundex 2.6 but it splits Catherine/Katherine on the first letter). Blocking wants
  recall, so Metaphone (``test_phonetic_choice_is_measured`` checks this). Tokens in other
  scripts are kept as they are, so the key is never empty for a valid name.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jellyfish
import numpy as np
import pandas as pd

from matching.normalize._vector import as_text, map_distinct

__all__ = [
    "ParsedName",
    "are_nicknames",
    "canonical_first",
    "canonical_first_series",
    "company",
    "company_series",
    "fold",
    "name",
    "name_phonetic",
    "name_phonetic_series",
    "name_series",
    "nickname_keys",
    "nickname_pairs",
    "parse_full_name",
    "parse_full_name_series",
    "split_suffix",
    "suffix",
    "suffix_series",
]

# --------------------------------------------------------------------------------------
# Folding (shared by every text normalizer)
# --------------------------------------------------------------------------------------

# Latin letters that NFKD does not decompose into base + accent.
_LATIN_EXTRA = str.maketrans(
    {
        "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
        "ı": "i", "ħ": "h", "ŧ": "t", "ƒ": "f", "ŋ": "n", "ĸ": "k", "ɨ": "i",
        "ʉ": "u", "ɍ": "r", "ȥ": "z", "ƀ": "b", "ɇ": "e", "ɉ": "j", "ƚ": "l",
    }
)  # fmt: skip


def _is_latin(ch: str) -> bool:
    o = ord(ch)
    return (
        o < 0x370
        or 0x1D00 <= o <= 0x1EFF
        or 0x2C60 <= o <= 0x2C7F
        or 0xA720 <= o <= 0xA7FF
        or 0xAB30 <= o <= 0xAB6F
    )


def fold(text: str) -> str:
    """Case-fold and strip accents from Latin letters; keep other scripts (lower-cased)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out: list[str] = []
    latin_base = True  # a mark with no base letter is dropped too
    for ch in decomposed:
        if unicodedata.category(ch)[0] == "M":
            # Accents on Latin letters go; vowel signs and marks of other scripts are
            # part of the letter and stay.
            if not latin_base:
                out.append(ch)
            continue
        latin_base = _is_latin(ch)
        out.append(ch)
    folded = "".join(out).translate(_LATIN_EXTRA)
    return unicodedata.normalize("NFC", folded).casefold()


# --------------------------------------------------------------------------------------
# Tokenizing
# --------------------------------------------------------------------------------------

# Apostrophe-like characters join the parts of a name (O'Brien, Hawaiʻi).
_APOSTROPHES = re.compile(r"['’‘`´ʼʻʹ′]")
# Dotted initials "j.r." / "l.l.c." / "p.o" become one token.
_INITIALS = re.compile(r"(?<![^\W_])(?:[^\W\d_]\.){1,}[^\W\d_](?![^\W_])\.?")
_ASCII_NON_WORD = re.compile(r"[^a-z0-9]+")


def _join_initials(match: re.Match[str]) -> str:
    return match.group(0).replace(".", "")


def _word_chars(text: str) -> str:
    """Replace every character that is not a letter, digit or mark by a space."""
    if text.isascii():
        return _ASCII_NON_WORD.sub(" ", text)
    return "".join(
        ch if (ch.isalnum() or unicodedata.category(ch)[0] == "M") else " " for ch in text
    )


def _drop_leading_marks(token: str) -> str:
    """A combining mark needs a letter before it; one left alone (after an emoji or a
    dropped digit) is noise, and would vanish on a second pass."""
    i = 0
    while i < len(token) and unicodedata.category(token[i])[0] == "M":
        i += 1
    return token[i:]


def _tokens(text: str, *, ampersand: bool = False) -> list[str]:
    """Fold ``text`` and split it into word tokens (letters, digits, marks)."""
    if text.isascii():
        # The common case, ASCII letters one space apart: nothing to fold or remove
        # (what _folded_tokens would find).
        words = text.lower().split(" ")
        if all(w.isalpha() for w in words):
            return words
    return _folded_tokens(text, ampersand=ampersand)


def _folded_tokens(text: str, *, ampersand: bool = False) -> list[str]:
    text = _APOSTROPHES.sub("", text)
    if ampersand:
        text = text.replace("&", " and ").replace("+", " and ")
    text = fold(text)
    if "." in text:
        text = _INITIALS.sub(_join_initials, text)
    tokens = _word_chars(text).split()
    if text.isascii():
        return tokens
    return [t for t in map(_drop_leading_marks, tokens) if t]


# --------------------------------------------------------------------------------------
# Person names
# --------------------------------------------------------------------------------------

_SUFFIXES: dict[str, str] = {
    "jr": "jr", "jnr": "jr", "junior": "jr",
    "sr": "sr", "snr": "sr", "senior": "sr",
    "ii": "ii", "2nd": "ii", "2d": "ii",
    "iii": "iii", "3rd": "iii", "3d": "iii",
    "iv": "iv", "4th": "iv",
    "v": "v", "5th": "v",
}  # fmt: skip
# Tokens with digits that are suffixes and must survive the digit clean-up.
_ORDINAL_SUFFIXES = frozenset(k for k in _SUFFIXES if any(c.isdigit() for c in k))

_HONORIFICS = frozenset(
    """mr mrs ms miss mx mister mstr master dr doctor prof professor rev reverend revd
    fr pastor rabbi sir dame hon honorable honourable capt captain cpt col lt ltc sgt
    maj cmdr adm sr sra srta sres messrs mssrs mme mlle mmes herr frau""".split()
)
# Post-nominal credentials: never part of the name (and never a suffix).
_CREDENTIALS = frozenset("esq esquire md phd dds dmd dvm cpa rn lpn jd mba ret".split())

# Whole normalized values that are placeholders, not names.
_JUNK = frozenset(
    """na none null nil unknown unk unkown customer cust client test testing tester
    xxx xx xxxx zzz asdf qwerty tbd tba noname nobody anonymous anon blank empty missing
    refused declined undefined nan first last firstname lastname name sample dummy fake
    other same notprovided unavailable""".split()
) | frozenset(
    {
        "n a", "no name", "not provided", "not available", "not applicable", "no first name",
        "no last name", "first name", "last name", "customer name", "cash customer",
        "walk in", "walkin customer", "walk in customer", "test customer", "test test",
        "do not use", "dnu", "unknown unknown", "none none", "n a n a", "same as above",
        "see notes", "to be determined",
    }
)  # fmt: skip
# Any single token made of one repeated letter three times or more: "xxx", "aaaa".
_REPEATED = re.compile(r"^(.)\1{2,}$")


def _strip_digits(tokens: list[str]) -> list[str]:
    out = []
    for tok in tokens:
        if tok in _ORDINAL_SUFFIXES or tok.isalpha():
            out.append(tok)
            continue
        letters = _drop_leading_marks("".join(ch for ch in tok if not ch.isnumeric()))
        if letters:
            out.append(letters)
    return out


def _strip_honorifics(tokens: list[str]) -> list[str]:
    i = 0
    while i < len(tokens):
        if tokens[i] in _HONORIFICS:
            i += 1
        elif tokens[i] == "and" and 0 < i < len(tokens) - 1 and tokens[i + 1] in _HONORIFICS:
            i += 1  # "Mr and Mrs John Smith"
        else:
            break
    return tokens[i:]


def _strip_trailing(tokens: list[str]) -> tuple[list[str], str | None]:
    """Remove trailing credentials and suffixes; return the rightmost suffix found."""
    found: str | None = None
    while len(tokens) >= 2:
        last = tokens[-1]
        if last in _CREDENTIALS:
            tokens = tokens[:-1]
        elif last in _SUFFIXES and (last != "v" or len(tokens) >= 3):
            if found is None:
                found = _SUFFIXES[last]
            tokens = tokens[:-1]
        else:
            break
    return tokens, found


def _clean_tokens(tokens: list[str]) -> tuple[list[str], str | None]:
    """Digits, honorifics, credentials, suffixes, ordinals: repeated until stable."""
    found: str | None = None
    for _ in range(8):  # each pass removes tokens; real input settles in one or two
        before = tokens
        tokens = _strip_digits(tokens)
        tokens = _strip_honorifics(tokens)
        tokens, sfx = _strip_trailing(tokens)
        if found is None:
            found = sfx
        # An ordinal left in the middle ("John 2nd Smith") is noise, not a name.
        tokens = [t for t in tokens if t not in _ORDINAL_SUFFIXES or len(tokens) == 1]
        if tokens == before:
            break
    return tokens, found


def _is_junk(tokens: list[str]) -> bool:
    if not tokens:
        return True
    joined = " ".join(tokens)
    if joined in _JUNK or "".join(tokens) in _JUNK:
        return True
    if all(t in _JUNK or _REPEATED.match(t) for t in tokens):
        return True
    # An ordinal alone ("2nd") is not a name.
    return len(tokens) == 1 and tokens[0] in _ORDINAL_SUFFIXES


def _split(text: str) -> tuple[str | None, str | None]:
    if text.isascii() and text.isalpha():
        # One plain word (most names): only an honorific or a placeholder is removed, and
        # a suffix needs a word before it (what _split_general would find).
        word = text.lower()
        if word in _HONORIFICS or word in _JUNK or _REPEATED.match(word):
            return None, None
        return word, None
    return _split_general(text)


def _split_general(text: str) -> tuple[str | None, str | None]:
    tokens, found = _clean_tokens(_tokens(text, ampersand=True))
    if _is_junk(tokens):
        return None, found
    return " ".join(tokens), found


def split_suffix(text: Any) -> tuple[str | None, str | None]:
    """Split a name field into (normalized name without suffix, normalized suffix).

    ``"Smith, Jr."`` -> ``("smith", "jr")``; ``"John Smith III"`` -> ``("john smith", "iii")``;
    ``"JR"`` alone -> ``("jr", None)`` (a first name); placeholders -> ``(None, None)``.
    """
    s = as_text(text)
    if s is None:
        return None, None
    return _split(s)


def name(text: Any) -> str | None:
    """Normalized form of one name field (first, middle or last), or None if junk.

    ``"José"`` -> ``"jose"``; ``"O'Brien"`` -> ``"obrien"``; ``"Smith-Jones"`` ->
    ``"smith jones"``; ``"Dr. Ann Lee, Jr."`` -> ``"ann lee"``; ``"N/A"`` -> None.
    """
    return split_suffix(text)[0]


def suffix(text: Any) -> str | None:
    """The generational suffix of a name field (``jr sr ii iii iv v``), or None.

    Also reads a dedicated suffix column: a value that is only a suffix (``"Jr."``,
    ``"III"``, ``"2nd"``, ``"Senior"``) gives that suffix.
    """
    s = as_text(text)
    if s is None:
        return None
    tokens = _tokens(s)
    if len(tokens) == 1 and tokens[0] in _SUFFIXES:
        return _SUFFIXES[tokens[0]]
    return _split(s)[1]


def _name_and_suffix(text: str) -> tuple[str | None, str | None]:
    """``(name(text), suffix(text))`` with one parse (``text`` is already a str)."""
    s = text[:1000]
    name_part, found = _split(s)
    if s.isascii() and s.isalpha():  # one plain word: its only token
        word = s.lower()
        return name_part, _SUFFIXES.get(word, found)
    tokens = _tokens(s)
    if len(tokens) == 1 and tokens[0] in _SUFFIXES:
        found = _SUFFIXES[tokens[0]]
    return name_part, found


def name_series(values: pd.Series) -> pd.Series:
    """Vectorized :func:`name`."""
    return map_distinct(values, name)


def suffix_series(values: pd.Series) -> pd.Series:
    """Vectorized :func:`suffix`."""
    return map_distinct(values, suffix)


# --------------------------------------------------------------------------------------
# Full names
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedName:
    """A full name split into normalized parts (each None when absent)."""

    first: str | None
    middle: str | None
    last: str | None
    suffix: str | None


# Lower-case particles that belong to the surname that follows them.
_PARTICLES = frozenset(
    "de del della der den di da das dos du la le van von st ter ten bin al el".split()
)


_DASHES = re.compile(r"[-‐‑‒–—]")


def _chunks(segment: str) -> list[str]:
    """Words of a full name, a hyphenated surname kept as one ("muller ludenscheidt")."""
    chunks: list[str] = []
    for part in segment.replace("&", " & ").split():
        words = _tokens(part, ampersand=True)
        if len(words) > 1 and _DASHES.search(part):
            chunks.append(" ".join(words))
        else:
            chunks.extend(words)
    return chunks


def _first_last(tokens: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(first, middle, last) token lists for "First Middle... Last"."""
    if len(tokens) == 1:
        return [], [], tokens
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1] in _PARTICLES:
        start -= 1
    return tokens[:1], tokens[1:start], tokens[start:]


def _part(tokens: list[str]) -> str | None:
    return name(" ".join(tokens)) if tokens else None


def parse_full_name(text: Any) -> ParsedName | None:
    """Split a full name into first, middle, last and suffix, or None if it is junk.

    Reads "First M. Last", "Last, First M", "LAST, FIRST JR", "Dr. John A. Smith III",
    "John Smith, Jr."; see the module docstring for the choices.
    """
    s = as_text(text)
    if s is None:
        return None
    segments = [_chunks(seg) for seg in s.split(",")]
    segments = [seg for seg in segments if seg]
    found: str | None = None
    kept: list[list[str]] = []
    for seg in segments:
        if all(t in _SUFFIXES or t in _CREDENTIALS for t in seg) and (kept or len(segments) > 1):
            # A segment that is only a suffix: "John Smith, Jr." / "Smith, Jr., John".
            sfx = next((_SUFFIXES[t] for t in seg if t in _SUFFIXES), None)
            found = found or sfx
            continue
        kept.append(seg)
    if not kept or _is_junk(_clean_tokens([t for seg in kept for t in seg])[0]):
        return None

    if len(kept) >= 2:  # "Last, First Middle"
        last_tokens, sfx_last = _clean_tokens(kept[0])
        given, sfx_given = _clean_tokens([t for seg in kept[1:] for t in seg])
        found = found or sfx_given or sfx_last
        given = [] if _is_junk(given) else given  # "Smith, N/A"
        last_tokens = [] if _is_junk(last_tokens) else last_tokens
        first_tokens, middle_tokens = given[:1], given[1:]
    else:
        tokens = _strip_honorifics(kept[0])
        if "and" in tokens[1:-1]:  # "John & Mary Smith", "John Smith and Mary Jones"
            cut = tokens.index("and", 1)
            left, right = tokens[:cut], tokens[cut + 1 :]
            tokens = left if len(left) >= 2 else left + right[-1:]
        tokens, sfx = _clean_tokens(tokens)
        found = found or sfx
        first_tokens, middle_tokens, last_tokens = _first_last(tokens)

    first, middle, last = _part(first_tokens), _part(middle_tokens), _part(last_tokens)
    if first is None and last is None:
        return None
    return ParsedName(first=first, middle=middle, last=last, suffix=found)


def parse_full_name_series(values: pd.Series) -> pd.DataFrame:
    """Vectorized :func:`parse_full_name`: columns first, middle, last, suffix."""
    parsed = map_distinct(values, parse_full_name).to_numpy()
    columns = {
        field: np.empty(len(parsed), dtype=object)
        for field in ("first", "middle", "last", "suffix")
    }
    for i, p in enumerate(parsed):
        for field, column in columns.items():
            column[i] = None if p is None else getattr(p, field)
    index = values.index if isinstance(values, pd.Series) else None
    return pd.DataFrame(columns, index=index, dtype=object)


# --------------------------------------------------------------------------------------
# Nicknames
# --------------------------------------------------------------------------------------


# Our own tables live in matching/data/ (package data, next to this package).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def read_table(file_name: str) -> list[list[str]]:
    """Rows of a CSV file in ``matching/data/``, header skipped."""
    return _rows((DATA_DIR / file_name).read_text(encoding="utf-8"))


def _rows(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    return [row for row in rows[1:] if row]


@dataclass(frozen=True)
class _NicknameTable:
    keys: dict[str, frozenset[str]]  # name -> names it may stand for (with itself)
    canonical: dict[str, str]  # name -> blocking label
    pairs: frozenset[tuple[str, str]]  # (formal, nickname) edges after clean-up


@functools.cache
def _table() -> _NicknameTable:
    edges: set[tuple[str, str]] = set()
    package_csv = resources.files("nicknames").joinpath("names.csv").read_text(encoding="utf-8")
    rows = _rows(package_csv) + read_table("nicknames_extra.csv")
    norm = functools.cache(name)  # the table repeats each name a few times
    for formal, _relation, nick in rows:
        a, b = norm(formal), norm(nick)
        if a and b and a != b:
            edges.add((a, b))
    # Links between two distinct given names the package table makes (Emily ~ Emma):
    # such names are two people (sisters, twins), never one written two ways.
    for a, b, _reason in read_table("nickname_exclusions.csv"):
        edges -= {(norm(a), norm(b)), (norm(b), norm(a))}
    out_degree: dict[str, int] = {}
    for a, _ in edges:
        out_degree[a] = out_degree.get(a, 0) + 1
    # Pairs listed both ways keep the direction from the name with more nicknames
    # (robert -> bill, not bill -> robert), so formal names do not chain together.
    clean = {
        (a, b)
        for a, b in edges
        if (b, a) not in edges or out_degree.get(a, 0) >= out_degree.get(b, 0)
    }
    degree: dict[str, int] = {}
    canonicals: dict[str, set[str]] = {}
    for a, b in clean:
        degree[a] = degree.get(a, 0) + 1
        canonicals.setdefault(b, set()).add(a)
    names = {n for pair in clean for n in pair}
    keys = {n: frozenset({n} | canonicals.get(n, set())) for n in names}

    preferred = {norm(nick): norm(canon) for nick, canon in read_table("first_name_canonical.csv")}

    def best(n: str) -> str:
        if n in preferred:
            return preferred[n]  # type: ignore[return-value]
        # The key with the most nicknames; ties by name, so a pair listed both ways
        # (allan/allen) picks the same label from either side.
        return max(keys.get(n, {n}), key=lambda k: (degree.get(k, 0), k))

    canonical: dict[str, str] = {}
    for n in names:
        seen = [n]
        c = best(n)
        while c != seen[-1] and c not in seen:  # follow to the root; stop on a cycle
            seen.append(c)
            c = best(c)
        canonical[n] = min(seen[seen.index(c) :]) if c in seen[:-1] else c
    return _NicknameTable(keys=keys, canonical=canonical, pairs=frozenset(clean))


def _first_key(first: Any) -> str | None:
    return _first_key_of_name(name(first))


def _first_key_of_name(n: str | None) -> str | None:
    """:func:`_first_key` from the normalized name."""
    if n is None:
        return None
    table = _table()
    if n in table.keys or " " not in n:
        return n
    # "Mary Ann" -> look up "mary": two-word first names are read by their first word
    # (unless that word alone is a placeholder, like "aaa" in "aaa a").
    head = n.split(" ", 1)[0]
    return head if name(head) == head else n


def nickname_keys(first: Any) -> frozenset[str]:
    """The names a first name may stand for, itself included (empty for junk).

    ``"Bob"`` -> ``{"bob", "robert", "bobby", "bert"}`` (the table's own entries).
    """
    if isinstance(first, str):
        return _nickname_keys_cached(first)
    return _nickname_keys(first)


def _nickname_keys(first: Any) -> frozenset[str]:
    n = _first_key(first)
    if n is None:
        return frozenset()
    return _table().keys.get(n, frozenset({n}))


# Matching compares the same first names over and over: normalize each text once.
_nickname_keys_cached = functools.lru_cache(maxsize=200_000)(_nickname_keys)


def are_nicknames(a: Any, b: Any) -> bool:
    """True if the two first names share a name they may stand for (Bob/Robert, Bob/Rob)."""
    ka = nickname_keys(a)
    return bool(ka) and not ka.isdisjoint(nickname_keys(b))


def canonical_first(first: Any) -> str | None:
    """One deterministic blocking label for a first name (Bob, Bobby, Rob -> robert).

    Names with no nickname entry are their own label. The label is an internal key, not
    a display name.
    """
    n = _first_key(first)
    if n is None:
        return None
    return _table().canonical.get(n, n)


def canonical_first_series(values: pd.Series) -> pd.Series:
    """Vectorized :func:`canonical_first`."""
    return map_distinct(values, canonical_first)


def nickname_pairs() -> frozenset[tuple[str, str]]:
    """All (formal, nickname) pairs in use, after clean-up (for tests and reports)."""
    return _table().pairs


# --------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------

# Legal forms, as token tuples, removed from the end of a company name (longest first).
_LEGAL_FORMS: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        {
            tuple(f.split())
            for f in (
                "inc", "incorporated", "llc", "l l c", "llp", "lllp", "lp", "ltd", "limited",
                "co", "company", "corp", "corporation", "pc", "p c", "pllc", "plc", "gmbh",
                "ag", "sa", "s a", "sas", "sarl", "srl", "bv", "nv", "pty", "pty ltd", "ulc",
                "lc", "ltda", "sa de cv", "s de rl", "s de rl de cv", "de cv",
            )
        },
        key=lambda form: (-len(form), form),
    )
)  # fmt: skip


# The legal forms by their last token, each list in _LEGAL_FORMS order.
_LEGAL_FORMS_BY_LAST: dict[str, tuple[tuple[str, ...], ...]] = {
    last: tuple(f for f in _LEGAL_FORMS if f[-1] == last) for last in {f[-1] for f in _LEGAL_FORMS}
}


def _company(text: str) -> str | None:
    tokens = _tokens(text, ampersand=True)
    changed = True
    while changed:
        changed = False
        for form in _LEGAL_FORMS_BY_LAST.get(tokens[-1], ()) if tokens else ():
            n = len(form)
            if len(tokens) > n and tuple(tokens[-n:]) == form:
                tokens = tokens[:-n]
                changed = True
                break
        if len(tokens) > 1 and tokens[-1] == "and":  # "Smith & Co" -> "smith"
            tokens = tokens[:-1]
            changed = True
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    if _is_junk(tokens) or all(t.isdigit() for t in tokens):
        return None
    return " ".join(tokens)


def company(text: Any) -> str | None:
    """Normalized company name: ``"The Smith Co., Inc."`` -> ``"smith"``, ``"ACME, L.L.C."`` -> ``"acme"``."""
    s = as_text(text)
    return None if s is None else _company(s)


def company_series(values: pd.Series) -> pd.Series:
    """Vectorized :func:`company`."""
    return map_distinct(values, company)


# --------------------------------------------------------------------------------------
# Phonetic key
# --------------------------------------------------------------------------------------


def name_phonetic(text: Any) -> str | None:
    """Metaphone key of a name, token by token (``"Jon Smyth"`` -> ``"JN SM0"``), or None."""
    return _phonetic_of_name(name(text))


def _canonical_of_name(n: str | None) -> str | None:
    """:func:`canonical_first` from the normalized name."""
    key = _first_key_of_name(n)
    return None if key is None else _table().canonical.get(key, key)


def _phonetic_of_name(n: str | None) -> str | None:
    """:func:`name_phonetic` from the normalized name."""
    if n is None:
        return None
    keys = []
    for tok in n.split():
        ascii_part = "".join(ch for ch in tok if "a" <= ch <= "z")
        # Other scripts have no Metaphone: keep the token itself so the key is never empty.
        keys.append((jellyfish.metaphone(ascii_part) or ascii_part.upper()) if ascii_part else tok)
    return " ".join(k for k in keys if k) or None


def name_phonetic_series(values: pd.Series) -> pd.Series:
    """Vectorized :func:`name_phonetic`."""
    return map_distinct(values, name_phonetic)

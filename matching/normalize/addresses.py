"""Normalize postal addresses: street lines, units, ZIP/postal codes, states, countries, cities.

Every function takes any cell value (str, int, float, None, NaN) and returns normalized
text or None for a missing or placeholder value; each has a vectorized ``<func>_series``
form over a pandas Series giving exactly the same answers (computed once per distinct
value). Text is folded like names (:func:`matching.normalize.names.fold`: lower case,
accents removed, other scripts kept).

Choices (also the README's):

- **Lower case** everywhere except codes (ZIP/postal codes, states, countries are upper
  case, as printed on mail): lower case matches the names.
- **Street line** (:func:`street`): punctuation removed (apostrophes join: O'Farrell ->
  ofarrell; dotted initials join: N.E. -> ne, P.O. -> po; a hyphen or slash touching a digit
  joins: 5-B -> 5b, Queens' 123-45 -> 12345), every word found in USPS Publication 28
  Appendix C1 (``matching/data/street_suffixes.csv``) is abbreviated to its standard form,
  not only the trailing suffix (Avenue -> ave, Lake Shore Drive -> lk shr dr): both sides
  of a comparison get the same treatment, and a suffix missing on one record does not
  change how the rest reads. Directionals become n s e w ne nw se sw ("North East" -> ne);
  Saint -> st. Written ordinals become digits and numeric ordinals get the right ending
  (First -> 1st, Twenty-Second -> 22nd, 2d -> 2nd, 3th -> 3rd). P.O. Box / POB / Post
  Office Box -> "po box"; Rural Route -> rr; County Road / Co Rd -> cr; State Route -> sr.
- **Units**: secondary unit designators (Appendix C2, ``matching/data/unit_designators.csv``)
  are normalized (Apartment -> apt, Suite -> ste, Building -> bldg, Floor -> fl); '#' is
  the generic designator "unit" (``#5`` -> ``unit 5``, ``Apt #5`` -> ``apt 5``). We keep the
  designator because Bldg 5 and Apt 5 are different places; to compare doors, compare the
  unit's last token. A designator counts only after the house number and one street word
  (123 Front St and 456 Apt Rd are streets), must be followed by an identifier (a token
  with a digit, or one letter) unless it takes none (Rear, Bsmt, Ph), and the unit runs to
  the end of the line. A unit written first ("Apt 5, 123 Main St") moves to the end, and a
  bare trailing number after a street suffix ("123 Main St 5") is read as "unit 5"
  (not after highway-like suffixes: Hwy 9, Rte 66, CR 12). :func:`split_unit` returns the
  two parts; ``street(x) == " ".join(split_unit(x))`` when both exist.
- **ZIP/postal code** (:func:`zip_code`): US ZIP5 from ZIP+4 (``90001-1234``, ``900011234``
  -> ``90001``); 3-4 digits are left-padded to 5 (and 8 digits to 9) when the country is US
  or unknown, because spreadsheets drop leading zeros (int 2134 -> ``02134``); ``00000`` is
  junk. Canadian codes fold to ``A1A1A1`` (``k1a 0b1`` -> ``K1A0B1``; letter O / I typed
  in a digit's place are read as 0 / 1). US territories (PR, VI, GU, AS, MP) use US ZIPs;
  other countries' codes are not read (None).
- **State** (:func:`state`): US states, DC, territories, military (AA AE AP) and Canadian
  provinces/territories in English and French ("Québec", "Colombie-Britannique"), USPS
  and old/AP abbreviations ("Calif.", "Penn", "PQ", "Nfld") -> 2-letter code. A country
  other than US/territories/Canada gives None (Mexico's "BC" is not British Columbia); a
  US country with a Canadian province still gives the province (exports default the
  country to US).
- **Country** (:func:`country`): ISO 3166-1 alpha-2 from names, alpha-2/alpha-3 codes and
  common aliases (USA, U.S., United States, America, Canada, CAN, UK, Deutschland, México).
  Placeholders are read first, so "N/A" is missing, not Namibia; a bare "NA" is Namibia's
  code (codes must read back as themselves).
- **City** (:func:`city`): folded like names; hyphens separate (Winston-Salem -> winston
  salem); abbreviations expand to the word the USPS city list spells out: St -> saint, Ste
  -> sainte, Ft -> fort, Mt -> mount, Pt -> point, Hts -> heights, Spgs -> springs; a leading
  N/S/E/W (or No/So) before another word -> north/south/east/west.
- **Address key** (:func:`address_key`): ``"<house number> <first street word> <zip5>"``
  from the street part (unit dropped), skipping directionals and the street's own suffix
  when a name word exists ("123 N. Main Street Apt 5", "90001-1234" -> ``"123 main 90001"``);
  a PO box gives ``"<box number> pobox <zip>"``. None when the line has no house number or
  the ZIP is missing: it is a blocking key, so it must never put unrelated rows together.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.normalize._vector import (
    MAX_INPUT_CHARS,
    apply_scalar,
    arrow_strings,
    as_text,
    distinct_text,
    map_distinct,
    map_distinct_batch,
    texts_at,
)
from matching.normalize.names import _is_junk, _tokens, read_table

__all__ = [
    "address_key",
    "address_key_series",
    "city",
    "city_series",
    "country",
    "country_series",
    "split_unit",
    "split_unit_series",
    "state",
    "state_series",
    "street",
    "street_series",
    "zip_code",
    "zip_code_series",
]

# --------------------------------------------------------------------------------------
# Tables (lazy, cached)
# --------------------------------------------------------------------------------------


def _key(text: str) -> str:
    return " ".join(_tokens(text, ampersand=True))


@functools.cache
def _suffixes() -> dict[str, str]:
    """Pub 28 C1: any spelling -> standard abbreviation."""
    return {variant: standard for variant, standard, _primary in read_table("street_suffixes.csv")}


@functools.cache
def _units() -> dict[str, tuple[str, bool]]:
    """Pub 28 C2: any spelling -> (standard designator, takes an identifier)."""
    return {v: (s, r == "yes") for v, s, r in read_table("unit_designators.csv")}


@functools.cache
def _states() -> dict[str, tuple[str, str]]:
    return {_key(n): (code, ctry) for n, code, ctry in read_table("states.csv")}


@functools.cache
def _countries() -> dict[str, str]:
    table: dict[str, str] = {}
    for n, code in read_table("countries.csv"):
        table.setdefault(_key(n), code)
    return table


_DIRECTIONALS = {
    "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
    "n": "n", "s": "s", "e": "e", "w": "w", "ne": "ne", "nw": "nw", "se": "se", "sw": "sw",
}  # fmt: skip
_COMPASS = frozenset("n s e w ne nw se sw".split())

_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
    "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "sixtieth": 60, "seventieth": 70,
    "eightieth": 80, "ninetieth": 90,
}  # fmt: skip
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_NUMERIC_ORDINAL = re.compile(r"^([0-9]+)(st|nd|rd|th|d)$")

# Multi-word spellings folded to one form before anything else (longest first).
_PHRASES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = tuple(
    sorted(
        [
            (("post", "office", "box"), ("po", "box")),
            (("p", "o", "box"), ("po", "box")),
            (("po", "bx"), ("po", "box")),
            (("pobox",), ("po", "box")),
            (("pob",), ("po", "box")),
            (("rural", "route"), ("rr",)),
            (("rural", "rte"), ("rr",)),
            (("r", "r"), ("rr",)),
            (("county", "road"), ("cr",)),
            (("county", "rd"), ("cr",)),
            (("cnty", "rd"), ("cr",)),
            (("cty", "rd"), ("cr",)),
            (("co", "rd"), ("cr",)),
            (("co", "road"), ("cr",)),
            (("state", "route"), ("sr",)),
            (("state", "rte"), ("sr",)),
            (("state", "road"), ("sr",)),
            (("state", "rd"), ("sr",)),
            (("north", "east"), ("ne",)),
            (("north", "west"), ("nw",)),
            (("south", "east"), ("se",)),
            (("south", "west"), ("sw",)),
        ],
        key=lambda p: -len(p[0]),
    )
)
# Suffixes after which a number names the road, not a unit: Hwy 9, Rte 66, CR 12.
_NUMBERED_ROADS = frozenset("hwy rte fwy expy tpke pike byp cr sr rr box".split())

# A hyphen or slash between a digit and a digit or single letter joins (5-B, A-1,
# 123-45, I-95); elsewhere it separates (Smith-Jones Rd, 123-Main).
_DIGIT_JOIN = re.compile(
    r"(?<=[0-9])[-/](?=[0-9]|[A-Za-z](?![A-Za-z]))|(?<=\b[A-Za-z])[-/](?=[0-9])"
)

# --------------------------------------------------------------------------------------
# Street lines
# --------------------------------------------------------------------------------------


_ORDINAL_ENDINGS = {1: "st", 2: "nd", 3: "rd"}


def _ordinal(n: int) -> str:
    """1 -> 1st, 2 -> 2nd, 11 -> 11th, 22 -> 22nd."""
    ending = "th" if 11 <= n % 100 <= 13 else _ORDINAL_ENDINGS.get(n % 10, "th")
    return f"{n}{ending}"


def _raw_tokens(text: str) -> list[str]:
    text = _DIGIT_JOIN.sub("", text)
    parts = text.split("#")
    tokens = _tokens(parts[0], ampersand=True)
    for part in parts[1:]:  # '#' survives as its own token: it designates a unit
        tokens.append("#")
        tokens.extend(_tokens(part, ampersand=True))
    return tokens


_FUSED_DESIGNATOR = re.compile(r"^([a-z]+)([0-9][0-9a-z]*)$")


@functools.cache
def _phrases_by_first() -> dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]:
    table: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for pattern, replacement in _PHRASES:  # already longest first
        table.setdefault(pattern[0], []).append((pattern, replacement))
    return {k: tuple(v) for k, v in table.items()}


def _prepare(tokens: list[str]) -> list[str]:
    """Split fused designators, fold ordinals and multi-word phrases."""
    units = _units()
    phrases = _phrases_by_first()
    out: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        if tok.isdigit():
            out.append(tok)
            i += 1
            continue
        if tok in phrases:
            for pattern, replacement in phrases[tok]:
                if tuple(tokens[i : i + len(pattern)]) == pattern:
                    out.extend(replacement)
                    i += len(pattern)
                    break
            else:
                out.append(tok)
                i += 1
            continue
        if tok in _TENS and i + 1 < n and _ORDINAL_WORDS.get(tokens[i + 1], 99) < 10:
            out.append(_ordinal(_TENS[tok] + _ORDINAL_WORDS[tokens[i + 1]]))  # twenty first
            i += 2
            continue
        if tok in _ORDINAL_WORDS:
            out.append(_ordinal(_ORDINAL_WORDS[tok]))
        elif not tok.isalpha() and not tok.isdigit():
            if m := _NUMERIC_ORDINAL.match(tok):
                out.append(_ordinal(int(m.group(1))))
            elif (m := _FUSED_DESIGNATOR.match(tok)) and m.group(1) in units:
                out.extend([m.group(1), m.group(2)])  # apt5 -> apt 5
            else:
                out.append(tok)
        else:
            out.append(tok)
        i += 1
    if out[:1] == ["box"] and len(out) > 1:  # "Box 123" alone is a PO box
        out = ["po", *out]
    return out


def _is_identifier(tok: str) -> bool:
    """A unit identifier: has a digit (5, 2B, B12) or is one letter (B)."""
    return tok != "#" and (len(tok) == 1 or any(ch.isdigit() for ch in tok))


def _drop_stray_hashes(tokens: list[str], *, keep_leading: bool = False) -> list[str]:
    """Remove each '#' that cannot start a unit (too early, or no identifier after it).

    With ``keep_leading``, a first '#' before an identifier stays ("#5 123 Main St").
    """
    while True:
        n = len(tokens)
        stray = next(
            (
                i
                for i, tok in enumerate(tokens)
                if tok == "#"
                and not (
                    i + 1 < n
                    and _is_identifier(tokens[i + 1])
                    and (i >= 2 or (i == 0 and keep_leading))
                )
            ),
            None,
        )
        if stray is None:
            return tokens
        tokens = tokens[:stray] + tokens[stray + 1 :]


def _unit_start(tokens: list[str]) -> int | None:
    """Index where the unit begins, or None."""
    units = _units()
    n = len(tokens)
    for i in range(1, n):
        tok = tokens[i]
        if tok == "#":  # only valid ones are left (see _drop_stray_hashes)
            return i
        if i >= 2 and tok in units:
            takes_id = units[tok][1]
            following = tokens[i + 1] if i + 1 < n else None
            if takes_id:
                # "Apt 5" or "Apt # 5": the identifier may follow a '#'.
                ident = tokens[i + 2] if following == "#" and i + 2 < n else following
                if ident is not None and _is_identifier(ident):
                    return i
            elif following is None or following in units or following == "#":
                return i
    return None


def _normalize_unit(tokens: list[str]) -> list[str]:
    """Designators to their C2 form; '#' is "unit", or dropped after one that takes an id."""
    units = _units()
    takes_id = _unit_standards()
    out: list[str] = []
    for tok in tokens:
        after_designator = bool(out) and takes_id.get(out[-1], False)
        if tok == "#":
            if not after_designator:  # "Rear # 2" -> rear unit 2
                out.append("unit")
        elif tok in units and not after_designator:
            out.append(units[tok][0])
        else:
            out.append(tok)
    return out


@functools.cache
def _unit_standards() -> dict[str, bool]:
    """Standard designator -> whether it takes an identifier."""
    return dict(_units().values())


def _street_word(tok: str) -> str:
    if tok in _DIRECTIONALS:
        return _DIRECTIONALS[tok]
    if tok == "saint":
        return "st"
    return _suffixes().get(tok, tok)


def _split(text: str) -> tuple[str | None, str | None]:
    tokens = _raw_tokens(text)
    if not tokens:
        return None, None
    tokens = _prepare(tokens)
    if "#" in tokens:
        # Stray '#'s go before the phrases are read: "Co # Rd" is "co rd" -> cr.
        tokens = _prepare(_drop_stray_hashes(tokens, keep_leading=True))
    units = _units()

    lead: list[str] = []
    # A unit written first: "Apt 5, 123 Main St" / "#5 123 Main St".
    if (
        len(tokens) >= 4
        and (tokens[0] == "#" or units.get(tokens[0], ("", False))[1])
        and _is_identifier(tokens[1])
        and tokens[2][:1].isdigit()
    ):
        rest = _drop_stray_hashes(tokens[2:])
        if len(rest) >= 2:  # a house number and a street word stay in front of it
            lead, tokens = tokens[:2], rest
    if "#" in tokens:
        tokens = _drop_stray_hashes(tokens)
    unit: list[str] = []
    start = _unit_start(tokens)
    if start is not None:
        unit, tokens = tokens[start:], tokens[:start]
    unit += lead
    street_tokens = [_street_word(t) for t in tokens]
    # "123 Main St 5": a number after a street suffix is a unit (not "Hwy 9").
    if (
        not unit
        and len(street_tokens) >= 4
        and street_tokens[0][:1].isdigit()
        and any(ch.isdigit() for ch in street_tokens[-1])
        and street_tokens[-2] in _suffix_standards()
        and street_tokens[-2] not in _NUMBERED_ROADS
    ):
        unit = ["unit", street_tokens[-1]]
        street_tokens = street_tokens[:-1]
    # A line with a digit is never a placeholder; only wordy ones need the check.
    has_digit = any(ch.isdigit() for t in street_tokens for ch in t)
    street_part = None if not has_digit and _is_junk(street_tokens) else " ".join(street_tokens)
    return street_part, " ".join(_normalize_unit(unit)) or None


@functools.cache
def _suffix_standards() -> frozenset[str]:
    return frozenset(_suffixes().values())


def split_unit(text: Any) -> tuple[str | None, str | None]:
    """(street part, unit part) of an address line, both normalized like :func:`street`.

    ``"123 Main Street, Apt. 4B"`` -> ``("123 main st", "apt 4b")``;
    ``"55 Elm St #2"`` -> ``("55 elm st", "unit 2")``.
    """
    s = as_text(text)
    if s is None:
        return None, None
    return _split(s)


def street(text: Any) -> str | None:
    """Normalized address line: ``"123 North Main Street, Suite 200"`` -> ``"123 n main st ste 200"``."""
    street_part, unit_part = split_unit(text)
    if street_part is None and unit_part is None:
        return None
    return " ".join(p for p in (street_part, unit_part) if p)


# Vectorized fast path of split_unit: the common plain spelling, on lower-cased ASCII text:
# a house number, words of letters (a trailing dot allowed), then optionally one unit
# ("unit 5", "apt. 12b", "ste # 200", "#276a"), separated by spaces and commas. Words
# whose reading depends on their neighbours (phrases, tens, unit designators) send the
# line to the scalar function; so does a last word that reads as a number (an ordinal
# after a street suffix would be a unit). Everything else is decided word by word.
_FAST_LINE_PATTERN = (
    r"^ *(?P<num>[0-9]+)(?P<words>(?:[ ,]+[a-z]+\.?)+?)"
    r"(?:[ ,]+(?:(?P<des>unit|apt|apartment|ste|suite)\.?[ ,]*#?|(?P<hash>#)) *"
    r"(?P<ident>[0-9]{1,6}[a-z]?))?[ ,.]*$"
)
_FAST_SEPARATORS = r"[ ,.]+"
# Phrase starts that read as a plain word unless "east"/"west" follows (checked per line).
_NEIGHBOUR_WORDS = frozenset(("north", "south"))


@functools.cache
def _fast_words() -> dict[str, str | None]:
    """Cache of word -> its street form, None when the word needs the scalar path."""
    return {}


def _fast_word(word: str) -> str | None:
    table = _fast_words()
    if word in table:
        return table[word]
    if word.isdigit():
        out: str | None = word
    elif (
        (word in _phrases_by_first() and word not in _NEIGHBOUR_WORDS)
        or word in _TENS
        or word in _units()
        or word == "box"
        or not (word.isascii() and word.isalpha())
    ):
        out = None
    else:
        out = _street_word(_ordinal(_ORDINAL_WORDS[word]) if word in _ORDINAL_WORDS else word)
    table[word] = out
    return out


def _fast_ident(ident: str) -> str:
    """A unit identifier as _prepare reads it ("119d" -> "119th")."""
    m = _NUMERIC_ORDINAL.match(ident)
    return _ordinal(int(m.group(1))) if m else ident


def _object_array(arrow_array: pa.Array) -> np.ndarray:
    return np.asarray(arrow_array.to_numpy(zero_copy_only=False), dtype=object)


_FAST_DESIGNATORS = frozenset(("unit", "apt", "apartment", "ste", "suite"))


def _split_batch(texts: np.ndarray, *, key_parts: bool = False) -> Any:
    """:func:`split_unit` over distinct texts, as (streets, units) object arrays: the
    vectorized fast path where it applies, the scalar function for the rest. With
    ``key_parts``, also ``_key_part`` of each street, read from the same words."""
    n = len(texts)
    streets = np.full(n, None, dtype=object)
    units_out = np.full(n, None, dtype=object)
    keys_out = np.full(n, None, dtype=object)
    fast_mask = np.zeros(n, dtype=bool)
    if n:
        arr = arrow_strings(texts)
        lower = pc.utf8_lower(arr)
        ok = pc.and_(
            pc.and_(pc.string_is_ascii(arr), pc.less_equal(pc.utf8_length(arr), MAX_INPUT_CHARS)),
            pc.match_substring_regex(lower, _FAST_LINE_PATTERN),
        )
        fast_mask = ok.to_numpy(zero_copy_only=False).copy()
    fast_idx = np.flatnonzero(fast_mask)
    if len(fast_idx):
        sub = lower.take(pa.array(fast_idx))
        for ch in ",.#":
            sub = pc.replace_substring(sub, ch, " ")
        # Tokens: house number, street words, then optionally [designator] identifier.
        tokens = pc.ascii_split_whitespace(pc.ascii_trim_whitespace(sub))
        enc = pc.dictionary_encode(tokens.flatten())
        codes = enc.indices.to_numpy(zero_copy_only=False)
        uniq = enc.dictionary.to_pylist()
        offsets = tokens.offsets.to_numpy().astype(np.int64)
        starts, ends = offsets[:-1], offsets[1:]
        lens = ends - starts
        mapped_u = [_fast_word(w) for w in uniq]
        bad_u = np.array([m is None for m in mapped_u], dtype=bool)
        digit_u = np.array([m is not None and any(c.isdigit() for c in m) for m in mapped_u], dtype=bool)
        lead_digit_u = np.array([w[:1].isdigit() for w in uniq], dtype=bool)
        des_u = np.array([w in _FAST_DESIGNATORS for w in uniq], dtype=bool)
        ns_u = np.array([w in _NEIGHBOUR_WORDS for w in uniq], dtype=bool)
        ew_u = np.array([w in ("east", "west") for w in uniq], dtype=bool)
        # The pattern guarantees >= 2 tokens and a digit-led token only first or last.
        has_ident = lead_digit_u[codes[ends - 1]]
        has_des = has_ident & des_u[codes[ends - 2]] & (lens >= 4)
        street_len = lens - has_ident - has_des
        pos = np.arange(len(codes)) - np.repeat(starts, lens)
        in_street = pos < np.repeat(street_len, lens)
        # Lines with an undecided street word go to the scalar path.
        bad_line = np.add.reduceat((bad_u[codes] & in_street).astype(np.int64), starts) > 0
        # "North East" is one directional (a phrase).
        pair = np.zeros(len(codes), dtype=bool)
        pair[:-1] = ns_u[codes[:-1]] & ew_u[codes[1:]] & in_street[1:]
        pair[ends - 1] = False  # the pair must stay within one line
        bad_line |= np.add.reduceat(pair.astype(np.int64), starts) > 0
        # A last street word read as a number ("... St Fifth") could be a unit.
        bad_line |= digit_u[codes[starts + street_len - 1]]
        mapped_words = pa.array([m or "" for m in mapped_u], type=pa.string())
        mapped = mapped_words.take(pa.array(codes[in_street]))
        street_offsets = np.concatenate(([0], np.cumsum(street_len)))
        mapped_list = pa.ListArray.from_arrays(pa.array(street_offsets, type=pa.int32()), mapped)
        street_text = _object_array(pc.binary_join(mapped_list, " "))
        unit = np.full(len(fast_idx), None, dtype=object)
        if has_ident.any():
            unit_std = _units()
            designator_u = np.array(
                [unit_std[w][0] if w in _FAST_DESIGNATORS else "unit" for w in uniq], dtype=object
            )
            ident_u = np.array([_fast_ident(w) if w[:1].isdigit() else "" for w in uniq], dtype=object)
            rows = np.flatnonzero(has_ident)
            designator = np.where(has_des[rows], designator_u[codes[ends[rows] - 2]], "unit")
            unit[rows] = designator + " " + ident_u[codes[ends[rows] - 1]]
        good = ~bad_line
        streets[fast_idx[good]] = street_text[good]
        units_out[fast_idx[good]] = unit[good]
        if key_parts:
            # The street is "<house number> <word> <word>...", its words plain (lower-case
            # letters and digits): its key part is the house number and the first word that
            # is neither a directional nor a street type, else the first that is not a
            # directional, else the first that is not a street type, else the first.
            standards = _suffix_standards()
            rank_u = np.array([2 * (m in _COMPASS) + (m in standards) for m in mapped_u], dtype=np.int64)
            width = int(street_len.max()) + 1
            score = rank_u[codes] * width + pos
            score[~in_street] = 4 * width
            score[starts] = 4 * width  # never the house number
            best = np.minimum.reduceat(score, starts) % width
            rows = np.flatnonzero(good)
            house = mapped_words.take(pa.array(codes[starts[rows]]))
            word = mapped_words.take(pa.array(codes[starts[rows] + best[rows]]))
            keys_out[fast_idx[rows]] = _object_array(pc.binary_join_element_wise(house, word, " "))
        fast_mask[fast_idx[bad_line]] = False
    slow = np.flatnonzero(~fast_mask)
    for i, text in zip(slow, texts_at(texts, slow), strict=True):
        streets[i], units_out[i] = split_unit(text)
        if key_parts:
            keys_out[i] = _key_part(streets[i])
    if key_parts:
        return streets, units_out, keys_out
    return streets, units_out


def street_series(values: pd.Series) -> pd.Series:
    """Vectorized :func:`street`."""

    def batch(texts: np.ndarray) -> np.ndarray:
        streets, units = _split_batch(texts)
        out = np.empty(len(texts), dtype=object)
        for i, (st, un) in enumerate(zip(streets, units, strict=True)):
            out[i] = None if st is None and un is None else " ".join(p for p in (st, un) if p)
        return out

    return map_distinct_batch(values, batch)


def split_unit_series(values: pd.Series) -> pd.DataFrame:
    """Vectorized :func:`split_unit`: a DataFrame with columns ``street`` and ``unit``."""
    values, codes, texts = distinct_text(values)
    streets, units = _split_batch(texts)
    # A trailing None so that code -1 (missing) reads None.
    streets = np.append(streets, None)
    units = np.append(units, None)
    return pd.DataFrame({"street": streets[codes], "unit": units[codes]}, index=values.index, dtype=object)


# --------------------------------------------------------------------------------------
# ZIP / postal codes
# --------------------------------------------------------------------------------------

# ISO codes of places that use US ZIP codes.
_US_ZIP_COUNTRIES = frozenset({"US", "PR", "VI", "GU", "AS", "MP", "UM", "FM", "MH", "PW"})
_CA_FIRST = "ABCEGHJKLMNPRSTVXY"  # Canada Post never uses D F I O Q U (nor W Z first)
_CA_OTHER = "ABCEGHJKLMNPRSTVWXYZ"
_CA_SHAPE = re.compile(r"^([A-Z][0-9OI][A-Z])[\s-]*([0-9OI][A-Z][0-9OI])$")
_FLOAT_TEXT = re.compile(r"^([0-9]+)\.0*$")
_ZIP5 = re.compile(r"^([0-9]{5})(?:[\s-]*[0-9]{4})?$", re.ASCII)
_ZIP_SHORT = re.compile(r"^([0-9]{3,4})(?:-[0-9]{4})?$", re.ASCII)
_ZIP8 = re.compile(r"^[0-9]{8}$", re.ASCII)


def _country_code(value: Any) -> str | None:
    return None if value is None else country(value)


_CA_DIGITS = str.maketrans("OI", "01")


def _canadian(s: str) -> str | None:
    m = _CA_SHAPE.match(s)
    if m is None:
        return None
    a, b = m.group(1), m.group(2)
    # Letter O / I typed where a digit belongs (the 2nd, 4th and 6th characters).
    code = a[0] + a[1].translate(_CA_DIGITS) + a[2] + b[0].translate(_CA_DIGITS) + b[1] + b[2].translate(_CA_DIGITS)
    if code[0] not in _CA_FIRST or code[2] not in _CA_OTHER or code[4] not in _CA_OTHER:
        return None
    return code


def _us_zip(s: str) -> str | None:
    if m := _ZIP5.match(s):
        z = m.group(1)
    elif m := _ZIP_SHORT.match(s):
        z = m.group(1).zfill(5)  # spreadsheets drop leading zeros: 2134 -> 02134
    elif _ZIP8.match(s):
        z = s.zfill(9)[:5]  # ZIP+4 that lost its leading zero
    else:
        return None
    return None if z == "00000" else z


def zip_code(text: Any, country: Any = None) -> str | None:
    """US ZIP5 (``"90001"``) or Canadian postal code (``"K1A0B1"``), else None.

    ``country`` (any spelling, see :func:`country`) restricts the reading: US and its
    territories read ZIPs only, CA postal codes only, others give None; None reads both.
    """
    s = as_text(text)
    if s is None:
        return None
    code = _country_code(country)
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s)  # full-width digits from Asian keyboards
    s = s.strip().upper()
    if m := _FLOAT_TEXT.match(s):
        s = m.group(1)
    if code is None or code == "CA":
        ca = _canadian(s)
        if ca is not None or code == "CA":
            return ca
    if code is None or code in _US_ZIP_COUNTRIES:
        return _us_zip(s)
    return None


def _with_country(values: pd.Series, func: Any, country: Any) -> pd.Series:
    """Map ``func(value, country=...)`` where ``country`` is a scalar or an aligned Series."""
    if not isinstance(country, pd.Series):
        return map_distinct(values, func, country=_country_code(country))
    if not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=object)
    codes = country_series(country.set_axis(values.index)).to_numpy()
    result = np.empty(len(values), dtype=object)
    result[:] = None
    keys = pd.Series(codes, dtype=object).fillna("").to_numpy()
    for code in pd.unique(keys):
        mask = keys == code
        part = map_distinct(values[mask], func, country=code or None)
        result[mask] = part.to_numpy()
    return pd.Series(result, index=values.index, name=values.name, dtype=object)


# The common spellings of a US ZIP: 5 digits, ZIP+4 with or without the dash.
_ZIP_FAST = r"^\s*(?P<zip>[0-9]{5})(?:-?[0-9]{4})?\s*$"


def _zip_batch(texts: np.ndarray, country: str | None) -> np.ndarray:
    """:func:`zip_code` over distinct texts: plain US ZIPs by a vectorized regex, the rest one by one."""
    arr = arrow_strings(texts)
    matched = pc.match_substring_regex(arr, _ZIP_FAST).fill_null(False).to_numpy(zero_copy_only=False)
    first5 = pc.extract_regex(arr, _ZIP_FAST).field(0).to_numpy(zero_copy_only=False)
    out = np.where(matched, first5.astype(object), None)
    # 00000 is junk, and unmatched texts (Canadian codes, floats, noise) need the full rules.
    slow = pd.isna(out) | (out == "00000")
    out[slow] = apply_scalar(texts_at(texts, np.flatnonzero(slow)), zip_code, country=country)
    return out


def zip_code_series(values: pd.Series, country: Any = None) -> pd.Series:
    """Vectorized :func:`zip_code`; ``country`` may be one value or a Series aligned with ``values``."""
    if not isinstance(country, pd.Series) and _country_code(country) in (None, "US"):
        code = _country_code(country)
        return map_distinct_batch(values, lambda texts: _zip_batch(texts, code))
    return _with_country(values, zip_code, country)


# --------------------------------------------------------------------------------------
# States, countries, cities
# --------------------------------------------------------------------------------------


def _lookup(table: dict[str, Any], s: str) -> Any:
    tokens = _tokens(s, ampersand=True)
    if not tokens or (len(tokens) > 1 and _is_junk(tokens)):  # "N/A" is not Namibia
        return None
    found = table.get(" ".join(tokens))
    if found is None and len(tokens) > 1:
        found = table.get("".join(tokens))  # "N Y", "D C", "U S A"
    return found


def state(text: Any, country: Any = None) -> str | None:
    """Two-letter code of a US state/territory or Canadian province (``"Québec"`` -> ``"QC"``)."""
    s = as_text(text)
    if s is None:
        return None
    code = _country_code(country)
    if code is not None and code != "CA" and code not in _US_ZIP_COUNTRIES:
        return None
    found = _lookup(_states(), s)
    return None if found is None else found[0]


def state_series(values: pd.Series, country: Any = None) -> pd.Series:
    """Vectorized :func:`state`; ``country`` may be one value or an aligned Series."""
    return _with_country(values, state, country)


def country(text: Any) -> str | None:
    """ISO 3166-1 alpha-2 code: ``"USA"``, ``"U.S."``, ``"United States"`` -> ``"US"``; ``"CAN"`` -> ``"CA"``."""
    s = as_text(text)
    if s is None:
        return None
    return _lookup(_countries(), s)


def country_series(values: pd.Series) -> pd.Series:
    """Vectorized :func:`country`."""
    return map_distinct(values, country)


_CITY_WORDS = {
    "st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "mtn": "mountain",
    "pt": "point", "hts": "heights", "spgs": "springs", "spg": "spring", "bch": "beach",
    "gdns": "gardens", "twp": "township", "vlg": "village", "jct": "junction",
}  # fmt: skip
_CITY_LEADING = {"n": "north", "s": "south", "e": "east", "w": "west", "no": "north", "so": "south"}


def city(text: Any) -> str | None:
    """Normalized city: ``"St. Louis"`` -> ``"saint louis"``, ``"Ft Worth"`` -> ``"fort worth"``."""
    s = as_text(text)
    if s is None:
        return None
    tokens = _tokens(s, ampersand=True)
    if _is_junk(tokens):
        return None
    tokens = [_CITY_WORDS.get(t, t) for t in tokens]
    if len(tokens) > 1 and tokens[0] in _CITY_LEADING:
        tokens[0] = _CITY_LEADING[tokens[0]]
    if _is_junk(tokens) or all(t.isdigit() for t in tokens):
        return None
    return " ".join(tokens)


def city_series(values: pd.Series) -> pd.Series:
    """Vectorized :func:`city`."""
    return map_distinct(values, city)


# --------------------------------------------------------------------------------------
# Address key
# --------------------------------------------------------------------------------------


def _key_part(street_part: str | None) -> str | None:
    """``"<house> <first street word>"`` from a normalized street part."""
    if not street_part:
        return None
    tokens = street_part.split()
    if tokens[:2] == ["po", "box"] and len(tokens) >= 3:
        return f"{tokens[2]} pobox"
    if len(tokens) < 2 or not tokens[0][:1].isdigit():
        return None
    words = [t for t in tokens[1:] if t not in _COMPASS] or tokens[1:]
    standards = _suffix_standards()
    # Skip the street type when a real name word follows it ("123 Ave B" keeps ave).
    named = [t for t in words if t not in standards]
    return f"{tokens[0]} {(named or words)[0]}"


def _street_key_part(line1: Any) -> str | None:
    return _key_part(split_unit(line1)[0])


def address_key(line1: Any, zip: Any) -> str | None:  # noqa: A002 - the field's name
    """Blocking key ``"<house number> <first street word> <zip5>"``, or None; a PO box
    keys as ``"<box id> pobox <zip5>"`` (the id as written: ``"PO Box A"`` -> ``"a pobox ..."``).

    ``address_key("123 N. Main Street Apt 5", "90001-1234")`` -> ``"123 main 90001"``.
    """
    part = _street_key_part(line1)
    z = zip_code(zip)
    if part is None or z is None:
        return None
    return f"{part} {z}"


def address_key_series(line1: pd.Series, zip: pd.Series) -> pd.Series:  # noqa: A002
    """Vectorized :func:`address_key` over two aligned Series."""
    if not isinstance(line1, pd.Series):
        line1 = pd.Series(line1, dtype=object)
    parts = map_distinct(line1, _street_key_part).to_numpy()
    zips = zip_code_series(pd.Series(np.asarray(zip, dtype=object), index=line1.index)).to_numpy()
    result = np.empty(len(line1), dtype=object)
    result[:] = None
    ok = ~(pd.isna(parts) | pd.isna(zips))
    if ok.any():
        result[ok] = parts[ok] + " " + zips[ok]
    return pd.Series(result, index=line1.index, name=line1.name, dtype=object)

"""The vocabulary the generator draws from: names, places, streets, vehicles, nicknames.

The tables live as small CSV files under ``matching/synth/data`` (written by hand, see the
README there) and are loaded once per process. Everything is returned as numpy arrays in
file order, so sampling by index is deterministic and independent of dict or set order.
"""

from __future__ import annotations

import csv
import functools
import unicodedata
from dataclasses import dataclass
from importlib.resources import files

import nicknames
import numpy as np

# Characters allowed in a VIN (no I, O, Q).
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

US_STATES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
}
CA_PROVINCES: dict[str, str] = {
    "AB": "Alberta",
    "BC": "British Columbia",
    "MB": "Manitoba",
    "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador",
    "NS": "Nova Scotia",
    "ON": "Ontario",
    "PE": "Prince Edward Island",
    "QC": "Quebec",
    "SK": "Saskatchewan",
}

# Street suffixes: (abbreviation, full word); weights are rough US frequencies.
STREET_SUFFIXES: tuple[tuple[str, str, float], ...] = (
    ("St", "Street", 30),
    ("Ave", "Avenue", 22),
    ("Rd", "Road", 14),
    ("Dr", "Drive", 14),
    ("Ln", "Lane", 7),
    ("Blvd", "Boulevard", 4),
    ("Ct", "Court", 5),
    ("Way", "Way", 4),
    ("Pl", "Place", 3),
    ("Cir", "Circle", 3),
    ("Ter", "Terrace", 2),
    ("Pkwy", "Parkway", 1),
    ("Hwy", "Highway", 1),
    ("Trl", "Trail", 1),
)
DIRECTIONS: tuple[tuple[str, str], ...] = (
    ("N", "North"),
    ("S", "South"),
    ("E", "East"),
    ("W", "West"),
)

# Similar first names given to twins (the hard case: one letter or one sound apart).
TWIN_NAMES: tuple[tuple[str, str], ...] = (
    ("Ava", "Eva"),
    ("Mason", "Jason"),
    ("Aiden", "Jayden"),
    ("Jaden", "Hayden"),
    ("Brandon", "Brendan"),
    ("Kayla", "Kaylee"),
    ("Madison", "Addison"),
    ("Ethan", "Evan"),
    ("Emily", "Emma"),
    ("Lily", "Lila"),
    ("Daniel", "Danielle"),
    ("Gabriel", "Gabriela"),
    ("Caleb", "Jacob"),
    ("Cody", "Cory"),
    ("Allison", "Alyssa"),
    ("Haley", "Hailey"),
    ("Mia", "Maya"),
    ("Nathan", "Ethan"),
    ("Tyler", "Taylor"),
    ("Logan", "Landon"),
    ("Julian", "Julia"),
    ("Alex", "Alexa"),
    ("Isaac", "Isaiah"),
)

# Very common full names (first, last): forced onto a small share of customers so that
# "same name, nothing else in common" occurs even in small exports.
COMMON_FULL_NAMES: tuple[tuple[str, str], ...] = (
    ("John", "Smith"),
    ("Maria", "Garcia"),
    ("Michael", "Johnson"),
    ("James", "Williams"),
    ("Robert", "Brown"),
    ("David", "Jones"),
    ("Jose", "Hernandez"),
    ("Mary", "Smith"),
    ("Maria", "Rodriguez"),
    ("Michael", "Brown"),
    ("David", "Lee"),
    ("Jennifer", "Miller"),
)

# E-mail providers by rough market share; Canadian ones are used for Canadian customers.
US_EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 40),
    ("yahoo.com", 14),
    ("hotmail.com", 9),
    ("outlook.com", 5),
    ("icloud.com", 7),
    ("aol.com", 5),
    ("comcast.net", 4),
    ("att.net", 2),
    ("sbcglobal.net", 2),
    ("verizon.net", 2),
    ("msn.com", 1.5),
    ("live.com", 1.5),
    ("me.com", 1),
    ("cox.net", 1),
    ("charter.net", 1),
    ("bellsouth.net", 1),
    ("earthlink.net", 0.5),
    ("protonmail.com", 0.5),
    ("ymail.com", 0.5),
    ("rocketmail.com", 0.3),
)
CA_EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 40),
    ("hotmail.com", 12),
    ("hotmail.ca", 6),
    ("yahoo.ca", 6),
    ("yahoo.com", 4),
    ("outlook.com", 5),
    ("icloud.com", 6),
    ("rogers.com", 5),
    ("shaw.ca", 4),
    ("sympatico.ca", 3),
    ("videotron.ca", 3),
    ("telus.net", 3),
    ("live.ca", 2),
    ("bell.net", 2),
)

COMPANY_WORDS: tuple[str, ...] = (
    "Summit",
    "Pacific",
    "Eagle",
    "Pioneer",
    "Liberty",
    "Premier",
    "Golden State",
    "Blue Ridge",
    "Lone Star",
    "Sunbelt",
    "Coastal",
    "Metro",
    "Valley",
    "Northern",
    "Southern",
    "Atlas",
    "Keystone",
    "Evergreen",
    "Frontier",
    "Heritage",
    "Precision",
    "Reliable",
    "Allied",
    "United",
    "American",
    "National",
    "Superior",
    "Quality",
    "Express",
    "Rapid",
    "Pro",
    "Elite",
    "Apex",
    "Cornerstone",
    "Patriot",
    "Great Lakes",
    "Bayside",
    "Canyon",
    "Redwood",
    "Granite",
)
COMPANY_TRADES: tuple[str, ...] = (
    "Plumbing",
    "Electric",
    "Landscaping",
    "Construction",
    "Roofing",
    "HVAC",
    "Pest Control",
    "Delivery",
    "Courier",
    "Rentals",
    "Property Management",
    "Cleaning Services",
    "Auto Glass",
    "Towing",
    "Medical Transport",
    "Catering",
    "Florist",
    "Solar",
    "Security",
    "Logistics",
    "Painting",
    "Flooring",
    "Pool Service",
    "Moving",
    "Home Health",
    "Appliance Repair",
)
COMPANY_SUFFIXES: tuple[str, ...] = ("Inc", "LLC", "Corp", "Co", "Inc", "LLC", "Ltd")

# Dealership names: the export belongs to one dealer group, whose own phone number and
# e-mail domain end up typed into customer records as placeholders.
DEALER_NAMES: tuple[str, ...] = (
    "Sunset Honda",
    "Valley Toyota",
    "Metro Ford",
    "Lakeside Chevrolet",
    "Heritage Nissan",
    "Summit Hyundai",
    "Bayview Kia",
    "Capitol Subaru",
    "Northside Jeep",
    "Freeway Mazda",
)


@dataclass(frozen=True)
class NameTable:
    """A name list: canonical (title-case) spellings, accented forms, sampling weights."""

    name: np.ndarray  # object array of str
    accented: np.ndarray  # object array of str (== name when the name has no accented form)
    weight: np.ndarray  # float64
    origin: np.ndarray  # object array: gen, hisp, fr, asia
    sex: np.ndarray  # object array: M, F ("" for surnames)


@dataclass(frozen=True)
class CityTable:
    """Cities of both countries in one table (US rows first, then Canadian rows)."""

    city: np.ndarray  # object
    region: np.ndarray  # object: state or province code
    country: np.ndarray  # object: US or CA
    postal_prefixes: tuple[tuple[str, ...], ...]  # zip3 (US) or FSA letter+digit (CA)
    area_codes: tuple[tuple[int, ...], ...]
    population: np.ndarray  # float64, thousands


@dataclass(frozen=True)
class VehicleTable:
    """Vehicle models: make, model, WMI, VDS prefix, first model year, weight, fleet use."""

    make: np.ndarray
    model: np.ndarray
    wmi: np.ndarray
    vds: np.ndarray
    first_year: np.ndarray  # int64
    weight: np.ndarray  # float64
    fleet: np.ndarray  # bool


@dataclass(frozen=True)
class Vocabulary:
    """All tables the generator samples from."""

    first_names: NameTable
    surnames: NameTable
    cities: CityTable
    streets: np.ndarray  # object
    street_weight: np.ndarray  # float64
    street_country: np.ndarray  # object: US, CA or "" (both)
    vehicles: VehicleTable
    nicknames: dict[str, tuple[str, ...]]  # lower-case formal name -> title-case nicknames


def _read(name: str) -> list[dict[str, str]]:
    text = files("matching.synth").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def strip_accents(text: str) -> str:
    """``José`` -> ``Jose``: drop combining marks after canonical decomposition."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _obj(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@functools.cache
def load_vocabulary() -> Vocabulary:
    """Load (once) and return the vocabulary tables."""
    first = _read("first_names.csv")
    first_table = NameTable(
        name=_obj([r["name"] for r in first]),
        accented=_obj([r["accented"] or r["name"] for r in first]),
        weight=np.array([float(r["weight"]) for r in first]),
        origin=_obj([r["origin"] for r in first]),
        sex=_obj([r["sex"] for r in first]),
    )
    last = _read("surnames.csv")
    last_table = NameTable(
        name=_obj([r["name"] for r in last]),
        accented=_obj([r["accented"] or r["name"] for r in last]),
        weight=np.array([float(r["count"]) for r in last]),
        origin=_obj([r["origin"] for r in last]),
        sex=_obj([""] * len(last)),
    )
    us = _read("us_cities.csv")
    ca = _read("ca_cities.csv")
    cities = CityTable(
        city=_obj([r["city"] for r in us] + [r["city"] for r in ca]),
        region=_obj([r["state"] for r in us] + [r["province"] for r in ca]),
        country=_obj(["US"] * len(us) + ["CA"] * len(ca)),
        postal_prefixes=tuple([(r["zip3"],) for r in us] + [tuple(r["fsa"].split()) for r in ca]),
        area_codes=tuple(tuple(int(a) for a in r["area_codes"].split()) for r in us + ca),
        population=np.array([float(r["population"]) for r in us + ca]),
    )
    streets = _read("streets.csv")
    vehicles = _read("vehicles.csv")
    vehicle_table = VehicleTable(
        make=_obj([r["make"] for r in vehicles]),
        model=_obj([r["model"] for r in vehicles]),
        wmi=_obj([r["wmi"] for r in vehicles]),
        vds=_obj([r["vds"] for r in vehicles]),
        first_year=np.array([int(r["first_year"]) for r in vehicles]),
        weight=np.array([float(r["weight"]) for r in vehicles]),
        fleet=np.array([r["fleet"] == "1" for r in vehicles]),
    )
    for code in list(vehicle_table.wmi) + list(vehicle_table.vds):
        if len(code) != 3 or any(c not in VIN_CHARS for c in code):
            raise ValueError(f"vehicles.csv: {code!r} is not three VIN characters")
    return Vocabulary(
        first_names=first_table,
        surnames=last_table,
        cities=cities,
        streets=_obj([r["name"] for r in streets]),
        street_weight=np.array([float(r["weight"]) for r in streets]),
        street_country=_obj([r["country"] for r in streets]),
        vehicles=vehicle_table,
        nicknames=_nickname_table(),
    )


def _nickname_table() -> dict[str, tuple[str, ...]]:
    """Formal name -> nicknames from the ``nicknames`` package (Robert -> Bob, Rob, ...)."""
    table: dict[str, list[str]] = {}
    with nicknames.with_names_csv_path() as path:
        rows = path.read_text(encoding="utf-8").splitlines()[1:]
    for row in rows:
        formal, relation, nick = row.split(",")
        # Nicknames of one or two letters ("al", "ed" are kept at 2) read like initials.
        if relation == "has_nickname" and len(nick) >= 2:
            table.setdefault(formal, []).append(nick.title())
    return {k: tuple(sorted(v)) for k, v in sorted(table.items())}

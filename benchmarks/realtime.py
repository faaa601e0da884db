"""Real-time path benchmark: bulk-load a CustomerStore, then time single matches.

    python benchmarks/realtime.py                      # 1,000,000 customers, 20,000 matches
    python benchmarks/realtime.py --customers 50000 --matches 2000

Customers are synthetic myKaarma request dicts made here, deterministic for a seed:
names from a small vocabulary (so they repeat, as in a real dealer file), 1-2 phones,
0-2 emails, 0-2 VINs, a customerKey for most. Half of the timed requests are stored
customers sent again (a phone, the name and the VINs: they match); the other half carry
new phones, emails and VINs (no candidate: no match). Prints one table.

Goals: load <= 60 s and p99 <= 1 ms per match at 1,000,000 customers.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.store import CustomerStore  # noqa: E402

FIRST = (
    "James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia "
    "Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Maria Jose Juan Carlos Luis "
    "Ana Sofia Emma Olivia Ava Eva Mason Jason Liam Noah Ethan Lucas Mia Chloe Grace Wei "
    "Priya Rahul Fatima Omar Hannah Isaac Leah Nathan Zoe"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Chen Patel Kim Singh Cohen Murphy Reyes Cruz Ortiz Gupta"
).split()
DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com")
AREAS = (
    "201 202 205 206 210 212 213 214 215 216 217 224 225 228 229 231 234 239 240 248 251 "
    "252 253 254 256 260 262 267 269 270 276 281 301 302 303 304 305 307 308 309 310 312 "
    "313 314 315 316 317 318 319 320 321 323 325 330 334 336 337 339 347 351 352 360 361"
).split()
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
MAKES = (
    ("Honda", "Accord"),
    ("Toyota", "Camry"),
    ("Ford", "F-150"),
    ("Chevrolet", "Silverado"),
    ("Nissan", "Altima"),
)


def _phone(bits: int) -> str:
    # Area code from the list, exchange 200-999, line 0000-9999 (a valid NANP number).
    return f"+1{AREAS[bits % len(AREAS)]}{200 + (bits >> 8) % 800}{(bits >> 20) % 10_000:04d}"


def _vin(bits: int) -> str:
    # Maker, descriptor, check digit, model year, plant, then a 6-digit serial number.
    head = "".join(VIN_CHARS[(bits >> (5 * k)) % 33] for k in range(11))
    return f"{head}{(bits >> 60) % 10**6:06d}"


def make_request(rng: random.Random, i: int) -> dict[str, Any]:
    """One synthetic create request (customer ``i``); one draw of random bits for speed."""
    bits = rng.getrandbits(256)
    first, last = FIRST[bits % len(FIRST)], LAST[(bits >> 8) % len(LAST)]
    n_phones = (1, 1, 1, 2)[(bits >> 16) & 3]
    n_emails = (0, 1, 1, 2)[(bits >> 18) & 3]
    n_vins = (0, 1, 1, 2)[(bits >> 20) & 3]
    phones = [
        {"phoneNumber": _phone(bits >> (24 + 40 * k)), "label": "cell", "okToCall": True, "okToText": True,
         "isPreferred": k == 0}
        for k in range(n_phones)
    ]  # fmt: skip
    emails = [
        {"emailAddress": f"{first.lower()}.{last.lower()}{i}{'' if k == 0 else k}@{DOMAINS[(bits >> (104 + 3 * k)) % len(DOMAINS)]}",
         "label": "home", "okToEmail": True, "isPreferred": k == 0}
        for k in range(n_emails)
    ]  # fmt: skip
    vehicles = []
    for k in range(n_vins):
        make, model = MAKES[(bits >> (112 + 4 * k)) % len(MAKES)]
        vehicles.append({"vin": _vin(rng.getrandbits(80)), "vehicleYear": str(2005 + (bits >> (120 + 5 * k)) % 20),
                         "vehicleMake": make, "vehicleModel": model, "isValid": True})  # fmt: skip
    customer: dict[str, Any] = {"firstName": first, "lastName": last, "isBusiness": False,
                                "phoneNumbers": phones, "emails": emails}  # fmt: skip
    if (bits >> 130) % 10 < 7:
        customer["customerKey"] = f"DMS{i:07d}"
    return {"customer": customer, "vehicles": vehicles}


def customers(n: int, seed: int, batch: int) -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(seed)
    for start in range(0, n, batch):
        yield [make_request(rng, i) for i in range(start, min(n, start + batch))]


def load_average() -> str:
    """The 1/5/15-minute load averages: the machine is shared, so say how busy it was."""
    if not os.path.exists("/proc/loadavg"):
        return "?"
    return ", ".join(open("/proc/loadavg").read().split()[:3])


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--matches", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=50_000, help="customers per create_many call")
    parser.add_argument("--searches", type=int, default=2_000, help="indexed-form searches to time")
    parser.add_argument("--seed", type=int, default=20250407)
    parser.add_argument("--db", help="store file (default: a temporary file, deleted after)")
    args = parser.parse_args(argv)

    tmp = None
    if args.db:
        path = Path(args.db)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="matching-bench-")
        path = Path(tmp.name) / "store.db"
    department = "dept-bench"
    load_at_start = load_average()
    rng = random.Random(args.seed + 1)
    # Which stored customers are sent again: drawn before loading, kept while generating.
    wanted = set(rng.sample(range(args.customers), min(args.customers, args.matches // 2)))
    again: list[dict[str, Any]] = []

    store = CustomerStore(path)
    load_seconds = 0.0
    generate_seconds = 0.0
    generate_cpu = 0.0
    done = 0
    # Load CPU = CPU of every thread of the process over the whole loop, less the main
    # thread's while it makes requests: the store's background checkpoint thread runs
    # while the next batch is generated, and its CPU counts as load.
    cpu_start = time.process_time()
    t_gen = time.perf_counter()
    g0 = time.thread_time()
    for batch in customers(args.customers, args.seed, args.batch):
        t0 = time.perf_counter()
        generate_seconds += t0 - t_gen
        generate_cpu += time.thread_time() - g0
        store.create_many(batch, department=department)
        t_gen = time.perf_counter()
        g0 = time.thread_time()
        load_seconds += t_gen - t0
        again.extend(r for i, r in enumerate(batch, start=done) if i in wanted)
        done += len(batch)
        del batch
    # The load ends when the database file is up to date (the last background checkpoint),
    # so that it does not overlap the timed matches either.
    t0 = time.perf_counter()
    store.flush()
    load_seconds += time.perf_counter() - t0
    generate_cpu += time.thread_time() - g0
    load_cpu = time.process_time() - cpu_start - generate_cpu
    gc.collect()

    queries: list[tuple[dict[str, Any], bool]] = []
    for r in again:
        c = r["customer"]
        # The same person again: one of the phones (or an email when none), name, VINs.
        phones = [rng.choice(c["phoneNumbers"])] if c["phoneNumbers"] else []
        queries.append(({"customer": {"firstName": c["firstName"], "lastName": c["lastName"],
                                      "phoneNumbers": phones, "emails": c["emails"][:1]},
                         "vehicles": r["vehicles"]}, True))  # fmt: skip
    new_rng = random.Random(args.seed + 2)
    while len(queries) < args.matches:
        queries.append((make_request(new_rng, 10_000_000 + len(queries)), False))
    new_rng.shuffle(queries)

    latencies: list[float] = []
    cpu_latencies: list[float] = []
    matched_expected = unmatched_expected = 0
    for request, should in queries:
        c0 = time.thread_time()
        t0 = time.perf_counter()
        decision = store.match(request, department=department)
        latencies.append(time.perf_counter() - t0)
        cpu_latencies.append(time.thread_time() - c0)
        if should and decision.matched:
            matched_expected += 1
        if not should and not decision.matched:
            unmatched_expected += 1
    latencies.sort()
    cpu_latencies.sort()

    # Searches by the indexed forms of the search guidelines (spec 1(d)), from stored customers.
    search_terms: list[str] = []
    for r in again:
        c = r["customer"]
        search_terms.append(c["phoneNumbers"][0]["phoneNumber"][2:])  # 10-digit phone
        if c.get("customerKey"):
            search_terms.append(c["customerKey"])
        if r["vehicles"]:
            search_terms.append(r["vehicles"][0]["vin"][-8:])  # last 8 of the VIN
        if c["emails"]:
            search_terms.append(c["emails"][0]["emailAddress"])
        if len(search_terms) >= args.searches:
            break
    search_latencies: list[float] = []
    search_misses = 0
    for term in search_terms:
        t0 = time.perf_counter()
        found = store.search(term, department=department, max_results=10)
        search_latencies.append(time.perf_counter() - t0)
        search_misses += found["matchingCount"] == 0
    search_latencies.sort()
    t0 = time.perf_counter()
    scan = store.search("smith", department=department, fields="lname", max_results=100)
    scan_seconds = time.perf_counter() - t0
    count = store.count(department)
    store.close()
    db_bytes = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

    n_should = sum(1 for _, s in queries if s)
    rows = [
        ("customers loaded", f"{count:,}"),
        ("load time (create_many + flush)", f"{load_seconds:.1f} s"),
        ("load rate", f"{args.customers / load_seconds:,.0f} customers/s"),
        (
            "load CPU time (all threads)",
            f"{load_cpu:.1f} s = {load_cpu / args.customers * 1e6:.0f} us/customer",
        ),
        ("generating requests (not in load)", f"{generate_seconds:.1f} s"),
        ("matches timed", f"{len(latencies):,}"),
        ("match p50", f"{percentile(latencies, 0.50) * 1e3:.3f} ms"),
        ("match p99", f"{percentile(latencies, 0.99) * 1e3:.3f} ms"),
        ("match max", f"{latencies[-1] * 1e3:.3f} ms"),
        ("match mean", f"{statistics.fmean(latencies) * 1e3:.3f} ms"),
        (
            "match CPU p50 / p99",
            f"{percentile(cpu_latencies, 0.5) * 1e3:.3f} / {percentile(cpu_latencies, 0.99) * 1e3:.3f} ms",
        ),
        ("expected matches found", f"{matched_expected:,} / {n_should:,}"),
        ("expected non-matches", f"{unmatched_expected:,} / {len(queries) - n_should:,}"),
        (
            "searches timed (key/phone/VIN8/email)",
            f"{len(search_latencies):,} ({search_misses} found nothing)",
        ),
        (
            "search p50",
            f"{percentile(search_latencies, 0.50) * 1e3:.3f} ms" if search_latencies else "-",
        ),
        (
            "search p99",
            f"{percentile(search_latencies, 0.99) * 1e3:.3f} ms" if search_latencies else "-",
        ),
        (
            "substring scan (lname contains 'smith')",
            f"{scan_seconds * 1e3:.0f} ms ({scan['matchingCount']} shown)",
        ),
        ("peak memory (maxrss)", f"{peak_mib:,.0f} MiB"),
        ("DB size (db + wal)", f"{db_bytes / 2**20:,.0f} MiB"),
    ]
    width = max(len(k) for k, _ in rows)
    print(
        f"realtime benchmark  ({os.cpu_count()} cpus, load average {load_at_start} at start,"
        f" {load_average()} at end, seed {args.seed})"
    )
    for k, v in rows:
        print(f"  {k:<{width}}  {v:>22}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

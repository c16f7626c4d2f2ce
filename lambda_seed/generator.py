"""The deterministic data set: `generate(scale, seed)` returns every row of `salesdb`.

Pure: no database, no wall clock, no global random state. The same scale and seed give the same
rows on every machine. Business time runs from DATA_START to DATA_END; activity period k is the
day starting at DATA_END + (k - 1) days (see `period_window`).
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from lambda_seed import vocab

DATA_START = datetime(2024, 1, 1)
DATA_END = datetime(2026, 1, 1)  # exclusive
CLIENTS_FROM = DATA_START + timedelta(hours=1)  # the catalogue and the staff come first
SALE_STATUSES = ("placed", "paid", "shipped", "delivered", "returned")
NEXT_STATUS = {"placed": "paid", "paid": "shipped", "shipped": "delivered"}
SEGMENTS = ("consumer", "business", "vip")
SEGMENT_WEIGHTS = (80, 17, 3)
SEGMENT_BUYING = {"consumer": 1.0, "business": 2.5, "vip": 5.0}
ITEMS_PER_SALE = (1, 2, 3, 4, 5)
ITEMS_WEIGHTS = (30, 25, 20, 15, 10)  # mean 2.5 items per sale
QUANTITIES = (1, 2, 3, 4, 5, 6, 8, 10, 12)
QUANTITY_WEIGHTS = (60, 22, 8, 4, 3, 1, 1, 0.6, 0.4)
US = 1_000_000  # microseconds per second


@dataclass(frozen=True)
class Sizes:
    """Row counts at a scale factor (scale 1: 100 sales people, 1,000 products, ...)."""

    sales_people: int
    products: int
    clients: int
    sales: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        return cls(
            sales_people=max(3, round(100 * scale)),
            products=max(20, round(1_000 * scale)),
            clients=max(20, round(10_000 * scale)),
            sales=max(50, round(100_000 * scale)),
        )


def period_window(period: int) -> tuple[datetime, datetime]:
    """Business time covered by activity period `period` (1-based): one day after the data set."""
    start = DATA_END + timedelta(days=period - 1)
    return start, start + timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# Small builders, shared with activity


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def at_random(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random instant in [start, end), microsecond resolution."""
    span = int((end - start) / timedelta(microseconds=1))
    return start + timedelta(microseconds=rng.randrange(max(1, span)))


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def postal_code(rng: random.Random, pattern: str) -> str:
    return "".join(
        str(rng.randrange(10)) if ch == "9" else chr(65 + rng.randrange(26)) if ch == "A" else ch
        for ch in pattern
    )


def client_email(first: str, last: str, client_id: int, domain: str, period: int = 0) -> str:
    """Unique by construction: the id (and, for a changed address, the period) is part of it."""
    if period:
        return f"{ascii_slug(first)}{ascii_slug(last)}.{client_id}.{period}@{domain}"
    return f"{ascii_slug(first)}.{ascii_slug(last)}.{client_id}@{domain}"


def client_row(rng: random.Random, client_id: int, created: datetime) -> tuple:
    first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
    phone = None if rng.random() < 0.2 else f"+1-555-{rng.randrange(10_000_000):07d}"
    segment = rng.choices(SEGMENTS, SEGMENT_WEIGHTS)[0]
    email = client_email(first, last, client_id, rng.choice(vocab.EMAIL_DOMAINS))
    return (client_id, first, last, email, phone, segment, "active", created, created)


def address_row(
    rng: random.Random, address_id: int, client_id: int, created: datetime, country: str | None = None
) -> tuple:
    """A new address, primary (is_primary=1) from `created` on."""
    cities = [c for c in vocab.CITIES if c[1] == country] if country else vocab.CITIES
    city, ctry, pattern = rng.choice(cities)
    street = f"{rng.randrange(1, 2500)} {rng.choice(vocab.STREETS)} {rng.choice(vocab.STREET_KINDS)}"
    return (address_id, client_id, street, city, postal_code(rng, pattern), ctry, 1, created, created)


def pick_quantity(rng: random.Random) -> int:
    return rng.choices(QUANTITIES, QUANTITY_WEIGHTS)[0]


class ProductPicker:
    """Skewed product popularity: Zipf-like weights over a seeded ranking of the products."""

    def __init__(self, rng: random.Random, product_ids: list[int], exponent: float = 0.9):
        ranking = list(product_ids)
        rng.shuffle(ranking)
        self.ids = ranking
        self.cum = list(accumulate(1.0 / (rank + 1) ** exponent for rank in range(len(ranking))))

    def pick(self, rng: random.Random) -> int:
        return self.ids[bisect_left(self.cum, rng.random() * self.cum[-1])]


def item_rows(
    rng: random.Random,
    sale_id: int,
    first_item_id: int,
    sold_at: datetime,
    picker: ProductPicker,
    price_at,  # (product_id, instant) -> cents, or None when not for sale then
) -> tuple[list[tuple], int]:
    """The items of one sale (1-5 distinct products) and the sale's total in cents."""
    wanted = rng.choices(ITEMS_PER_SALE, ITEMS_WEIGHTS)[0]
    chosen: dict[int, int] = {}
    for _ in range(wanted * 6):  # bounded retries: skip duplicates and products not on sale
        if len(chosen) == wanted:
            break
        product_id = picker.pick(rng)
        if product_id in chosen:
            continue
        cents = price_at(product_id, sold_at)
        if cents is not None:
            chosen[product_id] = cents
    if not chosen:  # a pathological catalogue: fall back to the most popular product
        chosen[picker.ids[0]] = price_at(picker.ids[0], None)
    rows, total = [], 0
    for n, (product_id, cents) in enumerate(chosen.items()):
        quantity = pick_quantity(rng)
        line = quantity * cents
        total += line
        rows.append(
            (first_item_id + n, sale_id, product_id, quantity, money(cents), money(line), sold_at, sold_at)
        )
    return rows, total


# ---------------------------------------------------------------------------------------------
# The initial data set


def _sales_people(rng: random.Random, n: int) -> list[tuple]:
    rows = []
    for pid in range(1, n + 1):
        first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
        created = at_random(rng, DATA_START, DATA_START + timedelta(hours=1))
        rows.append(
            (
                pid,
                first,
                last,
                f"{ascii_slug(first)}.{ascii_slug(last)}.{pid}@sales.example.com",
                rng.choice(vocab.REGIONS),
                date(2015, 1, 1) + timedelta(days=rng.randrange(9 * 365)),
                Decimal(200 + 5 * rng.randrange(201)).scaleb(-4),  # 0.0200 .. 0.1200
                created,
                created,
            )
        )
    return rows


def _products(rng: random.Random, n: int) -> tuple[list[tuple], dict[int, int], dict[int, datetime]]:
    """Rows, price in cents per id, and the discontinuation instant of discontinued products."""
    rows, prices, discontinued = [], {}, {}
    categories = list(vocab.CATEGORIES)
    for pid in range(1, n + 1):
        category = rng.choice(categories)
        typical, nouns = vocab.CATEGORIES[category]
        cents = max(199, int(typical * math.exp(rng.gauss(0, 0.6))) // 100 * 100 - 1)  # x.99 prices
        name = f"{rng.choice(vocab.ADJECTIVES)} {rng.choice(nouns)} {chr(65 + pid % 26)}{pid % 97 + 1}"
        created = at_random(rng, DATA_START, DATA_START + timedelta(hours=1))
        status, updated = "active", created
        if rng.random() < 0.08:
            status, updated = "discontinued", at_random(rng, datetime(2024, 6, 1), DATA_END)
            discontinued[pid] = updated
        elif rng.random() < 0.3:
            updated = at_random(rng, created, DATA_END)  # some other edit along the way
        prices[pid] = cents
        rows.append((pid, f"SKU-{pid:06d}", name, category, money(cents), status, created, updated))
    return rows, prices, discontinued


def _clients_and_addresses(rng: random.Random, n: int) -> tuple[list[tuple], list[tuple]]:
    span = int((DATA_END - CLIENTS_FROM) / timedelta(microseconds=1))
    # sqrt: sign-ups grow over time (density rises linearly); sorted so ids follow sign-up time.
    created_times = sorted(
        CLIENTS_FROM + timedelta(microseconds=int(span * math.sqrt(rng.random()))) for _ in range(n)
    )
    clients, addresses = [], []
    for cid, created in enumerate(created_times, start=1):
        row = list(client_row(rng, cid, created))
        if rng.random() < 0.1:
            row[6] = "inactive"
        if rng.random() < 0.35 or row[6] == "inactive":
            row[8] = at_random(rng, created, DATA_END)  # a later edit or the deactivation
        clients.append(tuple(row))
        moves = sorted(
            at_random(rng, created, DATA_END) for _ in range(rng.choices((0, 1, 2), (60, 30, 10))[0])
        )
        starts = [created, *moves]
        for k, start in enumerate(starts):
            addr = list(address_row(rng, len(addresses) + 1, cid, start))
            if k + 1 < len(starts):  # moved out later: no longer primary since then
                addr[6], addr[8] = 0, starts[k + 1]
            addresses.append(tuple(addr))
    return clients, addresses


def _status_history(rng: random.Random, sold_at: datetime, end: datetime) -> tuple[str, datetime]:
    """The status a sale has reached by `end`, and when it got there."""
    steps = [
        ("paid", sold_at + timedelta(seconds=rng.randrange(300, 20 * 3600))),
        ("shipped", sold_at + timedelta(seconds=rng.randrange(86_400, 216_000))),
        ("delivered", sold_at + timedelta(seconds=rng.randrange(3 * 86_400, 6 * 86_400))),
    ]
    if rng.random() < 0.04:
        steps.append(("returned", sold_at + timedelta(seconds=rng.randrange(8 * 86_400, 13 * 86_400))))
    status, when = "placed", sold_at
    for step, at in steps:
        if at >= end:
            break
        status, when = step, at + timedelta(microseconds=rng.randrange(US))
    return status, when


def generate(scale: float, seed: int) -> dict[str, list[tuple]]:
    """Every row of the initial data set, per table, in primary-key order."""
    sizes = Sizes.at(scale)

    def rng_for(part: str) -> random.Random:
        # One stream per part, so that a change to one part leaves the others as they were.
        return random.Random(f"lambda_seed:{seed}:{part}")

    sales_people = _sales_people(rng_for("sales_people"), sizes.sales_people)
    products, prices, discontinued = _products(rng_for("products"), sizes.products)
    clients, addresses = _clients_and_addresses(rng_for("clients"), sizes.clients)

    rng = rng_for("sales")
    client_ids = [c[0] for c in clients]
    client_created = [c[7] for c in clients]
    # Purchase propensity: heavy-tailed per client, by segment, and by how long they have been around.
    weights = [
        math.exp(rng.gauss(0, 1)) * SEGMENT_BUYING[c[5]] * ((DATA_END - c[7]) / timedelta(days=1))
        for c in clients
    ]
    person_weights = [math.exp(rng.gauss(0, 0.5)) for _ in sales_people]
    buyers = rng.choices(range(len(clients)), weights=weights, k=sizes.sales)
    sellers = rng.choices([p[0] for p in sales_people], weights=person_weights, k=sizes.sales)
    orders = sorted(
        (at_random(rng, client_created[i] + timedelta(microseconds=1), DATA_END), client_ids[i], seller)
        for i, seller in zip(buyers, sellers, strict=True)
    )  # ids follow time, as an auto-increment key would

    picker = ProductPicker(rng, [p[0] for p in products])

    def price_at(product_id: int, at: datetime | None) -> int | None:
        gone = discontinued.get(product_id)
        return None if (gone is not None and at is not None and at >= gone) else prices[product_id]

    sales, items = [], []
    for sale_id, (sold_at, client_id, seller) in enumerate(orders, start=1):
        rows, total = item_rows(rng, sale_id, len(items) + 1, sold_at, picker, price_at)
        items.extend(rows)
        status, updated = _status_history(rng, sold_at, DATA_END)
        sales.append((sale_id, client_id, seller, sold_at, status, money(total), sold_at, updated))

    return {
        "sales_people": sales_people,
        "clients": clients,
        "client_addresses": addresses,
        "products": products,
        "sales": sales,
        "sales_items": items,
    }

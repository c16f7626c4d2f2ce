"""One business period of changes: `plan_period` turns a snapshot of the database into statements.

Planning is pure (snapshot + scale + seed + period -> ordered statements), so the same database
state, seed and period always give the same changes. The statements run in business-time order in
one transaction; a row that changes twice in a period changes twice in that transaction, in order,
with a later `updated_at` each time (what CDC ordering has to get right).

Per period, at scale 1, about 1% of the data changes: ~40 new clients with addresses, ~600 new
sales with items (some paid the same day, one cancelled the same day), ~50 address moves, ~30
e-mail changes, ~15 client status changes, ~20 price changes (a quarter of them twice), status
progress of about half the open sales (sometimes several steps at once), ~20 returns, ~60
cancelled sales deleted with their items, ~30 quantity corrections or removed items, ~2
commission changes, and now and then a new sales person.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from lambda_seed import generator as g
from lambda_seed import vocab
from lambda_seed.schema import BY_NAME
from lambda_seed.sql import literal

MICRO = timedelta(microseconds=1)


@dataclass(frozen=True)
class Snapshot:
    """What planning needs to know about the database at the start of a period."""

    max_ids: dict[str, int]
    clients: list[tuple]  # (id, first_name, last_name, status)
    primary_addresses: dict[int, tuple[int, str]]  # client_id -> (address id, country)
    products: list[tuple]  # (id, unit_price cents, status)
    open_sales: list[tuple]  # (id, status) for placed, paid, shipped
    delivered_sales: list[int]  # the most recent delivered sales, newest first
    placed_items: dict[int, list[tuple]]  # sale_id -> [(item id, quantity, unit_price cents)]
    sales_people: list[tuple]  # (id, commission_rate)


@dataclass(frozen=True)
class Change:
    at: datetime
    table: str
    op: str  # insert | update | delete
    sql: str


@dataclass
class _Plan:
    changes: list[Change] = field(default_factory=list)

    def add(self, at: datetime, table: str, op: str, sql: str) -> None:
        self.changes.append(Change(at, table, op, sql))

    def update(self, at: datetime, table: str, row_id: int, **values) -> None:
        sets = ", ".join(f"`{k}` = {literal(v)}" for k, v in {**values, "updated_at": at}.items())
        self.add(at, table, "update", f"UPDATE `{table}` SET {sets} WHERE `id` = {row_id}")

    def insert(self, at: datetime, table: str, rows: list[tuple]) -> None:
        columns = ", ".join(f"`{c}`" for c in BY_NAME[table].column_names)
        values = ",".join("(" + ",".join(literal(v) for v in row) + ")" for row in rows)
        self.add(at, table, "insert", f"INSERT INTO `{table}` ({columns}) VALUES {values}")

    def delete(self, at: datetime, table: str, where: str) -> None:
        self.add(at, table, "delete", f"DELETE FROM `{table}` WHERE {where}")


def _cents(value: Decimal) -> int:
    return int(value * 100)


def read_snapshot(cur) -> Snapshot:
    """Read the state planning needs, always in primary-key order (deterministic)."""
    max_ids = {}
    for table in BY_NAME:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM `{table}`")
        max_ids[table] = int(cur.fetchone()[0])
    cur.execute("SELECT id, first_name, last_name, status FROM clients ORDER BY id")
    clients = list(cur.fetchall())
    cur.execute("SELECT client_id, id, country FROM client_addresses WHERE is_primary = 1 ORDER BY id")
    primary = {client_id: (aid, country) for client_id, aid, country in cur.fetchall()}
    cur.execute("SELECT id, unit_price, status FROM products ORDER BY id")
    products = [(pid, _cents(price), status) for pid, price, status in cur.fetchall()]
    cur.execute("SELECT id, status FROM sales WHERE status IN ('placed', 'paid', 'shipped') ORDER BY id")
    open_sales = list(cur.fetchall())
    cur.execute("SELECT id FROM sales WHERE status = 'delivered' ORDER BY id DESC LIMIT 2000")
    delivered = [r[0] for r in cur.fetchall()]
    cur.execute(
        "SELECT i.sale_id, i.id, i.quantity, i.unit_price FROM sales_items i "
        "JOIN sales s ON s.id = i.sale_id WHERE s.status = 'placed' ORDER BY i.id"
    )
    placed_items: dict[int, list[tuple]] = {}
    for sale_id, item_id, quantity, price in cur.fetchall():
        placed_items.setdefault(sale_id, []).append((item_id, quantity, _cents(price)))
    cur.execute("SELECT id, commission_rate FROM sales_people ORDER BY id")
    people = list(cur.fetchall())
    return Snapshot(max_ids, clients, primary, products, open_sales, delivered, placed_items, people)


def _times(rng: random.Random, n: int, start: datetime, end: datetime) -> list[datetime]:
    """n strictly increasing instants in [start, end)."""
    out: list[datetime] = []
    for t in sorted(g.at_random(rng, start, end) for _ in range(n)):
        out.append(max(t, out[-1] + MICRO) if out else t)
    return out


def _new_price(rng: random.Random, cents: int) -> int:
    while True:
        new = max(99, int(cents * rng.uniform(0.85, 1.2)) // 100 * 100 + rng.choice((99, 49, 0)))
        if new != cents:
            return new


@dataclass
class _Period:
    """One period's planning state: the snapshot, its random stream, its window and its plan."""

    snap: Snapshot
    scale: float
    number: int
    rng: random.Random
    start: datetime
    end: datetime
    plan: _Plan = field(default_factory=_Plan)

    def count(self, per_scale_1: float, minimum: int = 1) -> int:
        return max(minimum, round(per_scale_1 * self.scale))

    def at_random(self) -> datetime:
        return g.at_random(self.rng, self.start, self.end)


@dataclass
class _Prices:
    """Product prices over the period: the snapshot's, then each change from its instant on."""

    base: dict[int, int]
    changes: dict[int, list[tuple[datetime, int]]]
    discontinued: dict[int, datetime]

    def at(self, pid: int, at: datetime | None) -> int | None:
        if at is not None and pid in self.discontinued and at >= self.discontinued[pid]:
            return None
        cents = self.base[pid]
        for when, new in self.changes.get(pid, ()):
            if at is None or when <= at:
                cents = new
        return cents


def plan_period(snap: Snapshot, scale: float, seed: int, period: int) -> list[Change]:
    """The changes of one period, in the order they run."""
    start, end = g.period_window(period)
    p = _Period(snap, scale, period, random.Random(f"lambda_seed:{seed}:activity:{period}"), start, end)
    # The order of the steps is the order of the random draws: changing it changes every plan.
    prices = _plan_products(p)
    _plan_sales_people(p)
    new_clients = _plan_clients(p)
    _plan_new_sales(p, prices, new_clients)
    _plan_existing_sales(p)
    # Business-time order; ties keep planning order (a sale before its items, items deleted first).
    changes = p.plan.changes
    order = sorted(range(len(changes)), key=lambda i: (changes[i].at, i))
    return [changes[i] for i in order]


def _plan_products(p: _Period) -> _Prices:
    """Price changes (some twice) and discontinuations."""
    rng = p.rng
    active = [row for row in p.snap.products if row[2] == "active"]
    price_changes: dict[int, list[tuple[datetime, int]]] = {}
    for pid, old_cents, _ in rng.sample(active, min(len(active), p.count(20))):
        cents = old_cents
        for at in _times(rng, 2 if rng.random() < 0.25 else 1, p.start, p.end):
            cents = _new_price(rng, cents)
            price_changes.setdefault(pid, []).append((at, cents))
            p.plan.update(at, "products", pid, unit_price=g.money(cents))
    discontinued: dict[int, datetime] = {}
    untouched = [row for row in active if row[0] not in price_changes]
    for pid, _, _ in rng.sample(untouched, min(len(untouched) - 1, p.count(2, 0))):
        discontinued[pid] = p.at_random()
        p.plan.update(discontinued[pid], "products", pid, status="discontinued")
    return _Prices({pid: cents for pid, cents, _ in p.snap.products}, price_changes, discontinued)


def _plan_sales_people(p: _Period) -> None:
    """Commission changes, now and then a hire."""
    rng, people = p.rng, p.snap.sales_people
    for sp_id, rate in rng.sample(people, min(len(people), p.count(2))):
        step = Decimal(rng.choice((-50, 50, 100))).scaleb(-4)
        new_rate = min(Decimal("0.2500"), max(Decimal("0.0100"), rate + step))
        p.plan.update(p.at_random(), "sales_people", sp_id, commission_rate=new_rate)
    if rng.random() < 0.1:
        hired = p.at_random()
        first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
        sp_id = p.snap.max_ids["sales_people"] + 1
        email = f"{g.ascii_slug(first)}.{g.ascii_slug(last)}.{sp_id}@sales.example.com"
        rate = Decimal(200 + 5 * rng.randrange(201)).scaleb(-4)
        row = (sp_id, first, last, email, rng.choice(vocab.REGIONS), hired.date(), rate, hired, hired)
        p.plan.insert(hired, "sales_people", [row])


def _plan_clients(p: _Period) -> list[tuple[int, datetime]]:
    """Sign-ups with an address, e-mail changes, status changes, address moves; the new clients."""
    rng, snap, plan = p.rng, p.snap, p.plan
    new_clients = []  # (id, signed up at)
    for n, at in enumerate(_times(rng, p.count(40), p.start, p.end - timedelta(hours=2)), start=1):
        client_id = snap.max_ids["clients"] + n
        plan.insert(at, "clients", [g.client_row(rng, client_id, at)])
        new_clients.append((client_id, at))
    existing = snap.clients
    for cid, first, last, _ in rng.sample(existing, min(len(existing), p.count(30))):
        email = g.client_email(first, last, cid, rng.choice(vocab.EMAIL_DOMAINS), p.number)
        plan.update(p.at_random(), "clients", cid, email=email)
    for cid, _, _, status in rng.sample(existing, min(len(existing), p.count(15))):
        plan.update(p.at_random(), "clients", cid, status="inactive" if status == "active" else "active")
    movers = [c[0] for c in existing if c[0] in snap.primary_addresses]
    address_events = [(at, cid, None) for cid, at in new_clients]  # (at, client, old address)
    for cid in rng.sample(movers, min(len(movers), p.count(50))):
        address_events.append((p.at_random(), cid, snap.primary_addresses[cid]))
    # Ids follow creation time, as an auto-increment key would.
    for n, (at, cid, old) in enumerate(sorted(address_events, key=lambda e: (e[0], e[1])), start=1):
        country = None
        if old is not None:
            plan.update(at, "client_addresses", old[0], is_primary=0)
            country = old[1] if rng.random() < 0.8 else None  # most moves stay in the country
        row = g.address_row(rng, snap.max_ids["client_addresses"] + n, cid, at, country)
        plan.insert(at, "client_addresses", [row])
    return new_clients


def _plan_new_sales(p: _Period, prices: _Prices, new_clients: list[tuple[int, datetime]]) -> None:
    """New sales with items; some paid later that day, one cancelled that day."""
    rng, snap, plan = p.rng, p.snap, p.plan
    active_clients = [c[0] for c in snap.clients if c[3] == "active"]
    people = [row[0] for row in snap.sales_people]
    on_sale = [
        row[0] for row in snap.products if row[2] == "active" and row[0] not in prices.discontinued
    ] or [snap.products[0][0]]
    picker = g.ProductPicker(rng, on_sale)
    orders = []
    for _ in range(p.count(600, 3)):
        if new_clients and (rng.random() < 0.15 or not active_clients):
            client_id, signed_up = rng.choice(new_clients)
            sold_at = g.at_random(rng, signed_up + timedelta(minutes=1), p.end)
        else:
            client_id, sold_at = rng.choice(active_clients), p.at_random()
        orders.append((sold_at, client_id, rng.choice(people)))
    orders.sort()
    new_sales = []  # (id, sold at)
    next_item = snap.max_ids["sales_items"] + 1
    for n, (sold_at, client_id, seller) in enumerate(orders, start=1):
        sale_id = snap.max_ids["sales"] + n
        items, total = g.item_rows(rng, sale_id, next_item, sold_at, picker, prices.at)
        next_item += len(items)
        sale = (sale_id, client_id, seller, sold_at, "placed", g.money(total), sold_at, sold_at)
        plan.insert(sold_at, "sales", [sale])
        plan.insert(sold_at, "sales_items", items)
        new_sales.append((sale_id, sold_at))
    cancelled_today = rng.choice(new_sales)
    for sale_id, sold_at in new_sales:
        if sale_id == cancelled_today[0]:
            at = g.at_random(rng, sold_at + MICRO, p.end)
            plan.delete(at, "sales_items", f"`sale_id` = {sale_id}")
            plan.delete(at, "sales", f"`id` = {sale_id}")
        elif rng.random() < 0.3:
            plan.update(g.at_random(rng, sold_at + MICRO, p.end), "sales", sale_id, status="paid")


def _plan_existing_sales(p: _Period) -> None:
    """Cancellations, corrections, status progress and returns of the sales already there."""
    rng, snap, plan = p.rng, p.snap, p.plan
    placed = [s for s in snap.open_sales if s[1] == "placed" and s[0] in snap.placed_items]
    picked = rng.sample(placed, min(len(placed), p.count(60) + p.count(30)))
    cancels, corrections = picked[: p.count(60)], picked[p.count(60) :]
    for sale_id, _ in cancels:
        at = p.at_random()
        plan.delete(at, "sales_items", f"`sale_id` = {sale_id}")
        plan.delete(at, "sales", f"`id` = {sale_id}")
    for sale_id, _ in corrections:
        _plan_correction(p, sale_id, p.at_random())
    touched = {s[0] for s in picked}
    for sale_id, open_status in snap.open_sales:
        if sale_id in touched or rng.random() >= 0.5:
            continue
        status = open_status
        steps = rng.choices((1, 2, 3), (70, 20, 10))[0]
        for at in _times(rng, steps, p.start, p.end):
            if status not in g.NEXT_STATUS:
                break
            status = g.NEXT_STATUS[status]
            plan.update(at, "sales", sale_id, status=status)
    delivered = snap.delivered_sales
    for sale_id in rng.sample(delivered, min(len(delivered), p.count(20))):
        plan.update(p.at_random(), "sales", sale_id, status="returned")


def _plan_correction(p: _Period, sale_id: int, at: datetime) -> None:
    """One placed sale corrected: an item removed or a quantity changed, and the total with it."""
    rng, plan = p.rng, p.plan
    items = p.snap.placed_items[sale_id]
    lines = {item_id: q * cents for item_id, q, cents in items}
    if len(items) > 1 and rng.random() < 0.3:
        item_id = rng.choice(items)[0]
        plan.delete(at, "sales_items", f"`id` = {item_id}")
        del lines[item_id]
    else:
        item_id, quantity, cents = rng.choice(items)
        quantity = quantity + 1 if quantity == 1 or rng.random() < 0.6 else quantity - 1
        lines[item_id] = quantity * cents
        plan.update(at, "sales_items", item_id, quantity=quantity, line_amount=g.money(quantity * cents))
    plan.update(at, "sales", sale_id, total_amount=g.money(sum(lines.values())))

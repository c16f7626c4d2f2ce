"""The shape of one business period: about 1% of the rows, and the kinds of change a shop makes."""

from __future__ import annotations

import lambda_seed
from lambda_seed import schema

TABLES = schema.TABLE_NAMES


def _rows(db, table: str) -> dict[int, dict]:
    conn = db.connect()
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM `{table}`")
        names = [d[0] for d in cur.description]
        return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _changed(before: dict, after: dict, column: str) -> int:
    return sum(1 for k in before.keys() & after.keys() if before[k][column] != after[k][column])


def test_a_period_changes_about_one_percent_of_rows_in_the_ways_a_shop_does(seed_db):
    db = seed_db()
    conn = db.connect()
    with conn:
        lambda_seed.init(conn, 0.05, 6)
        before = {t: _rows(db, t) for t in TABLES}
        lambda_seed.activity(conn, 1)
    after = {t: _rows(db, t) for t in TABLES}

    touched = 0
    for t in TABLES:
        b, a = before[t], after[t]
        touched += len(a.keys() ^ b.keys()) + sum(1 for k in a.keys() & b.keys() if a[k] != b[k])
    total = sum(len(before[t]) for t in TABLES)
    print(f"touched {touched} of {total} rows ({touched / total:.2%})")
    assert 0.005 <= touched / total <= 0.02

    assert _changed(before["clients"], after["clients"], "email") > 0  # changed e-mails
    assert _changed(before["products"], after["products"], "unit_price") > 0  # price changes
    assert _changed(before["sales"], after["sales"], "status") > 0  # status changes
    assert _changed(before["client_addresses"], after["client_addresses"], "is_primary") > 0  # moves
    new_clients = after["clients"].keys() - before["clients"].keys()
    assert new_clients and all(
        any(a["client_id"] == c for a in after["client_addresses"].values()) for c in new_clients
    )

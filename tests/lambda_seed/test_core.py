"""The source system on a real MariaDB: schema = registry, determinism, invariants, activity, manifest."""

from __future__ import annotations

import zlib
from datetime import date, datetime

import pytest
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

import lambda_seed
from lambda_seed import generator
from lambda_seed.core import META_DB
from lambda_seed.events import EventError, SeedError
from local_aws.replicator import SourceSettings
from local_aws.replicator.cdc import binlog_reader
from spark_jobs.config import load_config

SCALE = 0.01
TABLES = ("sales_people", "clients", "client_addresses", "products", "sales", "sales_items")


def _norm_type(column_type: str) -> str:
    # MariaDB still reports integer display widths (int(11)) that MySQL 8, the RDS engine, dropped;
    # tinyint(1) keeps its width on both.
    for base in ("bigint", "smallint", "int"):
        if column_type.startswith(f"{base}(") and column_type.endswith(")"):
            return base
    return column_type


def test_schema_equals_the_registry(seed_db):
    db = seed_db()
    conn = db.connect()
    with conn:
        lambda_seed.reset(conn)  # creates the empty schema
    registry = load_config("local").tables

    cols = db.query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
        (db.name,),
    )
    actual = {}
    for table, column, ctype, nullable in cols:
        actual.setdefault(table, []).append((column, _norm_type(ctype), nullable == "YES"))
    expected = {t.name: [(c.name, c.type, c.nullable) for c in t.columns] for t in registry.values()}
    assert actual == expected

    pks = db.query(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = %s AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION",
        (db.name,),
    )
    actual_pks = {}
    for table, column in pks:
        actual_pks.setdefault(table, []).append(column)
    assert actual_pks == {t.name: list(t.primary_key) for t in registry.values()}

    fks = db.query(
        "SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME "
        "FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL",
        (db.name,),
    )
    assert sorted(fks) == sorted((t.name, *fk) for t in registry.values() for fk in t.foreign_keys)
    # Bookkeeping stays out of the source database: it holds the registry's tables and nothing else.
    tables = db.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db.name,))
    assert sorted(t[0] for t in tables) == sorted(registry)


def test_same_scale_and_seed_give_identical_data(seed_db):
    a, b, c = seed_db(), seed_db(), seed_db()
    results = {}
    for db, seed in ((a, 11), (b, 11), (c, 12)):
        conn = db.connect()
        with conn:
            first = lambda_seed.init(conn, SCALE, seed)
            second = lambda_seed.activity(conn, 1)
        results[db.name] = (first["tables"], second["tables"], second["changes"])
    ra, rb, rc = results[a.name], results[b.name], results[c.name]
    assert ra == rb
    assert ra[0]["sales"]["rows"] > 0
    # Another seed gives other content at the same size.
    fixed = ("sales_people", "clients", "products", "sales")
    assert [rc[0][t]["rows"] for t in fixed] == [ra[0][t]["rows"] for t in fixed]
    assert rc[0]["sales"]["checksum"] != ra[0]["sales"]["checksum"]
    # Row-by-row, not only the checksums.
    dump = "SELECT * FROM sales_items ORDER BY id"
    assert a.query(dump) == b.query(dump)


def test_sizes_follow_the_scale_factor():
    sizes = generator.Sizes.at(1)
    assert (sizes.sales_people, sizes.products, sizes.clients, sizes.sales) == (100, 1_000, 10_000, 100_000)
    data = generator.generate(0.02, 3)
    assert len(data["sales"]) == 2_000
    assert 2.2 < len(data["sales_items"]) / len(data["sales"]) < 2.8
    assert generator.generate(0.02, 3) == data


def check_invariants(db) -> None:
    q = db.query
    # Money adds up: every sale equals the sum of its items, every line is quantity x price.
    assert q(
        "SELECT COUNT(*) FROM sales s LEFT JOIN (SELECT sale_id, SUM(line_amount) t, COUNT(*) n "
        "FROM sales_items GROUP BY sale_id) i ON i.sale_id = s.id WHERE i.n IS NULL OR i.t <> s.total_amount"
    ) == [(0,)]
    assert q("SELECT COUNT(*) FROM sales_items WHERE line_amount <> quantity * unit_price") == [(0,)]
    assert q("SELECT COUNT(*) FROM sales_items WHERE quantity < 1 OR quantity > 1000") == [(0,)]
    # Exactly one primary address per client.
    assert q(
        "SELECT COUNT(*) FROM clients c LEFT JOIN (SELECT client_id, SUM(is_primary) p FROM client_addresses "
        "GROUP BY client_id) a ON a.client_id = c.id WHERE COALESCE(a.p, 0) <> 1"
    ) == [(0,)]
    # Every reference resolves (the load skips the per-row checks, so prove it here).
    for child, column, parent in (
        ("client_addresses", "client_id", "clients"),
        ("sales", "client_id", "clients"),
        ("sales", "sales_person_id", "sales_people"),
        ("sales_items", "sale_id", "sales"),
        ("sales_items", "product_id", "products"),
    ):
        orphans = q(
            f"SELECT COUNT(*) FROM {child} x LEFT JOIN {parent} p ON p.id = x.{column} WHERE p.id IS NULL"
        )
        assert orphans == [(0,)], f"{child}.{column} -> {parent}"
    # The value sets the registry's expectations declare.
    assert {r[0] for r in q("SELECT DISTINCT status FROM sales")} <= set(generator.SALE_STATUSES)
    assert {r[0] for r in q("SELECT DISTINCT segment FROM clients")} == {"consumer", "business", "vip"}
    assert {r[0] for r in q("SELECT DISTINCT status FROM clients")} <= {"active", "inactive"}
    assert {r[0] for r in q("SELECT DISTINCT status FROM products")} <= {"active", "discontinued"}
    # Time runs forward: sold after the client signed up, updated after created.
    assert q(
        "SELECT COUNT(*) FROM sales s JOIN clients c ON c.id = s.client_id WHERE s.sold_at <= c.created_at"
    ) == [(0,)]
    for table in TABLES:
        assert q(f"SELECT COUNT(*) FROM {table} WHERE updated_at < created_at") == [(0,)], table
    assert q("SELECT COUNT(*) FROM sales_items WHERE unit_price < 0") == [(0,)]


def test_invariants_hold_after_init_and_after_activity(seed_db):
    db = seed_db()
    conn = db.connect()
    with conn:
        lambda_seed.init(conn, 0.02, 5)
        check_invariants(db)
        (start,) = db.query("SELECT MIN(sold_at) FROM sales")[0]
        (end,) = db.query("SELECT MAX(GREATEST(sold_at, updated_at)) FROM sales")[0]
        assert start >= generator.DATA_START and end < generator.DATA_END
        assert db.query("SELECT COUNT(*) FROM client_addresses WHERE is_primary = 0")[0][0] > 0
        for period in (1, 2, 3):
            lambda_seed.activity(conn, period)
            check_invariants(db)
    (last,) = db.query("SELECT MAX(updated_at) FROM sales")[0]
    assert generator.period_window(3)[0] <= last < generator.period_window(3)[1]


def _state(db) -> dict[str, dict[int, tuple]]:
    return {t: {r[0]: r for r in db.query(f"SELECT * FROM {t} ORDER BY id")} for t in TABLES}


def test_activity_inserts_updates_and_deletes_and_counts_them(seed_db, mysql):
    db = seed_db()
    conn = db.connect()
    with conn:
        lambda_seed.init(conn, 0.02, 9)
        before = _state(db)
        binlog_file, binlog_pos = db.query("SHOW MASTER STATUS")[0][:2]
        result = lambda_seed.activity(conn, 1)
    after = _state(db)
    window = generator.period_window(1)

    observed = {}
    for t in TABLES:
        inserted = after[t].keys() - before[t].keys()
        deleted = before[t].keys() - after[t].keys()
        updated = {k for k in after[t].keys() & before[t].keys() if after[t][k] != before[t][k]}
        observed[t] = (len(inserted), len(updated), len(deleted))
        for k in inserted | updated:  # every change carries business time of the period
            assert window[0] <= after[t][k][-1] < window[1], (t, k)
    assert observed["clients"][0] > 0 and observed["clients"][1] > 0
    assert observed["client_addresses"][0] > 0 and observed["client_addresses"][1] > 0
    assert observed["products"][1] > 0
    assert observed["sales_people"][1] > 0
    assert all(n > 0 for n in observed["sales"])
    assert observed["sales_items"][0] > 0 and observed["sales_items"][2] > 0
    assert observed["products"][2] == observed["clients"][2] == observed["client_addresses"][2] == 0

    # An address move: the old address stops being primary, the new one is.
    moved = [
        k
        for k, r in after["client_addresses"].items()
        if k in before["client_addresses"] and r[6] == 0 and before["client_addresses"][k][6] == 1
    ]
    assert moved
    client_id = after["client_addresses"][moved[0]][1]
    new = [
        r
        for k, r in after["client_addresses"].items()
        if r[1] == client_id and k not in before["client_addresses"]
    ]
    assert len(new) == 1 and new[0][6] == 1
    # A cancelled sale disappears with all of its items.
    gone = before["sales"].keys() - after["sales"].keys()
    assert not any(r[1] in gone for r in after["sales_items"].values())

    # The manifest's counts are statement row counts; inserts and deletes match the net change
    # except rows inserted and deleted in the same period (the sale cancelled the same day).
    changes = result["changes"]
    assert changes["sales"]["insert"] - changes["sales"]["delete"] == len(after["sales"]) - len(
        before["sales"]
    )
    assert changes["sales_items"]["insert"] - changes["sales_items"]["delete"] == (
        len(after["sales_items"]) - len(before["sales_items"])
    )
    assert changes["clients"]["insert"] == observed["clients"][0]

    # In the binlog (what CDC reads), some rows change more than once in the transaction.
    stream = binlog_reader(
        SourceSettings.of(mysql),
        4343,
        binlog_file,
        binlog_pos,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
        only_schemas=[db.name],
    )
    events: dict[tuple[str, str], int] = {}
    updates_per_row: dict[tuple[str, int], list] = {}
    try:
        for event in stream:
            kind = type(event).__name__
            for row in event.rows:
                events[(event.table, kind)] = events.get((event.table, kind), 0) + 1
                if kind == "UpdateRowsEvent":
                    after_image = row["after_values"]
                    updates_per_row.setdefault((event.table, after_image["id"]), []).append(after_image)
    finally:
        stream.close()
    for t in TABLES:
        assert events.get((t, "UpdateRowsEvent"), 0) == changes[t]["update"], t
        assert events.get((t, "WriteRowsEvent"), 0) == changes[t]["insert"], t
        assert events.get((t, "DeleteRowsEvent"), 0) == changes[t]["delete"], t
    repeated = {k: v for k, v in updates_per_row.items() if len(v) > 1}
    assert any(t == "sales" for t, _ in repeated)
    for images in repeated.values():  # each later change of a row is later in business time
        stamps = [img["updated_at"] for img in images]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def _render(value) -> str:
    """The checksum's row text, written independently of the SQL in lambda_seed.checksum."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def test_manifest_matches_the_database(seed_db):
    db = seed_db()
    conn = db.connect()
    with conn:
        lambda_seed.init(conn, SCALE, 21)
        result = lambda_seed.activity(conn, 1)
        read_again = lambda_seed.manifest(conn)
    assert (result["mode"], result["scale"], result["seed"], result["period"]) == ("activity", SCALE, 21, 1)
    assert read_again["tables"] == result["tables"]
    for t in TABLES:
        rows = db.query(f"SELECT * FROM {t}")
        crc = sum(zlib.crc32("|".join(_render(v) for v in row).encode("utf-8")) for row in rows)
        assert result["tables"][t] == {"rows": len(rows), "checksum": crc}, t
    # A one-character edit changes the checksum.
    db.query("UPDATE clients SET last_name = CONCAT(last_name, 'x') WHERE id = 1")
    conn = db.connect()
    with conn:
        assert (
            lambda_seed.manifest(conn)["tables"]["clients"]["checksum"]
            != result["tables"]["clients"]["checksum"]
        )
    # The run log keeps every manifest for later reconciliation.
    logged = db.query(
        f"SELECT mode, period FROM `{META_DB}`.runs WHERE database_name = %s ORDER BY id", (db.name,)
    )
    assert logged == [("init", 0), ("activity", 1)]


def test_init_twice_is_refused_and_reset_empties(seed_db):
    db = seed_db()
    conn = db.connect()
    with conn:
        first = lambda_seed.init(conn, SCALE, 1)
        with pytest.raises(SeedError, match="already initialised.*reset"):
            lambda_seed.init(conn, SCALE, 1)
        assert lambda_seed.manifest(conn)["tables"] == first["tables"]
        emptied = lambda_seed.reset(conn)
        assert all(s == {"rows": 0, "checksum": 0} for s in emptied["tables"].values())
        assert db.query("SELECT COUNT(*) FROM sales") == [(0,)]
        again = lambda_seed.init(conn, SCALE, 1)
        assert again["tables"] == first["tables"]


def test_data_loaded_by_someone_else_is_not_overwritten(seed_db):
    db = seed_db()
    conn = db.connect()
    with conn:
        lambda_seed.reset(conn)
        db.query(
            "INSERT INTO sales_people VALUES "
            "(1, 'A', 'B', 'a@b', 'north', '2020-01-01', 0.05, NOW(6), NOW(6))"
        )
        with pytest.raises(SeedError, match="sales_people is not empty"):
            lambda_seed.init(conn, SCALE, 1)
    assert db.query("SELECT COUNT(*) FROM clients") == [(0,)]


def test_activity_periods_run_in_order_and_a_retry_changes_nothing(seed_db):
    db = seed_db()
    conn = db.connect()
    with conn:
        with pytest.raises(SeedError, match="not initialised; run init first"):
            lambda_seed.activity(conn, 1)
        lambda_seed.init(conn, SCALE, 3)
        with pytest.raises(EventError, match="'period'.*next period is 1"):
            lambda_seed.activity(conn, 2)
        with pytest.raises(EventError, match="'scale'"):
            lambda_seed.activity(conn, 1, scale=0.5)
        applied = lambda_seed.activity(conn, 1)
        retried = lambda_seed.activity(conn, 1)
        assert (applied["status"], retried["status"]) == ("applied", "already_applied")
        assert retried["tables"] == applied["tables"]
        lambda_seed.activity(conn, 2)
        with pytest.raises(EventError, match="only move forward"):
            lambda_seed.activity(conn, 1)

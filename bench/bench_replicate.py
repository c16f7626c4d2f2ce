"""Benchmark of the local DMS replicator: full-load rows/s and CDC row events/s at a scale factor.

Starts a private MariaDB (temp folder, free port), creates the registry's tables, fills them at
the scale factor with server-side SQL (MariaDB's SEQUENCE engine, so data generation is not what
is measured), then times:
  1. the full load (consistent snapshot -> LOAD files), and
  2. CDC: a burst of inserts, updates and deletes (10% single-row transactions, the rest in
     transactions of 5,000 rows), replicated in one one-shot run, and
  3. CDC of single-row transactions only (the slowest shape: 4 binlog events per row change).
Goals at scale 1: full load <= 20 s; CDC >= 20,000 row events/s.

    .venv/bin/python bench/bench_replicate.py [--scale 1] [--cdc-events 200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local_aws.mariadb import LocalMariaDB, free_port  # noqa: E402
from local_aws.replicator import Options, Replicator, SourceSettings  # noqa: E402
from spark_jobs.config import load_config  # noqa: E402

# Rows per table at scale 1 (ARCHITECTURE.md: ~100k sales, ~250k items, 10k clients, ...).
SCALE_1 = {"sales_people": 100, "clients": 10_000, "client_addresses": 12_000, "products": 1_000,
           "sales": 100_000, "sales_items": 250_000}  # fmt: skip


def _value_sql(col, table: str) -> str:
    """A SQL expression over `seq` that fits a registry column."""
    base, args = col.base_type, col.type_args
    if col.name == "id":
        return "seq"
    if col.name.endswith("_id"):
        ref = {"client_id": "clients", "sales_person_id": "sales_people", "sale_id": "sales",
               "product_id": "products"}.get(col.name)  # fmt: skip
        n = SCALE_1.get(ref, 100)
        return f"1 + (seq * 7919) % {n}" if ref else "1 + seq % 100"
    if base in ("int", "bigint", "smallint"):
        return "1 + seq % 50"
    if base == "tinyint":
        return "seq % 2"
    if base in ("varchar", "char", "text"):
        n = args[0] if args else 20
        return f"LEFT(CONCAT('{col.name}-', seq, '-', MD5(seq)), {n})"
    if base == "decimal":
        p, s = args
        return f"ROUND(((seq * 37) % {10 ** min(p - s, 5) - 1}) + (seq % 100) / 100, {s})"
    if base in ("datetime", "timestamp"):
        return "TIMESTAMP('2025-01-01') + INTERVAL seq SECOND + INTERVAL (seq % 999999) MICROSECOND"
    if base == "date":
        return "DATE('2020-01-01') + INTERVAL (seq % 2000) DAY"
    raise ValueError(f"{table}.{col.name}: no generator for {col.type}")


def create_and_fill(conn, database: str, cfg, scale: float) -> dict[str, int]:
    counts = {}
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        cur.execute(f"USE `{database}`")  # the SEQUENCE engine's seq_1_to_N tables need a current database
        for t in cfg.tables.values():
            cols = ", ".join(f"`{c.name}` {c.type} {'NULL' if c.nullable else 'NOT NULL'}" for c in t.columns)
            pk = ", ".join(t.primary_key)
            cur.execute(f"CREATE TABLE `{database}`.`{t.name}` ({cols}, PRIMARY KEY ({pk}))")
            n = max(1, int(SCALE_1.get(t.name, 1000) * scale))
            exprs = ", ".join(_value_sql(c, t.name) for c in t.columns)
            cur.execute(f"INSERT INTO `{database}`.`{t.name}` SELECT {exprs} FROM seq_1_to_{n}")
            counts[t.name] = n
    conn.commit()
    return counts


def cdc_burst(conn, database: str, events: int, clients: int) -> int:
    """About `events` row changes: single-row transactions, multi-row updates, inserts, deletes.
    The single-row updates cycle over client ids 1 to `clients`, so every one changes a row."""
    db = database
    made = 0
    with conn.cursor() as cur:
        # 10% as small transactions (one row each, the OLTP shape).
        small = events // 10
        for i in range(small):
            cur.execute(
                f"UPDATE `{db}`.`clients` SET status = IF(status='x','y','x') WHERE id = %s",
                (1 + i % clients,),
            )
            conn.commit()
            made += 1
        # The rest as batches of 5,000 rows: inserts, updates and deletes of sales items.
        rest = events - small
        third = rest // 3
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM `{db}`.`sales_items`")
        top = cur.fetchone()[0]
        for lo in range(0, third, 5000):
            n = min(5000, third - lo)
            cur.execute(
                f"INSERT INTO `{db}`.`sales_items` SELECT {top + lo} + seq, 1 + seq % 1000, 1 + seq % 1000, "
                f"1 + seq % 9, 9.99, 19.98, NOW(6), NOW(6) FROM seq_1_to_{n}"
            )
            conn.commit()
            made += n
        for lo in range(0, third, 5000):
            n = min(5000, third - lo)
            made += cur.execute(
                f"UPDATE `{db}`.`sales_items` SET quantity = MOD(quantity, 9) + 1, updated_at = NOW(6) "
                f"WHERE id > %s AND id <= %s",
                (top + lo, top + lo + n),
            )
            conn.commit()
        for lo in range(0, rest - 2 * third, 5000):
            n = min(5000, rest - 2 * third - lo)
            made += cur.execute(
                f"DELETE FROM `{db}`.`sales_items` WHERE id > %s AND id <= %s", (top + lo, top + lo + n)
            )
            conn.commit()
    return made


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--cdc-events", type=int, default=200_000)
    ap.add_argument("--single-row-transactions", type=int, default=20_000)
    args = ap.parse_args()
    cfg = load_config("local")
    with tempfile.TemporaryDirectory(prefix="bench-replicate-") as tmp:
        server = LocalMariaDB(Path(tmp) / "mysql", port=free_port())
        info = server.up()
        try:
            database = "salesdb"
            conn = info.connect(database="")
            t0 = time.monotonic()
            counts = create_and_fill(conn, database, cfg, args.scale)
            rows = sum(counts.values())
            print(f"source: {rows:,} rows at scale {args.scale} ({time.monotonic() - t0:.1f}s to generate)")
            source = SourceSettings.of(info, database)
            options = Options(target=str(Path(tmp) / "raw"))

            t0 = time.monotonic()
            report = Replicator(cfg, source, options).run()
            full = time.monotonic() - t0
            loaded = sum(report.full_load.values())
            assert loaded == rows, (loaded, rows)
            print(f"full load: {loaded:,} rows in {full:.2f}s = {loaded / full:,.0f} rows/s (goal: <= 20 s)")

            t0 = time.monotonic()
            made = cdc_burst(conn, database, args.cdc_events, counts["clients"])
            print(f"cdc burst: {made:,} row changes made in {time.monotonic() - t0:.1f}s")
            conn.close()
            t0 = time.monotonic()
            report = Replicator(cfg, source, options).run()
            cdc = time.monotonic() - t0
            events = sum(report.cdc_rows.values())
            assert events == made, (events, made)
            rate = events / cdc
            print(f"cdc: {events:,} row events in {cdc:.2f}s = {rate:,.0f} row events/s (goal: >= 20,000)")

            # The worst case: every transaction changes one row (4 binlog events per row change),
            # cycling over the products there are at this scale.
            conn = info.connect(database="")
            with conn.cursor() as cur:
                for i in range(args.single_row_transactions):
                    cur.execute(
                        f"UPDATE `{database}`.`products` SET status = IF(status='x','y','x') WHERE id = %s",
                        (1 + i % counts["products"],),
                    )
                    conn.commit()
            conn.close()
            t0 = time.monotonic()
            report = Replicator(cfg, source, options).run()
            single = time.monotonic() - t0
            events = sum(report.cdc_rows.values())
            assert events == args.single_row_transactions, events
            print(f"cdc, one row per transaction: {events:,} row events in {single:.2f}s = "
                  f"{events / single:,.0f} row events/s")  # fmt: skip
        finally:
            server.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Test helper: a small source database built from the registry, and business-like activity on it.

Every test gets its own database on the shared MariaDB (so binlog filtering by database keeps tests
apart). Tables and columns come from conf/tables.yaml; values are deterministic per seed.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal

from local_aws.mariadb import MySQLConnectionInfo
from local_aws.replicator import SourceSettings
from spark_jobs.config import Column, Config, Table


def new_source(mysql: MySQLConnectionInfo, cfg: Config, prefix: str = "rt") -> SourceSettings:
    """A fresh, empty database with every registry table; returns settings pointing at it."""
    database = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = mysql.connect(database="", autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}`")
        for table in cfg.tables.values():
            cur.execute(create_table_sql(database, table))
    return SourceSettings.of(mysql, database)


def create_table_sql(database: str, table: Table) -> str:
    cols = [f"`{c.name}` {c.type} {'NULL' if c.nullable else 'NOT NULL'}" for c in table.columns]
    pk = ", ".join(f"`{k}`" for k in table.primary_key)
    return f"CREATE TABLE `{database}`.`{table.name}` ({', '.join(cols)}, PRIMARY KEY ({pk})) ENGINE=InnoDB"


def value(col: Column, rng: random.Random, key: int):
    """A value that fits a registry column (nullable columns are sometimes NULL)."""
    if col.nullable and rng.random() < 0.2:
        return None
    base, args = col.base_type, col.type_args
    if base in ("int", "bigint", "smallint"):
        return rng.randint(1, 5000)
    if base == "tinyint":
        return rng.randint(0, 1)
    if base in ("varchar", "char", "text"):
        n = args[0] if args else 20
        text = f"{col.name[:3]}{key}-{rng.randint(0, 10**6)}-ä"
        return text[:n] if base != "char" else rng.choice(["US", "DE", "FR", "ES"])[:n]
    if base == "decimal":
        p, s = args
        top = 10 ** (p - s) - 1
        return Decimal(rng.randint(0, min(top, 10**5) * 10**s)).scaleb(-s)
    if base in ("datetime", "timestamp"):
        return dt.datetime(2025, 1, 1) + dt.timedelta(
            seconds=rng.randint(0, 10**7), microseconds=rng.randint(0, 999_999)
        )
    if base == "date":
        return dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 2000))
    raise AssertionError(f"no test value for {col.type}")


def row(table: Table, key: int, rng: random.Random) -> dict:
    return {c.name: (key if c.name in table.primary_key else value(c, rng, key)) for c in table.columns}


def insert_sql(database: str, table: Table) -> str:
    names = ", ".join(f"`{c.name}`" for c in table.columns)
    marks = ", ".join(["%s"] * len(table.columns))
    return f"INSERT INTO `{database}`.`{table.name}` ({names}) VALUES ({marks})"


def seed(source: SourceSettings, cfg: Config, rows_per_table: int = 20, seed_value: int = 1) -> None:
    """Insert `rows_per_table` rows into every registry table (ids 1..n)."""
    rng = random.Random(seed_value)
    conn = source.connect()
    with conn, conn.cursor() as cur:
        for table in cfg.tables.values():
            cur.executemany(
                insert_sql(source.database, table),
                [tuple(row(table, k, rng).values()) for k in range(1, rows_per_table + 1)],
            )
        conn.commit()


def activity(source: SourceSettings, cfg: Config, transactions: int = 30, seed_value: int = 2) -> int:
    """Run inserts, updates and deletes in transactions of 1-4 statements; returns the row changes made.

    Includes multi-row UPDATE and DELETE statements (several rows in one binlog event), the same
    row changed twice in one transaction, and insert-then-delete of a row inside a transaction.
    """
    rng = random.Random(seed_value)
    conn = source.connect()
    changed = 0
    db = source.database
    with conn, conn.cursor() as cur:
        for _ in range(transactions):
            for _ in range(rng.randint(1, 4)):
                table = rng.choice(list(cfg.tables.values()))
                pk = table.primary_key[0]
                col = rng.choice([c for c in table.columns if c.name not in table.primary_key])
                cur.execute(f"SELECT `{pk}` FROM `{db}`.`{table.name}` ORDER BY `{pk}`")
                ids = [r[0] for r in cur.fetchall()]
                kind = rng.random()
                if kind < 0.35 or len(ids) < 3:
                    new_id = (max(ids) if ids else 0) + 1
                    changed += cur.execute(insert_sql(db, table), tuple(row(table, new_id, rng).values()))
                elif kind < 0.6:
                    changed += cur.execute(
                        f"UPDATE `{db}`.`{table.name}` SET `{col.name}` = %s WHERE `{pk}` = %s",
                        (value(col, rng, 0), rng.choice(ids)),
                    )
                elif kind < 0.72:  # one statement, several rows: one binlog event with many rows
                    lo = rng.choice(ids)
                    changed += cur.execute(
                        f"UPDATE `{db}`.`{table.name}` SET `{col.name}` = %s WHERE `{pk}` BETWEEN %s AND %s",
                        (value(col, rng, 0), lo, lo + 3),
                    )
                elif kind < 0.8:  # the same row twice in one transaction
                    target = rng.choice(ids)
                    for _ in range(2):
                        changed += cur.execute(
                            f"UPDATE `{db}`.`{table.name}` SET `{col.name}` = %s WHERE `{pk}` = %s",
                            (value(col, rng, 0), target),
                        )
                elif kind < 0.88:  # a row that lives and dies inside one transaction
                    new_id = max(ids) + 1
                    changed += cur.execute(insert_sql(db, table), tuple(row(table, new_id, rng).values()))
                    changed += cur.execute(f"DELETE FROM `{db}`.`{table.name}` WHERE `{pk}` = %s", (new_id,))
                elif kind < 0.95:
                    changed += cur.execute(
                        f"DELETE FROM `{db}`.`{table.name}` WHERE `{pk}` = %s", (rng.choice(ids),)
                    )
                else:
                    lo = rng.choice(ids)
                    changed += cur.execute(
                        f"DELETE FROM `{db}`.`{table.name}` WHERE `{pk}` BETWEEN %s AND %s", (lo, lo + 2)
                    )
            conn.commit()
    return changed


def binlog_position(source: SourceSettings) -> tuple[str, int]:
    conn = source.connect()
    with conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        f, p = cur.fetchone()[:2]
    return str(f), int(p)


def replicate(cfg: Config, source: SourceSettings, raw, **options):
    """One one-shot run of the replicator into `raw`; returns its report."""
    from local_aws.replicator import Options, Replicator

    return Replicator(cfg, source, Options(target=str(raw), **options)).run()


def assert_replica_equals_source(raw, source: SourceSettings, cfg: Config) -> None:
    """Replaying the raw files (the oracle) gives exactly the source tables."""
    from local_aws.replicator.oracle import replay, source_state

    got = replay(str(raw), cfg)
    want = source_state(source, cfg)
    for table in cfg.tables:
        assert len(got[table]) == len(want[table]), (
            f"{table}: {len(got[table])} rows replayed, the source has {len(want[table])}"
        )
        for g, w in zip(got[table], want[table], strict=True):
            assert g == w, f"{table}: replayed {g} != source {w}"


def cli_env(source: SourceSettings, **extra: str) -> dict:
    """Environment for a `lakehouse replicate` process against `source` (no password on the command line)."""
    import os

    from local_aws.replicator.faults import CRASH_ENV

    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    env.update(
        LAKEHOUSE_MYSQL_HOST=source.host,
        LAKEHOUSE_MYSQL_PORT=str(source.port),
        LAKEHOUSE_MYSQL_USER=source.user,
        LAKEHOUSE_MYSQL_PASSWORD=source.password,
        LAKEHOUSE_MYSQL_DATABASE=source.database,
    )
    env.update(extra)
    return env


def run_cli(*args: str, env: dict, timeout: float = 120):
    """Run `lakehouse replicate ARGS` as a separate process from the repository root."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    return subprocess.run(
        [sys.executable, "-m", "local_aws.cli", "replicate", *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip

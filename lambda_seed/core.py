"""init, activity, reset and manifest: each takes a DB-API (pymysql) connection.

The connection's current database is the source database (`salesdb`). Bookkeeping (scale, seed,
last period run, and a log of every manifest) lives in a separate database, `lakehouse_seed`, so
that `salesdb` holds exactly the six tables of conf/tables.yaml and CDC (DMS or the local
replicator) never sees a table the lakehouse does not know. The bookkeeping row is written in the
same transaction as the data, so a run either happened completely or not at all.
"""

from __future__ import annotations

import json
import time

from lambda_seed import activity as act
from lambda_seed import checksum, generator, schema
from lambda_seed.events import EventError, SeedError, check_period, check_scale, check_seed
from lambda_seed.sql import insert_rows

META_DB = "lakehouse_seed"
_META_DDL = (
    f"CREATE DATABASE IF NOT EXISTS `{META_DB}` DEFAULT CHARSET=utf8mb4",
    f"""CREATE TABLE IF NOT EXISTS `{META_DB}`.`state` (
  database_name VARCHAR(64) NOT NULL PRIMARY KEY,
  scale VARCHAR(32) NOT NULL,
  seed BIGINT UNSIGNED NOT NULL,
  last_period INT NOT NULL
) ENGINE=InnoDB""",
    f"""CREATE TABLE IF NOT EXISTS `{META_DB}`.`runs` (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  database_name VARCHAR(64) NOT NULL,
  mode VARCHAR(20) NOT NULL,
  period INT NULL,
  manifest LONGTEXT NOT NULL,
  recorded_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_runs_database (database_name, id)
) ENGINE=InnoDB""",
)
_SESSION = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO'"

__all__ = ["META_DB", "SeedError", "activity", "init", "manifest", "reset"]


def _prepare(conn) -> str:
    """Bookkeeping tables exist, strict SQL mode is on; returns the current database."""
    with conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        database = cur.fetchone()[0]
        if not database:
            raise SeedError("the connection has no current database; connect to the source database")
        cur.execute(_SESSION)
        for ddl in _META_DDL:
            cur.execute(ddl)
    conn.commit()
    return database


def _state(cur, database: str, lock: bool = True) -> tuple[float, int, int] | None:
    cur.execute(
        f"SELECT scale, seed, last_period FROM `{META_DB}`.`state` WHERE database_name = %s"
        + (" FOR UPDATE" if lock else ""),
        (database,),
    )
    row = cur.fetchone()
    return (float(row[0]), int(row[1]), int(row[2])) if row else None


def _manifest(cur, database: str, mode: str, state, **extra) -> dict:
    scale, seed, period = state if state else (None, None, None)
    return {
        "mode": mode,
        "database": database,
        "scale": scale,
        "seed": seed,
        "period": period,
        **extra,
        "tables": checksum.table_stats(cur),
    }


def _log(cur, database: str, result: dict) -> None:
    cur.execute(
        f"INSERT INTO `{META_DB}`.`runs` (database_name, mode, period, manifest) VALUES (%s, %s, %s, %s)",
        (database, result["mode"], result.get("period"), json.dumps(result, sort_keys=True)),
    )


def manifest(conn) -> dict:
    """The current manifest of the connection's database, without changing anything."""
    database = _prepare(conn)
    with conn.cursor() as cur:
        state = _state(cur, database, lock=False)
        result = _manifest(cur, database, "manifest", state, status="read")
    conn.commit()
    return result


def init(conn, scale: float, seed: int) -> dict:
    """Create the schema and load the data set; refuses when the database already holds data."""
    scale, seed = check_scale(scale), check_seed(seed)
    database = _prepare(conn)
    started = time.monotonic()
    with conn.cursor() as cur:
        schema.create_schema(cur)  # DDL commits on its own; it is idempotent
        conn.begin()
        try:
            state = _state(cur, database)
            if state is not None:
                raise SeedError(
                    f"database {database!r} is already initialised (scale {state[0]:g}, seed {state[1]}, "
                    f"last period {state[2]}); run reset first to load it again"
                )
            for name in schema.TABLE_NAMES:
                cur.execute(f"SELECT COUNT(*) FROM `{name}`")
                if cur.fetchone()[0]:
                    raise SeedError(
                        f"database {database!r} already holds data (table {name} is not empty); "
                        "refusing to load twice: run reset first"
                    )
            cur.execute(
                f"INSERT INTO `{META_DB}`.`state` (database_name, scale, seed, last_period) "
                "VALUES (%s, %s, %s, 0)",
                (database, repr(scale), seed),
            )
            data = generator.generate(scale, seed)
            # The generator produces consistent keys; checking each row against its parents
            # costs a third of the load time (tests prove the references hold).
            cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            try:
                inserted = {
                    name: insert_rows(cur, name, schema.BY_NAME[name].column_names, data[name])
                    for name in schema.TABLE_NAMES
                }
            finally:
                cur.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
            result = _manifest(
                cur,
                database,
                "init",
                (scale, seed, 0),
                status="applied",
                changes={name: {"insert": n, "update": 0, "delete": 0} for name, n in inserted.items()},
                business_time={"from": str(generator.DATA_START), "to": str(generator.DATA_END)},
            )
            _log(cur, database, result)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def activity(conn, period: int, seed: int | None = None, scale: float | None = None) -> dict:
    """Apply business period `period` (periods 1..period-1 must have run); idempotent for the last."""
    period = check_period(period)
    seed = None if seed is None else check_seed(seed)
    scale = None if scale is None else check_scale(scale)
    database = _prepare(conn)
    started = time.monotonic()
    with conn.cursor() as cur:
        conn.begin()
        try:
            state = _state(cur, database)
            if state is None:
                raise SeedError(f"database {database!r} is not initialised; run init first")
            init_scale, init_seed, last = state
            if scale is not None and scale != init_scale:
                raise EventError("scale", f"database {database!r} was initialised at scale {init_scale:g}")
            if period == last:
                # A retried invocation: the period already ran, completely (one transaction).
                result = _manifest(cur, database, "activity", state, status="already_applied")
                conn.commit()
                return result
            if period != last + 1:
                raise EventError(
                    "period",
                    f"database {database!r} last ran period {last}; the next period is {last + 1}"
                    + (" (periods only move forward; reset and init to start over)" if period < last else ""),
                )
            seed = init_seed if seed is None else seed
            changes = act.plan_period(act.read_snapshot(cur), init_scale, seed, period)
            counts = {name: {"insert": 0, "update": 0, "delete": 0} for name in schema.TABLE_NAMES}
            for change in changes:
                counts[change.table][change.op] += cur.execute(change.sql)
            cur.execute(
                f"UPDATE `{META_DB}`.`state` SET last_period = %s WHERE database_name = %s",
                (period, database),
            )
            window = generator.period_window(period)
            result = _manifest(
                cur,
                database,
                "activity",
                (init_scale, seed, period),
                status="applied",
                changes=counts,
                business_time={"from": str(window[0]), "to": str(window[1])},
            )
            _log(cur, database, result)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def reset(conn) -> dict:
    """Drop the six tables and the bookkeeping of this database, then recreate the empty schema."""
    database = _prepare(conn)
    with conn.cursor() as cur:
        schema.drop_schema(cur)
        schema.create_schema(cur)
        conn.begin()
        cur.execute(f"DELETE FROM `{META_DB}`.`state` WHERE database_name = %s", (database,))
        result = _manifest(cur, database, "reset", None, status="applied")
        _log(cur, database, result)
        conn.commit()
    return result

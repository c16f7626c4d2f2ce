"""Batched multi-row INSERTs with literals rendered here, not per row by the driver."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from pymysql.converters import escape_string

BATCH_ROWS = 2000  # about 300 KB per statement: far below max_allowed_packet (64 MB on RDS)


def literal(value) -> str:
    """One SQL literal. The generator only produces these types; anything else is a bug."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + escape_string(value) + "'"
    if isinstance(value, bool):  # before int: bool is an int
        return "1" if value else "0"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return "'" + value.isoformat(" ", "microseconds") + "'"
    if isinstance(value, date):
        return "'" + value.isoformat() + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}: {value!r}")


def insert_rows(
    cur, table: str, columns: Sequence[str], rows: Iterable[tuple], batch: int = BATCH_ROWS
) -> int:
    """INSERT `rows` into `table` in multi-row statements of `batch` rows; returns rows inserted."""
    head = f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in columns)}) VALUES "
    done, chunk = 0, []
    for row in rows:
        chunk.append("(" + ",".join([literal(v) for v in row]) + ")")
        if len(chunk) >= batch:
            done += cur.execute(head + ",".join(chunk))
            chunk = []
    if chunk:
        done += cur.execute(head + ",".join(chunk))
    return done

"""Row counts and content checksums, computed by the database over what it holds.

The checksum of a table is SUM(CRC32(row text)) over its rows, where the row text is the columns
in schema order joined by '|', with
  datetime(6) as 'YYYY-MM-DD HH:MM:SS.ffffff', date as 'YYYY-MM-DD', decimals with their scale
  ('12.50'), integers in decimal, strings as stored (CRC32 over their UTF-8 bytes), NULL as '\\N'.
A sum is independent of row order, so any engine holding the same rows (Spark over the lake,
Athena) can recompute it; every row carries its key, so moving a value between rows changes it.
"""

from __future__ import annotations

from lambda_seed.schema import TABLES, TableSpec


def row_text_sql(spec: TableSpec) -> str:
    parts = []
    for name, sqltype in spec.columns:
        expr = f"`{name}`"
        upper = sqltype.upper()
        if upper.startswith("DATETIME"):
            expr = f"DATE_FORMAT({expr}, '%Y-%m-%d %H:%i:%s.%f')"
        elif upper.startswith("DATE"):
            expr = f"DATE_FORMAT({expr}, '%Y-%m-%d')"
        if "NOT NULL" not in upper:
            expr = f"COALESCE({expr}, '\\\\N')"
        parts.append(expr)
    return f"CONCAT_WS('|', {', '.join(parts)})"


def table_checksum_sql(spec: TableSpec) -> str:
    return f"SELECT COUNT(*), COALESCE(SUM(CRC32({row_text_sql(spec)})), 0) FROM `{spec.name}`"


def table_stats(cur) -> dict[str, dict[str, int]]:
    """{table: {"rows": n, "checksum": c}} for the six tables of the current database."""
    stats = {}
    for spec in TABLES:
        cur.execute(table_checksum_sql(spec))
        rows, checksum = cur.fetchone()
        stats[spec.name] = {"rows": int(rows), "checksum": int(checksum)}
    return stats

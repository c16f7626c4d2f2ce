"""Test helper: write raw-zone files the way DMS does, from plain dicts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from local_aws.replicator.contract import arrow_type
from spark_jobs.config import Config


def ts(seconds: int) -> str:
    """A contract commit timestamp `seconds` after a fixed origin."""
    return (dt.datetime(2026, 1, 1) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S.%f")


def seq(n: int) -> str:
    return f"{n:035d}"


def write_raw(cfg: Config, table: str, name: str, rows: list[dict]) -> Path:
    """Write one raw file: each row has Op, commit ts, change seq and some source columns (others null)."""
    t = cfg.table(table)
    c = cfg.raw
    fields = [
        pa.field(c.op_column, pa.string()),
        pa.field(c.commit_ts_column, pa.string()),
        pa.field(c.change_seq_column, pa.string()),
    ]
    fields += [pa.field(col.name, arrow_type(col)) for col in t.columns]
    schema = pa.schema(fields)
    data = {f.name: [r.get(f.name) for r in rows] for f in schema}
    folder = Path(cfg.raw_table_dir(table))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    pq.write_table(pa.table(data, schema=schema), path)
    return path


def client(
    id_: int, email: str, updated: int, op: str = "I", at: int | None = None, sq: int = 0, **extra
) -> dict:
    """A clients change row with sensible defaults."""
    when = dt.datetime(2025, 1, 1) + dt.timedelta(days=updated)
    row = {
        "Op": op,
        "dms_commit_ts": ts(at if at is not None else updated),
        "dms_change_seq": seq(sq),
        "id": id_,
        "first_name": f"F{id_}",
        "last_name": f"L{id_}",
        "email": email,
        "phone": None,
        "segment": "consumer",
        "status": "active",
        "created_at": dt.datetime(2025, 1, 1),
        "updated_at": when,
    }
    row.update(extra)
    return row


def product(id_: int, price: str, updated: int, op: str = "I", at: int | None = None, sq: int = 0) -> dict:
    when = dt.datetime(2025, 1, 1) + dt.timedelta(days=updated)
    return {
        "Op": op,
        "dms_commit_ts": ts(at if at is not None else updated),
        "dms_change_seq": seq(sq),
        "id": id_,
        "sku": f"SKU{id_}",
        "name": f"P{id_}",
        "category": "c",
        "unit_price": Decimal(price),
        "status": "active",
        "created_at": dt.datetime(2025, 1, 1),
        "updated_at": when,
    }

"""Full load: every replicated table read from one consistent snapshot, written as LOAD files.

The snapshot is `START TRANSACTION WITH CONSISTENT SNAPSHOT`; MariaDB's `binlog_snapshot_file`
and `binlog_snapshot_position` status variables then give the binlog position that matches it
exactly, which is where CDC starts. Rows are streamed (unbuffered cursor, values as text) and
typed by Arrow casts, which is several times faster than converting values in Python.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pymysql
import pymysql.converters
import pymysql.cursors

from local_aws.replicator.contract import (
    SEQ_ROW_DIGITS,
    ContractError,
    arrow_type,
    binlog_number,
    file_schema,
    format_commit_ts,
    full_load_seq,
)
from local_aws.replicator.source import SourceColumn, SourceSettings, source_columns
from spark_jobs.config import RawContract, Table

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
# pymysql conversions without decoders (integer keys): every result value arrives as text.
TEXT_RESULTS = {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}


@dataclass(frozen=True)
class Snapshot:
    log_file: str
    log_pos: int
    ts: int  # epoch seconds, truncated


@dataclass
class LoadedTable:
    name: str
    rows: int
    files: list[str]
    extra_columns: dict[str, pa.DataType]


def parquet_options(contract: RawContract) -> dict:
    """pyarrow.parquet writer options matching the DMS S3 settings in the contract."""
    s3 = contract.s3_settings
    version = {"parquet-1-0": "1.0", "parquet-2-0": "2.6"}.get(contract.parquet_version, "2.6")
    compression = str(s3.get("compression_type", "NONE")).lower()
    return {
        "version": version,
        "compression": "none" if compression == "none" else compression,
        "use_dictionary": str(s3.get("encoding_type", "rle_dictionary")).lower() == "rle_dictionary",
        "write_statistics": bool(s3.get("enable_statistics", True)),
        "data_page_size": int(s3.get("data_page_size", 1024 * 1024)),
        "dictionary_pagesize_limit": int(s3.get("dict_page_size_limit", 1024 * 1024)),
    }


def row_group_rows(contract: RawContract) -> int:
    return int(contract.s3_settings.get("row_group_length", 10_000))


def open_snapshot(conn: pymysql.Connection) -> Snapshot:
    """Start a consistent-snapshot transaction and return the binlog position that matches it."""
    with conn.cursor() as cur:
        # TIMESTAMP columns are read in UTC, as the binlog carries them.
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        status = {str(k).lower(): str(v) for k, v in cur.fetchall()}
        cur.execute("SELECT UNIX_TIMESTAMP()")
        (now,) = cur.fetchone()
    if "binlog_snapshot_file" not in status or not status["binlog_snapshot_file"]:
        raise ContractError(
            "the source does not report binlog_snapshot_file/position (MariaDB with log_bin is required)"
        )
    return Snapshot(status["binlog_snapshot_file"], int(status["binlog_snapshot_position"]), int(float(now)))


def _text_to_arrow(values: list, dtype: pa.DataType, table: str, column: str) -> pa.Array:
    if pa.types.is_binary(dtype):
        return pa.array(values, pa.binary())
    arr = pa.array(values, pa.string())
    if pa.types.is_string(dtype):
        return arr
    try:
        return arr.cast(dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # MySQL zero dates have no Arrow (or DMS) value: they become null, as in the binlog reader.
    cleaned = [None if v is not None and v.startswith("0000-00-00") else v for v in values]
    try:
        return pa.array(cleaned, pa.string()).cast(dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ContractError(f"full load of {table}: column {column} does not fit {dtype}: {exc}") from None


def _chunks(
    conn: pymysql.Connection, database: str, table: Table, columns: list[SourceColumn], chunk_rows: int
) -> Iterator[list[pa.Array]]:
    names = ", ".join(f"`{c.name}`" for c in columns)
    with conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(f"SELECT {names} FROM `{database}`.`{table.name}`")
        while True:
            rows = cur.fetchmany(chunk_rows)
            if not rows:
                return
            cols = list(zip(*rows, strict=True))
            yield [
                _text_to_arrow(list(v), c.arrow, table.name, c.name)
                for v, c in zip(cols, columns, strict=True)
            ]


def load_table(
    conn: pymysql.Connection,
    settings: SourceSettings,
    table: Table,
    contract: RawContract,
    snapshot: Snapshot,
    *,
    write_file: Callable[[str, Callable[[BinaryIO], None]], int],
    max_file_bytes: int,
    chunk_rows: int | None = None,
    first_row: int = 1,
    first_file: int = 1,
) -> LoadedTable:
    """Write one table's rows from the open snapshot as LOAD files; returns what was written.

    `write_file(name, writer)` stores one file atomically. An empty table gets no file, as with DMS.
    Rows are numbered from `first_row` in their change sequences, files from `first_file`.
    """
    present = source_columns(conn, settings.database, table, settings.label)
    by_name = {c.name: c for c in present}
    # Registry columns keep the registry's type and order; columns added in the source follow.
    columns = [SourceColumn(c.name, arrow_type(c)) for c in table.columns]
    extra = {c.name: c.arrow for c in present if c.name not in table.column_names}
    columns += [by_name[name] for name in extra]

    schema = file_schema(table, contract, extra)
    ts = format_commit_ts(snapshot.ts, contract)
    seq_head = full_load_seq(binlog_number(snapshot.log_file), snapshot.log_pos, 0)[:-SEQ_ROW_DIGITS]
    options = parquet_options(contract)
    group_rows = row_group_rows(contract)

    chunks = _chunks(conn, settings.database, table, columns, chunk_rows or CHUNK_ROWS)
    pending = next(chunks, None)
    files: list[str] = []
    total = 0
    while pending is not None:
        name = contract.full_load_name(first_file + len(files))

        def write(f: BinaryIO) -> None:
            nonlocal pending, total
            with pq.ParquetWriter(f, schema, **options) as writer:
                while pending is not None:
                    n = len(pending[0])
                    head = [
                        pa.array(["I"] * n, pa.string()),
                        pa.array([ts] * n, pa.string()),
                        pa.array(
                            [
                                f"{seq_head}{k:0{SEQ_ROW_DIGITS}d}"
                                for k in range(first_row + total, first_row + total + n)
                            ],
                            pa.string(),
                        ),  # fmt: skip
                    ]
                    writer.write_table(
                        pa.Table.from_arrays(head + pending, schema=schema), row_group_size=group_rows
                    )
                    total += n
                    pending = next(chunks, None)
                    if f.tell() >= max_file_bytes:
                        break

        write_file(name, write)
        files.append(name)
    log.info("full load %s: %d rows in %d file(s)", table.name, total, len(files))
    return LoadedTable(table.name, total, files, extra)

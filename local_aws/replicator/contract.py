"""The raw-zone contract in Arrow terms: file schema, commit timestamps, change sequences, file names.

Pure functions over `conf/` (RawContract and the table registry); the replicator writes with them
and the oracle reads with them, so both agree with what bronze expects.
"""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa

from spark_jobs.config import Column, RawContract, Table

# Fixed-width layout of the emulated $AR_H_CHANGE_SEQ (35 digits): binlog file number, binlog
# position of the event's end, row index inside the event. Sorting the strings sorts by binlog order.
SEQ_FILE_DIGITS = 10
SEQ_POS_DIGITS = 15
SEQ_ROW_DIGITS = 10
SEQ_DIGITS = SEQ_FILE_DIGITS + SEQ_POS_DIGITS + SEQ_ROW_DIGITS

_ARROW_BY_BASE = {
    "int": pa.int32(),
    "bigint": pa.int64(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "varchar": pa.string(),
    "char": pa.string(),
    "text": pa.string(),
    "datetime": pa.timestamp("us"),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
}
_BINLOG_NUMBER_RE = re.compile(r"\.(\d+)$")


class ContractError(ValueError):
    """Data does not fit the raw-zone contract; the message names the table, column or file."""


def arrow_type(column: Column) -> pa.DataType:
    """Arrow type of a registry column (MySQL COLUMN_TYPE)."""
    if column.base_type == "decimal":
        precision, scale = (column.type_args + (0,))[:2] if column.type_args else (10, 0)
        return pa.decimal128(precision, scale)
    try:
        return _ARROW_BY_BASE[column.base_type]
    except KeyError:
        raise ContractError(f"column {column.name}: no Arrow type for MySQL type {column.type!r}") from None


def contract_fields(contract: RawContract) -> list[pa.Field]:
    """The three columns in front of the source columns: Op, commit timestamp, change sequence."""
    return [
        pa.field(contract.op_column, pa.string()),
        pa.field(contract.commit_ts_column, pa.string()),
        pa.field(contract.change_seq_column, pa.string()),
    ]


def file_schema(
    table: Table, contract: RawContract, extra: dict[str, pa.DataType] | None = None
) -> pa.Schema:
    """Schema of one raw file: contract columns, registry columns in order, then added source columns."""
    fields = contract_fields(contract)
    fields += [pa.field(c.name, arrow_type(c)) for c in table.columns]
    fields += [pa.field(name, dtype) for name, dtype in (extra or {}).items()]
    return pa.schema(fields)


def format_commit_ts(epoch_seconds: int, contract: RawContract) -> str:
    """A commit timestamp (UTC) in the contract's string form, e.g. 2026-11-22 10:15:00.000000."""
    return dt.datetime.fromtimestamp(epoch_seconds, dt.UTC).strftime(contract.commit_ts_format)


def binlog_number(log_file: str) -> int:
    """The sequence number of a binlog file name (mysql-bin.000042 -> 42)."""
    m = _BINLOG_NUMBER_RE.search(log_file)
    if not m:
        raise ContractError(f"binlog file {log_file!r} has no numeric suffix; cannot derive change sequences")
    return int(m.group(1))


def change_seq(file_number: int, position: int, row: int) -> str:
    """The 35-digit change sequence of one row: strictly increasing in binlog order."""
    if file_number >= 10**SEQ_FILE_DIGITS or position >= 10**SEQ_POS_DIGITS or row >= 10**SEQ_ROW_DIGITS:
        raise ContractError(
            f"binlog coordinates ({file_number}, {position}, {row}) overflow the change sequence"
        )
    return f"{file_number:0{SEQ_FILE_DIGITS}d}{position:0{SEQ_POS_DIGITS}d}{row:0{SEQ_ROW_DIGITS}d}"


def seq_prefix(file_number: int, position: int) -> str:
    """The first 25 digits of every change sequence of an event ending at `position`."""
    return f"{file_number:0{SEQ_FILE_DIGITS}d}{position:0{SEQ_POS_DIGITS}d}"


def full_load_seq(file_number: int, snapshot_position: int, row: int) -> str:
    """Change sequence of the `row`-th full-load row: the snapshot's binlog position, then the row.

    Every change committed after the snapshot ends at a larger binlog position, so full-load rows
    sort before it; a change already in the snapshot ended at a smaller one and sorts before them.
    Rows are numbered across all tables of one full load, so no two rows tie.
    """
    return change_seq(file_number, snapshot_position, row)


def cdc_file_name(epoch_ms: int, contract: RawContract) -> str:
    """CDC file name for a UTC instant in milliseconds: yyyymmdd-hhmmssfff.parquet."""
    when = dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).replace(microsecond=(epoch_ms % 1000) * 1000)
    stem = when.strftime(contract.cdc_name_format)
    # The contract's %f renders microseconds; DMS names carry milliseconds.
    if contract.cdc_name_format.endswith("%f"):
        stem = stem[:-3]
    return f"{stem}{contract.file_suffix}"


def cdc_name_ms(name: str, contract: RawContract) -> int | None:
    """The UTC instant (ms) a CDC file name stands for, or None when the name is not a CDC name."""
    stem = name[: -len(contract.file_suffix)] if name.endswith(contract.file_suffix) else ""
    if len(stem) != 18 or not (stem[:8] + stem[9:]).isdigit() or stem[8] != "-":
        return None
    try:
        when = dt.datetime.strptime(stem + "000", "%Y%m%d-%H%M%S%f").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(when.timestamp() * 1000)


def is_full_load_name(name: str, contract: RawContract) -> bool:
    stem = name[: -len(contract.file_suffix)] if name.endswith(contract.file_suffix) else None
    if stem is None or not stem.startswith(contract.full_load_prefix):
        return False
    digits = stem[len(contract.full_load_prefix) :]
    return len(digits) == contract.full_load_digits and all(c in "0123456789ABCDEF" for c in digits)


def is_data_file_name(name: str, contract: RawContract) -> bool:
    """A name the contract allows in a table folder (temp files and others are not data)."""
    return is_full_load_name(name, contract) or cdc_name_ms(name, contract) is not None

"""Arrow types for source columns that are not in the registry (added by ALTER TABLE ... ADD COLUMN).

Registry columns take their type from conf/tables.yaml (contract.arrow_type). A column the
registry does not know is typed from what the source says about it: information_schema during
the full load, the binlog's table-map metadata during CDC. Both paths give the same Arrow type
for the same MySQL type. Types without a natural Arrow counterpart (TIME, JSON, ENUM, SET) are
carried as strings.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
from pymysqlreplication.constants import FIELD_TYPE

_SIGNED_INT = {"tinyint": pa.int8(), "smallint": pa.int16(), "mediumint": pa.int32(), "int": pa.int32(),
               "integer": pa.int32(), "bigint": pa.int64()}  # fmt: skip
_UNSIGNED_INT = {"tinyint": pa.int16(), "smallint": pa.int32(), "mediumint": pa.int32(), "int": pa.int64(),
                 "integer": pa.int64(), "bigint": pa.decimal128(20, 0)}  # fmt: skip
_STRING_TYPES = {
    "varchar",
    "char",
    "text",
    "tinytext",
    "mediumtext",
    "longtext",
    "enum",
    "set",
    "json",
    "time",
}
_BINARY_TYPES = {"binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob"}
_BINARY_CHARSET_ID = 63


def _decimal(precision: int, scale: int) -> pa.DataType:
    return pa.decimal128(precision, scale) if precision <= 38 else pa.string()


def arrow_from_information_schema(
    data_type: str, column_type: str, precision: int | None, scale: int | None
) -> pa.DataType:
    """Arrow type of a column as information_schema.COLUMNS describes it."""
    base = data_type.lower()
    unsigned = "unsigned" in column_type.lower()
    if base in _SIGNED_INT:
        return (_UNSIGNED_INT if unsigned else _SIGNED_INT)[base]
    if base in ("decimal", "numeric"):
        return _decimal(int(precision or 10), int(scale or 0))
    if base == "float":
        return pa.float32()
    if base in ("double", "real"):
        return pa.float64()
    if base == "date":
        return pa.date32()
    if base in ("datetime", "timestamp"):
        return pa.timestamp("us")
    if base in ("year",):
        return pa.int16()
    if base == "bit":
        return pa.int64()
    if base in _BINARY_TYPES:
        return pa.binary()
    return pa.string()  # _STRING_TYPES and anything exotic


def arrow_from_binlog(column) -> pa.DataType:
    """Arrow type of a column as a binlog table-map event describes it (pymysqlreplication Column)."""
    t = column.type
    unsigned = bool(getattr(column, "unsigned", False))
    charset = getattr(column, "character_set_name", None)
    binary = charset == "binary" or getattr(column, "charset_id", None) == _BINARY_CHARSET_ID
    if t == FIELD_TYPE.TINY:
        return pa.int16() if unsigned else pa.int8()
    if t == FIELD_TYPE.SHORT:
        return pa.int32() if unsigned else pa.int16()
    if t == FIELD_TYPE.INT24:
        return pa.int32()
    if t == FIELD_TYPE.LONG:
        return pa.int64() if unsigned else pa.int32()
    if t == FIELD_TYPE.LONGLONG:
        return pa.decimal128(20, 0) if unsigned else pa.int64()
    if t == FIELD_TYPE.NEWDECIMAL:
        return _decimal(column.precision, column.decimals)
    if t == FIELD_TYPE.FLOAT:
        return pa.float32()
    if t == FIELD_TYPE.DOUBLE:
        return pa.float64()
    if t in (FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE):
        return pa.date32()
    if t in (FIELD_TYPE.DATETIME, FIELD_TYPE.DATETIME2, FIELD_TYPE.TIMESTAMP, FIELD_TYPE.TIMESTAMP2):
        return pa.timestamp("us")
    if t == FIELD_TYPE.YEAR:
        return pa.int16()
    if t == FIELD_TYPE.BIT:
        return pa.int64()
    if t in (FIELD_TYPE.VARCHAR, FIELD_TYPE.VAR_STRING, FIELD_TYPE.STRING, FIELD_TYPE.BLOB,
             FIELD_TYPE.TINY_BLOB, FIELD_TYPE.MEDIUM_BLOB, FIELD_TYPE.LONG_BLOB):  # fmt: skip
        return pa.binary() if binary else pa.string()
    return pa.string()  # TIME, JSON, ENUM, SET, GEOMETRY: carried as text


def to_arrow_value(value, dtype: pa.DataType):
    """Normalise one binlog value for an Arrow column of `dtype` (only unusual values change)."""
    if value is None:
        return None
    if pa.types.is_string(dtype):
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, (dict, list)):
            return json.dumps(value, sort_keys=True, default=str)
        if isinstance(value, (set, frozenset)):
            return ",".join(sorted(value))
        if isinstance(value, dt.timedelta):
            return _format_time(value)
        if not isinstance(value, str):
            return str(value)
        return value
    if pa.types.is_integer(dtype) and isinstance(value, str):  # BIT arrives as a bit string
        return int(value, 2)
    if pa.types.is_decimal(dtype) and isinstance(value, int):
        return Decimal(value)
    return value


def _format_time(value: dt.timedelta) -> str:
    total_us = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    hours, rest = divmod(total_us, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micros = divmod(rest, 1_000_000)
    text = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{text}.{micros:06d}" if micros else text

"""Spark schemas derived from the table registry: raw (DMS files), bronze, silver and history.

Every schema here is an output contract; nothing is inferred from data.
"""

from __future__ import annotations

from pyspark.sql import types as T

from spark_jobs.config import Column, RawContract, Table

# Lineage columns bronze adds to each change, in this order.
OP = "_op"
COMMIT_TS = "_commit_ts"
CHANGE_SEQ = "_change_seq"
SOURCE_FILE = "_source_file"
INGESTED_AT = "_ingested_at"
RUN_ID = "_run_id"
BRONZE_LINEAGE = (OP, COMMIT_TS, CHANGE_SEQ, SOURCE_FILE, INGESTED_AT, RUN_ID)

# SCD type 2 columns of silver history tables.
VALID_FROM = "valid_from"
VALID_TO = "valid_to"
IS_CURRENT = "is_current"


def spark_type(column: Column) -> T.DataType:
    """The Spark type of a registry column (MySQL COLUMN_TYPE)."""
    base, args = column.base_type, column.type_args
    if base == "int":
        return T.IntegerType()
    if base == "bigint":
        return T.LongType()
    if base == "smallint":
        return T.ShortType()
    if base == "tinyint":
        return T.ByteType()
    if base in ("varchar", "char", "text"):
        return T.StringType()
    if base == "decimal":
        precision, scale = (args + (0,))[:2] if args else (10, 0)
        return T.DecimalType(precision, scale)
    if base in ("datetime", "timestamp"):
        return T.TimestampType()
    if base == "date":
        return T.DateType()
    raise ValueError(f"column {column.name}: no Spark type for MySQL type {column.type!r}")


def source_fields(table: Table, pii_as_hash: bool = False) -> list[T.StructField]:
    fields = []
    for c in table.columns:
        dtype = T.StringType() if (pii_as_hash and c.name in table.pii) else spark_type(c)
        fields.append(T.StructField(c.name, dtype, True))
    return fields


def raw_schema(table: Table, contract: RawContract) -> T.StructType:
    """What a DMS Parquet file holds: Op, commit timestamp, change sequence, then source columns."""
    return T.StructType(
        [
            T.StructField(contract.op_column, T.StringType(), True),
            T.StructField(contract.commit_ts_column, T.StringType(), True),
            T.StructField(contract.change_seq_column, T.StringType(), True),
            *source_fields(table),
        ]
    )


def bronze_schema(table: Table) -> T.StructType:
    """Bronze: the change log as delivered, typed, plus lineage."""
    return T.StructType(
        [
            *source_fields(table),
            T.StructField(OP, T.StringType(), False),
            T.StructField(COMMIT_TS, T.TimestampType(), True),
            T.StructField(CHANGE_SEQ, T.StringType(), True),
            T.StructField(SOURCE_FILE, T.StringType(), False),
            T.StructField(INGESTED_AT, T.TimestampType(), False),
            T.StructField(RUN_ID, T.StringType(), False),
        ]
    )


def silver_schema(table: Table) -> T.StructType:
    """Silver current state: one row per key, PII hashed, plus the change that produced it."""
    return T.StructType(
        [
            *source_fields(table, pii_as_hash=True),
            T.StructField(COMMIT_TS, T.TimestampType(), True),
            T.StructField(CHANGE_SEQ, T.StringType(), True),
            T.StructField(SOURCE_FILE, T.StringType(), True),
            T.StructField(RUN_ID, T.StringType(), True),
        ]
    )


def history_schema(table: Table) -> T.StructType:
    """Silver SCD2 history: one row per key and version, valid in [valid_from, valid_to)."""
    return T.StructType(
        [
            *source_fields(table, pii_as_hash=True),
            T.StructField(VALID_FROM, T.TimestampType(), True),
            T.StructField(VALID_TO, T.TimestampType(), True),
            T.StructField(IS_CURRENT, T.BooleanType(), False),
            T.StructField(COMMIT_TS, T.TimestampType(), True),
            T.StructField(CHANGE_SEQ, T.StringType(), True),
            T.StructField(RUN_ID, T.StringType(), True),
        ]
    )


QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("table_name", T.StringType(), False),
        T.StructField("row_key", T.StringType(), True),
        T.StructField("rule", T.StringType(), False),
        T.StructField("policy", T.StringType(), False),
        T.StructField("row_json", T.StringType(), True),
        T.StructField(SOURCE_FILE, T.StringType(), True),
        T.StructField(COMMIT_TS, T.TimestampType(), True),
        T.StructField(CHANGE_SEQ, T.StringType(), True),
        T.StructField(RUN_ID, T.StringType(), False),
        T.StructField("quarantined_at", T.TimestampType(), False),
    ]
)

# One row per quarantined change a `quarantine` references rule let go once its parent landed:
# the quarantine row it answers (table, key, rule, change) and the run that applied it.
QUARANTINE_RELEASED_SCHEMA = T.StructType(
    [
        T.StructField("table_name", T.StringType(), False),
        T.StructField("row_key", T.StringType(), True),
        T.StructField("rule", T.StringType(), False),
        T.StructField(COMMIT_TS, T.TimestampType(), True),
        T.StructField(CHANGE_SEQ, T.StringType(), True),
        T.StructField(RUN_ID, T.StringType(), False),
        T.StructField("released_at", T.TimestampType(), False),
    ]
)

QUARANTINED_FILES_SCHEMA = T.StructType(
    [
        T.StructField("table_name", T.StringType(), False),
        T.StructField(SOURCE_FILE, T.StringType(), False),
        T.StructField("reason", T.StringType(), False),
        T.StructField(RUN_ID, T.StringType(), False),
        T.StructField("quarantined_at", T.TimestampType(), False),
    ]
)

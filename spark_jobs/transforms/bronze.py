"""Bronze transforms: check raw files against the raw-zone contract and type the change log."""

from __future__ import annotations

import datetime as dt
import re

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.config import Column, RawContract, Table
from spark_jobs.schemas import (
    CHANGE_SEQ,
    COMMIT_TS,
    INGESTED_AT,
    OP,
    RUN_ID,
    SOURCE_FILE,
    bronze_schema,
)

# Spark parses the contract's timestamp string yyyy-MM-dd HH:mm:ss.SSSSSS with this pattern.
COMMIT_TS_PATTERN = "yyyy-MM-dd HH:mm:ss.SSSSSS"
PROBLEM = "_problem"

# Parquet physical types a registry type may arrive as (DMS and the local replicator both
# write these); anything else would fail or silently change values on read.
_PHYSICAL = {
    "int": {"INT32"},
    "smallint": {"INT32"},
    "tinyint": {"INT32"},
    "bigint": {"INT64"},
    "varchar": {"BINARY"},
    "char": {"BINARY"},
    "text": {"BINARY"},
    "decimal": {"INT32", "INT64", "FIXED_LEN_BYTE_ARRAY", "BINARY"},
    "datetime": {"INT64", "INT96"},
    "timestamp": {"INT64", "INT96"},
    "date": {"INT32"},
}


_DECIMAL_RE = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def _column_problem(col: Column, physical: str, logical: str) -> str | None:
    allowed = _PHYSICAL[col.base_type]
    if physical not in allowed:
        return f"column {col.name}: Parquet type {physical} {logical}".rstrip() + f", expected {col.type}"
    if col.base_type == "decimal":
        precision, scale = (col.type_args + (0,))[:2]
        m = _DECIMAL_RE.match(logical)
        if not m or int(m.group(2)) != scale or int(m.group(1)) > precision:
            return f"column {col.name}: {logical or physical} does not fit {col.type}"
    if col.base_type in ("varchar", "char", "text") and logical not in ("STRING", "UTF8", ""):
        return f"column {col.name}: {logical} is not a string"
    return None


def contract_problems(footer: dict[str, tuple[str, str]], table: Table, contract: RawContract) -> list[str]:
    """Why a raw file's Parquet schema breaks the contract ([] when it does not).

    Extra columns are allowed (a source ADD COLUMN arrives before the registry learns of it);
    missing or mistyped declared columns are not.
    """
    problems = []
    for name in (contract.op_column, contract.commit_ts_column, contract.change_seq_column):
        if name not in footer:
            problems.append(f"missing contract column {name}")
        elif footer[name][0] != "BINARY":
            problems.append(f"column {name}: Parquet type {footer[name][0]}, expected a string")
    for col in table.columns:
        if col.name not in footer:
            if col.name in table.primary_key or not col.nullable:
                problems.append(f"missing column {col.name}")
            continue
        problem = _column_problem(col, *footer[col.name])
        if problem:
            problems.append(problem)
    return problems


def to_bronze(
    raw: DataFrame, table: Table, contract: RawContract, run_id: str, ingested_at: dt.datetime
) -> DataFrame:
    """Raw DMS rows (with a `_source_file` column) -> the typed bronze change log."""
    schema = bronze_schema(table)
    lineage = {
        OP: F.upper(F.trim(F.col(contract.op_column))),
        COMMIT_TS: F.to_timestamp(F.col(contract.commit_ts_column), COMMIT_TS_PATTERN),
        CHANGE_SEQ: F.col(contract.change_seq_column),
        SOURCE_FILE: F.col(SOURCE_FILE),
        INGESTED_AT: F.lit(ingested_at).cast("timestamp"),
        RUN_ID: F.lit(run_id),
    }
    return raw.select(
        *[
            (lineage[f.name] if f.name in lineage else F.col(f.name)).cast(f.dataType).alias(f.name)
            for f in schema.fields
        ]
    )


def flag_bad_rows(bronze: DataFrame, table: Table, contract: RawContract) -> DataFrame:
    """Adds `_problem`: why a change row is unusable (bad Op, unreadable commit time, null key), else null."""
    bad_op = ~F.coalesce(F.col(OP).isin(*contract.ops), F.lit(False))
    bad_ts = F.col(COMMIT_TS).isNull()
    null_key: SparkColumn = F.lit(False)
    for k in table.primary_key:
        null_key = null_key | F.col(k).isNull()
    problem = (
        F.when(bad_op, F.concat(F.lit("Op is not one of I, U, D: "), F.coalesce(F.col(OP), F.lit("null"))))
        .when(bad_ts, F.lit(f"{contract.commit_ts_column} is missing or not {COMMIT_TS_PATTERN}"))
        .when(null_key, F.lit(f"primary key {', '.join(table.primary_key)} is null"))
    )
    return bronze.withColumn(PROBLEM, problem)

"""Silver's `references` rules: the parent keys that stricter rules are judged against before a
table's MERGE, the changes a `quarantine` rule set aside whose parent has landed since, and the
count of `warn` references once every table has merged. Used by the silver job
(spark_jobs/jobs/silver.py)."""

from __future__ import annotations

import functools
import logging
import operator

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import delta_io
from spark_jobs.config import Config, Expectation, Table
from spark_jobs.schemas import CHANGE_SEQ, COMMIT_TS, RUN_ID, silver_schema
from spark_jobs.transforms.silver import MAX_LISTED_KEYS, key_predicate

log = logging.getLogger(__name__)


def is_post_merge(exp: Expectation) -> bool:
    """`warn` references are counted after every table has merged, so parents are up to date
    and tables need not wait for each other; stricter ones run before the MERGE."""
    return exp.rule == "references" and exp.policy == "warn"


def post_merge_columns(table: Table) -> list[str]:
    """The columns of the table's post-merge (`warn`) references, sorted."""
    return sorted({e.columns[0] for e in table.expectations if is_post_merge(e)})


def parent_keys(spark: SparkSession, cfg: Config, expectations) -> dict[str, DataFrame]:
    """For each table the `references` rules of `expectations` name: its keys in silver, as a
    one-column DataFrame (`_ref_key`; empty before the table's first run)."""
    refs = {}
    for exp in expectations:
        if exp.rule == "references" and exp.table not in refs:
            path = cfg.env.table_path("silver", exp.table)
            ref_key = cfg.table(exp.table).primary_key[0]
            if delta_io.exists(spark, path):
                refs[exp.table] = delta_io.read(spark, path).select(F.col(ref_key).alias("_ref_key"))
            else:
                refs[exp.table] = spark.createDataFrame([], "_ref_key int")
    return refs


# What names a quarantined change and the rule that set it aside, in the quarantine and in the
# record of the changes released from it.
RELEASE_IDENTITY = ("row_key", COMMIT_TS, CHANGE_SEQ, "rule")


def releasing_rules(table: Table) -> list[Expectation]:
    """The table's `quarantine` references rules: a change they set aside comes back once its
    parent lands (`releasable`)."""
    return [e for e in table.expectations if e.rule == "references" and e.policy == "quarantine"]


def released_path(cfg: Config) -> str:
    return cfg.env.table_path("ops", "quarantine_released")


def releasable(spark: SparkSession, cfg: Config, table: Table, quarantine: str) -> list[Row]:
    """The changes of `table` that a `quarantine` references rule set aside, whose parent row
    silver holds now and that no run has released yet: one Row per quarantine row, with its
    identity (RELEASE_IDENTITY) and the change's key columns (read from the row's JSON)."""
    rules = releasing_rules(table)
    if not rules or not delta_io.exists(spark, quarantine):
        return []
    keys = list(table.primary_key)
    fields = {f.name: f.dataType for f in silver_schema(table).fields}
    wanted = list(dict.fromkeys([*keys, *(e.columns[0] for e in rules)]))
    row_type = T.StructType([T.StructField(c, fields[c]) for c in wanted])
    held = delta_io.read(spark, quarantine).filter(
        (F.col("table_name") == table.name) & F.col("rule").isin(*[e.name for e in rules])
    )
    if delta_io.exists(spark, released_path(cfg)):
        done = (
            delta_io.read(spark, released_path(cfg))
            .filter(F.col("table_name") == table.name)
            .select(*[F.col(c).alias(f"_done{c}") for c in RELEASE_IDENTITY])
        )
        same = [F.col(c).eqNullSafe(F.col(f"_done{c}")) for c in RELEASE_IDENTITY]
        held = held.join(done, functools.reduce(operator.and_, same), "left_anti")
    parsed = held.select(*RELEASE_IDENTITY, F.from_json("row_json", row_type).alias("_row")).select(
        *RELEASE_IDENTITY, *[F.col(f"_row.{c}").alias(c) for c in wanted]
    )
    parents = parent_keys(spark, cfg, rules)
    landed = [
        parsed.filter(F.col("rule") == e.name).join(
            parents[e.table], F.col(e.columns[0]) == F.col("_ref_key"), "left_semi"
        )
        for e in rules
    ]
    return functools.reduce(DataFrame.unionByName, landed).select(*RELEASE_IDENTITY, *keys).collect()


def count_missing_references(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    run_id: str,
    rows_written: int | None = None,
    written_refs: dict[str, list] | None = None,
) -> int:
    """Rows a run wrote to a silver table whose `warn` reference has no parent row in silver.

    Only the run's own rows: older rows were counted by the runs that wrote them, and the filter
    lets Delta skip every file an incremental run did not rewrite. When the run wrote few rows
    (`rows_written`), their references are collected and looked up in each parent by a listed-key
    filter (no join, parent files skipped by key range); otherwise each rule is an anti-join.
    `written_refs` (column -> the values of the rows the run wrote, nulls left out; merge_table
    gives them) saves reading those rows back from silver.
    """
    rules = [e for e in table.expectations if is_post_merge(e)]

    def child() -> DataFrame:
        path = cfg.env.table_path("silver", table.name)
        return delta_io.read(spark, path).filter(F.col(RUN_ID) == run_id)

    listed = written_refs
    if listed is None and rows_written is not None and rows_written <= MAX_LISTED_KEYS:
        columns = post_merge_columns(table)
        rows = child().select(*columns).collect()
        listed = {c: [r[c] for r in rows if r[c] is not None] for c in columns}
    missing = 0
    for exp in rules:
        parent_path = cfg.env.table_path("silver", exp.table)
        column = exp.columns[0]
        parent_key = cfg.table(exp.table).primary_key[0]
        parent_exists = delta_io.exists(spark, parent_path)
        found = None
        if listed is not None:
            values = listed[column]
            found = _missing_listed(spark, parent_path, parent_key, values) if parent_exists else len(values)
        if found is None:
            orphans = child().filter(F.col(column).isNotNull())
            if parent_exists:
                parents = delta_io.read(spark, parent_path).select(F.col(parent_key).alias(column))
                orphans = orphans.join(parents, on=column, how="left_anti")
            found = orphans.count()
        if found:
            log.warning(
                "silver %s: %d row(s) reference a missing %s (%s)", table.name, found, exp.table, exp.name
            )
        missing += found
    return missing


def _missing_listed(spark: SparkSession, parent_path: str, parent_key: str, values: list) -> int | None:
    """How many of `values` have no parent row; None when they cannot be listed in a predicate."""
    wanted = sorted({(v,) for v in values})
    try:
        predicate = key_predicate([parent_key], wanted)
    except ValueError:
        return None
    rows = delta_io.read(spark, parent_path).filter(F.expr(predicate)).select(parent_key).collect()
    present = {r[0] for r in rows}
    return sum(1 for v in values if v not in present)

"""Writing silver tables: their layout (files by range of key) and file statistics, the SCD2
history replace, the current-state MERGE and what it is known to have written. Used by the silver
job (spark_jobs/jobs/silver.py), which decides what each run writes."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs import delta_io
from spark_jobs.config import Config, Table
from spark_jobs.schemas import OP, RUN_ID, VALID_FROM, history_schema, silver_schema
from spark_jobs.transforms.silver import (
    APPLIED,
    NEWEST,
    SET_ASIDE,
    key_condition,
    key_predicate,
    newer_than_target,
    newest_change,
    scd2_history,
    target_not_newer_than_newest,
    to_silver_rows,
)

# Rebuilt tables are written in files of about this many rows, each one range of keys
# (`spark.silver_rows_per_file` in the environment's settings overrides it).
ROWS_PER_FILE = 50_000
MAX_RECORDS_PER_FILE = "spark.sql.files.maxRecordsPerFile"


def history_path(cfg: Config, table: str) -> str:
    return cfg.env.table_path("silver", f"{table}_history")


def silver_stats(table: Table) -> dict[str, str]:
    """File statistics on what silver is filtered on: the key (MERGE, history replace, listed
    keys) and the run id (the references a run wrote)."""
    return delta_io.stats_on([*table.primary_key, RUN_ID])


def rows_per_file(cfg: Config) -> int:
    return int(cfg.env.settings.get("spark", {}).get("silver_rows_per_file", ROWS_PER_FILE))


def layout(df: DataFrame, keys: list[str], rows: int, per_file: int) -> DataFrame:
    """Files of about `per_file` rows, each holding one range of keys: a later MERGE or replace
    of a few keys then prunes (by key statistics) and rewrites only the files in range."""
    return df.repartitionByRange(max(1, -(-rows // per_file)), *keys)


def write_history(
    spark, cfg, table, changes, app_id, txn, run_id, rebuild: bool, touched=None, rows: int = 0, affected=None
) -> None:
    """Rebuild the history of every key in `changes` (which holds those keys' whole change logs)
    and of every key in `affected` (a frame of keys, default those of `changes`): a key there
    with no change in `changes` (every one set aside) has no history left.

    `rebuild`: `changes` is all of bronze; the table is replaced, laid out by key for about
    `rows` rows. `touched`: the run's touched keys, listed; their versions are then replaced in
    one overwrite that rewrites only the files holding them. Otherwise (too many keys to list)
    one MERGE upserts the rebuilt versions and deletes the stale ones.
    """
    path = history_path(cfg, table.name)
    delta_io.ensure_table(spark, path, history_schema(table), silver_stats(table))
    rebuilt = scd2_history(changes, table, run_id)
    keys = list(table.primary_key)
    if rebuild:
        delta_io.overwrite(layout(rebuilt, keys, rows, rows_per_file(cfg)), path, app_id, txn)
        return
    if touched is not None:
        delta_io.overwrite(rebuilt, path, app_id, txn, replace_where=key_predicate(keys, touched))
        return
    # Replace the affected keys' versions in one MERGE: rebuilt versions upsert, stale ones delete.
    existing = delta_io.read(spark, path)
    affected = (changes if affected is None else affected).select(*keys).distinct()
    stale = (
        existing.join(affected, on=keys, how="left_semi")
        .join(rebuilt.select(*keys, VALID_FROM), on=[*keys, VALID_FROM], how="left_anti")
        .withColumn("_delete", F.lit(True))
    )
    source = rebuilt.withColumn("_delete", F.lit(False)).unionByName(stale)
    cond = f"{key_condition(keys)} AND t.{VALID_FROM} <=> s.{VALID_FROM}"
    columns = [f.name for f in history_schema(table).fields]
    delta_io.merge_once(
        spark,
        source,
        path,
        cond,
        app_id,
        txn,
        matched_delete="s._delete",
        matched_update="NOT s._delete",
        update_set={c: f"s.{c}" for c in columns},
        not_matched_insert="NOT s._delete",
        insert_values={c: f"s.{c}" for c in columns},
        deterministic_source=True,  # built from a pinned bronze version
    )


def merged_rows(spark: SparkSession, path: str, before: int) -> int | None:
    """The rows inserted or updated by the MERGE committed right after version `before`; None
    when there is no such commit (a rerun whose MERGE was already applied commits nothing)."""
    info = delta_io.commit_info(spark, path, before + 1) or {}
    metrics = info.get("operationMetrics") or {}
    counted = ("numTargetRowsInserted", "numTargetRowsUpdated")
    if info.get("operation") != "MERGE" or any(m not in metrics for m in counted):
        return None
    return sum(int(metrics[m]) for m in counted)


def merge_wrote(spark: SparkSession, path: str, before: int, rows: int) -> bool:
    """True when the commit right after version `before` is a MERGE that inserted or updated
    `rows` rows: every row the run applies, none held back by the sequence guard (a change
    delivered again ties with the row it already wrote). No such commit: False."""
    return merged_rows(spark, path, before) == rows


def write_judged_history(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    judged: DataFrame,
    app_id: str,
    bronze_version: int,
    run_id: str,
    touched: list[tuple] | None,
    rebuild: bool = False,
    rows: int = 0,
) -> None:
    """The SCD2 history of `judged`'s keys (an SCD2 table's only), from every change no rule sets
    aside, whichever run quarantined it: the history ends in the same change as the current
    state. A key all of whose changes are set aside loses its history."""
    if table.scd != 2:
        return
    kept = judged.filter(~F.col(SET_ASIDE))
    affected = judged.select(*table.primary_key)
    write_history(spark, cfg, table, kept, app_id, bronze_version, run_id, rebuild, touched, rows, affected)


def merge_changes(
    spark: SparkSession,
    table: Table,
    judged: DataFrame,
    silver_path: str,
    touched_keys: list[tuple] | None,
    app_id: str,
    bronze_version: int,
    run_id: str,
    writes: int | None,
    rejudge: bool,
) -> bool:
    """MERGE each key's applied change (`judged`'s `_applied` rows) into the current state, a
    sequence guard keeping any row newer than every change the batch holds for its key.

    Judged by unchanged rules, a key's applied change is never older than its row in silver, and
    the guard keeps any row newer than the change itself. Re-judged (`rejudge`: the rules
    changed), a key's row may come from a change the rules now set aside, newer than its applied
    change: the guard then compares the row with the key's newest change (NEWEST), and a key
    none of whose changes applies any more is deleted.
    Given `writes` (the rows the run is to insert or update), True when the MERGE's commit
    shows it wrote exactly those (merge_wrote); False otherwise."""
    keys = list(table.primary_key)
    columns = [f.name for f in silver_schema(table).fields]
    condition = key_condition(keys)
    if touched_keys is not None:
        # A condition on the target alone lets Delta skip the files holding none of the keys.
        condition += f" AND {key_predicate(keys, touched_keys, 't')}"
    applied = to_silver_rows(judged.filter(F.col(APPLIED)), table, run_id)
    if rejudge:
        newest = judged.groupBy(*keys).agg(F.max(newest_change()).alias(NEWEST))
        source = newest.join(applied, on=keys, how="left").withColumn(OP, F.coalesce(F.col(OP), F.lit("D")))
    else:
        source = applied.withColumn(NEWEST, newest_change())
    held = target_not_newer_than_newest()
    # Newer than the row; or older, in place of a row the rules now set aside (re-judged only).
    replaces = f"({newer_than_target()} OR ({held} AND {newer_than_target('t', 's')}))"
    before = delta_io.version(spark, silver_path) if writes is not None else None
    delta_io.merge_once(
        spark,
        source,
        silver_path,
        condition,
        app_id,
        bronze_version,
        matched_delete=f"s.{OP} = 'D' AND {held}",
        matched_update=f"s.{OP} <> 'D' AND {replaces}",
        update_set={c: f"s.{c}" for c in columns},
        not_matched_insert=f"s.{OP} <> 'D'",
        insert_values={c: f"s.{c}" for c in columns},
        deterministic_source=True,  # built from a pinned bronze version
    )
    return writes is not None and merge_wrote(spark, silver_path, before, writes)

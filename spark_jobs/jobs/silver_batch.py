"""One silver batch: the bronze changes a run applies to a table and their judgement by its
expectations. Used by the silver job (spark_jobs/jobs/silver.py), which writes what they decide
(spark_jobs/jobs/silver_write.py)."""

from __future__ import annotations

import contextlib

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from spark_jobs import delta_io
from spark_jobs.config import Config, Table
from spark_jobs.jobs.silver_references import is_post_merge, parent_keys
from spark_jobs.jobs.silver_write import MAX_RECORDS_PER_FILE, rows_per_file
from spark_jobs.schemas import OP, SOURCE_FILE
from spark_jobs.session import is_small_batch, session_conf, small_batch, small_batch_rows
from spark_jobs.transforms.silver import (
    APPLIED,
    FRESH,
    MAX_LISTED_KEYS,
    NEW,
    TO_QUARANTINE,
    VIOLATIONS,
    evaluate_expectations,
    has_policy,
    judge_changes,
    key_predicate,
    with_reference_flags,
)


class ExpectationFailed(RuntimeError):
    """A `fail` expectation was broken; the message names the table, rule and keys."""


def listed_keys(rows: list[Row], keys: list[str]) -> list[tuple] | None:
    """The distinct keys of `rows`, or None when they are too many to list (more than
    MAX_LISTED_KEYS rows) or of a type SQL literals cannot carry: join them instead."""
    if len(rows) > MAX_LISTED_KEYS:
        return None
    # A null key never joins (the semi-join it replaces drops it too).
    values = sorted({v for v in (tuple(r[k] for k in keys) for r in rows) if None not in v})
    try:
        key_predicate(keys, values)
    except ValueError:
        return None  # a key type SQL literals cannot carry: join instead
    return values


def batch_changes(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    bronze_path: str,
    consumed: int,
    bronze_version: int,
    batch_mode: contextlib.ExitStack,
    file_cap: contextlib.ExitStack,
) -> tuple[DataFrame, list[tuple] | None, list[str] | None]:
    """The bronze rows a run applies; the keys they touch when those are few enough to list
    (else None); the source files bronze ingested after version `consumed` (None: every file).
    A rebuild (`consumed` < 0) applies all of bronze. An incremental run applies the whole change
    logs of the keys bronze changed after version `consumed`; it enters its file cap on
    `file_cap` and, while those keys are few, small batch mode on `batch_mode`."""
    keys = list(table.primary_key)
    bronze = delta_io.read(spark, bronze_path, bronze_version)
    if consumed < 0:
        return bronze, None, None
    # Files the MERGE and the history replace write hold at most `silver_rows_per_file` rows:
    # the file holding the newest keys, rewritten by every run with the run's new rows added,
    # would otherwise grow by them run after run, and so would every run's copy of it.
    file_cap.enter_context(session_conf(spark, {MAX_RECORDS_PER_FILE: str(rows_per_file(cfg))}))
    # A small batch until the touched keys prove otherwise.
    batch_mode.enter_context(small_batch(spark, small_batch_rows(cfg) > 0))
    touched = (
        delta_io.read_changes(spark, bronze_path, consumed + 1, bronze_version)
        .filter(F.col("_change_type") == "insert")
        .select(*keys, SOURCE_FILE)
    )
    rows = touched.limit(MAX_LISTED_KEYS + 1).collect()
    if len(rows) > MAX_LISTED_KEYS:
        touched_keys = None
        new_files = {r[0] for r in touched.select(SOURCE_FILE).distinct().collect()}
    else:
        touched_keys = listed_keys(rows, keys)
        new_files = {r[SOURCE_FILE] for r in rows}
    new_files = sorted(f for f in new_files if f is not None)
    if not is_small_batch(cfg, None if touched_keys is None else len(touched_keys)):
        batch_mode.close()  # compiled code for the rest
    if touched_keys is not None:
        # Few keys: a literal filter, so Delta skips bronze files by key range and the touched
        # rows' full change logs are read without a join.
        return bronze.filter(F.expr(key_predicate(keys, touched_keys))), touched_keys, new_files
    semi = F.broadcast(touched.select(*keys).distinct())
    return bronze.join(semi, on=keys, how="left_semi"), None, new_files


def check_batch(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    changes: DataFrame,
    new_files: list[str] | None,
    ref_columns: list[str],
) -> tuple[DataFrame, Row]:
    """Every change with its expectations evaluated and its fate marked (`judge_changes`; cached),
    and one pass of counts over it: changes read, keys applied (`applied`), changes to quarantine,
    applied rows that warn, new changes that fail and, given `ref_columns`, the rows to write
    (`_writes`) and their values of those columns (`_refs_<i>`). `new_files`: the files of this
    batch's changes (None: all). Raises ExpectationFailed, naming the rules and some keys, when a
    new change breaks a `fail` expectation."""
    keys = list(table.primary_key)
    pre = tuple(e for e in table.expectations if not is_post_merge(e))
    flagged = with_reference_flags(changes, table, parent_keys(spark, cfg, pre), pre)
    if new_files is None:
        new = F.lit(True)
    else:
        new = F.col(SOURCE_FILE).isin(new_files) if new_files else F.lit(False)
    judged = judge_changes(evaluate_expectations(flagged, table, pre), keys, new).cache()
    # The run log counts what is news to silver: a key's applied change delivered before (again
    # now, or the last applied when its new changes are set aside) is neither written nor warned
    # about again, and the MERGE's guard holds it back.
    taken = F.col(APPLIED) & F.col(FRESH)
    writes = taken & (F.col(OP) != "D")
    fails = has_policy("fail") & F.col(NEW)
    collected = [F.sum(writes.cast("long")).alias("_writes")] if ref_columns else []
    collected += [
        F.collect_list(F.when(writes, F.col(c))).alias(f"_refs_{i}") for i, c in enumerate(ref_columns)
    ]
    counts = judged.agg(
        F.count("*").alias("read"),
        F.sum(taken.cast("long")).alias("applied"),
        F.sum(F.col(TO_QUARANTINE).cast("long")).alias("quarantine"),
        F.sum((taken & has_policy("warn")).cast("long")).alias("warn"),
        F.sum(fails.cast("long")).alias("fail"),
        *collected,
    ).first()
    if any(e.policy == "fail" for e in pre) and counts["fail"]:
        failing = judged.filter(fails)
        sample = [r[keys[0]] for r in failing.select(*keys).limit(5).collect()]
        rules = sorted({v["rule"] for r in failing.select(VIOLATIONS).limit(100).collect() for v in r[0]})
        raise ExpectationFailed(f"silver {table.name}: rule(s) {', '.join(rules)} failed for keys {sample}")
    return judged, counts

"""Writing gold models: each model's layout (files by range of its scope column) and file
statistics, a refreshed scope written into a model (replaced by range, rewritten, or merged), and
the grain checks. Used by the gold job (spark_jobs/jobs/gold.py)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import delta_io
from spark_jobs.config import Config, GoldModel


class GrainError(RuntimeError):
    """A gold model holds two rows with the same unique key."""


# What the guard of a guarded write raises in the task that finds a repeated key; the driver
# turns the failed job into a GrainError.
_GUARD_MARK = "lakehouse: gold grain violated"
_GUARD_COUNT = "_lakehouse_key_rows"


def gold_path(cfg: Config, model: str) -> str:
    return cfg.env.table_path("gold", model)


def overwrite(
    spark: SparkSession,
    cfg: Config,
    df: DataFrame,
    path: str,
    model: GoldModel,
    one_task: bool = False,
    guard: bool = False,
) -> None:
    """Replace the model at `path` with `df`. `guard` (with `one_task`): the job that writes `df`
    also checks its grain, and fails before anything is committed when two rows share the model's
    unique key (GrainError, as `check_grain` names it)."""
    stats = _gold_stats(spark, path, model, df)
    guarded = guard and one_task
    writer = _writer(cfg, df, model, stats, one_task, guarded)
    try:
        writer.option("overwriteSchema", "true").save(path)
    except Exception as e:
        if not guarded or _GUARD_MARK not in str(e):
            raise
        message = grain_violation(df, model)
        raise GrainError(message or f"gold model {model.name}: grain violated in the rows written") from None


def _gold_stats(spark: SparkSession, path: str, model: GoldModel, df: DataFrame) -> dict[str, str]:
    """File statistics on a model's unique key, its scope (what a refresh replaces rows by) and
    its date columns, which analysts filter on (Athena skips files by them); none on the measures.

    Delta applies these properties when it creates the table; a table made with other ones (by an
    earlier release) gets them set first, so the files written from now on carry the statistics.
    """
    dates = [f.name for f in df.schema.fields if isinstance(f.dataType, (T.DateType, T.TimestampType))]
    stats = delta_io.stats_on([*model.unique_key, *model.scope, *dates])
    current = delta_io.table_properties(spark, path)
    if current and any(current.get(k) != v for k, v in stats.items()):
        delta_io.set_properties(spark, path, stats)
    return stats


# A model refreshed by one integer column (conf/gold.yaml `scope`) is written in files that each
# hold one range of it, of at most this many rows (`gold.rows_per_file` in the environment's
# settings overrides it). A refresh then rewrites only the files whose range holds a touched key:
# new and changed sales are recent, so a fact refresh rewrites the last files, not the table.
ROWS_PER_FILE = 250_000


def _rows_per_file(cfg: Config) -> int:
    return _gold_setting(cfg, "rows_per_file", ROWS_PER_FILE)


def _range_column(model: GoldModel, df: DataFrame) -> str | None:
    """The model's scope column when it is one integer column (the models laid out by range)."""
    if len(model.scope) != 1 or model.scope[0] not in df.columns:
        return None
    column = model.scope[0]
    return column if isinstance(df.schema[column].dataType, (T.IntegerType, T.LongType)) else None


def _writer(
    cfg: Config,
    df: DataFrame,
    model: GoldModel,
    stats: dict[str, str],
    one_task: bool = False,
    guard: bool = False,
):
    """An overwriting writer of `df` into a model, laid out by range when the model is.

    `one_task`: `df` is small; one task writes it. Sorted by the range column, its files still
    each hold one range, without the sampling job a range partitioning starts with. `guard`
    (with `one_task`): that task also fails on a repeated unique key (`_with_grain_guard`).
    """
    column = _range_column(model, df)
    if one_task:
        df = df.repartition(1)
        if guard:
            df = _with_grain_guard(df, model)
        if column is not None:
            df = df.sortWithinPartitions(column)
    elif column is not None:
        # No partition count: adaptive execution merges neighbouring ranges into files of a
        # sensible size (a small model becomes one file; a small batch has one shuffle partition
        # anyway); the writer splits them at `rows_per_file` rows, each file still one range.
        df = df.repartitionByRange(column).sortWithinPartitions(column)
    return (
        df.write.format("delta")
        .mode("overwrite")
        .option("maxRecordsPerFile", str(_rows_per_file(cfg)))
        .options(**stats)
    )


# A refresh by range names at most this many ranges of the scope column (split at the widest
# gaps between touched keys), so that Delta skips the files between them.
MAX_RANGES = 32


def range_predicate(column: str, values: list[int], max_ranges: int = MAX_RANGES) -> str:
    """A SQL predicate true for every value in `values` (ints, not empty): at most `max_ranges`
    BETWEEN ranges, split at the widest gaps between the sorted values."""
    ordered = sorted(set(values))
    gaps = sorted(range(1, len(ordered)), key=lambda i: ordered[i] - ordered[i - 1], reverse=True)
    cuts = sorted(gaps[: max(0, max_ranges - 1)])
    starts = [0, *cuts]
    ends = [*(c - 1 for c in cuts), len(ordered) - 1]
    return " OR ".join(
        f"(`{column}` BETWEEN {int(ordered[a])} AND {int(ordered[b])})"
        for a, b in zip(starts, ends, strict=True)
    )


# Below this size a model's refreshed scope is written by one overwrite rather than a MERGE.
REWRITE_BELOW_BYTES = 64 * 1024 * 1024
# From this size a model laid out by range has only the ranges holding its touched keys replaced.
REPLACE_RANGES_FROM_BYTES = 16 * 1024 * 1024


def _gold_setting(cfg: Config, key: str, default: int) -> int:
    return int(cfg.env.settings.get("gold", {}).get(key, default))


def rewrite_below_bytes(cfg: Config) -> int:
    return _gold_setting(cfg, "rewrite_below_bytes", REWRITE_BELOW_BYTES)


def replace_ranges_from_bytes(cfg: Config) -> int:
    return _gold_setting(cfg, "replace_ranges_from_bytes", REPLACE_RANGES_FROM_BYTES)


def replace_scope(
    spark: SparkSession,
    cfg: Config,
    path: str,
    rows: DataFrame,
    model: GoldModel,
    scope: DataFrame,
    values: Iterable | None = None,
    checked: set[str] | None = None,
) -> str:
    """Make the rows of `scope` in `path` equal `rows` (every row of `rows` lies in `scope`).

    `values`: the scope's values, when the scope is one column. A model laid out by ranges of an
    integer scope column, from `gold.replace_ranges_from_bytes` up, has the ranges holding them
    replaced in one commit (`replaceWhere`): the files in range are rewritten with their rows
    outside the scope and `rows`, the others stay. Otherwise a model below
    `gold.rewrite_below_bytes` is rewritten in one overwrite (its rows outside the scope, then
    `rows`), and a larger one gets a MERGE that upserts changed rows and deletes vanished ones.
    Returns which. A model rewritten in one task has its grain checked by the job that writes it
    (`overwrite`'s `guard`: a repeated key fails it and nothing is committed); its name is then
    added to `checked`, so that the caller need not read it back to check it.
    """
    size = delta_io.size_bytes(spark, path)
    column = _range_column(model, rows)
    values = [v for v in values or () if v is not None]  # a NULL key is in no range (nor scope)
    if column is not None and values and size >= replace_ranges_from_bytes(cfg):
        predicate = range_predicate(column, values)
        in_range = delta_io.read(spark, path).filter(F.expr(predicate))
        kept = in_range.join(F.broadcast(scope), on=scope.columns, how="left_anti")
        stats = _gold_stats(spark, path, model, rows)
        replaced = kept.unionByName(rows, allowMissingColumns=True)
        _writer(cfg, replaced, model, stats).option("replaceWhere", predicate).save(path)
        return "replaced by range"
    if size < rewrite_below_bytes(cfg):
        existing = delta_io.read(spark, path)
        kept = existing.join(F.broadcast(scope), on=scope.columns, how="left_anti")
        # Below the size ranges are replaced from, one task writes the model.
        one_task = size < replace_ranges_from_bytes(cfg)
        guard = one_task and checked is not None
        content = kept.unionByName(rows, allowMissingColumns=True)
        overwrite(spark, cfg, content, path, model, one_task, guard)
        if guard:
            checked.add(model.name)
        return "rewritten"
    _merge_scope(spark, path, rows, model, scope)
    return "merged"


def _merge_scope(spark: SparkSession, path: str, rows: DataFrame, model: GoldModel, scope: DataFrame) -> None:
    """Make the rows of `scope` in `path` equal `rows`: upsert changed rows, delete vanished ones."""
    keys = list(model.unique_key)
    existing = delta_io.read(spark, path).join(F.broadcast(scope), on=scope.columns, how="left_semi")
    gone = existing.select(*keys).join(rows.select(*keys), on=keys, how="left_anti")
    source = rows.withColumn("_gone", F.lit(False)).unionByName(
        gone.withColumn("_gone", F.lit(True)), allowMissingColumns=True
    )
    columns = [c for c in rows.columns]
    changed = " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in columns if c not in keys) or "false"
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(source.alias("s"), " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys))
        .whenMatchedDelete(condition="s._gone")
        .whenMatchedUpdate(condition=f"NOT s._gone AND ({changed})", set={c: f"s.`{c}`" for c in columns})
        .whenNotMatchedInsert(condition="NOT s._gone", values={c: f"s.`{c}`" for c in columns})
        .execute()
    )


def grain_violation(df: DataFrame, model: GoldModel) -> str | None:
    """What `check_grain` says of the rows of `df` when two of them share the model's unique key
    (null keys count as equal); None when none do."""
    keys = list(model.unique_key)
    dup = df.groupBy(*keys).count().filter(F.col("count") > 1).limit(1).collect()
    if not dup:
        return None
    sample = ", ".join(f"{k}={dup[0][k]!r}" for k in keys)
    return (
        f"gold model {model.name}: grain violated, {dup[0]['count']} rows share the unique key "
        f"({', '.join(keys)}) = ({sample}); expected {model.grain}"
    )


def check_grain(spark: SparkSession, path: str, model: GoldModel) -> None:
    """Fail loudly when two rows of the model share its unique key."""
    message = grain_violation(delta_io.read(spark, path), model)
    if message:
        raise GrainError(message)


def _with_grain_guard(df: DataFrame, model: GoldModel) -> DataFrame:
    """The rows of `df`, failing the job that computes them when two share the model's unique key.

    Each row counts the rows of its key (a window by the key; null keys count as equal, as in
    `check_grain`), and a count above one raises. Written in one task (`_writer`'s `one_task`),
    the window needs no shuffle: the check costs a sort in the write's own job, where a check
    after the commit costs a listing of the new table version and a job of its own.
    """
    rows = F.count(F.lit(1)).over(Window.partitionBy(*model.unique_key))
    fail = F.raise_error(F.lit(f"{_GUARD_MARK}: {model.name}"))
    return (
        df.withColumn(_GUARD_COUNT, rows)
        .filter(F.when(F.col(_GUARD_COUNT) > 1, fail).otherwise(F.lit(True)))
        .drop(_GUARD_COUNT)
    )


def union_all(parts: list[DataFrame]) -> DataFrame:
    """The rows of every DataFrame in `parts` (same columns, matched by name); `parts` is not empty."""
    return functools.reduce(DataFrame.unionByName, parts)


def check_grains(spark: SparkSession, cfg: Config, models: dict[str, GoldModel]) -> None:
    """`check_grain` for every model, in one Spark job: the rows of every model grouped by the
    model and a 64-bit hash of its unique key (cheaper to build and shuffle than the key itself).
    A model where a hash repeats gets the exact check, which raises naming the key; two distinct
    keys of one hash (a collision) pass it."""
    parts = [
        delta_io.read(spark, gold_path(cfg, name)).select(
            F.lit(name).alias("_model"), F.xxhash64(*model.unique_key).alias("_key")
        )
        for name, model in models.items()
    ]
    if not parts:
        return
    repeats = union_all(parts).groupBy("_model", "_key").count().filter(F.col("count") > 1)
    for (name,) in sorted(repeats.select("_model").distinct().collect()):
        check_grain(spark, gold_path(cfg, name), models[name])

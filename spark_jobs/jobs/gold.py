"""Gold: the star schema, rebuilt in full or refreshed from silver's change data feed.

Full (first run, or `--full-refresh gold` / any gold model name): every model is built from
silver and overwritten.

Incremental (default): the silver versions gold consumed last are kept in `<ops>/gold_progress`.
The change data feed since then names what changed: sales, their items, clients (and their
addresses), products, sales people. From that the job derives the affected scope of every model
(conf/gold.yaml `scope`): the dimension keys, the sales (including the sales of clients and
products whose history changed, as the version valid at a sale may have moved), and the dates,
months and clients those sales fall on before and after the change. Only those rows are
recomputed; rows of the scope that no longer exist are deleted. A model refreshed by one integer
column (the facts by sale_id, the dimensions by their business key) is laid out in files that each
hold one range of it; from `gold.replace_ranges_from_bytes` (environment settings; default
16 MiB) a refresh replaces only the ranges holding touched keys, in one commit, so refreshing
recent sales rewrites the last files of a fact, not the fact. Otherwise a model smaller than
`gold.rewrite_below_bytes` (default 64 MiB) takes the recomputed rows in one overwrite (its rows
outside the scope copied unchanged), a larger one by MERGE: at that size a MERGE's two passes and
its commit cost more than rewriting the table, which a MERGE touching rows spread over every date
does anyway.

Every recomputation reads silver's current state, so it is idempotent: a run killed half way
recomputes the same scope on the next run. What a rerun could not derive again once gold changed
(the sales a dimension change moves, the aggregate keys of the facts before the change) is saved
to `<ops>/gold_pending` in one write before the first model changes, tagged with the silver
versions the run refreshes to; the progress the completed run records retires it.

A model is written as soon as the models it depends on (conf/gold.yaml `depends_on`) are written
and checked; independent models are written side by side, up to `spark.table_parallelism` at once.

The grain (unique key) of every model is checked on every run; a duplicate fails the run. A model
the run writes is checked as soon as it is written, before the models that depend on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import delta_io
from spark_jobs.config import Config, GoldModel, gold_models
from spark_jobs.faults import crash_point
from spark_jobs.gold import (
    agg_client_lifetime,
    agg_daily_sales,
    agg_product_month,
    agg_sales_person_month,
    dim_client,
    dim_date,
    dim_product,
    dim_sales_person,
    fact_sales,
    fact_sales_item,
)
from spark_jobs.gold.common import VALID_FROM, restrict, version_change_bounds
from spark_jobs.parallel import table_parallelism
from spark_jobs.run_log import RunRecord
from spark_jobs.session import is_small_batch, small_batch, small_batch_rows

log = logging.getLogger(__name__)

# Silver inputs of gold: current-state tables and SCD2 histories.
SOURCES = (
    "sales",
    "sales_items",
    "sales_people",
    "clients_history",
    "client_addresses_history",
    "products_history",
)
PROGRESS_TABLE = "gold_progress"
PENDING_TABLE = "gold_pending"
PROGRESS_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType(), False),
        T.StructField("version", T.LongType(), False),
        T.StructField("run_id", T.StringType(), False),
    ]
)
# The aggregate scope a run is about to apply: one row per affected key, `kind` names the model.
PENDING_SCHEMA = T.StructType(
    [
        T.StructField("kind", T.StringType(), False),
        T.StructField("sale_date", T.DateType(), True),
        T.StructField("product_id", T.IntegerType(), True),
        T.StructField("sales_person_id", T.IntegerType(), True),
        T.StructField("month", T.DateType(), True),
        T.StructField("client_id", T.IntegerType(), True),
    ]
)
# As stored: each row tagged with the silver versions (JSON) of the run that saved it.
PENDING_STORED_SCHEMA = T.StructType(
    [*PENDING_SCHEMA.fields, T.StructField("for_versions", T.StringType(), False)]
)
AGG_SCOPES = {
    "agg_daily_sales": ("sale_date",),
    "agg_product_month": ("product_id", "month"),
    "agg_sales_person_month": ("sales_person_id", "month"),
    "agg_client_lifetime": ("client_id",),
}


class GrainError(RuntimeError):
    """A gold model holds two rows with the same unique key."""


class GoldInputError(RuntimeError):
    """A silver input of gold is missing."""


# --------------------------------------------------------------------------------------------
# Reading and writing


def _silver(spark: SparkSession, cfg: Config, name: str, version: int | None = None) -> DataFrame:
    return delta_io.read(spark, cfg.env.table_path("silver", name), version)


def _gold_path(cfg: Config, model: str) -> str:
    return cfg.env.table_path("gold", model)


def _read_progress(spark: SparkSession, cfg: Config) -> dict[str, int] | None:
    path = cfg.env.table_path("ops", PROGRESS_TABLE)
    if not delta_io.exists(spark, path):
        return None
    return {r["source"]: int(r["version"]) for r in delta_io.read(spark, path).collect()}


def _write_progress(spark: SparkSession, cfg: Config, versions: dict[str, int], run_id: str) -> None:
    rows = [(s, v, run_id) for s, v in sorted(versions.items())]
    delta_io.rows_frame(spark, rows, PROGRESS_SCHEMA).write.format("delta").mode("overwrite").options(
        **delta_io.NO_STATS
    ).save(cfg.env.table_path("ops", PROGRESS_TABLE))


def _pending_path(cfg: Config) -> str:
    return cfg.env.table_path("ops", PENDING_TABLE)


def _versions_tag(versions: dict[str, int]) -> str:
    return json.dumps(dict(sorted(versions.items())), separators=(",", ":"))


def _write_pending(spark: SparkSession, cfg: Config, rows: list[tuple], target: dict[str, int]) -> None:
    """Save the scope a run is about to apply, tagged with the silver versions it refreshes to.

    The run that completes records those versions as gold's progress, which retires the scope
    without another write: a scope is live only while progress differs from its tag.
    """
    tag = _versions_tag(target)
    delta_io.rows_frame(spark, [(*r, tag) for r in rows], PENDING_STORED_SCHEMA).write.format("delta").mode(
        "overwrite"
    ).option("overwriteSchema", "true").options(**delta_io.NO_STATS).save(_pending_path(cfg))


def _read_pending(
    spark: SparkSession, cfg: Config, progress: dict[str, int] | None = None
) -> tuple[list[tuple], bool]:
    """The live pending scope (a run that saved it has not completed), and whether the table
    holds any rows at all (retired ones included)."""
    path = _pending_path(cfg)
    if not delta_io.exists(spark, path):
        return [], False
    if progress is None:
        progress = _read_progress(spark, cfg)
    done = _versions_tag(progress) if progress is not None else None
    stored = delta_io.read(spark, path).collect()
    width = len(PENDING_SCHEMA.fields)
    live = [
        tuple(r)[:width]
        for r in stored
        # A scope saved before scopes were tagged (no tag column) is live until overwritten.
        if "for_versions" not in r.asDict() or r["for_versions"] != done
    ]
    return live, bool(stored)


def _overwrite(
    spark: SparkSession, cfg: Config, df: DataFrame, path: str, model: GoldModel, one_task: bool = False
) -> None:
    stats = _gold_stats(spark, path, model, df)
    _writer(cfg, df, model, stats, one_task).option("overwriteSchema", "true").save(path)


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


def _writer(cfg: Config, df: DataFrame, model: GoldModel, stats: dict[str, str], one_task: bool = False):
    """An overwriting writer of `df` into a model, laid out by range when the model is.

    `one_task`: `df` is small; one task writes it. Sorted by the range column, its files still
    each hold one range, without the sampling job a range partitioning starts with.
    """
    column = _range_column(model, df)
    if one_task:
        df = df.repartition(1)
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


def _replace_scope(
    spark: SparkSession,
    cfg: Config,
    path: str,
    rows: DataFrame,
    model: GoldModel,
    scope: DataFrame,
    values: Iterable | None = None,
) -> str:
    """Make the rows of `scope` in `path` equal `rows` (every row of `rows` lies in `scope`).

    `values`: the scope's values, when the scope is one column. A model laid out by ranges of an
    integer scope column, from `gold.replace_ranges_from_bytes` up, has the ranges holding them
    replaced in one commit (`replaceWhere`): the files in range are rewritten with their rows
    outside the scope and `rows`, the others stay. Otherwise a model below
    `gold.rewrite_below_bytes` is rewritten in one overwrite (its rows outside the scope, then
    `rows`), and a larger one gets a MERGE that upserts changed rows and deletes vanished ones.
    Returns which.
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
        _overwrite(spark, cfg, kept.unionByName(rows, allowMissingColumns=True), path, model, one_task)
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


def check_grain(spark: SparkSession, path: str, model: GoldModel) -> None:
    """Fail loudly when two rows of the model share its unique key."""
    keys = list(model.unique_key)
    dup = delta_io.read(spark, path).groupBy(*keys).count().filter(F.col("count") > 1).limit(1).collect()
    if dup:
        sample = ", ".join(f"{k}={dup[0][k]!r}" for k in keys)
        raise GrainError(
            f"gold model {model.name}: grain violated, {dup[0]['count']} rows share the unique key "
            f"({', '.join(keys)}) = ({sample}); expected {model.grain}"
        )


def _union(parts: list[DataFrame]) -> DataFrame:
    """The rows of every DataFrame in `parts` (same columns, matched by name); `parts` is not empty."""
    return functools.reduce(DataFrame.unionByName, parts)


def check_grains(spark: SparkSession, cfg: Config, models: dict[str, GoldModel]) -> None:
    """`check_grain` for every model, in one Spark job: the rows of every model grouped by the
    model and a 64-bit hash of its unique key (cheaper to build and shuffle than the key itself).
    A model where a hash repeats gets the exact check, which raises naming the key; two distinct
    keys of one hash (a collision) pass it."""
    parts = [
        delta_io.read(spark, _gold_path(cfg, name)).select(
            F.lit(name).alias("_model"), F.xxhash64(*model.unique_key).alias("_key")
        )
        for name, model in models.items()
    ]
    if not parts:
        return
    repeats = _union(parts).groupBy("_model", "_key").count().filter(F.col("count") > 1)
    for (name,) in sorted(repeats.select("_model").distinct().collect()):
        check_grain(spark, _gold_path(cfg, name), models[name])


# --------------------------------------------------------------------------------------------
# Writing models side by side


def waves(models: dict[str, GoldModel]) -> list[list[str]]:
    """The models in dependency waves: each wave depends only on models of earlier waves
    (`depends_on` in conf/gold.yaml), so a wave's models can be written side by side."""
    level: dict[str, int] = {}

    def depth(name: str, stack: tuple[str, ...] = ()) -> int:
        if name not in level:
            if name in stack:
                raise ValueError(f"conf/gold.yaml: models depend on each other in a cycle: {stack}")
            deps = [d for d in models[name].depends_on if d in models]
            level[name] = 1 + max((depth(d, (*stack, name)) for d in deps), default=-1)
        return level[name]

    out: list[list[str]] = []
    for name in models:
        d = depth(name)
        while len(out) <= d:
            out.append([])
        out[d].append(name)
    return [w for w in out if w]


def _dependents(models: dict[str, GoldModel], name: str) -> set[str]:
    """The models that depend on `name`, directly or through other models."""
    direct = {m for m, model in models.items() if name in model.depends_on}
    return direct.union(*(_dependents(models, m) for m in direct))


def _write_in_order(
    cfg: Config,
    models: dict[str, GoldModel],
    tasks: dict[str, Callable[[], None]],
    after: Callable[[str], None] | None = None,
) -> None:
    """Run each model's write task as soon as the models it depends on (`depends_on` in
    conf/gold.yaml) that this run writes are written and checked; up to
    `spark.table_parallelism` tasks run at once (most of a small model's time is driver-side).

    `after(name)` runs in the same worker once a model's task is done (its grain check). After a
    failure no further task starts; the running ones finish, then the first error is raised.
    """
    workers = table_parallelism(cfg)
    order = [n for wave in waves(models) for n in wave if n in tasks]  # dependencies first
    needs = {n: {d for d in models[n].depends_on if d in tasks} for n in order}
    # Of the models ready to start, those more models wait on go first (dim_client before dim_date).
    waited_on = {n: len(_dependents(models, n)) for n in order}
    order.sort(key=lambda n: -waited_on[n])
    order = [n for wave in waves(models) for n in order if n in wave]

    def task(name: str) -> None:
        crash_point(f"gold:before_model:{name}")
        tasks[name]()
        if after is not None:
            after(name)

    if workers == 1 or len(order) <= 1:
        for name in order:
            task(name)
        return
    waiting, running, done, errors = list(order), {}, set(), []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gold") as pool:
        while running or (waiting and not errors):
            for name in [n for n in waiting if needs[n] <= done] if not errors else []:
                if len(running) == workers:
                    break
                waiting.remove(name)
                running[pool.submit(task, name)] = name
            if not running:  # cannot happen with acyclic dependencies; never wait on nothing
                raise RuntimeError(f"gold: models {waiting} wait on models that are not written")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                if future.exception() is not None:
                    errors.append(future.exception())
                else:
                    done.add(name)
    if errors:
        raise errors[0]


# --------------------------------------------------------------------------------------------
# Full build


def _build_all(
    spark: SparkSession,
    cfg: Config,
    models: dict[str, GoldModel],
    records: dict,
    after: Callable[[str], None],
) -> None:
    sales = _silver(spark, cfg, "sales")
    items = _silver(spark, cfg, "sales_items")
    built = {
        "dim_date": lambda: dim_date.build(sales),
        "dim_sales_person": lambda: dim_sales_person.build(_silver(spark, cfg, "sales_people")),
        "dim_product": lambda: dim_product.build(_silver(spark, cfg, "products_history")),
        "dim_client": lambda: dim_client.build(
            _silver(spark, cfg, "clients_history"), _silver(spark, cfg, "client_addresses_history")
        ),
        "fact_sales_item": lambda: fact_sales_item.build(
            items, sales, gold("dim_client"), gold("dim_product")
        ),
        "fact_sales": lambda: fact_sales.build(sales, items, gold("dim_client")),
        "agg_daily_sales": lambda: agg_daily_sales.build(gold("fact_sales")),
        "agg_product_month": lambda: agg_product_month.build(gold("fact_sales_item")),
        "agg_sales_person_month": lambda: agg_sales_person_month.build(gold("fact_sales")),
        "agg_client_lifetime": lambda: agg_client_lifetime.build(gold("fact_sales")),
    }

    def gold(name: str) -> DataFrame:
        return delta_io.read(spark, _gold_path(cfg, name))

    def build(name: str) -> None:
        _overwrite(spark, cfg, built[name](), _gold_path(cfg, name), models[name])
        records[name].message = "full rebuild"

    _write_in_order(cfg, models, {name: (lambda n=name: build(n)) for name in models}, after)


# --------------------------------------------------------------------------------------------
# Incremental


def _aggregate_keys(touched_sales: DataFrame, touched_items: DataFrame) -> set[tuple]:
    """The aggregate rows the touched facts fall on, as PENDING_SCHEMA tuples, in one Spark job.

    Spark derives the dates and months (in the session's time zone, as the models do); the row
    of each aggregate is formed here from the few touched facts.
    """
    sold = F.to_date("sold_at")
    none = F.lit(None).cast("int")
    facts = touched_sales.select(
        F.lit(True).alias("_sale"),
        F.col("client_id").cast("int").alias("client_id"),
        F.col("sales_person_id").cast("int").alias("sales_person_id"),
        none.alias("product_id"),
        sold.alias("sale_date"),
        F.trunc(sold, "MM").alias("month"),
    ).unionByName(
        touched_items.select(
            F.lit(False).alias("_sale"),
            none.alias("client_id"),
            none.alias("sales_person_id"),
            F.col("product_id").cast("int").alias("product_id"),
            F.lit(None).cast("date").alias("sale_date"),
            F.trunc(sold, "MM").alias("month"),
        )
    )
    keys: set[tuple] = set()
    # kind, sale_date, product_id, sales_person_id, month, client_id (PENDING_SCHEMA)
    for sale, client, person, product, day, month in facts.collect():
        if sale:
            keys.add(("agg_daily_sales", day, None, None, None, None))
            keys.add(("agg_sales_person_month", None, None, person, month, None))
            keys.add(("agg_client_lifetime", None, None, None, None, client))
        else:
            keys.add(("agg_product_month", None, product, None, month, None))
    return keys


def _changed_ids(
    spark: SparkSession, cfg: Config, wanted: dict[str, tuple[str, str]], before: dict, now: dict
) -> dict[str, set[int]]:
    """The ids each silver change data feed names since gold's progress, in one Spark job.

    `wanted`: label -> (silver table, id column). Returns label -> ids (empty when unchanged).
    """
    parts = []
    for label, (source, column) in wanted.items():
        since, until = before.get(source, -1), now[source]
        if until <= since:
            continue
        changes = delta_io.read_changes(spark, cfg.env.table_path("silver", source), since + 1, until)
        parts.append(changes.select(F.lit(label).alias("_label"), F.col(column).cast("int").alias("_id")))
    found: dict[str, set[int]] = {label: set() for label in wanted}
    if parts:
        for label, key in _union(parts).filter(F.col("_id").isNotNull()).distinct().collect():
            found[label].add(key)
    return found


def _ids_frame(spark: SparkSession, column: str, ids: set[int]) -> DataFrame:
    schema = T.StructType([T.StructField(column, T.IntegerType())])
    return scope_frame(spark, schema, [(int(i),) for i in sorted(ids)])


# Up to this many rows a scope frame is an inline table (SQL VALUES); more are parsed too slowly.
MAX_INLINE_ROWS = 10_000


def _sql_literal(value) -> str | None:
    """`value` as a SQL literal (ints, dates, None); None when it is of another type."""
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return f"DATE'{value.isoformat()}'"
    return None


def scope_frame(spark: SparkSession, schema: T.StructType, rows: list[tuple]) -> DataFrame:
    """A small frame of scope keys (`rows` of ints, dates and nulls in `schema`'s order).

    Up to MAX_INLINE_ROWS rows it is an inline table: a local relation, which a broadcast join
    takes from the driver. A frame made from Python rows is an RDD that every query using it
    reads in a task, about 0.2 s more per broadcast of a few thousand keys on two cores. More
    rows, or values of other types, take that way.
    """
    literals = [[_sql_literal(v) for v in row] for row in rows]
    if not rows or len(rows) > MAX_INLINE_ROWS or any(v is None for row in literals for v in row):
        return delta_io.rows_frame(spark, rows, schema)
    columns = ", ".join(
        f"CAST(col{i} AS {f.dataType.simpleString()}) AS `{f.name}`" for i, f in enumerate(schema.fields, 1)
    )
    values = ", ".join(f"({', '.join(row)})" for row in literals)
    return spark.sql(f"SELECT {columns} FROM VALUES {values}")


# Pending rows naming the facts to refresh after a dimension's version starts moved:
# kind, sale_date (facts sold on or after it; None: all of the key's facts) and the key.
FACT_BOUND_KINDS = {"dim_client": "facts_from:client", "dim_product": "facts_from:product"}


def _version_starts(dim: DataFrame, column: str) -> dict[int, set]:
    starts: dict[int, set] = {}
    for key, start in dim.select(column, VALID_FROM).collect():
        starts.setdefault(key, set()).add(start)
    return starts


def _bound_rows(dim: str, bounds: dict) -> list[tuple]:
    """Pending rows for `version_change_bounds`' result. The day before the bound's date is
    kept: conservative whatever the Python process's time zone, and a day more costs little."""
    kind = FACT_BOUND_KINDS[dim]
    rows = []
    for key, at in bounds.items():
        day = None if at is None else at.date() - dt.timedelta(days=1)
        client, product = (key, None) if dim == "dim_client" else (None, key)
        rows.append((kind, day, product, None, None, client))
    return rows


def _sales_from_bounds(spark: SparkSession, pending: list[tuple], sales: DataFrame, items: DataFrame) -> set:
    """The sales whose client or product version may have moved (pending `facts_from` rows),
    found in one Spark job."""
    names = PENDING_SCHEMA.fieldNames()
    hits = []
    for kind, column in (("facts_from:client", "client_id"), ("facts_from:product", "product_id")):
        rows = [(r[names.index(column)], r[names.index("sale_date")]) for r in pending if r[0] == kind]
        if not rows:
            continue
        schema = T.StructType([T.StructField(column, T.IntegerType()), T.StructField("_from", T.DateType())])
        bounds = scope_frame(spark, schema, rows)
        facts = sales.select(F.col("id").alias("sale_id"), "client_id", "sold_at")
        if column == "product_id":
            facts = items.select("sale_id", "product_id").join(facts.drop("client_id"), on="sale_id")
        hit = facts.join(F.broadcast(bounds), on=column).filter(
            F.col("_from").isNull() | (F.to_date("sold_at") >= F.col("_from"))
        )
        hits.append(hit.select("sale_id"))
    if not hits:
        return set()
    return {r[0] for r in _union(hits).distinct().collect()}


def _refresh(
    spark: SparkSession,
    cfg: Config,
    models: dict[str, GoldModel],
    before: dict[str, int],
    now: dict[str, int],
    records: dict,
    batch_mode: contextlib.ExitStack,
    after: Callable[[str], None],
) -> None:
    """Recompute the affected scope of every model; `after(name)` follows each model's write.

    `spark` runs as a small batch (session.small_batch) while the changed ids are found, and on
    when they are few (`batch_mode` holds it; closing it restores the session's conf).

    Everything a rerun could not derive again once gold changed (the sales a dimension change
    moves, the aggregate keys of the facts before the change) is worked out first and saved in
    one write to `gold_pending`, before the first model changes.
    """
    batch_mode.enter_context(small_batch(spark, small_batch_rows(cfg) > 0))
    sales = _silver(spark, cfg, "sales")
    items = _silver(spark, cfg, "sales_items")

    def gold(name: str) -> DataFrame:
        return delta_io.read(spark, _gold_path(cfg, name))

    def silver(name: str) -> DataFrame:
        return _silver(spark, cfg, name)

    changed = _changed_ids(
        spark,
        cfg,
        {
            "people": ("sales_people", "id"),
            "products": ("products_history", "id"),
            "clients": ("clients_history", "id"),
            "addresses": ("client_addresses_history", "client_id"),
            "sales": ("sales", "id"),
            "items": ("sales_items", "sale_id"),
        },
        before,
        now,
    )
    people, products = changed["people"], changed["products"]
    clients = changed["clients"] | changed["addresses"]
    sale_ids = changed["sales"] | changed["items"]
    if not is_small_batch(cfg, sum(len(ids) for ids in changed.values())):
        batch_mode.close()  # compiled code for the rest

    # Dimensions: rebuild the changed keys' versions. Where a client's or product's version
    # starts moved, the facts from the earliest moved start on may take another version.
    dims = (
        (
            "dim_sales_person",
            people,
            "sales_person_id",
            lambda s: dim_sales_person.build(silver("sales_people"), s),
        ),
        ("dim_product", products, "product_id", lambda s: dim_product.build(silver("products_history"), s)),
        (
            "dim_client",
            clients,
            "client_id",
            lambda s: dim_client.build(silver("clients_history"), silver("client_addresses_history"), s),
        ),
    )
    pending, stored = _read_pending(spark, cfg, before)
    rebuilt = []
    for name, ids, column, build in dims:
        if not ids:
            continue
        scope = _ids_frame(spark, column, ids)
        rows = build(scope).cache()
        rebuilt.append((name, ids, scope, rows))
        if name in FACT_BOUND_KINDS:
            old = gold(name).join(F.broadcast(scope), on=column, how="left_semi")
            bounds = version_change_bounds(_version_starts(old, column), _version_starts(rows, column))
            pending = sorted(set(pending) | set(_bound_rows(name, bounds)), key=repr)
    sale_ids |= _sales_from_bounds(spark, pending, sales, items)

    # The aggregate rows the touched sales fall on, before and after the change. Computed from
    # silver and the facts as they are, before any model is written.
    fact_scope = _ids_frame(spark, "sale_id", sale_ids) if sale_ids else None
    if fact_scope is not None:
        now_sales = restrict(sales.withColumnRenamed("id", "sale_id"), fact_scope)
        touched_sales = now_sales.select("client_id", "sales_person_id", "sold_at").unionByName(
            gold("fact_sales")
            .join(fact_scope, "sale_id", "left_semi")
            .select("client_id", "sales_person_id", "sold_at")
        )
        touched_items = (
            restrict(items, fact_scope)
            .select("sale_id", "product_id")
            .join(now_sales.select("sale_id", "sold_at"), on="sale_id")  # as fact_sales_item joins
            .unionByName(
                gold("fact_sales_item")
                .join(fact_scope, "sale_id", "left_semi")
                .select("sale_id", "product_id", "sold_at")
            )
        )
        pending = sorted(set(pending) | _aggregate_keys(touched_sales, touched_items), key=repr)
    if pending or stored:  # an empty scope replaces retired rows, once
        _write_pending(spark, cfg, pending, now)

    tasks: dict[str, Callable[[], None]] = {}

    def write_dim(name: str, ids: set, scope: DataFrame, rows: DataFrame) -> None:
        how = _replace_scope(spark, cfg, _gold_path(cfg, name), rows, models[name], scope, ids)
        rows.unpersist()
        records[name].rows_read = len(ids)
        records[name].message = f"{len(ids)} keys refreshed ({how})"

    for name, ids, scope, rows in rebuilt:
        tasks[name] = lambda a=(name, ids, scope, rows): write_dim(*a)

    def write_dim_date() -> None:
        # Every day from the first sale to the last: it changes with that range only.
        lo_hi = sales.agg(F.to_date(F.min("sold_at")), F.to_date(F.max("sold_at"))).first()
        have = gold("dim_date").agg(F.min("date"), F.max("date"), F.count("*")).first()
        span = (lo_hi[1] - lo_hi[0]).days + 1 if lo_hi[0] is not None else 0
        if (have[0], have[1], have[2]) != ((lo_hi[0], lo_hi[1], span) if span else (None, None, 0)):
            _overwrite(spark, cfg, dim_date.build(sales), _gold_path(cfg, "dim_date"), models["dim_date"])
            records["dim_date"].message = "calendar range changed"

    tasks["dim_date"] = write_dim_date

    # Facts, against the dimensions written before them (read when the task runs).
    facts = {
        "fact_sales_item": lambda: fact_sales_item.build(
            items, sales, gold("dim_client"), gold("dim_product"), fact_scope
        ),
        "fact_sales": lambda: fact_sales.build(sales, items, gold("dim_client"), fact_scope),
    }

    def write_fact(name: str) -> None:
        rows = facts[name]().cache()  # a MERGE reads it twice
        how = _replace_scope(spark, cfg, _gold_path(cfg, name), rows, models[name], fact_scope, sale_ids)
        rows.unpersist()
        records[name].rows_read = len(sale_ids)
        records[name].message = f"{len(sale_ids)} sales refreshed ({how})"

    if fact_scope is not None:
        for name in facts:
            tasks[name] = lambda n=name: write_fact(n)

    builders = {
        "agg_daily_sales": lambda s: agg_daily_sales.build(gold("fact_sales"), s),
        "agg_product_month": lambda s: agg_product_month.build(gold("fact_sales_item"), s),
        "agg_sales_person_month": lambda s: agg_sales_person_month.build(gold("fact_sales"), s),
        "agg_client_lifetime": lambda s: agg_client_lifetime.build(gold("fact_sales"), s),
    }

    def write_agg(name: str, rows: list[tuple]) -> None:
        fields = [PENDING_SCHEMA[c] for c in AGG_SCOPES[name]]
        scope = scope_frame(spark, T.StructType(fields), rows)
        values = [r[0] for r in rows] if len(fields) == 1 else None
        path = _gold_path(cfg, name)
        how = _replace_scope(spark, cfg, path, builders[name](scope), models[name], scope, values)
        records[name].rows_read = len(rows)
        records[name].message = f"{len(rows)} keys refreshed ({how})"

    names = PENDING_SCHEMA.fieldNames()
    for name, columns in AGG_SCOPES.items():
        wanted = {tuple(r[names.index(c)] for c in columns) for r in pending if r[0] == name}
        if wanted:
            tasks[name] = lambda a=(name, wanted): write_agg(a[0], sorted(a[1], key=repr))

    _write_in_order(cfg, models, tasks, after)
    # No clearing write: the progress recorded next retires the pending scope (see _write_pending).


# --------------------------------------------------------------------------------------------
# Entry point


def run(
    spark: SparkSession, cfg: Config, run_id: str, full_refresh: set[str] | frozenset = frozenset()
) -> list[RunRecord]:
    """Refresh gold; returns one run record per model."""
    models = gold_models(cfg)
    now = {}
    for source in SOURCES:
        version = delta_io.version(spark, cfg.env.table_path("silver", source))
        if version is None:
            path = cfg.env.table_path("silver", source)
            raise GoldInputError(f"gold needs silver table {source} at {path}: run silver first")
        now[source] = version
    before = _read_progress(spark, cfg)
    missing = [m for m in models if not delta_io.exists(spark, _gold_path(cfg, m))]
    rebuild = bool(set(full_refresh) & ({"gold"} | set(models))) or before is None or bool(missing)
    records = {m: RunRecord(run_id=run_id, job="gold", table_name=m) for m in models}

    def versions_now() -> dict[str, int | None]:
        return {m: delta_io.version(spark, _gold_path(cfg, m)) for m in models}

    versions_before = versions_now()

    # The grain of a model written by this run is checked in its write task, beside the other
    # models being written; every other model's after the writes, all in one Spark job.
    def check_written(name: str) -> None:
        if delta_io.version(spark, _gold_path(cfg, name)) != versions_before[name]:
            check_grains(spark, cfg, {name: models[name]})

    # A small refresh stays a small batch through its grain checks.
    with contextlib.ExitStack() as batch_mode:
        if rebuild:
            log.info(
                "gold: full rebuild (%s)",
                "requested" if full_refresh else f"missing: {missing or 'progress'}",
            )
            _build_all(spark, cfg, models, records, check_written)
            if _read_pending(spark, cfg, before or {})[1]:
                _write_pending(spark, cfg, [], now)  # a rebuild leaves no scope behind
        elif before != now:
            _refresh(spark, cfg, models, before, now, records, batch_mode, check_written)
        versions_after = versions_now()
        unwritten = {m: model for m, model in models.items() if versions_after[m] == versions_before[m]}
        check_grains(spark, cfg, unwritten)
    changed = rebuild or before != now

    for name in models:
        path = _gold_path(cfg, name)
        version = versions_after[name]
        r = records[name]
        r.target_version = version
        r.source_version_from = min(before.values()) if before else None
        r.source_version_to = max(now.values())
        wrote = version != versions_before[name]
        r.rows_written = delta_io.read(spark, path).count() if rebuild else None
        r.finish("ok" if wrote else "noop")
    if changed:
        crash_point("gold:before_progress")
        _write_progress(spark, cfg, now, run_id)
    return list(records.values())

"""What an incremental gold run refreshes, and the bookkeeping a rerun finds it again by.

Gold's progress (`<ops>/gold_progress`: the silver versions gold consumed last) and the pending
scope (`<ops>/gold_pending`: what a run could not derive again once gold changed, saved before the
first model changes); the ids silver's change data feed names since the progress, the sales a
dimension's version change moves, the aggregate keys touched facts fall on, and the small scope
frames the models are restricted by. Used by the gold job (spark_jobs/jobs/gold.py).
"""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import delta_io
from spark_jobs.config import Config
from spark_jobs.gold.common import VALID_FROM
from spark_jobs.jobs.gold_write import union_all

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


def read_progress(spark: SparkSession, cfg: Config) -> dict[str, int] | None:
    path = cfg.env.table_path("ops", PROGRESS_TABLE)
    if not delta_io.exists(spark, path):
        return None
    return {r["source"]: int(r["version"]) for r in delta_io.read(spark, path).collect()}


def write_progress(spark: SparkSession, cfg: Config, versions: dict[str, int], run_id: str) -> None:
    rows = [(s, v, run_id) for s, v in sorted(versions.items())]
    delta_io.rows_frame(spark, rows, PROGRESS_SCHEMA).write.format("delta").mode("overwrite").options(
        **delta_io.NO_STATS
    ).save(cfg.env.table_path("ops", PROGRESS_TABLE))


def _pending_path(cfg: Config) -> str:
    return cfg.env.table_path("ops", PENDING_TABLE)


def _versions_tag(versions: dict[str, int]) -> str:
    return json.dumps(dict(sorted(versions.items())), separators=(",", ":"))


def write_pending(spark: SparkSession, cfg: Config, rows: list[tuple], target: dict[str, int]) -> None:
    """Save the scope a run is about to apply, tagged with the silver versions it refreshes to.

    The run that completes records those versions as gold's progress, which retires the scope
    without another write: a scope is live only while progress differs from its tag.
    """
    tag = _versions_tag(target)
    delta_io.rows_frame(spark, [(*r, tag) for r in rows], PENDING_STORED_SCHEMA).write.format("delta").mode(
        "overwrite"
    ).option("overwriteSchema", "true").options(**delta_io.NO_STATS).save(_pending_path(cfg))


def read_pending(
    spark: SparkSession, cfg: Config, progress: dict[str, int] | None = None
) -> tuple[list[tuple], bool]:
    """The live pending scope (a run that saved it has not completed), and whether the table
    holds any rows at all (retired ones included)."""
    path = _pending_path(cfg)
    if not delta_io.exists(spark, path):
        return [], False
    if progress is None:
        progress = read_progress(spark, cfg)
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


def aggregate_keys(touched_sales: DataFrame, touched_items: DataFrame) -> set[tuple]:
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


def changed_ids(
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
        for label, key in union_all(parts).filter(F.col("_id").isNotNull()).distinct().collect():
            found[label].add(key)
    return found


def ids_frame(spark: SparkSession, column: str, ids: set[int]) -> DataFrame:
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


def version_starts(dim: DataFrame, column: str) -> dict[int, set]:
    starts: dict[int, set] = {}
    for key, start in dim.select(column, VALID_FROM).collect():
        starts.setdefault(key, set()).add(start)
    return starts


def bound_rows(dim: str, bounds: dict) -> list[tuple]:
    """Pending rows for `version_change_bounds`' result. The day before the bound's date is
    kept: conservative whatever the Python process's time zone, and a day more costs little."""
    kind = FACT_BOUND_KINDS[dim]
    rows = []
    for key, at in bounds.items():
        day = None if at is None else at.date() - dt.timedelta(days=1)
        client, product = (key, None) if dim == "dim_client" else (None, key)
        rows.append((kind, day, product, None, None, client))
    return rows


def sales_from_bounds(spark: SparkSession, pending: list[tuple], sales: DataFrame, items: DataFrame) -> set:
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
    return {r[0] for r in union_all(hits).distinct().collect()}

"""Gold's incremental refresh: from silver's changes to one write task per model that changed.

`gold.run` calls `refresh_tasks` when silver moved since gold's last run and writes the tasks it
returns in dependency order. The scope (the changed keys, the sales a moved dimension version
reaches, the aggregate keys before and after the change) is derived here, from silver and the
models as they are, and saved to `gold_pending` before any task runs; what each model recomputes
for that scope is in its module under `spark_jobs/gold`, how it is written in `gold_write`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import delta_io
from spark_jobs.config import Config, GoldModel
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
from spark_jobs.gold.common import restrict, version_change_bounds
from spark_jobs.jobs.gold_scope import (
    AGG_SCOPES,
    FACT_BOUND_KINDS,
    PENDING_SCHEMA,
    aggregate_keys,
    bound_rows,
    changed_ids,
    ids_frame,
    read_pending,
    sales_from_bounds,
    scope_frame,
    version_starts,
    write_pending,
)
from spark_jobs.jobs.gold_write import gold_path, overwrite, replace_scope
from spark_jobs.session import is_small_batch, small_batch, small_batch_rows

# The silver changes gold follows: kind -> (silver table, the column naming the changed key).
CHANGE_SOURCES = {
    "people": ("sales_people", "id"),
    "products": ("products_history", "id"),
    "clients": ("clients_history", "id"),
    "addresses": ("client_addresses_history", "client_id"),
    "sales": ("sales", "id"),
    "items": ("sales_items", "sale_id"),
}

Task = Callable[[], None]


@dataclass
class _Refresh:
    """What every step of one refresh reads: the session, the models, silver's sales and items."""

    spark: SparkSession
    cfg: Config
    models: dict[str, GoldModel]
    records: dict
    sales: DataFrame
    items: DataFrame
    # The models whose grain the job writing them checked (`replace_scope`'s `checked`).
    checked: set[str]

    def gold(self, name: str) -> DataFrame:
        return delta_io.read(self.spark, gold_path(self.cfg, name))

    def silver(self, name: str) -> DataFrame:
        return read_silver(self.spark, self.cfg, name)

    def replace(self, name: str, rows: DataFrame, scope: DataFrame | None, keys) -> str:
        path = gold_path(self.cfg, name)
        return replace_scope(self.spark, self.cfg, path, rows, self.models[name], scope, keys, self.checked)


def refresh_tasks(
    spark: SparkSession,
    cfg: Config,
    models: dict[str, GoldModel],
    before: dict[str, int],
    now: dict[str, int],
    records: dict,
    batch_mode: contextlib.ExitStack,
    checked: set[str],
) -> dict[str, Task]:
    """The write task of every model the changes since `before` reach, by model name.

    `spark` runs as a small batch (session.small_batch) while the changed ids are found, and on
    when they are few (`batch_mode` holds it; closing it restores the session's conf).

    Everything a rerun could not derive again once gold changed (the sales a dimension change
    moves, the aggregate keys of the facts before the change) is worked out first and saved in
    one write to `gold_pending`, before the first task runs. No clearing write follows the
    tasks: the progress `gold.run` records next retires the pending scope.

    `checked`: the tasks add the name of each model whose grain the job writing it checked.
    """
    batch_mode.enter_context(small_batch(spark, small_batch_rows(cfg) > 0))
    r = _Refresh(
        spark,
        cfg,
        models,
        records,
        read_silver(spark, cfg, "sales"),
        read_silver(spark, cfg, "sales_items"),
        checked,
    )
    changed = changed_ids(spark, cfg, CHANGE_SOURCES, before, now)
    if not is_small_batch(cfg, sum(len(ids) for ids in changed.values())):
        batch_mode.close()  # compiled code for the rest

    pending, stored = read_pending(spark, cfg, before)
    rebuilt, bounds = _rebuild_dimensions(r, changed)
    pending = sorted(set(pending) | bounds, key=repr)
    sale_ids = changed["sales"] | changed["items"] | sales_from_bounds(spark, pending, r.sales, r.items)
    fact_scope = ids_frame(spark, "sale_id", sale_ids) if sale_ids else None
    if fact_scope is not None:
        pending = sorted(set(pending) | _touched_aggregates(r, fact_scope), key=repr)
    if pending or stored:  # an empty scope replaces retired rows, once
        write_pending(spark, cfg, pending, now)

    tasks = {name: _dimension_task(r, name, *rebuild) for name, *rebuild in rebuilt}
    tasks["dim_date"] = lambda: _write_dim_date(r)
    if fact_scope is not None:
        tasks.update(_fact_tasks(r, fact_scope, sale_ids))
    tasks.update(_aggregate_tasks(r, pending))
    return tasks


def read_silver(spark: SparkSession, cfg: Config, name: str) -> DataFrame:
    """A silver table as it is now."""
    return delta_io.read(spark, cfg.env.table_path("silver", name))


# --------------------------------------------------------------------------------------------
# Scope


def _rebuild_dimensions(r: _Refresh, changed: dict[str, set]) -> tuple[list[tuple], set[tuple]]:
    """The changed keys' rows of each dimension, cached, as (name, ids, scope, rows); and the
    pending rows of the version starts that moved (from the earliest moved start on, a fact may
    take another version of a client or product)."""
    builds = (
        (
            "dim_sales_person",
            changed["people"],
            "sales_person_id",
            lambda s: dim_sales_person.build(r.silver("sales_people"), s),
        ),
        (
            "dim_product",
            changed["products"],
            "product_id",
            lambda s: dim_product.build(r.silver("products_history"), s),
        ),
        (
            "dim_client",
            changed["clients"] | changed["addresses"],
            "client_id",
            lambda s: dim_client.build(r.silver("clients_history"), r.silver("client_addresses_history"), s),
        ),
    )
    rebuilt, bounds = [], set()
    for name, ids, column, build in builds:
        if not ids:
            continue
        scope = ids_frame(r.spark, column, ids)
        rows = build(scope).cache()
        rebuilt.append((name, ids, scope, rows))
        if name in FACT_BOUND_KINDS:
            old = r.gold(name).join(F.broadcast(scope), on=column, how="left_semi")
            moved = version_change_bounds(version_starts(old, column), version_starts(rows, column))
            bounds |= set(bound_rows(name, moved))
    return rebuilt, bounds


def _touched_aggregates(r: _Refresh, fact_scope: DataFrame) -> set[tuple]:
    """The aggregate keys the sales in `fact_scope` fall on, before the change (the facts as they
    are) and after it (silver), as pending rows."""
    now_sales = restrict(r.sales.withColumnRenamed("id", "sale_id"), fact_scope)
    touched_sales = now_sales.select("client_id", "sales_person_id", "sold_at").unionByName(
        r.gold("fact_sales")
        .join(fact_scope, "sale_id", "left_semi")
        .select("client_id", "sales_person_id", "sold_at")
    )
    touched_items = (
        restrict(r.items, fact_scope)
        .select("sale_id", "product_id")
        .join(now_sales.select("sale_id", "sold_at"), on="sale_id")  # as fact_sales_item joins
        .unionByName(
            r.gold("fact_sales_item")
            .join(fact_scope, "sale_id", "left_semi")
            .select("sale_id", "product_id", "sold_at")
        )
    )
    return aggregate_keys(touched_sales, touched_items)


# --------------------------------------------------------------------------------------------
# Write tasks


def _dimension_task(r: _Refresh, name: str, ids: set, scope: DataFrame, rows: DataFrame) -> Task:
    def write() -> None:
        how = r.replace(name, rows, scope, ids)
        rows.unpersist()
        r.records[name].rows_read = len(ids)
        r.records[name].message = f"{len(ids)} keys refreshed ({how})"

    return write


def _write_dim_date(r: _Refresh) -> None:
    """Every day from the first sale to the last: it changes with that range only."""
    lo_hi = r.sales.agg(F.to_date(F.min("sold_at")), F.to_date(F.max("sold_at"))).first()
    have = r.gold("dim_date").agg(F.min("date"), F.max("date"), F.count("*")).first()
    span = (lo_hi[1] - lo_hi[0]).days + 1 if lo_hi[0] is not None else 0
    if (have[0], have[1], have[2]) != ((lo_hi[0], lo_hi[1], span) if span else (None, None, 0)):
        # A day a row: a few thousand rows, written in one task that also checks the grain.
        calendar = dim_date.build(r.sales)
        overwrite(r.spark, r.cfg, calendar, gold_path(r.cfg, "dim_date"), r.models["dim_date"], True, True)
        r.checked.add("dim_date")
        r.records["dim_date"].message = "calendar range changed"


def _fact_tasks(r: _Refresh, fact_scope: DataFrame, sale_ids: set) -> dict[str, Task]:
    """The facts' tasks, each built against the dimensions written before it runs."""
    builds = {
        "fact_sales_item": lambda: fact_sales_item.build(
            r.items, r.sales, r.gold("dim_client"), r.gold("dim_product"), fact_scope
        ),
        "fact_sales": lambda: fact_sales.build(r.sales, r.items, r.gold("dim_client"), fact_scope),
    }

    def write(name: str) -> None:
        rows = builds[name]().cache()  # a MERGE reads it twice
        how = r.replace(name, rows, fact_scope, sale_ids)
        rows.unpersist()
        r.records[name].rows_read = len(sale_ids)
        r.records[name].message = f"{len(sale_ids)} sales refreshed ({how})"

    return {name: functools.partial(write, name) for name in builds}


def _aggregate_tasks(r: _Refresh, pending: list[tuple]) -> dict[str, Task]:
    """A task for each aggregate with pending keys, built from the facts when it runs."""
    builds = {
        "agg_daily_sales": lambda s: agg_daily_sales.build(r.gold("fact_sales"), s),
        "agg_product_month": lambda s: agg_product_month.build(r.gold("fact_sales_item"), s),
        "agg_sales_person_month": lambda s: agg_sales_person_month.build(r.gold("fact_sales"), s),
        "agg_client_lifetime": lambda s: agg_client_lifetime.build(r.gold("fact_sales"), s),
    }

    def write(name: str, rows: list[tuple]) -> None:
        fields = [PENDING_SCHEMA[c] for c in AGG_SCOPES[name]]
        scope = scope_frame(r.spark, T.StructType(fields), rows)
        values = [row[0] for row in rows] if len(fields) == 1 else None
        how = r.replace(name, builds[name](scope), scope, values)
        r.records[name].rows_read = len(rows)
        r.records[name].message = f"{len(rows)} keys refreshed ({how})"

    names = PENDING_SCHEMA.fieldNames()
    tasks: dict[str, Task] = {}
    for name, columns in AGG_SCOPES.items():
        wanted = {tuple(row[names.index(c)] for c in columns) for row in pending if row[0] == name}
        if wanted:
            tasks[name] = functools.partial(write, name, sorted(wanted, key=repr))
    return tasks

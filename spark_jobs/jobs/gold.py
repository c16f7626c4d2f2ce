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

The refresh's write tasks are built in `gold_refresh`; what a refresh recomputes and its
bookkeeping live in `gold_scope`; how a model is laid out, written and grain-checked in `gold_write`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from pyspark.sql import DataFrame, SparkSession

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
from spark_jobs.jobs.gold_refresh import read_silver, refresh_tasks
from spark_jobs.jobs.gold_scope import read_pending, read_progress, write_pending, write_progress
from spark_jobs.jobs.gold_write import check_grains, gold_path, overwrite
from spark_jobs.parallel import table_parallelism
from spark_jobs.run_log import RunRecord

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


class GoldInputError(RuntimeError):
    """A silver input of gold is missing."""


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
    sales = read_silver(spark, cfg, "sales")
    items = read_silver(spark, cfg, "sales_items")
    built = {
        "dim_date": lambda: dim_date.build(sales),
        "dim_sales_person": lambda: dim_sales_person.build(read_silver(spark, cfg, "sales_people")),
        "dim_product": lambda: dim_product.build(read_silver(spark, cfg, "products_history")),
        "dim_client": lambda: dim_client.build(
            read_silver(spark, cfg, "clients_history"), read_silver(spark, cfg, "client_addresses_history")
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
        return delta_io.read(spark, gold_path(cfg, name))

    def build(name: str) -> None:
        overwrite(spark, cfg, built[name](), gold_path(cfg, name), models[name])
        records[name].message = "full rebuild"

    _write_in_order(cfg, models, {name: (lambda n=name: build(n)) for name in models}, after)


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
    before = read_progress(spark, cfg)
    missing = [m for m in models if not delta_io.exists(spark, gold_path(cfg, m))]
    # No progress (none yet, or cleared by a rebuild that did not complete): rebuild.
    rebuild = bool(set(full_refresh) & ({"gold"} | set(models))) or not before or bool(missing)
    records = {m: RunRecord(run_id=run_id, job="gold", table_name=m) for m in models}

    def versions_now() -> dict[str, int | None]:
        return {m: delta_io.version(spark, gold_path(cfg, m)) for m in models}

    versions_before = versions_now()

    # The grain of a model written by this run is checked in its write task, beside the other
    # models being written: by the job that writes it when a refresh rewrites a small model in
    # one task (gold_write.replace_scope), else read back once committed. Every other model's
    # after the writes, all in one Spark job.
    checked_in_write: set[str] = set()

    def check_written(name: str) -> None:
        if name in checked_in_write:
            return
        if delta_io.version(spark, gold_path(cfg, name)) != versions_before[name]:
            check_grains(spark, cfg, {name: models[name]})

    # A small refresh stays a small batch through its grain checks.
    with contextlib.ExitStack() as batch_mode:
        if rebuild:
            log.info(
                "gold: full rebuild (%s)",
                "requested" if full_refresh else f"missing: {missing or 'progress'}",
            )
            if before:
                # Until the rebuild completes gold stands for no silver version: a run after one
                # killed half-way rebuilds too, rather than derive a refresh from the half-rebuilt
                # models.
                write_progress(spark, cfg, {}, run_id)
            _build_all(spark, cfg, models, records, check_written)
            if read_pending(spark, cfg, before or {})[1]:
                write_pending(spark, cfg, [], now)  # a rebuild leaves no scope behind
        elif before != now:
            tasks = refresh_tasks(spark, cfg, models, before, now, records, batch_mode, checked_in_write)
            _write_in_order(cfg, models, tasks, check_written)
        versions_after = versions_now()
        unwritten = {m: model for m, model in models.items() if versions_after[m] == versions_before[m]}
        check_grains(spark, cfg, unwritten)
    changed = rebuild or before != now

    for name in models:
        path = gold_path(cfg, name)
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
        write_progress(spark, cfg, now, run_id)
    return list(records.values())

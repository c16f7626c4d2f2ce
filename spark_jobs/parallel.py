"""Run per-table jobs concurrently in one Spark application.

Most of a small table's time is driver-side (Delta log, planning, commit), so running tables
side by side shortens a run even on two cores. Each table gets its own SparkSession (shared
SparkContext, separate SQL conf), because Delta's idempotent-write confs are per session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from pyspark.sql import SparkSession

from spark_jobs.run_log import RunRecord

log = logging.getLogger(__name__)


def table_parallelism(cfg) -> int:
    """How many tables (or gold models) a layer writes at once: `spark.table_parallelism` in the
    environment settings, default 3, never below 1."""
    return cfg.env.whole_number("spark", "table_parallelism", 3, minimum=1)


class LayerFailed(RuntimeError):
    """One or more tables failed; `records` holds every table's record, failures included."""

    def __init__(self, message: str, records: list[RunRecord]):
        super().__init__(message)
        self.records = records


def run_tables(
    spark: SparkSession,
    job: str,
    run_id: str,
    names: list[str],
    fn: Callable[[SparkSession, str], RunRecord],
    depends_on: dict[str, list[str]] | None = None,
    workers: int = 3,
) -> list[RunRecord]:
    """Run `fn(session, table)` for each table, a table starting after the ones it depends on.

    `names` must list dependencies first. Raises LayerFailed naming the failed tables.
    """
    depends_on = depends_on or {}
    futures: dict[str, Future] = {}

    def task(name: str, deps: list[Future]) -> RunRecord:
        wait(deps)
        failed = [d for d in deps if d.exception() is not None]
        if failed:
            return RunRecord(run_id=run_id, job=job, table_name=name).finish(
                "failed", "skipped: a dependency failed"
            )
        return fn(spark.newSession(), name)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=job) as pool:
        for name in names:
            futures[name] = pool.submit(
                task, name, [futures[d] for d in depends_on.get(name, []) if d in futures]
            )
        wait(list(futures.values()))

    records, errors = [], []
    for name, fut in futures.items():
        exc = fut.exception()
        if exc is None:
            records.append(fut.result())
        else:
            log.error("%s %s failed: %s", job, name, exc)
            errors.append(f"{name}: {exc}")
            records.append(RunRecord(run_id=run_id, job=job, table_name=name).finish("failed", f"{exc}"))
    if errors:
        raise LayerFailed(f"{job} failed for {len(errors)} table(s): " + "; ".join(errors), records)
    return records

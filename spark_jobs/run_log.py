"""The run log: `<ops>/pipeline_runs`, one row per run, job and table.

Analysts and operators query it like any other Delta table (rows read, written, quarantined,
Delta versions read and written, start and end): `lakehouse runs` (`summaries`, `run_rows`), the
Athena SQL of sql/athena/ops/ (the gold crawler catalogues it on AWS). It is an append-only log,
written after the job's data commits; it is never used for progress (that lives in Delta
transaction ids).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import delta_io

RUN_LOG_TABLE = "pipeline_runs"

RUN_LOG_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("job", T.StringType(), False),
        T.StructField("table_name", T.StringType(), False),
        T.StructField("status", T.StringType(), False),
        T.StructField("rows_read", T.LongType(), True),
        T.StructField("rows_written", T.LongType(), True),
        T.StructField("rows_quarantined", T.LongType(), True),
        T.StructField("rows_warned", T.LongType(), True),
        T.StructField("files_read", T.LongType(), True),
        T.StructField("files_quarantined", T.LongType(), True),
        T.StructField("source_version_from", T.LongType(), True),
        T.StructField("source_version_to", T.LongType(), True),
        T.StructField("target_version", T.LongType(), True),
        T.StructField("started_at", T.TimestampType(), False),
        T.StructField("ended_at", T.TimestampType(), False),
        T.StructField("message", T.StringType(), True),
    ]
)


def new_run_id() -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{now}-{uuid.uuid4().hex[:8]}"


def utcnow() -> dt.datetime:
    """Naive UTC, the way Spark's TimestampType round-trips with session time zone UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class RunRecord:
    run_id: str
    job: str
    table_name: str
    status: str = "ok"  # ok | noop | failed
    rows_read: int | None = None
    rows_written: int | None = None
    rows_quarantined: int | None = None
    rows_warned: int | None = None
    files_read: int | None = None
    files_quarantined: int | None = None
    source_version_from: int | None = None
    source_version_to: int | None = None
    target_version: int | None = None
    started_at: dt.datetime = field(default_factory=utcnow)
    ended_at: dt.datetime | None = None
    message: str | None = None

    def finish(self, status: str | None = None, message: str | None = None) -> RunRecord:
        self.ended_at = utcnow()
        if status:
            self.status = status
        if message:
            self.message = message[:2000]
        return self


def run_log_path(ops_path: str) -> str:
    """The run log table under the ops zone `ops_path`."""
    return f"{ops_path.rstrip('/')}/{RUN_LOG_TABLE}"


def write(spark: SparkSession, ops_path: str, records: list[RunRecord]) -> None:
    """Append records to the run log (a plain append: the log only ever grows)."""
    if not records:
        return
    path = run_log_path(ops_path)
    delta_io.ensure_table(spark, path, RUN_LOG_SCHEMA, delta_io.OPS_TABLE_PROPERTIES)
    rows = [asdict(r.finish() if r.ended_at is None else r) for r in records]
    delta_io.rows_frame(spark, rows, RUN_LOG_SCHEMA).write.format("delta").mode("append").save(path)


class RunLogError(RuntimeError):
    """The run log cannot answer: it does not exist yet, or no run matches."""


# The order a run's jobs run in; a job not listed sorts after them.
JOB_ORDER = ("bronze", "silver", "gold")

SUMMARY_COLUMNS = (
    "run_id",
    "started_at",
    "seconds",
    "jobs",
    "status",
    "tables",
    "failed",
    "rows_read",
    "rows_written",
    "rows_quarantined",
    "files_quarantined",
)
DETAIL_COLUMNS = (*(f.name for f in RUN_LOG_SCHEMA.fields if f.name != "run_id"), "seconds")


def _log(spark: SparkSession, ops_path: str) -> DataFrame:
    path = run_log_path(ops_path)
    if not delta_io.exists(spark, path):
        raise RunLogError(f"no run log at {path} yet: it is written by the first run of any layer")
    return delta_io.read(spark, path)


def _job_rank(column: Column) -> Column:
    rank = F.lit(len(JOB_ORDER))
    for i, job in reversed(list(enumerate(JOB_ORDER))):
        rank = F.when(column == job, F.lit(i)).otherwise(rank)
    return rank


def summaries(spark: SparkSession, ops_path: str, last: int = 10, failed_only: bool = False) -> list[dict]:
    """One dict per run (SUMMARY_COLUMNS), newest first: when it started, how long it took, its
    jobs in order, its status (failed if any row failed, else quarantined if any row quarantined,
    noop if every row was, else ok) and its rows summed over jobs and tables."""

    def total(column: str):
        return F.coalesce(F.sum(column), F.lit(0)).alias(column)

    def any_status(status: str):
        return F.max((F.col("status") == status).cast("int")) == 1

    runs = (
        _log(spark, ops_path)
        .groupBy("run_id")
        .agg(
            F.min("started_at").alias("started_at"),
            F.max("ended_at").alias("ended_at"),
            F.array_sort(F.collect_set(F.struct(_job_rank(F.col("job")).alias("r"), F.col("job")))).alias(
                "_jobs"
            ),
            F.when(any_status("failed"), "failed")
            .when(any_status("quarantined"), "quarantined")
            .when(F.min((F.col("status") == "noop").cast("int")) == 1, "noop")
            .otherwise("ok")
            .alias("status"),
            F.count("*").alias("tables"),
            F.sum((F.col("status") == "failed").cast("long")).alias("failed"),
            *(total(c) for c in ("rows_read", "rows_written", "rows_quarantined", "files_quarantined")),
        )
        .withColumn("jobs", F.concat_ws(",", F.col("_jobs.job")))
        .withColumn(
            "seconds",
            F.round(F.unix_micros("ended_at") / 1e6 - F.unix_micros("started_at") / 1e6, 1),
        )
    )
    if failed_only:
        runs = runs.filter(F.col("status") == "failed")
    rows = runs.orderBy(F.col("started_at").desc(), F.col("run_id").desc()).limit(last).collect()
    return [{c: r[c] for c in SUMMARY_COLUMNS} for r in rows]


def run_rows(spark: SparkSession, ops_path: str, run_id: str) -> tuple[str, list[dict]]:
    """Every row of one run (DETAIL_COLUMNS: the log's columns but run_id, and the seconds each
    took), in job order then table. `run_id` may be a prefix
    that names one run; returns the full run id and its rows."""
    log = _log(spark, ops_path)
    ids = [r[0] for r in log.filter(F.col("run_id").startswith(run_id)).select("run_id").distinct().collect()]
    if run_id in ids:
        ids = [run_id]
    if not ids:
        raise RunLogError(f"no run {run_id!r} in the run log at {run_log_path(ops_path)}")
    if len(ids) > 1:
        shown = ", ".join(sorted(ids)[:5]) + (", ..." if len(ids) > 5 else "")
        raise RunLogError(f"{run_id!r} names {len(ids)} runs ({shown}): give more of the run id")
    rows = (
        log.filter(F.col("run_id") == ids[0])
        .orderBy(_job_rank(F.col("job")), "job", "table_name", "started_at")
        .collect()
    )
    return ids[0], [
        {**r.asDict(), "seconds": round((r["ended_at"] - r["started_at"]).total_seconds(), 1)} for r in rows
    ]

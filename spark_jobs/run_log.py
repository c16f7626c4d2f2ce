"""The run log: `<ops>/pipeline_runs`, one row per run, job and table.

Analysts and operators query it like any other Delta table (rows read, written, quarantined,
Delta versions read and written, start and end): `lakehouse runs` (local_aws/run_log_view.py), the
Athena SQL of sql/athena/ops/ (the gold crawler catalogues it on AWS). It is an append-only log,
written after the job's data commits; it is never used for progress (that lives in Delta
transaction ids).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field

from pyspark.sql import SparkSession
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

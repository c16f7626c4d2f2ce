"""The run log read back for `lakehouse runs`: `<ops>/pipeline_runs` read with delta-rs, no Spark.

spark_jobs/run_log.py writes the log; this reads it on the laptop in a fraction of a second, where
starting Spark to read a few hundred rows took seconds. On AWS the same questions are the Athena
SQL of sql/athena/ops/.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from spark_jobs.run_log import RUN_LOG_SCHEMA, run_log_path

# The order a run's jobs run in; a job not listed sorts after them.
JOB_ORDER = ("bronze", "silver", "gold")

# The counts a run's summary adds up over its tables.
SUMMED = ("rows_read", "rows_written", "rows_quarantined", "files_quarantined")
SUMMARY_COLUMNS = ("run_id", "started_at", "seconds", "jobs", "status", "tables", "failed", *SUMMED)
DETAIL_COLUMNS = (*(f.name for f in RUN_LOG_SCHEMA.fields if f.name != "run_id"), "seconds")


class RunLogError(RuntimeError):
    """The run log cannot answer: it does not exist yet, or no run matches."""


def read_log(ops_path: str) -> list[dict]:
    """Every row of the run log under the ops zone `ops_path`, times as naive UTC (as Spark shows
    them with session time zone UTC)."""
    path = run_log_path(ops_path)
    if not (Path(path) / "_delta_log").is_dir():
        raise RunLogError(f"no run log at {path} yet: it is written by the first run of any layer")
    from deltalake import DeltaTable

    rows = DeltaTable(path).to_pyarrow_table(columns=[f.name for f in RUN_LOG_SCHEMA.fields]).to_pylist()
    for row in rows:
        for column in ("started_at", "ended_at"):
            value = row[column]
            if value is not None and value.tzinfo is not None:
                row[column] = value.astimezone(dt.UTC).replace(tzinfo=None)
    return rows


def _job_rank(job: str) -> int:
    return JOB_ORDER.index(job) if job in JOB_ORDER else len(JOB_ORDER)


def _seconds(start: dt.datetime, end: dt.datetime) -> float:
    return round((end - start).total_seconds(), 1)


def _status(statuses: list[str]) -> str:
    """failed if any row failed, else quarantined if any row quarantined, noop if every row was,
    else ok."""
    if "failed" in statuses:
        return "failed"
    if "quarantined" in statuses:
        return "quarantined"
    return "noop" if all(s == "noop" for s in statuses) else "ok"


def summaries(rows: list[dict], last: int = 10, failed_only: bool = False) -> list[dict]:
    """One dict per run (SUMMARY_COLUMNS), newest first: when it started, how long it took, its
    jobs in order, its status and its rows summed over jobs and tables."""
    by_run: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_run[row["run_id"]].append(row)
    runs = []
    for run_id, run in by_run.items():
        started = min(r["started_at"] for r in run)
        ended = max(r["ended_at"] for r in run)
        statuses = [r["status"] for r in run]
        summary = {
            "run_id": run_id,
            "started_at": started,
            "seconds": _seconds(started, ended),
            "jobs": ",".join(sorted({r["job"] for r in run}, key=lambda j: (_job_rank(j), j))),
            "status": _status(statuses),
            "tables": len(run),
            "failed": statuses.count("failed"),
            **{c: sum(r[c] or 0 for r in run) for c in SUMMED},
        }
        if not failed_only or summary["status"] == "failed":
            runs.append(summary)
    runs.sort(key=lambda s: (s["started_at"], s["run_id"]), reverse=True)
    return runs[:last]


def run_rows(rows: list[dict], run_id: str, where: str = "the run log") -> tuple[str, list[dict]]:
    """Every row of one run (the log's columns and the seconds each took; DETAIL_COLUMNS are the
    ones a table shows), in job order then table. `run_id` may be a prefix that names one run.
    Returns the full run id and its rows; `where` names the log in errors."""
    ids = sorted({r["run_id"] for r in rows if r["run_id"].startswith(run_id)})
    if run_id in ids:
        ids = [run_id]
    if not ids:
        raise RunLogError(f"no run {run_id!r} in {where}")
    if len(ids) > 1:
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        raise RunLogError(f"{run_id!r} names {len(ids)} runs ({shown}): give more of the run id")
    run = [r for r in rows if r["run_id"] == ids[0]]
    run.sort(key=lambda r: (_job_rank(r["job"]), r["job"], r["table_name"], r["started_at"]))
    return ids[0], [{**r, "seconds": _seconds(r["started_at"], r["ended_at"])} for r in run]

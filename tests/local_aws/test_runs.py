"""`lakehouse runs`: the run log read back, one line per run or per job and table of one run."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from local_aws import run_log_view as view
from local_aws.athena import OPS_DDL, LocalAthena, SqlFileError, resolve_query, table_definitions
from local_aws.cli import main
from spark_jobs import delta_io, run_log
from spark_jobs.config import load_config
from spark_jobs.jobs.bronze import quarantine_files_path
from spark_jobs.jobs.silver import quarantine_path, released_path
from spark_jobs.schemas import QUARANTINE_RELEASED_SCHEMA, QUARANTINE_SCHEMA, QUARANTINED_FILES_SCHEMA

pytestmark = pytest.mark.slow

T0 = dt.datetime(2026, 12, 1, 8, 0, 0)


def _record(run_id: str, job: str, table: str, status: str, start: int, seconds: float, **counts):
    started = T0 + dt.timedelta(seconds=start)
    return run_log.RunRecord(
        run_id=run_id,
        job=job,
        table_name=table,
        status=status,
        started_at=started,
        ended_at=started + dt.timedelta(seconds=seconds),
        **counts,
    )


@pytest.fixture
def ops(spark, lake_root) -> str:
    """A run log of three runs: a full run, a run with a quarantined row and a failed table, a noop."""
    ops = load_config("local").env.paths["ops"]
    run_log.write(
        spark,
        ops,
        [
            _record("20261201T080000-aaaa0001", "gold", "fact_sales", "ok", 40, 5.0, rows_written=30),
            _record(
                "20261201T080000-aaaa0001", "bronze", "sales", "ok", 0, 10.0, rows_read=100, rows_written=100
            ),
            _record(
                "20261201T080000-aaaa0001", "silver", "sales", "ok", 15, 20.0, rows_read=100, rows_written=99
            ),
        ],
    )
    run_log.write(
        spark,
        ops,
        [
            _record(
                "20261201T090000-bbbb0002",
                "bronze",
                "sales",
                "ok",
                3600,
                2.0,
                rows_read=7,
                files_quarantined=1,
            ),
            _record(
                "20261201T090000-bbbb0002", "silver", "sales", "quarantined", 3605, 3.0, rows_quarantined=2
            ),
            _record(
                "20261201T090000-bbbb0002",
                "silver",
                "clients",
                "failed",
                3605,
                1.5,
                message="boom: " + "x" * 300,
            ),
        ],
    )
    run_log.write(spark, ops, [_record("20261201T100000-cccc0003", "bronze", "sales", "noop", 7200, 0.5)])
    return ops


def test_summaries_newest_first_with_status_jobs_and_sums(ops):
    log = view.read_log(ops)  # written by Spark, read by delta-rs
    runs = view.summaries(log)
    assert [r["run_id"][-4:] for r in runs] == ["0003", "0002", "0001"]
    noop, failed, full = runs
    assert (noop["status"], noop["jobs"], noop["tables"], noop["rows_read"]) == ("noop", "bronze", 1, 0)
    assert failed["status"] == "failed" and failed["failed"] == 1
    assert (failed["rows_quarantined"], failed["files_quarantined"]) == (2, 1)
    assert full["status"] == "ok" and full["jobs"] == "bronze,silver,gold"  # job order, not name order
    assert (full["rows_read"], full["rows_written"], full["seconds"]) == (200, 229, 45.0)
    assert full["started_at"] == T0
    assert [r["run_id"][-4:] for r in view.summaries(log, last=2)] == ["0003", "0002"]
    assert [r["run_id"][-4:] for r in view.summaries(log, failed_only=True)] == ["0002"]


def test_one_run_by_prefix_in_job_order(ops):
    log = view.read_log(ops)
    run_id, rows = view.run_rows(log, "20261201T08")
    assert run_id == "20261201T080000-aaaa0001"
    assert [(r["job"], r["table_name"]) for r in rows] == [
        ("bronze", "sales"),
        ("silver", "sales"),
        ("gold", "fact_sales"),
    ]
    assert rows[0]["rows_read"] == 100 and rows[0]["seconds"] == 10.0
    with pytest.raises(view.RunLogError, match=r"'20261201T' names 3 runs .*give more of the run id"):
        view.run_rows(log, "20261201T")
    with pytest.raises(view.RunLogError, match=r"no run 'nope' in the run log$"):
        view.run_rows(log, "nope")


def test_cli_lists_runs_and_shows_one(ops, capsys, monkeypatch):
    def no_spark(*args, **kwargs):
        raise AssertionError("`lakehouse runs` reads the run log without Spark")

    monkeypatch.setattr("spark_jobs.session.build_spark", no_spark)
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "the last 3 runs" in out and "(3 rows)" in out
    lines = [line for line in out.splitlines() if line.startswith("20261201T")]
    assert [line.split()[0][-4:] for line in lines] == ["0003", "0002", "0001"]
    assert "bronze,silver,gold" in lines[2] and "failed" in lines[1]

    assert main(["runs", "--failed", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["run_id"], r["status"], r["failed"]) for r in rows] == [
        ("20261201T090000-bbbb0002", "failed", 1)
    ]

    assert main(["runs", "20261201T09"]) == 0
    out = capsys.readouterr().out
    assert "run 20261201T090000-bbbb0002" in out and "(3 rows)" in out
    assert "boom: " + "x" * 91 + "...\n" in out  # a long message cut to 100 characters

    assert main(["runs", "20261201T09", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["message"] == "boom: " + "x" * 300 and failed["seconds"] == 1.5

    assert main(["runs", "nope"]) == 1
    assert "no run 'nope' in the run log at " in capsys.readouterr().err


def test_cli_errors_name_what_is_wrong(lake_root, capsys):
    assert main(["runs"]) == 1
    assert "no run log at" in capsys.readouterr().err
    assert main(["runs", "--last", "0"]) == 1
    assert "--last must be at least 1" in capsys.readouterr().err
    assert main(["runs", "abc", "--failed"]) == 1
    assert "does not go with a RUN_ID" in capsys.readouterr().err


def test_ops_ddl_registers_the_run_log_and_the_quarantine_under_the_ops_zone(lake_root):
    tables = table_definitions(folder=OPS_DDL)
    cfg = load_config("local")
    paths = {
        "pipeline_runs": run_log.run_log_path(cfg.env.paths["ops"]),
        "quarantine_files": quarantine_files_path(cfg),
        "quarantine_rows": quarantine_path(cfg),
        "quarantine_released": released_path(cfg),
    }
    assert set(tables) == set(paths)
    for name, table in tables.items():
        assert (table.location, table.layer) == (f"${{ops_root}}/{name}/", "ops")
        assert table.path(cfg) == paths[name] == f"{lake_root}/_ops/{name}"


def test_quarantine_summary_counts_rows_by_rule_and_files_by_reason(spark, lake_root):
    cfg = load_config("local")
    at = [T0 + dt.timedelta(hours=h) for h in range(3)]
    rows = [
        ("sales", "7", "not_null:client_id", "quarantine", "{}", "f1.parquet", at[0], "1", "r1", at[0]),
        ("sales", "7", "not_null:client_id", "quarantine", "{}", "f2.parquet", at[1], "2", "r2", at[1]),
        ("sales", "8", "not_null:client_id", "quarantine", "{}", "f2.parquet", at[1], "3", "r2", at[1]),
        ("products", "3", "range:unit_price", "quarantine", "{}", "f3.parquet", at[0], "4", "r1", at[0]),
    ]
    files = [("clients", "raw/clients/bad.parquet", "not a Parquet file", "r3", at[2])]
    # One change of sale 8 was released; the record for sale 7 names another rule: it answers none.
    released = [
        ("sales", "8", "not_null:client_id", at[1], "3", "r4", at[2]),
        ("sales", "7", "x", at[0], "1", "r4", at[2]),
    ]
    for path, schema, data in (
        (quarantine_path(cfg), QUARANTINE_SCHEMA, rows),
        (quarantine_files_path(cfg), QUARANTINED_FILES_SCHEMA, files),
        (released_path(cfg), QUARANTINE_RELEASED_SCHEMA, released),
    ):
        delta_io.rows_frame(spark, data, schema).write.format("delta").save(path)
    result = LocalAthena(spark, cfg).run(resolve_query("quarantine_summary"))
    assert [r[:6] + r[7:] for r in result.rows] == [
        ("clients", "file", "not a Parquet file", 1, 1, 0, "r3"),  # newest first
        ("sales", "row", "not_null:client_id", 3, 2, 1, "r2"),
        ("products", "row", "range:unit_price", 1, 1, 0, "r1"),
    ]


def test_ops_queries_answer_from_the_run_log(spark, ops):
    athena = LocalAthena(spark, load_config("local"))
    recent = athena.run(resolve_query("recent_runs"))
    rows = [dict(zip(recent.columns, r, strict=True)) for r in recent.rows]
    # The same runs, order, status and sums as `lakehouse runs`.
    expected = view.summaries(view.read_log(ops))
    assert [(r["run_id"], r["status"], r["tables"], r["rows_read"], r["rows_written"]) for r in rows] == [
        (e["run_id"], e["status"], e["tables"], e["rows_read"], e["rows_written"]) for e in expected
    ]
    assert [r["seconds"] for r in rows] == [0.5, 8.0, 45.0]

    problems = athena.run(resolve_query("problems"))
    assert [(r[2], r[3], r[4]) for r in problems.rows] == [
        ("silver", "clients", "failed"),  # newest first
        ("silver", "sales", "quarantined"),
        ("bronze", "sales", "ok"),  # a file quarantined
    ]

    daily = athena.run(resolve_query("daily_volume"))
    by_table = {(r[1], r[2]): r for r in daily.rows}
    assert set(by_table) == {
        ("bronze", "sales"),
        ("silver", "sales"),
        ("silver", "clients"),
        ("gold", "fact_sales"),
    }
    assert by_table["bronze", "sales"][3:] == (3, 107, 100, 10.0)  # runs, read, written, slowest


def test_cli_sql_runs_an_ops_query_by_name(spark, ops, capsys):
    assert main(["sql", "recent_runs"]) == 0
    out = capsys.readouterr().out
    assert "sql/athena/ops/queries/recent_runs.sql" in out and "(3 rows)" in out


def test_ops_query_without_a_run_log_says_what_to_run(spark, lake_root):
    athena = LocalAthena(spark, load_config("local"))
    with pytest.raises(
        SqlFileError, match=r"table pipeline_runs has no Delta table .*run `lakehouse run` first"
    ):
        athena.run(resolve_query("recent_runs"))

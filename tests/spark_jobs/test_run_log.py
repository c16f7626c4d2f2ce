"""The run log: every run appends its records in one commit of one file, so a log written after
every run for months stays a table of as many files as runs, not four times that."""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable

from spark_jobs import delta_io, run_log

pytestmark = pytest.mark.slow


def _records(run_id: str, n: int) -> list[run_log.RunRecord]:
    return [
        run_log.RunRecord(run_id=run_id, job="silver", table_name=f"t{i}", rows_read=i).finish("ok")
        for i in range(n)
    ]


def test_each_run_appends_its_records_in_one_file(spark, tmp_path):
    ops = str(tmp_path / "_ops")
    run_log.write(spark, ops, _records("r1", 7))
    run_log.write(spark, ops, _records("r2", 5))
    run_log.write(spark, ops, [])  # nothing to log: no commit
    path = run_log.run_log_path(ops)
    rows = delta_io.read(spark, path).collect()
    assert sorted((r["run_id"], r["table_name"], r["rows_read"]) for r in rows) == sorted(
        [("r1", f"t{i}", i) for i in range(7)] + [("r2", f"t{i}", i) for i in range(5)]
    )
    appends = DeltaTable.forPath(spark, path).history().filter("operation = 'WRITE'").collect()
    assert len(appends) == 2
    assert [a["operationMetrics"]["numFiles"] for a in appends] == ["1", "1"]

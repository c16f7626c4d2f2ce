"""`lakehouse run --watch` end to end: one Spark application follows the replicator's new files.

Real MariaDB, the local replicator and Spark in a `lakehouse` process, as a user runs them: the
watch does the first run at once, picks up an activity period's CDC files when they land, stays
idle while nothing lands, and stops cleanly on SIGTERM. Silver must then equal MySQL.
"""

from __future__ import annotations

import signal
import time

import psutil
import pytest

from bench.lakelab import Lab, Lines
from spark_jobs import run_log


def _jvms(proc) -> set[int]:
    return {p.pid for p in psutil.Process(proc.pid).children(recursive=True) if p.name() == "java"}


def _run_log(lab: Lab) -> list[dict]:
    from deltalake import DeltaTable

    return DeltaTable(run_log.run_log_path(lab.config().env.paths["ops"])).to_pyarrow_table().to_pylist()


@pytest.mark.slow
def test_watch_follows_new_changes_in_one_application(tmp_path):
    lab = Lab(tmp_path / "lake")
    proc = None
    try:
        lab.up()
        lab.cli("seed", "init", "--scale", "0.01")
        lab.cli("replicate")
        proc = lab.start("run", "--watch", "--layers", "bronze,silver", "--interval", "0.5")
        out = Lines(proc.stderr)
        assert "finished" in out.lines[out.wait_for(r"watch: run 1 ", timeout=900)]
        jvm = _jvms(proc)
        assert len(jvm) == 1

        lab.cli("seed", "activity")
        lab.cli("replicate")
        assert "finished" in out.lines[out.wait_for(r"watch: run 2 ", timeout=900)]
        assert _jvms(proc) == jvm  # the same application ran both
        time.sleep(4)  # eight listings with nothing new: no third run
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=300) == 0
        text = out.text()
        assert "stopped after 2 run(s)" in text, text[-3000:]
        assert "watch: run 3 " not in text

        assert lab.check_silver() == []
        assert lab.check_bronze_once() == []
        runs: dict[str, list[dict]] = {}
        for row in _run_log(lab):
            runs.setdefault(row["run_id"], []).append(row)
        assert len(runs) == 2, sorted(runs)
        first, second = sorted(runs.values(), key=lambda rows: min(r["started_at"] for r in rows))
        ingested = [
            sum(r["rows_read"] or 0 for r in rows if r["job"] == "bronze") for rows in (first, second)
        ]
        # The second run ingested the period's changes only.
        assert 0 < ingested[1] < ingested[0] / 10, ingested
        assert all(r["status"] != "failed" for r in first + second)
    finally:
        if proc is not None and proc.poll() is None:
            lab.kill_group(proc)
        lab.down()

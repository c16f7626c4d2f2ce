"""bench/joblog.py: a step's Spark job time by kind of job, from an event log in Spark's format
(one JSON event per line; field names as Spark 3.5 writes them)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import joblog


def _start(job: int, at: int, stages: list[tuple[int, str]], description: str | None = None) -> dict:
    props = {"spark.sql.execution.id": str(job)}
    if description is not None:
        props["spark.job.description"] = description
    return {
        "Event": "SparkListenerJobStart",
        "Job ID": job,
        "Submission Time": at,
        "Stage Infos": [{"Stage ID": sid, "Stage Name": name} for sid, name in stages],
        "Stage IDs": [sid for sid, _ in stages],
        "Properties": props,
    }


def _end(job: int, at: int) -> dict:
    return {"Event": "SparkListenerJobEnd", "Job ID": job, "Completion Time": at, "Job Result": {}}


def _write(path: Path, events: list[dict], tail: str = "") -> Path:
    lines = [json.dumps(e, separators=(",", ":")) for e in events]
    path.write_text("\n".join(lines) + "\n" + tail, encoding="utf-8")
    return path


def test_jobs_are_grouped_by_delta_description_or_call_site(tmp_path):
    site = f"collect at {joblog.REPO}/spark_jobs/jobs/silver.py:275"
    events = [
        {"Event": "SparkListenerLogStart", "Spark Version": "3.5.6"},
        _start(0, 1_000, [(0, "save at <unknown>:0")], "Delta: Compute snapshot for version: 1"),
        {"Event": "SparkListenerTaskEnd", "Stage ID": 0},
        _end(0, 1_250),
        # A shuffle: the result stage (highest id) names the job, whatever the list's order.
        _start(1, 2_000, [(3, site), (2, "map at <unknown>:0")]),
        _end(1, 2_100),
        _start(2, 3_000, [(4, "x")], "Delta: Compute snapshot for version: 12"),
        _end(2, 3_500),
        _start(3, 4_000, [(5, "y")], "Delta: Writing modified data - MERGE operation - Rewriting 1 files"),
    ]
    log = _write(
        tmp_path / "app-1.inprogress", events, tail='{"Event":"SparkListenerJobEnd","Job ID":3,"Comp'
    )
    jobs = joblog.read_jobs(log)
    assert jobs[1].what == "collect at spark_jobs/jobs/silver.py:275"
    assert jobs[0].ms == 250 and jobs[2].ms == 500
    assert jobs[3].ms is None  # its end was cut off mid-line

    rows = joblog.breakdown(jobs, 0, 3)
    assert rows == [
        ("Delta: Compute snapshot for version: N", 2, 750),
        ("collect at spark_jobs/jobs/silver.py:275", 1, 100),
        ("Delta: Writing modified data - MERGE operation - Rewriting N files", 1, 0),
    ]
    # Only the step's jobs count.
    assert joblog.breakdown(jobs, 1, 2) == [
        ("Delta: Compute snapshot for version: N", 1, 500),
        ("collect at spark_jobs/jobs/silver.py:275", 1, 100),
    ]


def test_the_breakdown_waits_for_the_last_job_and_prints_the_biggest_kinds(tmp_path, capsys):
    class App:  # what JobLog needs of a SparkSession
        class sparkContext:  # noqa: N801
            applicationId = "local-42"

    folder = tmp_path / "events"
    # Job j takes (j + 1) / 10 seconds.
    events = [
        e
        for j in range(3)
        for e in (_start(j, 1000 * j, [(j, f"collect at a.py:{j}")]), _end(j, 1000 * j + 100 * (j + 1)))
    ]
    folder.mkdir()
    _write(folder / "local-42.inprogress", events)
    log = joblog.JobLog(App, folder)
    assert set(log.jobs(2, wait_s=0)) == {0, 1, 2}
    log.print_breakdown(1, 2, top=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0].strip() == "Spark job time 0.5 s in 2 jobs, by what they did:"
    assert out[1].split() == ["0.30", "s", "1", "job", "collect", "at", "a.py:2"]
    assert out[2].split() == ["0.20", "s", "1", "job", "(1", "more", "kind)"]
    assert len(out) == 3


def test_the_event_log_conf_creates_its_folder(tmp_path):
    conf = joblog.event_log_conf(tmp_path / "ev")
    assert (tmp_path / "ev").is_dir()
    assert conf["spark.eventLog.enabled"] == "true" and conf["spark.eventLog.dir"] == str(tmp_path / "ev")


def test_busy_time_counts_jobs_side_by_side_once(tmp_path):
    jobs = {
        0: joblog.Job(0, "a", 300, submitted=1_000),  # 1000-1300
        1: joblog.Job(1, "b", 400, submitted=1_200),  # 1200-1600, overlaps job 0
        2: joblog.Job(2, "c", 100, submitted=1_250),  # inside job 1
        3: joblog.Job(3, "d", 200, submitted=2_000),  # 2000-2200, after a gap
        4: joblog.Job(4, "e", None, submitted=2_100),  # its end is not logged
    }
    assert joblog.busy_ms(jobs, 0, 4) == 600 + 200
    assert joblog.busy_ms(jobs, 2, 3) == 100 + 200
    assert joblog.busy_ms(jobs, 5, 9) == 0


def test_given_the_step_seconds_the_breakdown_says_how_long_no_job_ran(tmp_path, capsys):
    class App:
        class sparkContext:  # noqa: N801
            applicationId = "local-7"

    folder = tmp_path / "events"
    folder.mkdir()
    # Two jobs side by side (0-1.0 s and 0.5-1.5 s), then one more (3.0-3.5 s): busy 2.0 s.
    events = [
        _start(0, 10_000, [(0, "collect at a.py:1")]),
        _start(1, 10_500, [(1, "collect at a.py:2")]),
        _end(0, 11_000),
        _end(1, 11_500),
        _start(2, 13_000, [(2, "collect at a.py:3")]),
        _end(2, 13_500),
    ]
    _write(folder / "local-7.inprogress", events)
    joblog.JobLog(App, folder).print_breakdown(0, 2, step_s=4.0)
    out = capsys.readouterr().out.splitlines()
    assert out[0].strip().startswith("some Spark job running for 2.0 s of the step's 4.0 s; none for")
    assert "none for 2.0 s (50%" in out[0]
    assert out[1].strip() == "Spark job time 2.5 s in 3 jobs, by what they did:"


def test_the_timeline_lists_jobs_in_start_order_with_the_driver_alone_gaps(tmp_path, capsys):
    jobs = {
        7: joblog.Job(7, "c", 50, submitted=2_000),  # started last, listed last
        5: joblog.Job(5, "a", 300, submitted=1_000),  # 1000-1300
        6: joblog.Job(6, "b", 200, submitted=1_100),  # starts while a runs
        8: joblog.Job(8, "d", None, submitted=2_100),  # its end is not logged
    }
    assert joblog.timeline(jobs, 5, 8) == [
        (0, 0, 300, "a"),
        (100, None, 200, "b"),
        (1_000, 700, 50, "c"),  # every job before it had ended at 1300
        (1_100, 50, None, "d"),
    ]
    assert joblog.timeline(jobs, 9, 12) == []

    class App:
        class sparkContext:  # noqa: N801
            applicationId = "local-9"

    folder = tmp_path / "events"
    folder.mkdir()
    _write(
        folder / "local-9",
        [
            _start(0, 5_000, [(0, "collect at a.py:1")]),
            _end(0, 5_040),
            _start(1, 5_100, [(1, "x")], "Delta: Compute snapshot for version: 3"),
            _end(1, 5_130),
        ],
    )
    joblog.JobLog(App, folder).print_timeline(0, 1)
    out = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert out == [
        ["0", "ms", "0", "ms", "gap", "40", "ms", "collect", "at", "a.py:1"],
        ["100", "ms", "60", "ms", "gap", "30", "ms", "Delta:", "Compute", "snapshot", "for", "version:", "N"],
    ]

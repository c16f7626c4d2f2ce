"""Benchmark of bronze and silver: a full run at a scale factor, then the incremental run of one period.

Starts a private MariaDB (temp folder, free port), seeds it with lambda_seed at the scale factor,
replicates it with the local replicator (full load), then times, in one Spark application (JVM
start excluded):
  1. bronze full, 2. silver full,
  3. one activity period replicated (CDC), 4. bronze incremental, 5. silver incremental,
and prints seconds, the Spark jobs each step started, the driver JVM's CPU seconds meanwhile (in
all and in its JIT compiler threads, from /proc on Linux), the ratio incremental / full, and the
files each silver table's incremental commit removed and added (from Delta's operation metrics).
Goals at scale 1 on 2 cores: silver full <= 90 s; incremental <= 25% of full.
With --profile, a second period is applied and silver runs one table at a time to count the
Spark jobs each table's incremental MERGE costs. With --periods N, N - 1 more periods follow,
one line each (incremental seconds, rows the MERGEs and history replaces copied). With --jobs,
Spark's event log is written and each incremental step is followed by how long some Spark job ran
in it (and how long none did) and its Spark job time by kind of job (bench/joblog.py).
--timeline (event log too) also lists every Spark job of the incremental steps in the order it
started, with the time before it when no job ran. --workers N writes N tables at once
(`spark.table_parallelism`; 1: one at a time, so the list reads as steps).

    .venv/bin/python bench/bench_silver.py [--scale 1] [--periods 1] [--profile] [--jobs]
                                           [--timeline] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.inapp import add_trace_options, bench_lake  # noqa: E402
from bench.joblog import JobLog  # noqa: E402
from spark_jobs.main import run_layers  # noqa: E402


def last_job_id(spark) -> int:
    """The newest Spark job id: ids only grow, so a difference counts the jobs a step started."""
    ids = spark.sparkContext.statusTracker().getJobIdsForGroup(None)
    return max(ids) if ids else -1


def print_rewrites(spark, cfg, tables: list[str], quiet: bool = False) -> int:
    """Files each silver table's last commit removed and added: what the incremental run rewrote
    (printed unless `quiet`). Returns the rows those commits copied, over every table."""
    from delta.tables import DeltaTable

    from spark_jobs.jobs.silver_write import history_path

    paths = []
    for name in tables:
        paths.append((name, cfg.env.table_path("silver", name)))
        if cfg.table(name).scd == 2:
            paths.append((f"{name}_history", history_path(cfg, name)))
    total = 0
    for label, path in paths:
        commit = DeltaTable.forPath(spark, path).history(1).first()
        m = commit["operationMetrics"] or {}
        removed = m.get("numTargetFilesRemoved", m.get("numRemovedFiles", "0"))
        added = m.get("numTargetFilesAdded", m.get("numFiles", "0"))
        copied = m.get("numTargetRowsCopied", m.get("numCopiedRows", "0"))
        total += int(copied)
        if not quiet:
            files = len(spark.read.format("delta").load(path).inputFiles())
            print(
                f"  {label:<26} {commit['operation']:<6} files removed {removed:>3}, added {added:>3} "
                f"(of {files} now), rows copied {copied}"
            )
    return total


def jvm_seconds(spark) -> tuple[float, float] | None:
    """CPU seconds of the driver JVM so far: in all (queries, planning, JIT compilers, GC) and in
    its JIT compiler threads alive now (named in /proc); None where there is no /proc (not Linux)."""
    import psutil

    jvm = psutil.Process(spark._jvm.java.lang.ProcessHandle.current().pid())
    tasks = Path(f"/proc/{jvm.pid}/task")
    if not tasks.is_dir():
        return None
    compilers = 0.0
    for thread in jvm.threads():
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            if "CompilerThre" in (tasks / str(thread.id) / "comm").read_text():
                compilers += thread.user_time + thread.system_time
    cpu = jvm.cpu_times()
    return cpu.user + cpu.system, compilers


def timed(label: str, fn, spark=None, jobs: JobLog | None = None, timeline: bool = False):
    """Run `fn`, print its seconds and, given `spark`, the Spark jobs it started and the driver
    JVM's CPU seconds meanwhile, in all and in its JIT compiler threads; given `jobs` (the
    application's event log), where the jobs' time went, and with `timeline` every job in the
    order it started. Returns (seconds, fn's result)."""
    before = last_job_id(spark) if spark is not None else None
    cpu_before = jvm_seconds(spark) if spark is not None else None
    t0 = time.monotonic()
    result = fn()
    seconds = time.monotonic() - t0
    extra = ""
    if spark is not None:
        extra = f", {last_job_id(spark) - before} Spark jobs"
        cpu_after = jvm_seconds(spark)
        if cpu_before is not None and cpu_after is not None:
            spent, compiling = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
            extra += f", JVM CPU {spent:.1f} s (JIT compilers {compiling:.1f} s)"
    print(f"{label:<22} {seconds:8.1f} s{extra}", flush=True)
    if jobs is not None and spark is not None:
        jobs.print_breakdown(before + 1, last_job_id(spark), step_s=seconds)
        if timeline:
            jobs.print_timeline(before + 1, last_job_id(spark))
    return seconds, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="count Spark jobs per table of incremental silver")
    ap.add_argument(
        "--jobs", action="store_true", help="where the incremental steps' Spark job time goes (event log)"
    )
    add_trace_options(ap, "the incremental steps", "tables")
    ap.add_argument(
        "--periods",
        type=int,
        default=1,
        help="activity periods; after the first, one line each: incremental seconds, rows copied",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with bench_lake("bench-silver-", args.workers) as lab:
        cfg = lab.cfg
        _, manifest = timed("seed init", lambda: lab.seed_init(args.scale, args.seed))
        rows = sum(t["insert"] for t in manifest["changes"].values())
        print(f"  {rows:,} source rows at scale {args.scale:g}")
        timed("replicate full load", lab.replicate)
        spark = lab.start_spark("bench-silver", event_log=args.jobs or args.timeline)
        jobs = lab.jobs
        tables = list(cfg.tables)

        def layer(name: str, run_id: str, only: list[str] | None = None):
            return run_layers(spark, cfg, [name], only or tables, set(), run_id)

        bronze_full, _ = timed("bronze full", lambda: layer("bronze", "full"), spark)
        silver_full, _ = timed("silver full", lambda: layer("silver", "full"), spark)
        _, period = timed("seed activity period", lambda: lab.activity(1))
        changed = sum(sum(c.values()) for c in period["changes"].values())
        print(f"  {changed:,} row changes in the period")
        timed("replicate cdc", lab.replicate)
        bronze_inc, _ = timed(
            "bronze incremental", lambda: layer("bronze", "inc"), spark, jobs, timeline=args.timeline
        )
        silver_inc, _ = timed(
            "silver incremental", lambda: layer("silver", "inc"), spark, jobs, timeline=args.timeline
        )
        timed("silver noop rerun", lambda: layer("silver", "noop"), spark)
        copied = print_rewrites(spark, cfg, tables)
        print(f"  rows copied in all {copied:,}")

        print(f"silver full: {silver_full:.1f} s (goal: <= 90 s at scale 1)")
        print(
            f"incremental / full: bronze {bronze_inc / bronze_full:.0%}, "
            f"silver {silver_inc / silver_full:.0%}, "
            f"both {(bronze_inc + silver_inc) / (bronze_full + silver_full):.0%} (goal: <= 25%)"
        )
        for n in range(2, args.periods + 1):
            lab.activity(n)
            lab.replicate()
            t0 = time.monotonic()
            layer("bronze", f"inc{n}")
            seconds = time.monotonic() - t0
            layer("silver", f"inc{n}")
            both = time.monotonic() - t0
            copied = print_rewrites(spark, cfg, tables, quiet=True)
            print(
                f"period {n:<3} bronze + silver incremental {seconds:5.1f} + {both - seconds:5.1f} s, "
                f"rows copied {copied:,}",
                flush=True,
            )
        if args.profile:
            lab.activity(args.periods + 1)
            lab.replicate()
            layer("bronze", "profile")
            for name in tables:
                timed(f"  silver {name}", lambda n=name: layer("silver", "profile", [n]), spark)
    return 0


if __name__ == "__main__":
    sys.exit(main())

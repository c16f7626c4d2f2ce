"""Benchmark of gold: the full build against the incremental refresh after one activity period.

Starts a private MariaDB, seeds it at the scale factor, replicates, runs bronze and silver, then
times in one Spark application (JVM start excluded): gold full, and then for each of `--periods`
activity periods (default 3): the period through replicate, bronze and silver, gold incremental,
a gold no-op rerun, a gold full rebuild of the same data, and the floor: what touching every
model once costs at least (below). Each period pairs an incremental run with a rebuild of the same
tables, and the median over the periods is what counts: on two cores one run of either varies by a
few seconds. Prints seconds, Spark jobs and the driver JVM's CPU
seconds (in all and in its JIT compiler threads) per step, the ratio incremental / full per period
and its median (goal: <= 25%).

The floor: each model's first row overwrites a scratch Delta table of its own (one commit), which
is then read back and grain-checked, in the order and with the parallelism gold writes its models,
as a small batch. A refresh that commits and checks every model (one period changes every model)
costs at least this, whatever it computes; the floor over the rebuild is the least ratio such a
refresh can reach.

With --jobs, Spark's event log is written and each gold incremental run and rebuild is followed by
how long some Spark job ran in it (and how long none did) and its Spark job time by kind of job
(bench/joblog.py). --timeline (event log too) also lists every Spark job of each incremental run
in the order it started, with the time before it when no job ran. --workers N writes N tables
and models at once (`spark.table_parallelism`; 1: one at a time, so the list reads as steps).

    .venv/bin/python bench/bench_gold.py [--scale 1] [--periods 3] [--jobs] [--timeline] [--workers N]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_silver import timed  # noqa: E402
from bench.inapp import add_trace_options, bench_lake  # noqa: E402
from spark_jobs import delta_io  # noqa: E402
from spark_jobs.config import gold_models  # noqa: E402
from spark_jobs.jobs.gold import _write_in_order  # noqa: E402
from spark_jobs.jobs.gold_write import check_grain  # noqa: E402
from spark_jobs.main import run_layers  # noqa: E402
from spark_jobs.session import small_batch  # noqa: E402


def touch_every_model(spark, cfg, scratch: Path) -> None:
    """The floor (see the module's doc): one row per model into a scratch table, each read back
    and grain-checked, scheduled as gold schedules its models."""
    models = gold_models(cfg)

    def write(name: str) -> None:
        row = delta_io.read(spark, cfg.env.table_path("gold", name)).limit(1)
        row.write.format("delta").mode("overwrite").save(str(scratch / name))

    def check(name: str) -> None:
        check_grain(spark, str(scratch / name), models[name])

    with small_batch(spark):
        _write_in_order(cfg, models, {n: (lambda n=n: write(n)) for n in models}, check)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--periods", type=int, default=3, help="activity periods, each an incremental run")
    ap.add_argument(
        "--jobs", action="store_true", help="where gold's Spark job time goes, per run (event log)"
    )
    add_trace_options(ap, "each incremental run", "tables and models")
    args = ap.parse_args()
    event_log = args.jobs or args.timeline
    logging.basicConfig(level=logging.WARNING)
    with bench_lake("bench-gold-", args.workers) as lab:
        cfg = lab.cfg
        lab.seed_init(args.scale, args.seed)
        lab.replicate()
        spark = lab.start_spark("bench-gold", event_log=event_log)
        jobs = lab.jobs
        tables = list(cfg.tables)

        def layers(names: list[str], run_id: str):
            return run_layers(spark, cfg, names, tables, set(), run_id)

        def rebuild(run_id: str):
            return run_layers(spark, cfg, ["gold"], tables, {"gold"}, run_id)

        timed("bronze + silver", lambda: layers(["bronze", "silver"], "base"), spark)
        timed("gold full", lambda: layers(["gold"], "full"), spark)
        pairs, floors = [], []
        scratch = lab.tmp / "floor"
        touch_every_model(spark, cfg, scratch)  # creates the scratch tables; not timed
        for period in range(1, args.periods + 1):
            lab.activity(period)
            lab.replicate()
            timed(
                f"bronze + silver inc {period}",
                lambda p=period: layers(["bronze", "silver"], f"inc{p}"),
                spark,
            )
            inc, _ = timed(
                f"gold incremental {period}",
                lambda p=period: layers(["gold"], f"inc{p}"),
                spark,
                jobs,
                timeline=args.timeline,
            )
            timed(f"gold noop rerun {period}", lambda p=period: layers(["gold"], f"noop{p}"), spark)
            full, _ = timed(f"gold rebuild {period}", lambda p=period: rebuild(f"full{p}"), spark, jobs)
            floor, _ = timed(f"floor {period}", lambda: touch_every_model(spark, cfg, scratch), spark)
            pairs.append((inc, full))
            floors.append(floor / full)
            print(
                f"period {period}: gold incremental / rebuild {inc / full:.0%}, floor / rebuild "
                f"{floor / full:.0%}",
                flush=True,
            )
        incs, fulls = [p[0] for p in pairs], [p[1] for p in pairs]
        print(
            f"gold median over {len(pairs)} periods: incremental {statistics.median(incs):.1f} s, "
            f"rebuild {statistics.median(fulls):.1f} s; "
            f"incremental / rebuild {statistics.median(i / f for i, f in pairs):.0%} (goal: <= 25%); "
            f"floor / rebuild {statistics.median(floors):.0%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

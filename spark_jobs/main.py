"""Entry point: run any subset of layers in one Spark application.

    spark-submit spark_jobs/main.py --env local|aws --layers bronze,silver,gold [--tables a,b]
                                    [--full-refresh TABLE ...] [--conf-dir DIR] [--run-id ID]
                                    [--watch [--interval SECONDS] [--max-runs N]]

On EMR the same file runs as a `command-runner.jar spark-submit` step with `spark_jobs` shipped
as a zip (--py-files) and `conf/` beside it (--conf-dir). Exit code 0 on success, 1 on failure;
every layer and table gets a row in `<ops>/pipeline_runs` either way (a run log that cannot be
written is reported and makes the exit code 1).

`--watch` (local lakes only) keeps the application and reruns the layers whenever their input
changes, until SIGINT or SIGTERM (spark_jobs/watch.py); its exit code is the last run's.

On a local lake a run (or a watch, while it lasts) holds `<ops>/run.lock`; a second run started
meanwhile exits 1 at once with an error naming the holder, before starting Spark
(spark_jobs/run_lock.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

# When run as a file (spark-submit spark_jobs/main.py) the package's parent must be importable.
if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spark_jobs import run_lock, run_log, watch
from spark_jobs.config import Config, load_config
from spark_jobs.parallel import LayerFailed

LAYERS = ("bronze", "silver", "gold")
log = logging.getLogger("spark_jobs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="spark_jobs/main.py", description="Promote the lake bronze -> silver -> gold."
    )
    p.add_argument("--env", default="local", help="environment file in conf/env (local, aws)")
    p.add_argument(
        "--layers", default="bronze,silver,gold", help="comma-separated subset of bronze,silver,gold"
    )
    p.add_argument(
        "--tables", default="", help="comma-separated source tables (default: all in conf/tables.yaml)"
    )
    p.add_argument(
        "--full-refresh",
        action="append",
        default=[],
        metavar="TABLE",
        help="rebuild this silver table (or gold model) from the layer below; repeatable",
    )
    p.add_argument(
        "--conf-dir", default=None, help="configuration folder (default: LAKEHOUSE_CONF_DIR or ./conf)"
    )
    p.add_argument("--run-id", default=None, help="identifier written to the run log (default: generated)")
    watch.add_arguments(p)
    args = p.parse_args(argv)
    args.layers = [x.strip() for x in args.layers.split(",") if x.strip()]
    unknown = [x for x in args.layers if x not in LAYERS]
    if unknown or not args.layers:
        p.error(f"--layers: unknown layer(s) {unknown}; choose from {', '.join(LAYERS)}")
    watch.check_arguments(p, args)
    return args


def _conf_dir(arg: str | None) -> str | None:
    if arg:
        return arg
    if os.environ.get("LAKEHOUSE_CONF_DIR"):
        return os.environ["LAKEHOUSE_CONF_DIR"]
    # On EMR, conf/ is shipped beside the entry point into the container's working directory.
    return "conf" if os.path.isdir("conf") and os.path.isfile("conf/tables.yaml") else None


def run_layers(
    spark, cfg: Config, layers: list[str], tables: list[str], full_refresh: set[str], run_id: str
) -> list:
    """Run the requested layers in order; returns the run records of every table."""
    from spark_jobs.jobs import bronze, silver
    from spark_jobs.secrets import pii_salt

    unknown = sorted(set(tables) - set(cfg.tables))
    if unknown:
        raise ValueError(f"--tables: unknown table(s) {unknown}; known: {', '.join(cfg.tables)}")
    records: list = []
    for layer in layers:
        start = time.monotonic()
        try:
            if layer == "bronze":
                records += bronze.run(spark, cfg, tables, run_id)
            elif layer == "silver":
                records += silver.run(spark, cfg, tables, run_id, pii_salt(cfg), full_refresh & set(tables))
            elif layer == "gold":
                from spark_jobs.jobs import gold

                records += gold.run(spark, cfg, run_id, full_refresh)
        except LayerFailed as exc:
            raise LayerFailed(str(exc), records + exc.records) from exc
        log.info("layer %s done in %.1fs", layer, time.monotonic() - start)
    return records


def configure_logging() -> None:
    """The jobs' progress at INFO on stderr; py4j at WARNING and above (session.quiet_py4j)."""
    from spark_jobs.session import quiet_py4j

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_py4j()


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = parse_args(argv)
    cfg = load_config(args.env, _conf_dir(args.conf_dir))
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] or list(cfg.tables)
    if args.watch:
        try:
            watch.check_local(cfg)
        except watch.WatchError as exc:
            log.error("%s", exc)
            return 2

    what = f"layers {','.join(args.layers)}" + (" --watch" if args.watch else "")
    try:
        with run_lock.holding(cfg, what):
            return _run(args, cfg, tables)
    except run_lock.LakeBusy as exc:
        log.error("%s", exc)
        return 1


def _run(args: argparse.Namespace, cfg: Config, tables: list[str]) -> int:
    from spark_jobs.session import build_spark

    spark = build_spark(
        f"lakehouse-{'-'.join(args.layers)}",
        env=args.env,
        shuffle_partitions=cfg.env.settings.get("spark", {}).get("shuffle_partitions"),
    )
    if not args.watch:
        return run_once(
            spark, cfg, args.layers, tables, set(args.full_refresh), args.run_id or run_log.new_run_id()
        )

    def one(n: int) -> int:
        refresh = set(args.full_refresh) if n == 1 else set()
        run_id = f"{args.run_id}-{n}" if args.run_id else run_log.new_run_id()
        start = time.monotonic()
        status = run_once(spark, cfg, args.layers, tables, refresh, run_id)
        spark.catalog.clearCache()  # nothing a run cached is needed by the next one
        log.info(
            "watch: run %d (%s) %s in %.1fs",
            n,
            run_id,
            "failed" if status else "finished",
            time.monotonic() - start,
        )
        return status

    log.info(
        "watch: %s input of %s, every %gs; Ctrl-C or SIGTERM stops it",
        args.layers[0], ", ".join(tables), args.interval,
    )  # fmt: skip
    with watch.stop_on_signals() as stop:
        return watch.watch(
            one,
            lambda: watch.fingerprint(spark, cfg, args.layers[0], tables),
            stop,
            args.interval,
            args.max_runs,
        )


def run_once(
    spark, cfg: Config, layers: list[str], tables: list[str], full_refresh: set[str], run_id: str
) -> int:
    """Run the layers and write the run log; 0 on success, 1 on failure."""
    records: list = []
    try:
        records = run_layers(spark, cfg, layers, tables, full_refresh, run_id)
        status = 0
    except LayerFailed as exc:
        log.error("run %s failed: %s", run_id, exc)
        records += exc.records
        status = 1
    except Exception as exc:
        log.error("run %s failed: %s", run_id, exc)
        failed = run_log.RunRecord(run_id=run_id, job=",".join(layers), table_name="*")
        records.append(failed.finish("failed", f"{type(exc).__name__}: {exc}"))
        status = 1
    try:
        run_log.write(spark, cfg.env.paths["ops"], records)
    except Exception as exc:  # the run's outcome is still logged below; the exit code says failed
        log.error(
            "run %s: could not write the run log at %s: %s",
            run_id,
            run_log.run_log_path(cfg.env.paths["ops"]),
            str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__,
        )
        status = 1
    for r in records:
        log.info(
            "%-7s %-18s %-11s read=%s written=%s quarantined=%s %s",
            r.job,
            r.table_name,
            r.status,
            r.rows_read,
            r.rows_written,
            r.rows_quarantined,
            r.message or "",
        )
    return status


if __name__ == "__main__":
    sys.exit(main())

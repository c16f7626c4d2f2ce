"""`--watch`: one Spark application that reruns the layers whenever their input changes.

The local counterpart of `lakehouse replicate --follow`. A `lakehouse run` pays for a JVM start
and its warm-up (class loading, JIT) every time; a watching run pays once, and each later run
is an ordinary incremental run in a warm JVM. Between runs it lists the input of the first
requested layer, without a Spark job:

- bronze: the raw files of the selected tables (what bronze would ingest);
- silver: the commit files (`.json`) of those tables' bronze Delta logs;
- gold: the commit files of silver's tables that gold reads.

A run starts when that listing differs from the one taken before the previous run (so files
that land during a run start the next one) and has settled: it is the same on two listings in a
row (the replicator writes a batch's files one table after another), or it is still changing
after twelve. A failed run is logged (and in the run log, as always) and the watch goes on; it
runs again when the input changes. SIGINT or SIGTERM stops it after the current run; a second
signal stops it at once. On AWS the Airflow DAG schedules runs, so a lake on S3 is refused.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from spark_jobs.config import on_s3

if TYPE_CHECKING:  # imported by `lakehouse` for its options: no Spark at import
    from pyspark.sql import SparkSession

    from spark_jobs.config import Config

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0
# New input must stay unchanged for one interval before a run (the replicator writes a batch's
# files one table after another), unless it is still changing after this many listings.
MAX_UNSETTLED = 12


class WatchError(RuntimeError):
    """`--watch` cannot run with these arguments."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """--watch, --interval and --max-runs (spark_jobs/main.py and `lakehouse run`)."""
    p.add_argument(
        "--watch",
        action="store_true",
        help="local lake only: keep the Spark application and rerun whenever the first layer's "
        "input changes; stop with Ctrl-C or SIGTERM (--full-refresh applies to the first run only)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"--watch: seconds between input listings (default: {DEFAULT_INTERVAL:g})",
    )
    p.add_argument("--max-runs", type=int, default=None, metavar="N", help="--watch: stop after N runs")


def check_arguments(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit through `p.error` on an --interval or --max-runs that cannot work."""
    if args.interval <= 0:
        p.error(f"--interval must be more than 0 seconds, got {args.interval:g}")
    if args.max_runs is not None and args.max_runs < 1:
        p.error(f"--max-runs must be 1 or more, got {args.max_runs}")
    if not args.watch and (args.max_runs is not None or args.interval != DEFAULT_INTERVAL):
        p.error("--interval and --max-runs apply to --watch only")


def forward(args: argparse.Namespace) -> list[str]:
    """The watch options of parsed `args` as command-line arguments again."""
    argv = ["--watch"] if args.watch else []
    if args.interval != DEFAULT_INTERVAL:
        argv += ["--interval", repr(args.interval)]
    if args.max_runs is not None:
        argv += ["--max-runs", str(args.max_runs)]
    return argv


def check_local(cfg: Config) -> None:
    """Refuse a lake on S3: a watching application would hold an EMR step for ever."""
    remote = {layer: p for layer, p in cfg.env.paths.items() if on_s3(p)}
    if remote:
        layer, path = sorted(remote.items())[0]
        raise WatchError(
            f"--watch runs on a local lake only, but the {layer} zone is {path} (env {cfg.env.name}); "
            "on AWS the Airflow DAG schedules runs"
        )


def input_dirs(cfg: Config, first_layer: str, tables: list[str]) -> list[str]:
    """The folders whose file names are the input of `first_layer` for `tables`."""
    if first_layer == "bronze":
        return [cfg.raw_table_dir(t) for t in tables]
    if first_layer == "silver":
        return [f"{cfg.env.table_path('bronze', t)}/_delta_log" for t in tables]
    from spark_jobs.jobs.gold import SOURCES

    return [f"{cfg.env.table_path('silver', s)}/_delta_log" for s in SOURCES]


def fingerprint(spark: SparkSession, cfg: Config, first_layer: str, tables: list[str]) -> tuple:
    """The file names in the input folders of `first_layer`; equal listings mean no new input."""
    from spark_jobs import delta_io

    suffix = cfg.raw.file_suffix if first_layer == "bronze" else ".json"  # a commit, not its .crc
    return tuple(
        (d, tuple(delta_io.list_files(spark, d, suffix))) for d in input_dirs(cfg, first_layer, tables)
    )


def watch(
    run_once: Callable[[int], int],
    listing: Callable[[], object],
    stop: threading.Event,
    interval: float = DEFAULT_INTERVAL,
    max_runs: int | None = None,
    max_unsettled: int = MAX_UNSETTLED,
) -> int:
    """Call `run_once(n)` on the first poll, then whenever `listing()` differs from the listing
    taken before the previous run and has settled (the same on two polls in a row, or still
    changing after `max_unsettled` polls). Poll every `interval` seconds until `stop` is set or
    `max_runs` runs are done. Returns the exit status of the last run (0 when none ran)."""
    if interval <= 0:
        raise WatchError(f"--interval must be more than 0 seconds, got {interval:g}")
    if max_runs is not None and max_runs < 1:
        raise WatchError(f"--max-runs must be 1 or more, got {max_runs}")
    seen = previous = None
    runs = status = unsettled = 0
    while not stop.is_set():
        try:
            current = listing()
        except Exception as exc:  # e.g. a folder replaced while listed: list again next poll
            log.warning("watch: could not list the input (%s); listing again in %gs", exc, interval)
            stop.wait(interval)
            continue
        changed = runs == 0 or current != seen
        settled = runs == 0 or current == previous or unsettled + 1 >= max_unsettled
        previous = current
        if not changed:
            unsettled = 0
        elif not settled:
            unsettled += 1
        else:
            seen, unsettled = current, 0  # taken before the run: input landing during it runs next
            runs += 1
            status = run_once(runs)
            if status:
                log.warning("watch: run %d failed; waiting for new input", runs)
            if max_runs is not None and runs >= max_runs:
                log.info("watch: %d run(s) done (--max-runs)", runs)
                break
            continue  # list again at once: did input land during the run?
        stop.wait(interval)
    else:
        log.info("watch: stopped after %d run(s)", runs)
    return status


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first SIGINT or SIGTERM; a second signal raises KeyboardInterrupt
    at once (PySpark's own SIGINT handler, replaced here meanwhile, would cancel the run)."""
    stop = threading.Event()

    def handle(signum, _frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        log.info("watch: %s received; stopping after the current run (again to stop now)",
                 signal.Signals(signum).name)  # fmt: skip

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)

"""The set-up bench_silver and bench_gold share: a private MariaDB (temp folder, free port) with
one source database, the local replicator writing its raw zone, and one Spark application on a
lake in the same temp folder, all torn down at the end."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.joblog import JobLog, event_log_conf
from lambda_seed import core as seed
from local_aws.mariadb import LocalMariaDB, MySQLConnectionInfo, free_port
from local_aws.replicator import Options, Replicator, SourceSettings
from spark_jobs.config import Config, load_config

DATABASE = "salesdb"


@dataclass
class BenchLake:
    """The source database, the replicator's settings and the lake of one benchmark."""

    cfg: Config
    info: MySQLConnectionInfo
    source: SourceSettings
    tmp: Path
    spark: object = None
    jobs: JobLog | None = None

    def seed_init(self, scale: float, seed_value: int) -> dict:
        with self.info.connect(database=DATABASE) as conn:
            return seed.init(conn, scale, seed_value)

    def activity(self, period: int) -> dict:
        with self.info.connect(database=DATABASE) as conn:
            return seed.activity(conn, period)

    def replicate(self) -> None:
        Replicator(self.cfg, self.source, Options(target=self.cfg.env.paths["raw"])).run()

    def start_spark(self, app_name: str, event_log: bool = False):
        """The benchmark's Spark application, with the environment's settings; `event_log`: Spark's
        event log is written and `self.jobs` reads it (bench/joblog.py)."""
        from spark_jobs.session import build_spark

        spark_cfg = self.cfg.env.settings.get("spark", {})
        self.spark = build_spark(
            app_name,
            shuffle_partitions=spark_cfg.get("shuffle_partitions"),
            driver_memory=spark_cfg.get("driver_memory", "4g"),
            extra_conf=event_log_conf(self.tmp / "events") if event_log else None,
        )
        self.jobs = JobLog(self.spark, self.tmp / "events") if event_log else None
        return self.spark


def add_trace_options(ap: argparse.ArgumentParser, runs: str, written: str) -> None:
    """`--timeline` (every Spark job of `runs` in start order) and `--workers N` (`written` at once,
    for `bench_lake`'s `workers`)."""
    ap.add_argument(
        "--timeline",
        action="store_true",
        help=f"with --jobs' breakdown, every Spark job of {runs} in the order it started",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"{written} written at once (spark.table_parallelism; default: the environment's)",
    )


@contextlib.contextmanager
def bench_lake(prefix: str, workers: int | None = None) -> Iterator[BenchLake]:
    """A BenchLake in a temp folder: its MariaDB up with an empty source database; on exit the
    Spark application (if started) stopped, the server down, the folder removed. `workers`: the
    tables and models a layer writes at once (`spark.table_parallelism`; None: the environment's)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        tmp = Path(folder)
        os.environ["LAKEHOUSE_ROOT"] = str(tmp / "lake")
        os.environ.setdefault("LAKEHOUSE_PII_SALT", "bench-salt")
        cfg = load_config("local")
        if workers is not None:
            cfg.env.settings.setdefault("spark", {})["table_parallelism"] = workers
        server = LocalMariaDB(tmp / "mysql", port=free_port())
        info = server.up()
        lake = None
        try:
            admin = info.connect(database="", autocommit=True)
            with admin, admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{DATABASE}`")
            source = SourceSettings.of(info, DATABASE)
            lake = BenchLake(cfg, info, source, tmp)
            yield lake
        finally:
            if lake is not None and lake.spark is not None:
                lake.spark.stop()
            server.down()

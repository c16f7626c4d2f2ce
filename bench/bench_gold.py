"""Benchmark of gold: the full build against the incremental refresh after one activity period.

Starts a private MariaDB, seeds it at the scale factor, replicates, runs bronze and silver, then
times in one Spark application (JVM start excluded): 1. gold full, 2. one activity period through
replicate, bronze and silver, 3. gold incremental, 4. a gold no-op rerun. Prints seconds, Spark
jobs per step and the ratio incremental / full (goal: <= 25%).

    .venv/bin/python bench/bench_gold.py [--scale 1]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_silver import timed  # noqa: E402
from lambda_seed import core as seed  # noqa: E402
from local_aws.mariadb import LocalMariaDB, free_port  # noqa: E402
from local_aws.replicator import Options, Replicator, SourceSettings  # noqa: E402
from spark_jobs.config import load_config  # noqa: E402
from spark_jobs.main import run_layers  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-gold-") as tmp:
        os.environ["LAKEHOUSE_ROOT"] = str(Path(tmp) / "lake")
        os.environ.setdefault("LAKEHOUSE_PII_SALT", "bench-salt")
        cfg = load_config("local")
        server = LocalMariaDB(Path(tmp) / "mysql", port=free_port())
        info = server.up()
        spark = None
        try:
            admin = info.connect(database="", autocommit=True)
            with admin, admin.cursor() as cur:
                cur.execute("CREATE DATABASE IF NOT EXISTS `salesdb`")
            source = SourceSettings(info.host, info.port, info.user, info.password, "salesdb")
            options = Options(target=cfg.env.paths["raw"])
            with info.connect(database="salesdb") as conn:
                seed.init(conn, args.scale, args.seed)
            Replicator(cfg, source, options).run()

            from spark_jobs.session import build_spark

            spark_cfg = cfg.env.settings.get("spark", {})
            spark = build_spark(
                "bench-gold",
                shuffle_partitions=spark_cfg.get("shuffle_partitions"),
                driver_memory=spark_cfg.get("driver_memory", "4g"),
            )
            tables = list(cfg.tables)

            def layers(names: list[str], run_id: str):
                return run_layers(spark, cfg, names, tables, set(), run_id)

            timed("bronze + silver", lambda: layers(["bronze", "silver"], "base"), spark)
            full, _ = timed("gold full", lambda: layers(["gold"], "full"), spark)
            with info.connect(database="salesdb") as conn:
                seed.activity(conn, 1)
            Replicator(cfg, source, options).run()
            timed("bronze + silver inc", lambda: layers(["bronze", "silver"], "inc"), spark)
            inc, _ = timed("gold incremental", lambda: layers(["gold"], "inc"), spark)
            timed("gold noop rerun", lambda: layers(["gold"], "noop"), spark)
            print(f"gold incremental / full: {inc / full:.0%} (goal: <= 25%)")
        finally:
            if spark is not None:
                spark.stop()
            server.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())

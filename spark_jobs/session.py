"""The one SparkSession builder, for local runs, tests and EMR.

Locally Spark gets the Delta and S3A jars from `jars/` (filled by `make jars` from
build/pom.xml) through spark.jars, so nothing is resolved at start-up. On EMR the cluster's
`delta-defaults` classification provides Delta; only the SQL extension and catalog are set here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from py4j.java_gateway import java_import
from pyspark.sql import SparkSession

from spark_jobs.config import REPO_ROOT

JARS_DIR = Path(os.environ.get("LAKEHOUSE_JARS_DIR", REPO_ROOT / "jars"))
# Compiled by `make jars` from build/localfs: the local file system without a process per file.
LOCALFS_JAR = "lakehouse-localfs.jar"
REQUIRED_JARS = (
    "delta-spark_2.12-3.3.2.jar",
    "delta-storage-3.3.2.jar",
    "antlr4-runtime-4.9.3.jar",
    LOCALFS_JAR,
)

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # Athena engine v3 reads reader v3 without deletion vectors: keep every table there.
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
    # Schema drift must fail loudly rather than merge silently.
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
}


# A small batch (an incremental run's few thousand changed rows) costs Spark more to plan and
# compile than to compute: every new query plan is turned into Java code and compiled, and on
# two cores that is most of an incremental run. For such batches expressions are evaluated by
# Spark's interpreter instead, and each query is planned once: adaptive execution would run
# every shuffle stage as a Spark job of its own and plan the rest again after it, which for a
# few thousand rows costs more than any better plan saves (half the Spark jobs of an
# incremental bronze and silver run). Shuffles have the one partition adaptive execution would
# have coalesced them to, so a MERGE writes what it rewrote as one file, not one file per
# shuffle partition (64 on EMR). Rebuilds keep compiled code and adaptive execution.
SMALL_BATCH_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "1",
}
# Batches of at most this many rows (or keys) run as small batches; `spark.small_batch_rows`
# in the environment's settings overrides it, and 0 turns small batches off.
SMALL_BATCH_ROWS = 10_000


def small_batch_rows(cfg) -> int:
    """The largest batch run as a small batch (`spark.small_batch_rows`, default 10,000; 0: off)."""
    return cfg.env.whole_number("spark", "small_batch_rows", SMALL_BATCH_ROWS)


def is_small_batch(cfg, rows: int | None) -> bool:
    """True when a batch of `rows` rows (None: unknown) runs as a small batch."""
    limit = small_batch_rows(cfg)
    return limit > 0 and rows is not None and rows <= limit


@contextlib.contextmanager
def session_conf(spark: SparkSession, conf: dict[str, str]) -> Iterator[None]:
    """Within the block, `spark` (a session: its SQL conf only) has `conf` set; the session's
    own values are restored after."""
    saved = {key: spark.conf.get(key, None) for key in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


@contextlib.contextmanager
def small_batch(spark: SparkSession, on: bool = True) -> Iterator[None]:
    """Within the block, `spark` (a session: its SQL conf only) runs as a small batch
    (SMALL_BATCH_CONF) when `on`; the session's own values are restored after."""
    if not on:
        yield
        return
    with session_conf(spark, SMALL_BATCH_CONF):
        yield


# Classes PySpark looks up by their simple name on every call: `functions` behind each
# pyspark.sql.functions call (F.col, F.when, ...), `PythonUtils` behind each list of columns,
# `PythonSQLUtils`. py4j resolves a simple name by trying every package PySpark imports with `*`,
# one after the other, and each miss searches every jar on the class path. Imported by their full
# names they are found at the first try: resolving `functions` took about 260 us before and 100 us
# after on a 2-core machine, and an incremental silver run makes thousands of such calls.
PY4J_IMPORTS = (
    "org.apache.spark.sql.functions",
    "org.apache.spark.api.python.PythonUtils",
    "org.apache.spark.sql.api.python.PythonSQLUtils",
    "org.apache.spark.sql.SparkSession",
)


def local_jars() -> list[str]:
    """The jar files for local Spark; a clear error when `make jars` has not run."""
    missing = [j for j in REQUIRED_JARS if not (JARS_DIR / j).is_file()]
    if missing:
        raise FileNotFoundError(f"missing jars in {JARS_DIR}: {', '.join(missing)}; run `make jars`")
    return sorted(str(p) for p in JARS_DIR.glob("*.jar"))


def quiet_py4j() -> None:
    """Log py4j at WARNING and above. At INFO it reports every connection it opens or closes,
    which says nothing about a run, and some of those lines come at interpreter exit, when the
    stream a handler writes to may be closed already (a "Logging error" after a test run)."""
    logging.getLogger("py4j").setLevel(logging.WARNING)


def python_in_utc() -> None:
    """Set this Python process's local time zone to UTC, the JVM's and the session's.

    PySpark gives a collected Spark timestamp as a naive datetime in Python's local zone, and
    reads a naive datetime in that zone: on a laptop in Europe/Berlin a collected 10:00 UTC would
    read 11:00 and no longer equal MySQL's DATETIME 10:00, and a window gold derives in Python
    from such values would be shifted. The Python workers Spark starts inherit the zone.
    """
    if os.environ.get("TZ") != "UTC":
        os.environ["TZ"] = "UTC"
        time.tzset()


def build_spark(
    app_name: str = "lakehouse",
    env: str = "local",
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    """Build (or return the running) SparkSession with Delta configured for `env`."""
    quiet_py4j()
    python_in_utc()
    builder = SparkSession.builder.appName(app_name)
    conf = dict(DELTA_CONF)
    if env == "local":
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON") or _python())
        conf.update(
            {
                "spark.master": os.environ.get("LAKEHOUSE_SPARK_MASTER", "local[*]"),
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.driver.memory": driver_memory or os.environ.get("LAKEHOUSE_DRIVER_MEMORY", "4g"),
                "spark.jars": ",".join(local_jars()),
                # On the JVM's own class path: Hadoop loads file systems before spark.jars are added.
                "spark.driver.extraClassPath": str(JARS_DIR / LOCALFS_JAR),
                "spark.ui.enabled": "false",
                "spark.ui.showConsoleProgress": "false",
                "spark.sql.shuffle.partitions": str(shuffle_partitions or 4),
                "spark.default.parallelism": str(shuffle_partitions or 4),
                "spark.sql.session.timeZone": "UTC",
                "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
                "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
                # Small local tables: skip the costly default of 50 files per Delta checkpoint.
                "spark.databricks.delta.snapshotPartitions": "2",
                "spark.sql.adaptive.enabled": "true",
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                # Local files without a chmod or readlink process per file (build/localfs).
                "spark.hadoop.fs.file.impl": "lakehouse.hadoop.NioChecksumFileSystem",
                "spark.hadoop.fs.AbstractFileSystem.file.impl": "lakehouse.hadoop.NioLocalFs",
            }
        )
    else:
        conf["spark.sql.session.timeZone"] = "UTC"
        if shuffle_partitions:
            conf["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    conf.update(extra_conf or {})
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("LAKEHOUSE_SPARK_LOG_LEVEL", "WARN"))
    for name in PY4J_IMPORTS:
        java_import(spark.sparkContext._jvm, name)
    return spark


def _python() -> str:
    import sys

    return sys.executable
